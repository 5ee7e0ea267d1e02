"""Prepare: sessions, the partner's background, agendas from both sides."""
