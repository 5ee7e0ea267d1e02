"""Re-frame: inviting mentees to mentor in turn; mentors' monthly impact."""
