"""Gentle "time to meet again?" nudges for pairs that have gone quiet: daily, or an admin's button.

A pair hears one at most once a fortnight, whoever asks: the claim is a conditional update.
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.orm import Session, aliased

from bot.core.errors import MentorCoachError
from bot.core.members import workspace_for
from bot.core.models import Meeting, MeetingStatus, Member, Pairing, PairingStatus
from bot.core.outbox import enqueue

NUDGE_KIND = "pair_nudge"
# Quiet this long with nothing booked, and the pair hears from us; never more often than this.
NUDGE_AFTER = timedelta(days=14)


class NudgeResult(enum.StrEnum):
    SENT = "sent"
    RECENTLY = "recently"  # they had one within the fortnight
    PAUSED = "paused"  # one of them has paused the program
    BOOKED = "booked"  # a session is already on the calendar


def _not_paused(member: type[Member], now: datetime) -> ColumnElement[bool]:
    return or_(member.paused_until.is_(None), member.paused_until <= now)


def _may_nudge(now: datetime) -> ColumnElement[bool]:
    return or_(Pairing.nudged_at.is_(None), Pairing.nudged_at <= now - NUDGE_AFTER)


def quiet_since(since: datetime) -> ColumnElement[bool]:
    """Active pairs together since before `since` with no session held or booked after it
    (a session on the calendar, however far ahead, counts as booked)."""
    recent = (
        select(Meeting.id)
        .where(
            Meeting.pairing_id == Pairing.id,
            Meeting.status.in_([MeetingStatus.HELD, MeetingStatus.SCHEDULED]),
            Meeting.starts_at >= since,
        )
        .exists()
    )
    return and_(
        Pairing.status == PairingStatus.ACTIVE,
        Pairing.started_at <= since,
        ~recent,
    )


def queue_pair_nudges(session: Session, now: datetime) -> int:
    """The daily job: active pairs quiet for 14 days with nothing booked, both people present
    and not paused, each nudged at most once a fortnight. Returns how many pairs were nudged."""
    mentor, mentee = aliased(Member), aliased(Member)
    due = session.scalars(
        select(Pairing)
        .join(mentor, mentor.id == Pairing.mentor_id)
        .join(mentee, mentee.id == Pairing.mentee_id)
        .where(
            quiet_since(now - NUDGE_AFTER),
            _may_nudge(now),
            mentor.is_active.is_(True),
            mentee.is_active.is_(True),
            _not_paused(mentor, now),
            _not_paused(mentee, now),
        )
        .order_by(Pairing.id)
    ).all()
    return sum(_claim_and_queue(session, pairing, now) for pairing in due)


def nudge_from_admin(
    session: Session, team_id: str, pairing_id: int, now: datetime, admin_user_id: str
) -> tuple[NudgeResult, Pairing]:
    """An admin's Nudge button: the same fortnight rule, and nothing for paused people."""
    workspace = workspace_for(session, team_id, now)
    pairing = session.scalars(
        select(Pairing).where(
            Pairing.id == pairing_id,
            Pairing.workspace_id == workspace.id,
            Pairing.status == PairingStatus.ACTIVE,
        )
    ).one_or_none()
    if pairing is None:
        raise MentorCoachError("That pair has ended since this list was made, so I left it.")
    if any(p.paused_until and p.paused_until > now for p in (pairing.mentor, pairing.mentee)):
        return NudgeResult.PAUSED, pairing
    booked = select(Meeting.id).where(
        Meeting.pairing_id == pairing.id,
        Meeting.status == MeetingStatus.SCHEDULED,
        Meeting.starts_at > now,
    )
    if session.scalar(booked.limit(1)) is not None:
        return NudgeResult.BOOKED, pairing
    admin = session.scalars(
        select(Member.id).where(
            Member.workspace_id == workspace.id, Member.slack_user_id == admin_user_id
        )
    ).one_or_none()
    sent = _claim_and_queue(session, pairing, now, actor_id=admin)
    return (NudgeResult.SENT if sent else NudgeResult.RECENTLY), pairing


def _claim_and_queue(
    session: Session, pairing: Pairing, now: datetime, actor_id: int | None = None
) -> bool:
    """Take the fortnight's nudge (a conditional update, so two processes or two clicks
    cannot both send), then queue a kind DM to each of the two."""
    claimed = session.execute(
        update(Pairing)
        .where(and_(Pairing.id == pairing.id, _may_nudge(now)))
        .values(nudged_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not claimed:
        return False
    for person_id in (pairing.mentor_id, pairing.mentee_id):
        enqueue(
            session,
            workspace_id=pairing.workspace_id,
            kind=NUDGE_KIND,
            dedupe_key=f"{NUDGE_KIND}:{pairing.id}:{person_id}:{int(now.timestamp())}",
            due_at=now,
            now=now,
            member_id=person_id,
            subject=("pairing", pairing.id),
            actor_id=actor_id,
        )
    return True
