"""Decisions and state: one package per mentoring habit, a shared core, no Slack."""
