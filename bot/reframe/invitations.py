"""Re-frame: when to invite a mentee to mentor; monthly impact."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.core.models import GratitudeNote, Meeting, MeetingStatus, Member, Pairing, Success
from bot.core.outbox import enqueue

SESSIONS_BEFORE_INVITING = 3


INVITE_QUIET_PERIOD = timedelta(days=60)


def _invite(session: Session, member: Member, reason: str, now: datetime) -> bool:
    if member.is_mentor:
        return False
    if member.reframe_invited_at and now - member.reframe_invited_at < INVITE_QUIET_PERIOD:
        return False
    member.reframe_invited_at = now
    return enqueue(
        session,
        workspace_id=member.workspace_id,
        kind=f"reframe_{reason}",
        dedupe_key=f"reframe:{member.id}:{now.date().isoformat()}",
        due_at=now,
        now=now,
        member_id=member.id,
        subject=("member", member.id),
    )


def invite_after_sessions(session: Session, mentee: Member, now: datetime) -> bool:
    """After a mentee's third held session: once, and not again within 60 days."""
    from bot.prepare.meetings import held_sessions

    if held_sessions(session, mentee.id) < SESSIONS_BEFORE_INVITING:
        return False
    return _invite(session, mentee, "sessions", now)


def invite_after_success(session: Session, author: Member, now: datetime) -> bool:
    """After someone's first shared success."""
    shared = session.scalar(
        select(func.count()).select_from(Success).where(Success.author_id == author.id)
    )
    if shared != 1:
        return False
    return _invite(session, author, "success", now)


def first_weekday(day: date) -> date:
    first = day.replace(day=1)
    while first.weekday() >= 5:
        first += timedelta(days=1)
    return first


def last_month(day: date) -> tuple[datetime, datetime]:
    """The previous calendar month as [start, end) in UTC."""
    from datetime import UTC

    end = day.replace(day=1)
    start = (end - timedelta(days=1)).replace(day=1)
    return (
        datetime.combine(start, time(0), tzinfo=UTC),
        datetime.combine(end, time(0), tzinfo=UTC),
    )


def impact(
    session: Session, mentor_ids: set[int] | None, start: datetime, end: datetime
) -> dict[int, tuple[int, int, int]]:
    """(sessions held, thank-you notes received, successes credited) per mentor, in 3 queries."""
    held = (
        select(Pairing.mentor_id, func.count())
        .join(Meeting, Meeting.pairing_id == Pairing.id)
        .where(
            Meeting.status == MeetingStatus.HELD,
            Meeting.starts_at >= start,
            Meeting.starts_at < end,
        )
        .group_by(Pairing.mentor_id)
    )
    thanks = (
        select(GratitudeNote.to_member_id, func.count())
        .where(GratitudeNote.created_at >= start, GratitudeNote.created_at < end)
        .group_by(GratitudeNote.to_member_id)
    )
    wins = (
        select(Success.mentor_id, func.count())
        .where(Success.created_at >= start, Success.created_at < end, Success.deleted_at.is_(None))
        .group_by(Success.mentor_id)
    )
    if mentor_ids is not None:
        held = held.where(Pairing.mentor_id.in_(mentor_ids))
        thanks = thanks.where(GratitudeNote.to_member_id.in_(mentor_ids))
        wins = wins.where(Success.mentor_id.in_(mentor_ids))
    counts: dict[int, list[int]] = {}
    for index, query in enumerate((held, thanks, wins)):
        for member_id, count in session.execute(query):
            if member_id is not None:
                counts.setdefault(member_id, [0, 0, 0])[index] = count
    return {member_id: (c[0], c[1], c[2]) for member_id, c in counts.items()}


def queue_digests(session: Session, now: datetime) -> int:
    """On the first weekday of a month, each mentor with last month's activity gets a note."""
    today = now.date()
    if today != first_weekday(today):
        return 0
    start, end = last_month(today)
    mentors = session.execute(
        select(Member.id, Member.workspace_id).where(
            Member.id.in_(set(impact(session, None, start, end))), Member.is_mentor.is_(True)
        )
    ).all()
    for member_id, workspace_id in mentors:
        enqueue(
            session,
            workspace_id=workspace_id,
            kind="digest",
            dedupe_key=f"digest:{member_id}:{start:%Y-%m}",
            due_at=now,
            now=now,
            member_id=member_id,
            subject=("member", member_id),
        )
    return len(mentors)
