"""The program at a glance for its admins: headline numbers, the funnel, quiet pairs.

Every number comes from a fixed handful of aggregate queries, however big the workspace.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, literal, or_, select, union_all
from sqlalchemy.orm import Session, aliased

from bot.core.members import workspace_for
from bot.core.models import (
    AgendaItem,
    FindRecord,
    GratitudeNote,
    Meeting,
    MeetingStatus,
    Member,
    MentorRequest,
    OutboxMessage,
    OutboxStatus,
    Pairing,
    PairingStatus,
    Success,
)
from bot.program.nudges import quiet_since

FUNNEL_WINDOWS = (30, 90)
FUNNEL_STEPS = ("find", "request", "accepted", "first session", "thanked", "success")
QUIET_PAIR_DAYS = 30
QUIET_PAIRS_SHOWN = 8


@dataclass(frozen=True)
class Rate:
    """How many of `total` did the thing; `percent` is None when there was nothing to count."""

    done: int
    total: int

    @property
    def percent(self) -> int | None:
        return round(100 * self.done / self.total) if self.total else None


@dataclass(frozen=True)
class Funnel:
    """People who got at least this far in the last `days` days, one count per step."""

    days: int
    reached: tuple[int, ...]


@dataclass(frozen=True)
class QuietPair:
    """An active pair with no session in QUIET_PAIR_DAYS days."""

    pairing_id: int
    mentor_user_id: str
    mentee_user_id: str
    last_session_at: datetime | None
    started_at: datetime
    nudged_at: datetime | None


@dataclass(frozen=True)
class ProgramStats:
    members: int
    mentors_with_room: int
    mentees_waiting: int
    active_pairs: int
    sessions_held: int
    prep_answered: Rate
    thanked: Rate
    successes: int
    funnels: tuple[Funnel, ...]
    quiet_pairs: tuple[QuietPair, ...]
    quiet_pairs_total: int


def program_stats(session: Session, team_id: str, now: datetime) -> ProgramStats:
    """Everything the admin dashboard shows, in five queries."""
    workspace_id = workspace_for(session, team_id, now).id
    counts = session.execute(_headline_counts(workspace_id, now)).one()
    quiet, quiet_total = _quiet_pairs(session, workspace_id, now)
    return ProgramStats(
        members=counts.members,
        mentors_with_room=counts.mentors_with_room,
        mentees_waiting=counts.mentees_waiting,
        active_pairs=counts.active_pairs,
        sessions_held=counts.sessions_held,
        prep_answered=Rate(counts.prep_answered, counts.prep_sent),
        thanked=Rate(counts.thanked, counts.sessions_held),
        successes=counts.successes,
        funnels=tuple(_funnel(session, workspace_id, days, now) for days in FUNNEL_WINDOWS),
        quiet_pairs=tuple(quiet),
        quiet_pairs_total=quiet_total,
    )


def _count(*where: ColumnElement[bool], of: type = Member) -> ColumnElement[int]:
    return select(func.count()).select_from(of).where(*where).scalar_subquery()


def _headline_counts(workspace_id: int, now: datetime) -> Select[Any]:
    """One SELECT of correlated counts: no query per member, pair or session."""
    present = and_(
        Member.workspace_id == workspace_id,
        Member.is_active.is_(True),
        Member.profile_saved_at.is_not(None),
    )
    not_paused = or_(Member.paused_until.is_(None), Member.paused_until <= now)
    mentoring = _count(
        Pairing.mentor_id == Member.id, Pairing.status == PairingStatus.ACTIVE, of=Pairing
    )
    mentored = select(Pairing.id).where(
        Pairing.mentee_id == Member.id, Pairing.status == PairingStatus.ACTIVE
    )
    held = and_(
        Meeting.pairing_id == Pairing.id,
        Pairing.workspace_id == workspace_id,
        Meeting.status == MeetingStatus.HELD,
    )
    prep = and_(
        OutboxMessage.workspace_id == workspace_id,
        OutboxMessage.kind == "prep_prompt",
        OutboxMessage.status == OutboxStatus.SENT,
    )
    answered = (
        select(AgendaItem.id)
        .where(
            AgendaItem.meeting_id == OutboxMessage.subject_id,
            AgendaItem.author_id == OutboxMessage.recipient_member_id,
        )
        .exists()
    )
    return select(
        _count(present).label("members"),
        _count(present, Member.is_mentor.is_(True), not_paused, Member.capacity > mentoring).label(
            "mentors_with_room"
        ),
        _count(present, Member.is_mentee.is_(True), not_paused, ~mentored.exists()).label(
            "mentees_waiting"
        ),
        _count(
            Pairing.workspace_id == workspace_id,
            Pairing.status == PairingStatus.ACTIVE,
            of=Pairing,
        ).label("active_pairs"),
        select(func.count())
        .select_from(Meeting)
        .join(Pairing)
        .where(held)
        .scalar_subquery()
        .label("sessions_held"),
        select(func.count())
        .select_from(Meeting)
        .join(Pairing)
        .where(held, _thanked_after(Meeting, Pairing))
        .scalar_subquery()
        .label("thanked"),
        _count(prep, of=OutboxMessage).label("prep_sent"),
        _count(prep, answered, of=OutboxMessage).label("prep_answered"),
        _count(
            Success.workspace_id == workspace_id, Success.deleted_at.is_(None), of=Success
        ).label("successes"),
    )


def _thanked_after(meeting: type[Meeting], pairing: type[Pairing]) -> ColumnElement[bool]:
    """A thank-you for this session: linked to it, or sent between the two after it and
    before their next held session (a `/mentor thanks` typed the day after counts too)."""
    later = aliased(Meeting)
    next_session_first = (
        select(later.id)
        .where(
            later.pairing_id == meeting.pairing_id,
            later.status == MeetingStatus.HELD,
            later.starts_at > meeting.starts_at,
            later.starts_at <= GratitudeNote.created_at,
        )
        .correlate_except(later)
        .exists()
    )
    between_them = or_(
        and_(
            GratitudeNote.from_member_id == pairing.mentee_id,
            GratitudeNote.to_member_id == pairing.mentor_id,
        ),
        and_(
            GratitudeNote.from_member_id == pairing.mentor_id,
            GratitudeNote.to_member_id == pairing.mentee_id,
        ),
    )
    return (
        select(GratitudeNote.id)
        .where(
            or_(
                GratitudeNote.meeting_id == meeting.id,
                and_(
                    GratitudeNote.meeting_id.is_(None),
                    between_them,
                    GratitudeNote.created_at >= meeting.starts_at,
                    ~next_session_first,
                ),
            )
        )
        .exists()
    )


def _funnel(session: Session, workspace_id: int, days: int, now: datetime) -> Funnel:
    """Mentees by the furthest step they reached in the window, in one grouped query.

    Counting "at least this far" keeps the funnel honest: someone matched by an admin's
    round never ran /mentor find, yet still counts at the first step.
    """
    since = now - timedelta(days=days)
    steps = [
        select(FindRecord.member_id.label("who"), literal(1).label("step")).where(
            FindRecord.workspace_id == workspace_id, FindRecord.created_at >= since
        ),
        select(MentorRequest.mentee_id, literal(2)).where(
            MentorRequest.workspace_id == workspace_id, MentorRequest.created_at >= since
        ),
        select(Pairing.mentee_id, literal(3)).where(
            Pairing.workspace_id == workspace_id, Pairing.started_at >= since
        ),
        select(Pairing.mentee_id, literal(4))
        .join(Meeting, Meeting.pairing_id == Pairing.id)
        .where(
            Pairing.workspace_id == workspace_id,
            Meeting.status == MeetingStatus.HELD,
            Meeting.starts_at >= since,
        ),
        select(GratitudeNote.from_member_id, literal(5))
        .join(
            Pairing,
            and_(
                Pairing.mentee_id == GratitudeNote.from_member_id,
                Pairing.mentor_id == GratitudeNote.to_member_id,
            ),
        )
        .where(GratitudeNote.workspace_id == workspace_id, GratitudeNote.created_at >= since),
        select(Success.author_id, literal(6)).where(
            Success.workspace_id == workspace_id,
            Success.created_at >= since,
            Success.deleted_at.is_(None),
        ),
    ]
    events = union_all(*steps).subquery()
    furthest = (
        select(events.c.who, func.max(events.c.step).label("best"))
        .group_by(events.c.who)
        .subquery()
    )
    by_best = dict(
        session.execute(select(furthest.c.best, func.count()).group_by(furthest.c.best)).all()
    )
    reached = tuple(
        sum(n for best, n in by_best.items() if best >= step)
        for step in range(1, len(FUNNEL_STEPS) + 1)
    )
    return Funnel(days=days, reached=reached)


def quiet_pairs_filter(workspace_id: int, now: datetime) -> ColumnElement[bool]:
    """Active pairs together over QUIET_PAIR_DAYS with no session held or booked since then."""
    since = now - timedelta(days=QUIET_PAIR_DAYS)
    return and_(Pairing.workspace_id == workspace_id, quiet_since(since))


def _quiet_pairs(session: Session, workspace_id: int, now: datetime) -> tuple[list[QuietPair], int]:
    """The quietest few (longest without a session first) and how many there are in all."""
    where = quiet_pairs_filter(workspace_id, now)
    mentor, mentee = aliased(Member), aliased(Member)
    last_held = (
        select(func.max(Meeting.starts_at))
        .where(Meeting.pairing_id == Pairing.id, Meeting.status == MeetingStatus.HELD)
        .scalar_subquery()
    )
    rows = session.execute(
        select(
            Pairing.id,
            mentor.slack_user_id,
            mentee.slack_user_id,
            last_held,
            Pairing.started_at,
            Pairing.nudged_at,
        )
        .join(mentor, mentor.id == Pairing.mentor_id)
        .join(mentee, mentee.id == Pairing.mentee_id)
        .where(where)
        .order_by(func.coalesce(last_held, Pairing.started_at), Pairing.id)
        .limit(QUIET_PAIRS_SHOWN)
    ).all()
    total = session.scalar(select(func.count()).select_from(Pairing).where(where)) or 0
    return [QuietPair(*row) for row in rows], total
