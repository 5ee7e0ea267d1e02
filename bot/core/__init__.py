"""Shared by every habit: models, database, settings, ids, outbox, members."""
