"""Inbound Slack events, remembered so Slack's retries of the same event are handled once."""

from datetime import datetime

from sqlalchemy.orm import Session

from bot.database import insert_or_ignore
from bot.models import ProcessedEvent


def first_delivery(session: Session, event_id: str, now: datetime) -> bool:
    """True the first time we see this event id; False for Slack's retries of it."""
    return insert_or_ignore(session, ProcessedEvent, event_id=event_id, received_at=now)
