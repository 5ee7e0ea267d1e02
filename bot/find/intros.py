"""Mentor requests: ask for an intro, accept within capacity, decline kindly, withdraw, expire."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from bot.core import ids
from bot.core.errors import InvalidInput, MentorCoachError
from bot.core.members import member_for
from bot.core.models import Member, MentorRequest, Pairing, PairingStatus, RequestStatus
from bot.core.outbox import cancel_pending, enqueue
from bot.core.settings import Settings
from bot.find.finding import (
    active_mentee_counts,
    candidate,
    exclusions_for,
    goal_for,
    wanted_topics,
)
from bot.find.matching import Seeker, exclusion_reason, topic_key
from bot.prepare.meetings import tell_pair

MAX_PENDING = 3


NOTE_LIMIT = 1000


REASON_LIMIT = 500


_EXCLUDED = {
    "yourself": "That's you! Pick someone else to learn from.",
    "paused": "{name} has paused mentoring for now. Try another mentor, or ask again later.",
    "full": "{name} has no free mentee slots right now. Try another mentor.",
    "partner": "{name} is already your mentor. You can keep working together.",
    "declined": "{name} said not now recently. Give it a few months, or try another mentor.",
    "blocked": "You can't send {name} a request.",
}


_CLOSED = {
    RequestStatus.ACCEPTED: "This request was already accepted.",
    RequestStatus.DECLINED: "This request was already answered with not now.",
    RequestStatus.EXPIRED: "This request expired before anyone answered it.",
    RequestStatus.WITHDRAWN: "{mentee} withdrew this request.",
}


class RequestProblem(MentorCoachError):
    """A request that cannot be made or answered; the message says why and what to do."""


def validate_note(raw: str | None) -> str:
    note = (raw or "").strip()
    if not note:
        raise InvalidInput(
            {ids.INTRO_NOTE_BLOCK: "Add a short note: why this mentor, and what you hope to learn."}
        )
    if len(note) > NOTE_LIMIT:
        raise InvalidInput(
            {ids.INTRO_NOTE_BLOCK: f"Keep it under {NOTE_LIMIT} characters (it is {len(note)})."}
        )
    return note


def mentor_to_ask(session: Session, team_id: str, mentor_id: int) -> Member:
    mentor = session.get(Member, mentor_id)
    if (
        mentor is None
        or mentor.workspace.team_id != team_id
        or not (mentor.is_mentor and mentor.is_active)
    ):
        raise RequestProblem("That mentor isn't available any more. Try `/mentor find` again.")
    return mentor


def request_intro(
    session: Session,
    team_id: str,
    user_id: str,
    mentor_id: int,
    note: str,
    query: str,
    settings: Settings,
    now: datetime,
) -> MentorRequest:
    """Create a pending request and queue the mentor's DM and reminder, after every check."""
    note = validate_note(note)
    mentee = member_for(session, team_id, user_id, now)
    mentor = mentor_to_ask(session, team_id, mentor_id)
    load = active_mentee_counts(session, [mentor.id]).get(mentor.id, 0)
    reason = exclusion_reason(
        Seeker(mentee.id, mentee.tz, mentee.goals, ()),
        candidate(mentor, load),
        exclusions_for(session, mentee.id, now),
        now,
    )
    if reason:
        raise RequestProblem(_EXCLUDED[reason].format(name=mentor.name))
    pending = session.scalars(
        select(MentorRequest.mentor_id).where(
            MentorRequest.mentee_id == mentee.id, MentorRequest.status == RequestStatus.PENDING
        )
    ).all()
    if mentor.id in pending:
        raise RequestProblem(
            f"You've already asked {mentor.name}; they have a few days to answer. "
            "You can withdraw it from your Home tab."
        )
    if len(pending) >= MAX_PENDING:
        raise RequestProblem(
            f"You have {MAX_PENDING} requests waiting already. To respect mentors' time, wait for "
            "an answer or withdraw one (Home tab) before asking someone new."
        )
    # What they asked about and want from it travel with the request: the mentor reads these,
    # not whatever the profile says about an earlier topic. A search without words was for the
    # profile's topics, so those are named.
    wanted = wanted_topics(mentee, query)
    request = MentorRequest(
        workspace_id=mentee.workspace_id,
        mentee_id=mentee.id,
        mentor_id=mentor.id,
        note=note,
        topic_query=(query or ", ".join(wanted))[:200],
        goal=goal_for(mentee, wanted) or mentee.goals,
        status=RequestStatus.PENDING,
        created_at=now,
        expires_at=now + timedelta(days=settings.request_expiry_days),
    )
    session.add(request)
    mentee.is_mentee = True
    session.flush()
    subject = ("request", request.id)
    for kind, due in (
        ("intro_request", now),
        ("request_reminder", now + timedelta(days=settings.request_reminder_days)),
    ):
        enqueue(
            session,
            workspace_id=request.workspace_id,
            kind=kind,
            dedupe_key=f"{kind}:{request.id}",
            due_at=due,
            now=now,
            member_id=mentor.id,
            subject=subject,
            # One notice is enough: the reminder to someone who has left would only repeat it.
            actor_id=mentee.id if kind == "intro_request" else None,
            # Useless once the request expires: the daily limit never holds them past that.
            deadline_at=request.expires_at,
        )
    return request


def _request_for(
    session: Session, request_id: int, team_id: str, *, lock: bool = False
) -> MentorRequest:
    request = session.get(
        MentorRequest,
        request_id,
        with_for_update={"of": MentorRequest} if lock else None,
        populate_existing=lock,
        options=[selectinload(MentorRequest.mentee), selectinload(MentorRequest.mentor)],
    )
    if request is None or request.mentor.workspace.team_id != team_id:
        raise RequestProblem("I can't find that request any more.")
    return request


def _ensure_open(request: MentorRequest) -> None:
    if request.status != RequestStatus.PENDING:
        raise RequestProblem(_CLOSED[request.status].format(mentee=request.mentee.name))


def request_to_answer(
    session: Session, request_id: int, team_id: str, user_id: str, *, lock: bool = False
) -> MentorRequest:
    """The pending request addressed to this mentor; anyone else is refused."""
    request = _request_for(session, request_id, team_id, lock=lock)
    if request.mentor.slack_user_id != user_id:
        raise RequestProblem("This request isn't addressed to you, so I left it alone.")
    if closed_early(request):
        raise RequestProblem(
            "I closed this request when your mentee slots filled up, and pointed "
            f"{request.mentee.name} to other mentors."
        )
    if not request.mentee.is_active:
        raise RequestProblem(f"{request.mentee.name} has left the workspace, so this is closed.")
    _ensure_open(request)
    return request


@dataclass(frozen=True)
class Accepted:
    request: MentorRequest
    pairing: Pairing


def accept_request(
    session: Session, request_id: int, team_id: str, user_id: str, now: datetime
) -> Accepted:
    """Pair them, never beyond the mentor's capacity, even when two accepts race."""
    request = request_to_answer(session, request_id, team_id, user_id)
    # Both people's rows are locked (in id order) before any request row: every accept for this
    # mentor or this mentee waits its turn (SQLite: BEGIN IMMEDIATE), so the other requests it
    # closes below are never held by a racing accept, and two accepts cannot deadlock.
    people = session.scalars(
        select(Member)
        .where(Member.id.in_({request.mentor_id, request.mentee_id}))
        .order_by(Member.id)
        .with_for_update(of=Member)
        .execution_options(populate_existing=True)
    ).all()
    mentor = next(person for person in people if person.id == request.mentor_id)
    # Re-read under the locks: a racing accept may have closed it meanwhile.
    request = request_to_answer(session, request_id, team_id, user_id, lock=True)
    active = active_mentee_counts(session, [mentor.id]).get(mentor.id, 0)
    if active >= mentor.capacity:
        raise RequestProblem(
            f"You're at your limit of {mentor.capacity} mentees, so I didn't accept this one. "
            "Raise it in `/mentor profile` if you have room, then accept again."
        )
    existing = session.scalar(
        select(func.count()).where(
            Pairing.mentor_id == mentor.id,
            Pairing.mentee_id == request.mentee_id,
            Pairing.status == PairingStatus.ACTIVE,
        )
    )
    if existing:
        raise RequestProblem(f"You're already mentoring {request.mentee.name}.")
    pairing = Pairing(
        workspace_id=request.workspace_id,
        mentor_id=mentor.id,
        mentee_id=request.mentee_id,
        request_id=request.id,
        status=PairingStatus.ACTIVE,
        started_at=now,
    )
    session.add(pairing)
    request.status, request.responded_at = RequestStatus.ACCEPTED, now
    cancel_pending(session, "request", request.id, "accepted", kinds=["request_reminder"])
    session.flush()
    key = f"introduction:{pairing.id}"
    tell_pair(
        session, pairing, "introduction", ("pairing", pairing.id), key, now, actor_id=mentor.id
    )
    _withdraw_overlapping(session, request, pairing, now)
    if active + 1 >= mentor.capacity:
        _close_when_full(session, mentor, now)
    return Accepted(request, pairing)


def request_topic_keys(request: MentorRequest) -> set[str]:
    """What the request was about: the words searched for, else the mentee's sought topics."""
    return {topic_key(name) for name in wanted_topics(request.mentee, request.topic_query)}


def _withdraw_overlapping(
    session: Session, accepted: MentorRequest, pairing: Pairing, now: datetime
) -> None:
    """One mentor per topic: the mentee's other waiting requests on the same topics close."""
    keys = request_topic_keys(accepted)
    others = session.scalars(
        select(MentorRequest)
        .where(
            MentorRequest.mentee_id == accepted.mentee_id,
            MentorRequest.status == RequestStatus.PENDING,
            MentorRequest.id != accepted.id,
        )
        .order_by(MentorRequest.id)
        .with_for_update(of=MentorRequest)
    ).all()
    withdrawn = [other for other in others if request_topic_keys(other) & keys]
    for other in withdrawn:
        other.status, other.responded_at = RequestStatus.WITHDRAWN, now
        unseen = cancel_pending(session, "request", other.id, "found a mentor", ["intro_request"])
        cancel_pending(session, "request", other.id, "found a mentor")
        # A mentor who never got the request needs no note about it.
        if not unseen:
            _tell(session, other, "request_withdrawn", other.mentor_id, now)
    if withdrawn:
        # One note listing them all; the renderer finds them by this moment (see its docstring).
        enqueue(
            session,
            workspace_id=pairing.workspace_id,
            kind="requests_withdrawn",
            dedupe_key=f"requests_withdrawn:{pairing.id}",
            due_at=now,
            now=now,
            member_id=pairing.mentee_id,
            subject=("pairing", pairing.id),
            solicited=True,
        )


def _close_when_full(session: Session, mentor: Member, now: datetime) -> None:
    """The mentor's last slot is taken: everyone still waiting hears now, not on day 5."""
    waiting = session.scalars(
        select(MentorRequest)
        .where(MentorRequest.mentor_id == mentor.id, MentorRequest.status == RequestStatus.PENDING)
        .order_by(MentorRequest.id)
        .with_for_update(of=MentorRequest)
    ).all()
    for request in waiting:
        close_early(session, request, "mentor full", "request_full", now)


def close_early(
    session: Session, request: MentorRequest, reason: str, kind: str, now: datetime
) -> None:
    """Close a waiting request before it expires (the mentor is full or has left) and tell
    the mentee with `kind`. Expired with `responded_at` before `expires_at` is how it shows."""
    request.status, request.responded_at = RequestStatus.EXPIRED, now
    cancel_pending(session, "request", request.id, reason)
    _tell(session, request, kind, request.mentee_id, now)


def closed_early(request: MentorRequest) -> bool:
    return (
        request.status == RequestStatus.EXPIRED
        and request.responded_at is not None
        and request.responded_at < request.expires_at
    )


def decline_request(
    session: Session, request_id: int, team_id: str, user_id: str, reason: str | None, now: datetime
) -> MentorRequest:
    """Not now: the mentee hears kindly, with a way to the next match."""
    reason = (reason or "").strip()
    if len(reason) > REASON_LIMIT:
        raise InvalidInput(
            {ids.DECLINE_REASON_BLOCK: f"Keep it under {REASON_LIMIT} characters, please."}
        )
    # Locked like an accept, so a decline and an accept clicked together cannot both succeed.
    request = request_to_answer(session, request_id, team_id, user_id, lock=True)
    request.status, request.responded_at = RequestStatus.DECLINED, now
    request.decline_reason = reason or None
    cancel_pending(session, "request", request.id, "declined", kinds=["request_reminder"])
    _tell_mentee(session, request, "request_declined", now)
    return request


def withdraw_request(
    session: Session, request_id: int, team_id: str, user_id: str, now: datetime
) -> MentorRequest:
    request = _request_for(session, request_id, team_id, lock=True)
    if request.mentee.slack_user_id != user_id:
        raise RequestProblem("Only the person who asked can withdraw a request.")
    _ensure_open(request)
    request.status, request.responded_at = RequestStatus.WITHDRAWN, now
    cancel_pending(session, "request", request.id, "withdrawn")
    return request


def expire_requests(session: Session, now: datetime) -> int:
    """Requests nobody answered in time: close them and offer the mentee the next match."""
    stale = session.scalars(
        select(MentorRequest)
        .where(MentorRequest.status == RequestStatus.PENDING, MentorRequest.expires_at <= now)
        .with_for_update(skip_locked=True)
    ).all()
    for request in stale:
        request.status, request.responded_at = RequestStatus.EXPIRED, now
        cancel_pending(session, "request", request.id, "expired", kinds=["request_reminder"])
        _tell_mentee(session, request, "request_expired", now)
    return len(stale)


def _tell_mentee(session: Session, request: MentorRequest, kind: str, now: datetime) -> None:
    _tell(session, request, kind, request.mentee_id, now)


def _tell(
    session: Session, request: MentorRequest, kind: str, member_id: int, now: datetime
) -> None:
    enqueue(
        session,
        workspace_id=request.workspace_id,
        kind=kind,
        dedupe_key=f"{kind}:{request.id}",
        due_at=now,
        now=now,
        member_id=member_id,
        subject=("request", request.id),
        solicited=True,
    )


def pending_requests(
    session: Session, member: Member
) -> tuple[list[MentorRequest], list[MentorRequest]]:
    """(requests this person sent, requests waiting for their answer), oldest first."""
    rows = session.scalars(
        select(MentorRequest)
        .where(
            MentorRequest.status == RequestStatus.PENDING,
            (MentorRequest.mentee_id == member.id) | (MentorRequest.mentor_id == member.id),
        )
        .options(selectinload(MentorRequest.mentee), selectinload(MentorRequest.mentor))
        .order_by(MentorRequest.created_at, MentorRequest.id)
    ).all()
    return (
        [r for r in rows if r.mentee_id == member.id],
        [r for r in rows if r.mentor_id == member.id],
    )
