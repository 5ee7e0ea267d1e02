"""Partners and blocks: who you work with, and who you never want to be matched with."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.orm import Session

from bot.core.database import insert_or_ignore
from bot.core.errors import MentorCoachError
from bot.core.members import find_member, member_for
from bot.core.models import Block, Member, MentorRequest, Pairing, PairingStatus, RequestStatus
from bot.core.outbox import cancel_pending


def list_partners(
    session: Session, team_id: str, user_id: str, role: str, now: datetime
) -> list[Member]:
    """Your active mentors (`role="mentors"`) or mentees (`role="mentees"`), by name."""
    me = member_for(session, team_id, user_id, now)
    mine, theirs = (
        (Pairing.mentee_id, Pairing.mentor_id)
        if role == "mentors"
        else (Pairing.mentor_id, Pairing.mentee_id)
    )
    partners = session.scalars(
        select(Member)
        .join(Pairing, theirs == Member.id)
        .where(mine == me.id, Pairing.status == PairingStatus.ACTIVE)
    ).all()
    return sorted(partners, key=lambda m: m.name.casefold())


def block(session: Session, team_id: str, user_id: str, target_user_id: str, now: datetime) -> bool:
    """Block someone both ways; their pending requests between you are withdrawn quietly.

    Returns False when they were already blocked.
    """
    if target_user_id == user_id:
        raise MentorCoachError("You can't block yourself.")
    me = member_for(session, team_id, user_id, now)
    them = member_for(session, team_id, target_user_id, now)
    added = insert_or_ignore(session, Block, blocker_id=me.id, blocked_id=them.id, created_at=now)
    between = session.scalars(
        select(MentorRequest).where(
            MentorRequest.status == RequestStatus.PENDING,
            or_(
                and_(MentorRequest.mentee_id == me.id, MentorRequest.mentor_id == them.id),
                and_(MentorRequest.mentee_id == them.id, MentorRequest.mentor_id == me.id),
            ),
        )
    ).all()
    for request in between:
        request.status, request.responded_at = RequestStatus.WITHDRAWN, now
        cancel_pending(session, "request", request.id, "blocked")
    return added


def blocked_between(session: Session, member_id: int, other_id: int) -> bool:
    """True when either of the two has blocked the other."""
    return (
        session.scalar(
            select(Block.blocker_id).where(
                or_(
                    and_(Block.blocker_id == member_id, Block.blocked_id == other_id),
                    and_(Block.blocker_id == other_id, Block.blocked_id == member_id),
                )
            )
        )
        is not None
    )


def unblock(
    session: Session, team_id: str, user_id: str, target_user_id: str, now: datetime
) -> bool:
    """Remove your block on someone; False when there was none."""
    me = member_for(session, team_id, user_id, now)
    them = find_member(session, team_id, target_user_id)
    if them is None:  # never blocked, and no reason to remember them now
        return False
    result = session.execute(
        delete(Block).where(Block.blocker_id == me.id, Block.blocked_id == them.id),
        execution_options={"preserve_rowcount": True},
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]
