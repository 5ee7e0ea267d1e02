"""Wishes: 'tell me when someone offers this', kept until a mentor with a free slot appears."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.core.database import insert_or_ignore
from bot.core.members import member_for
from bot.core.models import Member, Pairing, PairingStatus, TopicKind, Wish
from bot.core.outbox import enqueue
from bot.find.matching import topic_key


def make_wishes(
    session: Session, team_id: str, user_id: str, names: tuple[str, ...], now: datetime
) -> None:
    """Remember each topic; asking again after hearing back waits for the next mentor."""
    member = member_for(session, team_id, user_id, now)
    for name in names:
        key = topic_key(name)[:60]
        added = insert_or_ignore(
            session,
            Wish,
            workspace_id=member.workspace_id,
            member_id=member.id,
            topic_key=key,
            topic_name=name[:60],
            created_at=now,
        )
        if not added:
            wish = session.scalars(
                select(Wish).where(Wish.member_id == member.id, Wish.topic_key == key)
            ).one()
            wish.notified_at = None


def fulfil_wishes(session: Session, mentor: Member, now: datetime) -> int:
    """A mentor now offers topics people wished for and has room: tell those people, once."""
    if not (mentor.is_mentor and mentor.is_active):
        return 0
    if mentor.paused_until is not None and mentor.paused_until > now:
        return 0
    active = session.scalar(
        select(func.count()).where(
            Pairing.mentor_id == mentor.id, Pairing.status == PairingStatus.ACTIVE
        )
    )
    if (active or 0) >= mentor.capacity:
        return 0
    keys = {topic_key(name)[:60] for name in mentor.topic_names(TopicKind.OFFERED)}
    wishes = session.scalars(
        select(Wish)
        .where(
            Wish.workspace_id == mentor.workspace_id,
            Wish.topic_key.in_(keys),
            Wish.notified_at.is_(None),
            Wish.member_id != mentor.id,
        )
        # Locked (in one order, against deadlocks) so two saves of a mentor's profile at once
        # cannot both tell the same person: the second re-reads notified_at once it gets the lock.
        .order_by(Wish.id)
        .with_for_update()
    ).all()
    for wish in wishes:
        wish.notified_at = now
        enqueue(
            session,
            workspace_id=wish.workspace_id,
            kind="wish_fulfilled",
            dedupe_key=f"wish:{wish.id}:{int(now.timestamp())}",
            due_at=now,
            now=now,
            member_id=wish.member_id,
            subject=("wish", wish.id),
            solicited=True,
        )
    return len(wishes)
