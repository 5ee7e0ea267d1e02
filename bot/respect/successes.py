"""Shared successes: the mentor hears first, then (with consent) the channel, crediting them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from bot.core import ids
from bot.core.errors import InvalidInput, MentorCoachError
from bot.core.members import member_for
from bot.core.models import Member, OutboxMessage, OutboxStatus, Pairing, PairingStatus, Success
from bot.core.outbox import cancel_pending, enqueue
from bot.core.quiet_hours import next_allowed, quiet_window
from bot.core.settings import Settings

TEXT_LIMIT = 1500


class SuccessProblem(MentorCoachError):
    """A success that cannot be shared or removed by this person; says why."""


def mentors_of(session: Session, member: Member) -> list[Member]:
    """Everyone who has mentored this person, current mentors first, then most recent."""
    pairings = session.scalars(
        select(Pairing)
        .where(Pairing.mentee_id == member.id)
        .options(selectinload(Pairing.mentor))
        .order_by(Pairing.started_at.desc())
    ).all()
    ordered = sorted(pairings, key=lambda p: p.status != PairingStatus.ACTIVE)
    seen: dict[int, Member] = {}
    for pairing in ordered:
        seen.setdefault(pairing.mentor_id, pairing.mentor)
    return list(seen.values())


@dataclass(frozen=True)
class Shared:
    success: Success
    mentor: Member
    channel_note: str | None  # why it will not reach the channel, when it will not


def share_success(
    session: Session,
    team_id: str,
    user_id: str,
    text: str | None,
    mentor_id: int | None,
    public: bool,
    settings: Settings,
    now: datetime,
) -> Shared:
    """Save the success and queue the mentor's DM, then the channel post a minute after it."""
    errors: dict[str, str] = {}
    body = (text or "").strip()
    if not body:
        errors[ids.SUCCESS_TEXT_BLOCK] = "Tell us what happened, even in one line."
    elif len(body) > TEXT_LIMIT:
        errors[ids.SUCCESS_TEXT_BLOCK] = (
            f"Keep it under {TEXT_LIMIT} characters (it is {len(body)})."
        )
    author = member_for(session, team_id, user_id, now)
    mentor = next((m for m in mentors_of(session, author) if m.id == mentor_id), None)
    if mentor is None:
        errors[ids.SUCCESS_MENTOR_BLOCK] = "Pick one of your mentors to credit."
    if errors:
        raise InvalidInput(errors)
    assert mentor is not None
    success = Success(
        workspace_id=author.workspace_id,
        author_id=author.id,
        mentor_id=mentor.id,
        text=body,
        share_publicly=public and settings.success_channel is not None,
        created_at=now,
    )
    session.add(success)
    session.flush()
    mentor_hears_at = next_allowed(now, mentor.tz, quiet_window(mentor, settings.quiet_hours))
    enqueue(
        session,
        workspace_id=author.workspace_id,
        kind="success_to_mentor",
        dedupe_key=f"success_to_mentor:{success.id}",
        due_at=mentor_hears_at,
        now=now,
        member_id=mentor.id,
        subject=("success", success.id),
        urgent=True,
        actor_id=author.id,
    )
    note = None
    if settings.success_channel is None:
        note = "No success channel is set up here, so I shared it with your mentor only."
    elif success.share_publicly:
        enqueue(
            session,
            workspace_id=author.workspace_id,
            kind="success_post",
            dedupe_key=f"success_post:{success.id}",
            # The mentor always hears first: the channel post follows their DM.
            due_at=mentor_hears_at + timedelta(minutes=1),
            now=now,
            channel_id=settings.success_channel,
            subject=("success", success.id),
            urgent=True,
            actor_id=author.id,
        )
    from bot.reframe.invitations import invite_after_success

    invite_after_success(session, author, now)
    return Shared(success, mentor, note)


def remove_success(
    session: Session, success_id: int, team_id: str, user_id: str, now: datetime
) -> tuple[str, str] | None:
    """The author takes their post down; returns the (channel, ts) to delete, if it went out."""
    success = session.get(Success, success_id, options=[selectinload(Success.author)])
    if success is None or success.author.workspace.team_id != team_id:
        raise SuccessProblem("I can't find that post any more.")
    if success.author.slack_user_id != user_id:
        raise SuccessProblem("Only the person who shared this success can remove it.")
    # Conditional, so of two removals arriving together (a double click) one takes it down.
    removed = session.execute(
        update(Success)
        .where(Success.id == success.id, Success.deleted_at.is_(None))
        .values(deleted_at=now),
        execution_options={"preserve_rowcount": True, "synchronize_session": False},
    )
    if removed.rowcount != 1:  # type: ignore[attr-defined]
        return None  # already removed: its channel post is gone or was never sent
    cancel_pending(session, "success", success.id, "removed by its author", kinds=["success_post"])
    posted = session.execute(
        select(OutboxMessage.sent_channel_id, OutboxMessage.sent_ts).where(
            OutboxMessage.subject_type == "success",
            OutboxMessage.subject_id == success.id,
            OutboxMessage.kind == "success_post",
            OutboxMessage.status == OutboxStatus.SENT,
        )
    ).first()
    return (posted[0], posted[1]) if posted and posted[0] and posted[1] else None
