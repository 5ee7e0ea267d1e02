"""The App Home tab and the command guide: what a person sees across habits."""
