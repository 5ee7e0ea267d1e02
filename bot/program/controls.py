"""Everyone's controls over their own pairs and data: end a pair, see my data, forget me."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session, selectinload

from bot.core.members import find_member
from bot.core.models import (
    Advice,
    AgendaItem,
    Block,
    GratitudeNote,
    Meeting,
    Member,
    MemberTopic,
    MentorNote,
    MentorRequest,
    OutboxMessage,
    OutboxStatus,
    Pairing,
    PairingStatus,
    RequestStatus,
    Success,
    TopicKind,
    Wish,
)
from bot.core.outbox import cancel_pending_about, enqueue
from bot.prepare.meetings import pairing_with
from bot.respect.checkins import NOTE_LIMIT, CheckInProblem, end_pairing

# What stays in a partner's history in place of someone who asked to be forgotten.
FORMER_MEMBER = "a former member"
FORGOTTEN = "forgotten at the member's request"


@dataclass(frozen=True)
class Ended:
    pairing: Pairing
    ender: Member
    partner: Member
    thanked: bool

    @property
    def ender_is_mentee(self) -> bool:
        return self.ender.id == self.pairing.mentee_id

    @property
    def query(self) -> str:
        """What the mentee looked for, so "Find another mentor" searches the same again."""
        request = self.pairing.request
        if request is not None and request.topic_query:
            return request.topic_query
        return ", ".join(self.pairing.mentee.topic_names(TopicKind.SOUGHT))


def end_with(
    session: Session,
    team_id: str,
    user_id: str,
    partner_user_id: str,
    thanks: str,
    now: datetime,
) -> Ended:
    """`/mentor end @partner [a last thank-you]`: either of the two may end it, any time."""
    thanks = thanks.strip()
    if len(thanks) > NOTE_LIMIT:
        raise CheckInProblem(
            f"Keep the thank-you under {NOTE_LIMIT} characters (it is {len(thanks)}), "
            "then try again. Nothing has ended yet."
        )
    pairing = pairing_with(session, team_id, user_id, partner_user_id, now)
    ender = pairing.person(user_id)
    assert ender is not None
    partner = pairing.mentee if ender.id == pairing.mentor_id else pairing.mentor
    if thanks:
        # Recorded like any thank-you; it travels inside the ending message, so they hear once.
        session.add(
            GratitudeNote(
                workspace_id=pairing.workspace_id,
                from_member_id=ender.id,
                to_member_id=partner.id,
                text=thanks,
                created_at=now,
            )
        )
    end_pairing(session, pairing, ender, now)
    return Ended(pairing, ender, partner, bool(thanks))


# ---------------------------------------------------------------- my data


def _when(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def my_data(session: Session, team_id: str, user_id: str) -> dict[str, Any]:
    """Everything stored about this person, as plain data (names, not database ids)."""
    member = find_member(session, team_id, user_id)
    if member is None:
        return {}
    me = member.id
    requests = session.scalars(
        select(MentorRequest)
        .where(or_(MentorRequest.mentee_id == me, MentorRequest.mentor_id == me))
        .options(selectinload(MentorRequest.mentee), selectinload(MentorRequest.mentor))
        .order_by(MentorRequest.created_at, MentorRequest.id)
    ).all()
    pairings = session.scalars(
        select(Pairing)
        .where(or_(Pairing.mentee_id == me, Pairing.mentor_id == me))
        .options(selectinload(Pairing.mentor), selectinload(Pairing.mentee))
        .order_by(Pairing.started_at, Pairing.id)
    ).all()
    meetings = session.scalars(
        select(Meeting)
        .where(Meeting.pairing_id.in_([p.id for p in pairings]))
        .order_by(Meeting.starts_at, Meeting.id)
    ).all()
    starts = {m.id: m.starts_at for m in meetings}
    partner_of = {p.id: (p.mentee if p.mentor_id == me else p.mentor).name for p in pairings}
    agenda = session.scalars(
        select(AgendaItem).where(AgendaItem.author_id == me).order_by(AgendaItem.id)
    ).all()
    advice = session.scalars(select(Advice).where(Advice.mentee_id == me).order_by(Advice.id)).all()
    thanks = session.scalars(
        select(GratitudeNote)
        .where(or_(GratitudeNote.from_member_id == me, GratitudeNote.to_member_id == me))
        .options(selectinload(GratitudeNote.sender), selectinload(GratitudeNote.recipient))
        .order_by(GratitudeNote.created_at, GratitudeNote.id)
    ).all()
    notes = session.scalars(
        select(MentorNote)
        .where(
            or_(MentorNote.author_id == me, MentorNote.meeting_id.in_(list(starts))),
        )
        .order_by(MentorNote.id)
    ).all()
    successes = session.scalars(
        select(Success)
        .where(or_(Success.author_id == me, Success.mentor_id == me))
        .options(selectinload(Success.author), selectinload(Success.mentor))
        .order_by(Success.created_at, Success.id)
    ).all()
    wishes = session.scalars(select(Wish).where(Wish.member_id == me).order_by(Wish.id)).all()
    blocked = session.scalars(
        select(Member).join(Block, Block.blocked_id == Member.id).where(Block.blocker_id == me)
    ).all()
    return {
        "profile": {
            "slack_user_id": member.slack_user_id,
            "display_name": member.display_name,
            "real_name": member.real_name,
            "time_zone": member.tz,
            "mentor": member.is_mentor,
            "mentee": member.is_mentee,
            "topics_offered": member.topic_names(TopicKind.OFFERED),
            "topics_sought": member.topic_names(TopicKind.SOUGHT),
            "goals": member.goals,
            "background": member.background,
            "experience": member.experience,
            "capacity": member.capacity,
            "paused_until": _when(member.paused_until),
            "working_hours": (
                f"{member.work_start:%H:%M}-{member.work_end:%H:%M}"
                if member.work_start and member.work_end
                else None
            ),
            "first_seen": _when(member.created_at),
        },
        "requests": [
            {
                "sent": r.mentee_id == me,
                "mentor": r.mentor.name,
                "mentee": r.mentee.name,
                "status": r.status.value,
                "searched_for": r.topic_query,
                "note": r.note,
                "reason_given": r.decline_reason,
                "sent_at": _when(r.created_at),
                "answered_at": _when(r.responded_at),
            }
            for r in requests
        ],
        "pairs": [
            {
                "role": "mentor" if p.mentor_id == me else "mentee",
                "partner": partner_of[p.id],
                "status": p.status.value,
                "started_at": _when(p.started_at),
                "ended_at": _when(p.ended_at),
            }
            for p in pairings
        ],
        "sessions": [
            {
                "with": partner_of[m.pairing_id],
                "starts_at": _when(m.starts_at),
                "minutes": m.duration_minutes,
                "status": m.status.value,
                "topic": m.topic,
            }
            for m in meetings
        ],
        "agenda_items": [
            {"session": _when(starts.get(a.meeting_id)), "text": a.text} for a in agenda
        ],
        "advice": [
            {
                "session": _when(starts.get(a.meeting_id)),
                "text": a.text,
                "outcome": a.outcome.value if a.outcome else None,
            }
            for a in advice
        ],
        "thanks_sent": [
            {"to": t.recipient.name, "text": t.text, "at": _when(t.created_at)}
            for t in thanks
            if t.from_member_id == me
        ],
        "thanks_received": [
            {"from": t.sender.name, "text": t.text, "at": _when(t.created_at)}
            for t in thanks
            if t.to_member_id == me
        ],
        "mentor_notes": [
            {
                "written_by_you": n.author_id == me,
                "session": _when(starts.get(n.meeting_id)),
                "text": n.text,
            }
            for n in notes
        ],
        "successes": [
            {
                "yours": s.author_id == me,
                "by": s.author.name,
                "mentor": s.mentor.name if s.mentor else None,
                "text": s.text,
                "shared_publicly": s.share_publicly,
                "removed": s.deleted_at is not None,
                "at": _when(s.created_at),
            }
            for s in successes
        ],
        "waiting_for_topics": [w.topic_name for w in wishes],
        "blocked": [b.name for b in blocked],
    }


# ---------------------------------------------------------------- forget me


class ForgetProblem(CheckInProblem):
    """A forget that cannot run: there is nobody to forget, or they have not left."""


def forget_me(session: Session, team_id: str, user_id: str, now: datetime) -> list[tuple[str, str]]:
    """The person's own, confirmed wish; returns the channel posts (channel, ts) to take down."""
    member = find_member(session, team_id, user_id)
    return forget_member(session, member, now) if member is not None else []


def forget_left(
    session: Session, team_id: str, user_id: str, now: datetime
) -> list[tuple[str, str]]:
    """An admin forgets someone who has left (the handler has asked Slack that they have)."""
    member = find_member(session, team_id, user_id)
    if member is None:
        raise ForgetProblem(f"I don't hold anything about <@{user_id}>, so there's nothing to do.")
    return forget_member(session, member, now)


def forget_member(session: Session, member: Member, now: datetime) -> list[tuple[str, str]]:
    """Delete what the person wrote or chose, keep what partners need as "a former member",
    and queue nothing more to or about them. Partners hear once, kindly; a pair or a request
    ends exactly as if it had been ended by hand."""
    me, former = member.id, f"former-{member.id}"
    requests = session.scalars(
        select(MentorRequest)
        .where(or_(MentorRequest.mentee_id == me, MentorRequest.mentor_id == me))
        .with_for_update(of=MentorRequest)
    ).all()
    pairings = session.scalars(
        select(Pairing)
        .where(or_(Pairing.mentee_id == me, Pairing.mentor_id == me))
        .options(selectinload(Pairing.mentor), selectinload(Pairing.mentee))
    ).all()
    meeting_ids = session.scalars(
        select(Meeting.id).where(Meeting.pairing_id.in_([p.id for p in pairings]))
    ).all()
    successes = session.scalars(select(Success).where(Success.author_id == me)).all()
    posts = _channel_posts(session, [s.id for s in successes])
    thanks_ids = session.scalars(
        select(GratitudeNote.id).where(
            or_(GratitudeNote.from_member_id == me, GratitudeNote.to_member_id == me)
        )
    ).all()
    note_ids = session.scalars(
        select(MentorNote.id).where(
            or_(MentorNote.author_id == me, MentorNote.meeting_id.in_(meeting_ids))
        )
    ).all()

    # First silence everything queued to or about them; the kind goodbyes are queued after.
    cancel_pending_about(
        session,
        {
            "request": [r.id for r in requests],
            "pairing": [p.id for p in pairings],
            "meeting": meeting_ids,
            "success": [s.id for s in successes],
            "thanks": thanks_ids,
            "mentor_note": note_ids,
        },
        FORGOTTEN,
    )
    session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.status == OutboxStatus.PENDING,
            # A Slack id can be in several workspaces (Enterprise Grid): only this one's rows.
            OutboxMessage.workspace_id == member.workspace_id,
            or_(
                OutboxMessage.recipient_member_id == me,
                # Group DMs list Slack ids with commas; match whole ids only.
                ("," + OutboxMessage.recipient_group + ",").contains(f",{member.slack_user_id},"),
            ),
        )
        .values(status=OutboxStatus.CANCELLED, last_error=FORGOTTEN),
        execution_options={"synchronize_session": False},
    )

    # Out of find and wishes at once, so ending their pairs offers nobody their freed slot.
    member.is_active = member.is_mentor = member.is_mentee = False
    # Sent group DMs keep the list of who they went to: their Slack id gives way to the new key.
    session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.workspace_id == member.workspace_id,
            ("," + OutboxMessage.recipient_group + ",").contains(f",{member.slack_user_id},"),
        )
        .values(
            recipient_group=func.replace(
                OutboxMessage.recipient_group, member.slack_user_id, former
            )
        ),
        execution_options={"synchronize_session": False},
    )
    for request in requests:
        request.note = ""  # their words, or words addressed to someone no longer here
        request.decline_reason = None
        if request.status != RequestStatus.PENDING:
            continue
        request.responded_at = now
        if request.mentee_id == me:
            request.status = RequestStatus.WITHDRAWN
            continue
        # The mentee waiting on them hears "not now", kindly, with the next matches.
        request.status = RequestStatus.DECLINED
        enqueue(
            session,
            workspace_id=request.workspace_id,
            kind="request_declined",
            dedupe_key=f"request_declined:{request.id}",
            due_at=now,
            now=now,
            member_id=request.mentee_id,
            subject=("request", request.id),
            solicited=True,
        )
    for pairing in pairings:
        if pairing.status == PairingStatus.ACTIVE:
            end_pairing(session, pairing, member, now)

    for model, column in (
        (AgendaItem, AgendaItem.author_id),
        (Advice, Advice.mentee_id),
        (MentorNote, MentorNote.author_id),
        (GratitudeNote, GratitudeNote.from_member_id),
        (Success, Success.author_id),
        (Wish, Wish.member_id),
        (Block, Block.blocker_id),
        (MemberTopic, MemberTopic.member_id),
    ):
        session.execute(
            delete(model).where(column == me), execution_options={"synchronize_session": False}
        )
    session.expire(member, ["topics"])
    # Same id, so partners' history still holds together; a new Slack id-shaped key, so if
    # they come back they start fresh as a new member.
    member.slack_user_id = former
    member.display_name, member.real_name = FORMER_MEMBER, ""
    member.goals = member.background = member.experience = ""
    member.tz, member.paused_until, member.work_start, member.work_end = "UTC", None, None, None
    member.dm_channel_id = member.synced_at = member.profile_saved_at = None
    member.reframe_invited_at = None
    member.forgotten_at = member.updated_at = now
    return posts


def _channel_posts(session: Session, success_ids: list[int]) -> list[tuple[str, str]]:
    rows = session.execute(
        select(OutboxMessage.sent_channel_id, OutboxMessage.sent_ts).where(
            OutboxMessage.subject_type == "success",
            OutboxMessage.subject_id.in_(success_ids),
            OutboxMessage.kind == "success_post",
            OutboxMessage.status == OutboxStatus.SENT,
        )
    ).all()
    return [(channel, ts) for channel, ts in rows if channel and ts]
