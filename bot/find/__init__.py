"""Find: know what you want from mentoring, find who offers it, ask for it."""
