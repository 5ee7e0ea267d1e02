"""Respect: after a session, did it happen, what advice to apply, thanks, notes, and follow-ups."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bot.calendar.events import announce
from bot.core import ids
from bot.core.errors import InvalidInput, MentorCoachError
from bot.core.members import find_member, member_for
from bot.core.models import (
    Advice,
    AdviceOutcome,
    GratitudeNote,
    Meeting,
    MeetingStatus,
    Member,
    MentorNote,
    Pairing,
    PairingStatus,
)
from bot.core.outbox import cancel_pending, cancel_pending_about, enqueue
from bot.core.settings import Settings
from bot.find.partners import blocked_between
from bot.find.wishes import fulfil_wishes
from bot.prepare.meetings import meeting_for, partner_of, tell_pair

NOTE_LIMIT = 1000


THANKS_EVERY = timedelta(days=1)  # per pair, for `/mentor thanks` outside a session


ADVICE_LIMIT = 300


MISSES_BEFORE_ASKING = 2


class CheckInProblem(MentorCoachError):
    """An answer that does not fit the session's state, or comes from the wrong person."""


@dataclass(frozen=True)
class Answer:
    meeting: Meeting
    actor: Member
    partner: Member
    is_mentee: bool


def answer_for(
    session: Session, meeting_id: int, team_id: str, user_id: str, now: datetime
) -> Answer:
    """The session, seen by one of its two people, once it has started."""
    meeting = meeting_for(session, meeting_id, team_id, user_id, upcoming=False)
    if meeting.starts_at > now:
        raise CheckInProblem("That session hasn't happened yet, so there's nothing to check in on.")
    actor = member_for(session, team_id, user_id, now)
    return Answer(
        meeting, actor, partner_of(meeting.pairing, actor.id), actor.id == meeting.pairing.mentee_id
    )


def mark_held(
    session: Session, meeting_id: int, team_id: str, user_id: str, now: datetime
) -> Answer:
    """Yes, it happened. The first answer sets the status; a contradicting later one is refused."""
    answer = answer_for(session, meeting_id, team_id, user_id, now)
    meeting = answer.meeting
    if meeting.status in (MeetingStatus.MISSED, MeetingStatus.CANCELLED):
        raise CheckInProblem(
            f"{answer.partner.name} already marked this session as {meeting.status.value}. "
            "If that's wrong, talk it over and book the next one."
        )
    if meeting.status == MeetingStatus.SCHEDULED:
        meeting.status = MeetingStatus.HELD
        cancel_pending(
            session, "meeting", meeting.id, "session held", kinds=["prep_prompt", "agenda"]
        )
        from bot.reframe.invitations import invite_after_sessions

        invite_after_sessions(session, meeting.pairing.mentee, now)
    return answer


def mark_missed(
    session: Session, meeting_id: int, team_id: str, user_id: str, now: datetime, *, moved: bool
) -> Answer:
    """It didn't happen (or was moved). Two misses in a row: ask the pair whether to go on."""
    answer = answer_for(session, meeting_id, team_id, user_id, now)
    meeting = answer.meeting
    if meeting.status == MeetingStatus.HELD:
        raise CheckInProblem(f"{answer.partner.name} already said this session happened.")
    if meeting.status == MeetingStatus.SCHEDULED:
        meeting.status = MeetingStatus.CANCELLED if moved else MeetingStatus.MISSED
        cancel_pending(session, "meeting", meeting.id, "session did not happen as booked")
        if not moved and _missed_in_a_row(session, meeting) >= MISSES_BEFORE_ASKING:
            pairing = meeting.pairing
            key = f"continue:{pairing.id}:{meeting.id}"
            tell_pair(
                session,
                pairing,
                "continue_check",
                ("pairing", pairing.id),
                key,
                now,
                solicited=False,
            )
    return answer


def _missed_in_a_row(session: Session, meeting: Meeting) -> int:
    """How many of the pair's latest past sessions, counting this one, were missed."""
    recent = session.scalars(
        select(Meeting.status)
        .where(
            Meeting.pairing_id == meeting.pairing_id,
            Meeting.starts_at <= meeting.starts_at,
            Meeting.status.in_([MeetingStatus.HELD, MeetingStatus.MISSED]),
        )
        .order_by(Meeting.starts_at.desc())
        .limit(MISSES_BEFORE_ASKING)
    ).all()
    missed = 0
    for status in recent:
        if status != MeetingStatus.MISSED:
            break
        missed += 1
    return missed


def parse_lines(raw: str | None, block_id: str, limit: int) -> list[str]:
    items = [line.strip(" •-*\t") for line in (raw or "").splitlines()]
    items = [item for item in items if item]
    if not items:
        raise InvalidInput({block_id: "Write at least one thing, one per line."})
    if len(items) > 10 or any(len(item) > limit for item in items):
        raise InvalidInput({block_id: f"Up to 10 lines, each under {limit} characters."})
    return items


def save_advice(
    session: Session,
    meeting_id: int,
    team_id: str,
    user_id: str,
    raw: str | None,
    settings: Settings,
    now: datetime,
) -> tuple[Answer, list[Advice]]:
    """What the mentee will apply; a week later they are asked how it went."""
    items = parse_lines(raw, ids.ADVICE_BLOCK, ADVICE_LIMIT)
    answer = answer_for(session, meeting_id, team_id, user_id, now)
    if not answer.is_mentee:
        raise CheckInProblem("Advice to apply is the mentee's to choose.")
    if answer.meeting.status != MeetingStatus.HELD:
        raise CheckInProblem("First tell me the session happened.")
    advice = [
        Advice(meeting_id=meeting_id, mentee_id=answer.actor.id, text=item, created_at=now)
        for item in items
    ]
    session.add_all(advice)
    enqueue(
        session,
        workspace_id=answer.meeting.pairing.workspace_id,
        kind="followup",
        dedupe_key=f"followup:{meeting_id}",
        due_at=now + timedelta(minutes=settings.followup_delay_minutes),
        now=now,
        member_id=answer.actor.id,
        subject=("meeting", meeting_id),
    )
    return answer, advice


def validate_note(raw: str | None, block_id: str) -> str:
    text = (raw or "").strip()
    if not text:
        raise InvalidInput({block_id: "Write a line or two first."})
    if len(text) > NOTE_LIMIT:
        raise InvalidInput(
            {block_id: f"Keep it under {NOTE_LIMIT} characters (it is {len(text)})."}
        )
    return text


def check_thanks(
    session: Session,
    team_id: str,
    user_id: str,
    to_user_id: str,
    now: datetime,
    *,
    once_a_day: bool = True,
) -> None:
    """Refuse a thank-you that must not go: to yourself, across a block, or a second one today."""
    if to_user_id == user_id:
        raise CheckInProblem("Thanking yourself is healthy, but I can't deliver it.")
    sender = find_member(session, team_id, user_id)
    recipient = find_member(session, team_id, to_user_id)
    if sender is None or recipient is None:
        return  # nobody can have blocked or been thanked by someone new to the bot
    if blocked_between(session, sender.id, recipient.id):
        # Never say who blocked whom.
        raise CheckInProblem("Sorry, I can't pass notes between you two.")
    if once_a_day and session.scalar(
        select(func.count())
        .select_from(GratitudeNote)
        .where(
            GratitudeNote.from_member_id == sender.id,
            GratitudeNote.to_member_id == recipient.id,
            GratitudeNote.meeting_id.is_(None),
            GratitudeNote.created_at > now - THANKS_EVERY,
        )
    ):
        raise CheckInProblem(
            f"You already thanked <@{to_user_id}> today, and one note a day keeps each one "
            "special. Save this one for tomorrow?"
        )


def send_thanks(
    session: Session,
    team_id: str,
    user_id: str,
    to_user_id: str,
    raw: str | None,
    now: datetime,
    meeting_id: int | None = None,
) -> GratitudeNote:
    """A written thank-you, delivered by DM; from a session's check-in or `/mentor thanks`."""
    text = validate_note(raw, ids.THANKS_BLOCK)
    check_thanks(session, team_id, user_id, to_user_id, now, once_a_day=meeting_id is None)
    sender = member_for(session, team_id, user_id, now)
    recipient = member_for(session, team_id, to_user_id, now)
    note = GratitudeNote(
        workspace_id=sender.workspace_id,
        from_member_id=sender.id,
        to_member_id=recipient.id,
        meeting_id=meeting_id,
        text=text,
        created_at=now,
    )
    session.add(note)
    session.flush()
    enqueue(
        session,
        workspace_id=sender.workspace_id,
        kind="thanks",
        dedupe_key=f"thanks:{note.id}",
        due_at=now,
        now=now,
        member_id=recipient.id,
        subject=("thanks", note.id),
        urgent=True,
        actor_id=sender.id,
    )
    return note


def thank_mentor(
    session: Session, meeting_id: int, team_id: str, user_id: str, raw: str | None, now: datetime
) -> GratitudeNote:
    answer = answer_for(session, meeting_id, team_id, user_id, now)
    return send_thanks(
        session, team_id, user_id, answer.partner.slack_user_id, raw, now, meeting_id=meeting_id
    )


def leave_note(
    session: Session, meeting_id: int, team_id: str, user_id: str, raw: str | None, now: datetime
) -> MentorNote:
    """The mentor's note or follow-up for the mentee, delivered by DM."""
    text = validate_note(raw, ids.MENTOR_NOTE_BLOCK)
    answer = answer_for(session, meeting_id, team_id, user_id, now)
    if answer.is_mentee:
        raise CheckInProblem("Notes here go from the mentor to the mentee.")
    note = MentorNote(meeting_id=meeting_id, author_id=answer.actor.id, text=text, created_at=now)
    session.add(note)
    session.flush()
    enqueue(
        session,
        workspace_id=answer.meeting.pairing.workspace_id,
        kind="mentor_note",
        dedupe_key=f"mentor_note:{note.id}",
        due_at=now,
        now=now,
        member_id=answer.partner.id,
        subject=("mentor_note", note.id),
        urgent=True,
        actor_id=answer.actor.id,
    )
    return note


def record_outcome(
    session: Session,
    meeting_id: int,
    team_id: str,
    user_id: str,
    outcome: AdviceOutcome,
    now: datetime,
) -> Answer:
    answer = answer_for(session, meeting_id, team_id, user_id, now)
    if not answer.is_mentee:
        raise CheckInProblem("Only the mentee can say how applying the advice went.")
    session.execute(
        update(Advice)
        .where(Advice.meeting_id == meeting_id, Advice.mentee_id == answer.actor.id)
        .values(outcome=outcome, outcome_at=now),
        execution_options={"synchronize_session": False},
    )
    return answer


def continue_pairing(
    session: Session, pairing_id: int, team_id: str, user_id: str, keep: bool, now: datetime
) -> Pairing:
    """After repeated misses: keep going, or end the pairing kindly (and free the slot)."""
    from bot.prepare.meetings import active_pairing

    pairing = active_pairing(session, pairing_id, team_id, user_id)
    if keep:
        return pairing
    ender = pairing.person(user_id)
    assert ender is not None  # active_pairing refuses anyone else
    return end_pairing(session, pairing, ender, now)


def end_pairing(session: Session, pairing: Pairing, ender: Member | None, now: datetime) -> Pairing:
    """The one way a pair ends (after missed sessions, `/mentor end`, forget me): sessions and
    everything queued about the pair are cancelled, the mentor's slot frees up, and the other
    person hears once, by DM. The ender hears from their own reply; with no ender (someone
    left), both are told."""
    pairing.status, pairing.ended_at = PairingStatus.ENDED, now
    meetings = session.scalars(
        select(Meeting).where(
            Meeting.pairing_id == pairing.id, Meeting.status == MeetingStatus.SCHEDULED
        )
    ).all()
    for meeting in meetings:
        meeting.status = MeetingStatus.CANCELLED
    cancel_pending_about(
        session, {"meeting": [m.id for m in meetings], "pairing": [pairing.id]}, "pairing ended"
    )
    if meetings:  # calendars that hold these sessions get the cancellation
        announce(session, meetings, now)
    for member in (pairing.mentor, pairing.mentee):
        if ender is not None and member.id == ender.id:
            continue
        enqueue(
            session,
            workspace_id=pairing.workspace_id,
            kind="pairing_ended",
            dedupe_key=f"pairing_ended:{pairing.id}:{member.id}",
            due_at=now,
            now=now,
            member_id=member.id,
            subject=("pairing", pairing.id),
            urgent=True,
            solicited=True,
        )
    session.flush()
    fulfil_wishes(session, pairing.mentor, now)
    return pairing
