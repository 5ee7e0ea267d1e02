"""Respect: did it happen, advice to apply, thanks, successes shared."""
