"""People who leave: Slack says the account is deleted or deactivated, so they drop out kindly."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from bot.core.members import find_member
from bot.core.models import (
    Member,
    MentorRequest,
    OutboxMessage,
    OutboxStatus,
    Pairing,
    PairingStatus,
    RequestStatus,
)
from bot.core.outbox import cancel_pending, enqueue
from bot.find.intros import close_early
from bot.respect.checkins import end_pairing

LEFT = "the recipient left the workspace"


def account_changed(
    session: Session, team_id: str, user_id: str, deleted: bool, now: datetime
) -> Member | None:
    """Slack's `user_change`: act only on people we know, and only when being gone changes."""
    member = find_member(session, team_id, user_id)
    if member is None:
        return None
    if deleted:
        member_left(session, member, now)
    elif not member.is_active:
        # Reactivated: findable again; what was closed stays closed.
        member.is_active, member.updated_at = True, now
    return member


def member_left_by_id(session: Session, member_id: int, now: datetime) -> None:
    """A send to this member failed because their account is gone (the outbox's hook)."""
    member = session.get(Member, member_id)
    if member is not None:
        member_left(session, member, now)


def member_left(session: Session, member: Member, now: datetime) -> None:
    """Hide them from find, close their requests, end their pairs and tell each partner once,
    and queue nothing more for them. Safe to run again: only what is still open is touched."""
    member.is_active, member.updated_at = False, now
    _close_requests(session, member, now)
    _end_pairings(session, member, now)
    # Anything still waiting for them (a prep note, a check-in) can never arrive.
    session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.recipient_member_id == member.id,
            OutboxMessage.status == OutboxStatus.PENDING,
        )
        .values(status=OutboxStatus.CANCELLED, last_error=LEFT),
        execution_options={"synchronize_session": False},
    )


def _close_requests(session: Session, member: Member, now: datetime) -> None:
    waiting = session.scalars(
        select(MentorRequest)
        .where(
            MentorRequest.status == RequestStatus.PENDING,
            (MentorRequest.mentor_id == member.id) | (MentorRequest.mentee_id == member.id),
        )
        .order_by(MentorRequest.id)
        .with_for_update(of=MentorRequest)
    ).all()
    failed = _failed_requests(session, [r.id for r in waiting if r.mentor_id == member.id])
    for request in waiting:
        if request.mentor_id == member.id:
            if request.id in failed:
                # The mentee already heard, from the failed delivery's notice: once is enough.
                request.status, request.responded_at = RequestStatus.EXPIRED, now
                cancel_pending(session, "request", request.id, "mentor left")
            else:
                close_early(session, request, "mentor left", "request_mentor_left", now)
            continue
        request.status, request.responded_at = RequestStatus.WITHDRAWN, now
        unseen = cancel_pending(session, "request", request.id, "mentee left", ["intro_request"])
        cancel_pending(session, "request", request.id, "mentee left")
        if not unseen:
            enqueue(
                session,
                workspace_id=request.workspace_id,
                kind="request_mentee_left",
                dedupe_key=f"request_mentee_left:{request.id}",
                due_at=now,
                now=now,
                member_id=request.mentor_id,
                subject=("request", request.id),
            )


def _failed_requests(session: Session, request_ids: list[int]) -> set[int]:
    """Which of these requests' asks to the mentor could not be delivered."""
    if not request_ids:
        return set()
    return set(
        session.scalars(
            select(OutboxMessage.subject_id).where(
                OutboxMessage.dedupe_key.in_([f"intro_request:{i}" for i in request_ids]),
                OutboxMessage.status == OutboxStatus.FAILED,
            )
        )
    )


def _end_pairings(session: Session, member: Member, now: datetime) -> None:
    pairings = session.scalars(
        select(Pairing)
        .where(
            Pairing.status == PairingStatus.ACTIVE,
            (Pairing.mentor_id == member.id) | (Pairing.mentee_id == member.id),
        )
        .options(selectinload(Pairing.mentor), selectinload(Pairing.mentee))
        .order_by(Pairing.id)
    ).all()
    for pairing in pairings:
        # As if they ended it themselves: only the partner hears, once, and sessions are off.
        end_pairing(session, pairing, member, now)
