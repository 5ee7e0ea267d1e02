"""A session, or a whole series, as one calendar event: its UID, its SEQUENCE, and its shape
(rule, moved and cancelled sessions), with the per-person file queued on every change."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from bot.core.models import Meeting, MeetingStatus, OutboxMessage, OutboxStatus, Pairing
from bot.core.outbox import cancel_pending_about, enqueue

# The outbox kind and subject of "this person's calendar file for this event"; the subject id
# is the event's anchor, its first session by id.
KIND = "calendar_file"
SUBJECT = "calendar"


def new_uid() -> str:
    return str(uuid.uuid4())


def uid_of(meeting: Meeting) -> str:
    """The event's UID, the same for every session of a series (older rows fall back)."""
    base = meeting.calendar_uid or meeting.series_id or f"meeting-{meeting.id}"
    return f"{base}@mentor-coach"


def slot_of(meeting: Meeting) -> datetime:
    """Where the series' rule puts this session: its start unless it was moved."""
    return meeting.calendar_slot or meeting.starts_at


@dataclass(frozen=True)
class CalendarEvent:
    """Every session of one event, in the order of its rule; all loaded with their pairing."""

    meetings: Sequence[Meeting]

    @property
    def first(self) -> Meeting:
        return self.meetings[0]

    @property
    def anchor_id(self) -> int:
        return min(m.id for m in self.meetings)

    @property
    def uid(self) -> str:
        return uid_of(self.first)

    @property
    def sequence(self) -> int:
        return max(m.calendar_sequence for m in self.meetings)

    @property
    def is_series(self) -> bool:
        return self.first.series_id is not None

    @property
    def cadence_weeks(self) -> int:
        return self.first.cadence_weeks or 1

    @property
    def count(self) -> int:
        """Sessions in the rule: up to the last one still on (cancelling the rest ends it)."""
        on = [n for n, m in enumerate(self.meetings) if m.status != MeetingStatus.CANCELLED]
        return on[-1] + 1 if on else 0

    @property
    def cancelled(self) -> bool:
        return self.count == 0

    @property
    def duration(self) -> int:
        """The series' usual length; a session of another length is an exception to it."""
        return _usual([m.duration_minutes for m in self.meetings])

    @property
    def topic(self) -> str | None:
        return _usual([m.topic for m in self.meetings])

    def excluded(self) -> list[datetime]:
        """Slots inside the rule whose session was cancelled on its own (EXDATE)."""
        return [
            slot_of(m) for m in self.meetings[: self.count] if m.status == MeetingStatus.CANCELLED
        ]

    def exceptions(self) -> list[Meeting]:
        """Sessions still on that differ from the rule: moved, or another length or topic."""
        return [
            m
            for m in self.meetings[: self.count]
            if m.status != MeetingStatus.CANCELLED
            and (
                m.starts_at != slot_of(m)
                or m.duration_minutes != self.duration
                or m.topic != self.topic
            )
        ]

    def upcoming(self, now: datetime) -> list[Meeting]:
        """Sessions still to come, soonest first."""
        return sorted(
            (m for m in self.meetings if m.status == MeetingStatus.SCHEDULED and m.starts_at > now),
            key=lambda m: m.starts_at,
        )


def _usual(values: list[Any]) -> Any:
    """The most common value, the earliest one on a tie."""
    counts = Counter(values)
    return max(values, key=lambda value: (counts[value], -values.index(value)))


WITH_PAIR = (
    selectinload(Meeting.pairing).selectinload(Pairing.mentor),
    selectinload(Meeting.pairing).selectinload(Pairing.mentee),
)


def events_for(session: Session, anchors: Sequence[Meeting]) -> dict[int, CalendarEvent]:
    """The event of each anchor meeting, by anchor id, with one query for all their series."""
    series_ids = {m.series_id for m in anchors if m.series_id}
    members: dict[str, list[Meeting]] = {}
    if series_ids:
        for meeting in session.scalars(
            select(Meeting).where(Meeting.series_id.in_(series_ids)).options(*WITH_PAIR)
        ):
            members.setdefault(meeting.series_id or "", []).append(meeting)
    found = {}
    for anchor in anchors:
        meetings = members.get(anchor.series_id or "", []) if anchor.series_id else [anchor]
        ordered = sorted(meetings, key=lambda m: (slot_of(m), m.id))
        event = CalendarEvent(ordered)
        found[event.anchor_id] = event
    return found


def announce(
    session: Session, changed: Sequence[Meeting], now: datetime, *, booked: bool = False
) -> None:
    """Sessions were booked, moved or cancelled (of one event, or of several when a pair
    ends): each changed event gets a higher SEQUENCE (a new one starts at 0), and each person
    an updated file in their own DM that replaces any of theirs not sent yet. Someone who never
    got a file about an event hears nothing of its cancellation. A few queries in all."""
    groups: dict[str, list[Meeting]] = {}
    for meeting in changed:
        groups.setdefault(uid_of(meeting), []).append(meeting)
    events = {e.uid: e for e in events_for(session, [g[0] for g in groups.values()]).values()}
    anchors = [event.anchor_id for event in events.values()]
    cancel_pending_about(session, {SUBJECT: anchors}, "a newer calendar file replaces it")
    ended = [event.anchor_id for event in events.values() if event.cancelled]
    had_file: set[tuple[int | None, int | None]] = set()
    if ended:
        found = session.execute(
            select(OutboxMessage.subject_id, OutboxMessage.recipient_member_id).where(
                OutboxMessage.subject_type == SUBJECT,
                OutboxMessage.subject_id.in_(ended),
                OutboxMessage.kind == KIND,
                OutboxMessage.status == OutboxStatus.SENT,
            )
        )
        had_file = {(anchor, member) for anchor, member in found}
    for uid, group in groups.items():
        event = events[uid]
        sequence = event.sequence if booked else event.sequence + 1
        for meeting in group:
            meeting.calendar_sequence = sequence
        ahead = [m.starts_at for m in group + event.upcoming(now) if m.starts_at > now]
        pairing = event.first.pairing
        for person in (pairing.mentor, pairing.mentee):
            if event.cancelled and (event.anchor_id, person.id) not in had_file:
                continue
            enqueue(
                session,
                workspace_id=pairing.workspace_id,
                kind=KIND,
                dedupe_key=f"{KIND}:{event.anchor_id}:{sequence}:{person.id}",
                due_at=now,
                now=now,
                member_id=person.id,
                subject=(SUBJECT, event.anchor_id),
                urgent=True,
                solicited=True,
                # It waits out quiet hours, but lands before the session it is about.
                deadline_at=min(ahead) if ahead else None,
            )
