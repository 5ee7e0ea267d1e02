"""Inbound Slack requests, remembered so a retried event or a repeated submission acts once."""

import hashlib
from datetime import datetime

from sqlalchemy.orm import Session

from bot.core.database import insert_or_ignore
from bot.core.errors import AlreadyDone
from bot.core.models import IdempotencyKey, ProcessedEvent

ALREADY_DONE = "That's already done: it reached me twice, and I acted on it once."


def first_delivery(session: Session, event_id: str, now: datetime) -> bool:
    """True the first time we see this event id; False for Slack's retries of it."""
    return insert_or_ignore(session, ProcessedEvent, event_id=event_id, received_at=now)


def act_once(session: Session, key: str, now: datetime) -> None:
    """Take this request's key before doing its work; AlreadyDone if an earlier copy took it.

    The key lives in the work's own transaction: when the work fails it goes too, so a retry
    can succeed; a copy arriving at the same moment waits on the unique key (PostgreSQL) or
    the write lock (SQLite) until the first commits, then finds it.
    """
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
    if not insert_or_ignore(session, IdempotencyKey, key=digest, created_at=now):
        raise AlreadyDone(ALREADY_DONE)
