"""Calendar: every session and series as one event people can add to their own calendars."""
