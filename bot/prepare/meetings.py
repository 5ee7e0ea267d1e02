"""Prepare: sessions, prep prompts with the partner's background, and agendas built from DMs."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, selectinload

from bot.calendar.events import announce, new_uid
from bot.core import ids
from bot.core.database import insert_or_ignore
from bot.core.errors import InvalidInput, MentorCoachError
from bot.core.members import member_for
from bot.core.models import (
    AgendaItem,
    Meeting,
    MeetingStatus,
    Member,
    OutboxMessage,
    OutboxStatus,
    Pairing,
    PairingStatus,
    TopicKind,
    Workspace,
)
from bot.core.outbox import cancel_pending, enqueue, retime_pending
from bot.core.quiet_hours import quiet_at, quiet_window, zone
from bot.core.settings import Settings

DURATIONS = (15, 30, 45, 60, 90)


CADENCES = {0: "Just once", 1: "Every week", 2: "Every 2 weeks", 4: "Every 4 weeks"}


HORIZON = timedelta(days=183)


SERIES_SESSIONS = 6  # a series has an end: this many sessions unless the person says otherwise


WORKDAY = (time(8), time(18))


TOPIC_LIMIT = 200


ITEM_LIMIT = 500


ITEMS_PER_FORM = 30


LAST_TIMESTAMP = 253_402_300_799  # 9999-12-31 23:59:59 UTC, the end of datetime


class MeetingProblem(MentorCoachError):
    """A session that cannot be booked, moved or changed by this person; says why."""


class NeedsConfirmation(MentorCoachError):
    """The time is outside the partner's working hours: show the warning, book on a second Save."""

    def __init__(self, warning: str, plan: Plan, partner_name: str) -> None:
        super().__init__(warning)
        self.plan = plan
        self.partner_name = partner_name


@dataclass(frozen=True)
class MeetingForm:
    """The schedule modal as submitted. Any field may be missing or forged."""

    starts_at: int | None
    duration: str | None
    cadence: str | None
    topic: str | None
    confirmed_at: int | None = None  # the start time the person already agreed to despite a warning
    sessions: str | None = None  # how many, for a series
    until: str | None = None  # or the last day ("YYYY-MM-DD", the booker's own calendar)


@dataclass(frozen=True)
class Plan:
    starts_at: datetime
    duration: int
    cadence_weeks: int
    topic: str | None
    sessions: int = 1
    until: date | None = None  # as the person asked; `sessions` already counts up to it
    tz: str = "UTC"  # the booker's zone: a weekly 10:00 stays 10:00 for them across DST

    def starts(self) -> list[datetime]:
        every = timedelta(weeks=self.cadence_weeks)
        first = self.starts_at.astimezone(zone(self.tz)).replace(tzinfo=None)
        return [
            (first + every * n).replace(tzinfo=zone(self.tz)).astimezone(UTC)
            for n in range(self.sessions if every else 1)
        ]


def partner_of(pairing: Pairing, member_id: int) -> Member:
    return pairing.mentee if pairing.mentor_id == member_id else pairing.mentor


def default_start(tz: str, now: datetime) -> datetime:
    """The next weekday at 10:00 in this person's own zone."""
    local = now.astimezone(zone(tz))
    day = local.date() + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return datetime.combine(day, time(10), tzinfo=local.tzinfo).astimezone(UTC)


def active_pairing(session: Session, pairing_id: int, team_id: str, user_id: str) -> Pairing:
    """The active pairing with this id, if the person is one of its two members."""
    pairing = session.get(
        Pairing,
        pairing_id,
        options=[selectinload(Pairing.mentor), selectinload(Pairing.mentee)],
    )
    if (
        pairing is None
        or pairing.person(user_id) is None
        or pairing.mentor.workspace.team_id != team_id
    ):
        raise MeetingProblem("That pairing isn't yours, so I left it alone.")
    if pairing.status != PairingStatus.ACTIVE:
        raise MeetingProblem("That mentoring pair has ended.")
    return pairing


def pairing_with(
    session: Session, team_id: str, user_id: str, partner_user_id: str, now: datetime
) -> Pairing:
    """The active pairing between two people, whichever of them mentors."""
    me = member_for(session, team_id, user_id, now)
    partner = session.scalars(
        select(Member).where(
            Member.workspace_id == me.workspace_id, Member.slack_user_id == partner_user_id
        )
    ).one_or_none()
    pairing = None
    if partner is not None:
        pairing = session.scalars(
            select(Pairing).where(
                Pairing.status == PairingStatus.ACTIVE,
                or_(
                    and_(Pairing.mentor_id == me.id, Pairing.mentee_id == partner.id),
                    and_(Pairing.mentor_id == partner.id, Pairing.mentee_id == me.id),
                ),
            )
        ).first()
    if pairing is None:
        raise MeetingProblem(
            f"You and <@{partner_user_id}> aren't a mentoring pair yet. "
            "Start with `/mentor find <topic>`."
        )
    return pairing


def only_pairing(session: Session, team_id: str, user_id: str, now: datetime) -> Pairing:
    """The person's one active pairing, when they have exactly one."""
    me = member_for(session, team_id, user_id, now)
    pairings = session.scalars(
        select(Pairing).where(
            Pairing.status == PairingStatus.ACTIVE,
            or_(Pairing.mentor_id == me.id, Pairing.mentee_id == me.id),
        )
    ).all()
    if len(pairings) != 1:
        hint = (
            "You don't have a mentor or mentee yet: start with `/mentor find <topic>`."
            if not pairings
            else "You have several partners: say which, like `/mentor schedule @name`."
        )
        raise MeetingProblem(hint)
    return pairings[0]


def validate_plan(
    form: MeetingForm, partner: Member, now: datetime, *, series: bool, tz: str = "UTC"
) -> Plan:
    """Check every field; an out-of-hours time for the partner needs a second confirmation.
    `tz` is the booker's zone, the calendar their "until" date is picked on."""
    errors: dict[str, str] = {}
    # A forged timestamp past year 9999 would overflow datetime; it reads as no time at all.
    valid_time = isinstance(form.starts_at, int) and 0 < form.starts_at < LAST_TIMESTAMP
    starts_at = datetime.fromtimestamp(form.starts_at, UTC) if valid_time else None
    if starts_at is None:
        errors[ids.WHEN_BLOCK] = "Pick a date and time."
    elif starts_at <= now:
        errors[ids.WHEN_BLOCK] = "That time has passed. Pick one in the future."
    elif starts_at > now + HORIZON:
        errors[ids.WHEN_BLOCK] = "Pick a time within the next six months."
    duration = int(form.duration) if (form.duration or "").isdigit() else None
    if duration not in DURATIONS:
        errors[ids.DURATION_BLOCK] = "Pick one of the lengths offered (15 to 90 minutes)."
    cadence_text = form.cadence or "0"
    cadence = int(cadence_text) if cadence_text.isdigit() else None
    if series and cadence not in CADENCES:
        errors[ids.CADENCE_BLOCK] = "Pick how often you'll meet."
    topic = (form.topic or "").strip() or None
    if topic and len(topic) > TOPIC_LIMIT:
        errors[ids.MEETING_TOPIC_BLOCK] = f"Keep the topic under {TOPIC_LIMIT} characters."
    weeks = (cadence or 0) if series else 0
    sessions, until = 1, None
    if weeks and starts_at is not None and ids.WHEN_BLOCK not in errors:
        sessions, until = _series_length(form, starts_at, weeks, tz, now, errors)
    if errors:
        raise InvalidInput(errors)
    assert starts_at is not None and duration is not None
    plan = Plan(starts_at, duration, weeks, topic, sessions, until, tz)
    if form.confirmed_at != form.starts_at:
        warning = out_of_hours(plan, partner)
        if warning:
            raise NeedsConfirmation(warning, plan, partner.name)
    return plan


def _series_length(
    form: MeetingForm,
    starts_at: datetime,
    weeks: int,
    tz: str,
    now: datetime,
    errors: dict[str, str],
) -> tuple[int, date | None]:
    """How many sessions a series has: the number asked for, or as many as fit by the end date;
    never running past the six months ahead that can be booked."""
    fit = 1 + (now + HORIZON - starts_at) // timedelta(weeks=weeks)
    until = None
    if form.until:
        try:
            until = date.fromisoformat(form.until)
        except ValueError:
            errors[ids.UNTIL_BLOCK] = "Pick an end date from the calendar."
            return 1, None
        first = starts_at.astimezone(zone(tz)).date()
        if until < first:
            errors[ids.UNTIL_BLOCK] = "That's before the first session. Pick a later end date."
            return 1, None
        sessions = 1 + (until - first).days // (7 * weeks)
        if sessions > fit:
            errors[ids.UNTIL_BLOCK] = "Pick an end date within the next six months."
        return sessions, until
    text = (form.sessions or "").strip()
    sessions = int(text) if text.isdigit() else SERIES_SESSIONS if not text else 0
    if not 1 <= sessions <= fit:
        errors[ids.SESSIONS_BLOCK] = (
            f"Pick between 1 and {fit} sessions: that many fit in the next six months."
        )
    return sessions, None


def out_of_hours(plan: Plan, partner: Member) -> str | None:
    local = zone(partner.tz)
    start = plan.starts_at.astimezone(local)
    end = (plan.starts_at + timedelta(minutes=plan.duration)).astimezone(local)
    own = quiet_window(partner, None)
    if own is not None:
        # Their own working day from the profile, which may run past midnight.
        minutes = [*range(0, plan.duration, 15), plan.duration - 1]
        moments = [plan.starts_at + timedelta(minutes=m) for m in minutes]
        if not any(quiet_at(moment, partner.tz, own) for moment in moments):
            return None
    elif WORKDAY[0] <= start.time() and end.time() <= WORKDAY[1] and start.date() == end.date():
        return None
    return (
        f"Heads up: that's {start:%H:%M} for {partner.name} ({partner.tz}), outside their working "
        "hours. Save again to book it anyway, or pick another time."
    )


def schedule_meeting(
    session: Session,
    pairing: Pairing,
    user_id: str,
    plan: Plan,
    settings: Settings,
    now: datetime,
) -> list[Meeting]:
    """Book one session or a series, each occurrence with its own prompts and agenda."""
    actor = pairing.person(user_id) or pairing.mentee
    starts = plan.starts()
    series_id = str(uuid.uuid4()) if len(starts) > 1 else None
    uid = series_id or new_uid()  # a series is one calendar event
    meetings = [
        Meeting(
            pairing_id=pairing.id,
            starts_at=start,
            duration_minutes=plan.duration,
            status=MeetingStatus.SCHEDULED,
            series_id=series_id,
            cadence_weeks=plan.cadence_weeks if series_id else None,
            topic=plan.topic,
            created_by_id=actor.id,
            created_at=now,
            calendar_uid=uid,
            calendar_slot=start,
        )
        for start in starts
    ]
    session.add_all(meetings)
    session.flush()
    for meeting in meetings:
        _queue_preparation(session, pairing, meeting, settings, now)
    _tell_pair_about(session, pairing, meetings[0], "meeting_booked", now, actor_id=actor.id)
    announce(session, meetings, now, booked=True)
    return meetings


def _queue_preparation(
    session: Session, pairing: Pairing, meeting: Meeting, settings: Settings, now: datetime
) -> None:
    subject = ("meeting", meeting.id)
    for person in (pairing.mentor, pairing.mentee):
        enqueue(
            session,
            workspace_id=pairing.workspace_id,
            kind="prep_prompt",
            dedupe_key=f"prep:{meeting.id}:{person.id}",
            due_at=_due("prep_prompt", meeting.starts_at, settings, now),
            now=now,
            member_id=person.id,
            subject=subject,
            urgent=True,
            deadline_at=meeting.starts_at,
        )
    for person in (pairing.mentor, pairing.mentee):
        enqueue(
            session,
            workspace_id=pairing.workspace_id,
            kind="checkin",
            dedupe_key=f"checkin:{meeting.id}:{person.id}",
            due_at=_due("checkin", meeting.starts_at, settings, now, meeting.duration_minutes),
            now=now,
            member_id=person.id,
            subject=subject,
        )
    due = _due("agenda", meeting.starts_at, settings, now)
    tell_pair(
        session,
        pairing,
        "agenda",
        subject,
        f"agenda:{meeting.id}",
        now,
        due_at=due,
        solicited=False,
        deadline_at=meeting.starts_at,
    )


def _due(
    kind: str, starts_at: datetime, settings: Settings, now: datetime, duration: int = 0
) -> datetime:
    """Prompts and agenda: a lead time before, or at once if booked later than that point.
    Check-ins: a delay after the meeting ends."""
    if kind == "checkin":
        return starts_at + timedelta(minutes=duration + settings.checkin_delay_minutes)
    lead = settings.prep_lead_minutes if kind == "prep_prompt" else settings.agenda_lead_minutes
    return max(now, starts_at - timedelta(minutes=lead))


def tell_pair(
    session: Session,
    pairing: Pairing,
    kind: str,
    subject: tuple[str, int],
    dedupe_key: str,
    now: datetime,
    *,
    due_at: datetime | None = None,
    solicited: bool = True,
    actor_id: int | None = None,
    deadline_at: datetime | None = None,
) -> None:
    """A message to the pair's group DM; it waits until neither of them is in quiet hours,
    but never past `deadline_at` nor more than a day (see outbox._when_all_awake)."""
    enqueue(
        session,
        workspace_id=pairing.workspace_id,
        kind=kind,
        dedupe_key=dedupe_key,
        due_at=due_at or now,
        now=now,
        group=[pairing.mentor.slack_user_id, pairing.mentee.slack_user_id],
        subject=subject,
        urgent=True,
        solicited=solicited,
        actor_id=actor_id,
        deadline_at=deadline_at,
    )


def _tell_pair_about(
    session: Session,
    pairing: Pairing,
    meeting: Meeting,
    kind: str,
    now: datetime,
    actor_id: int | None = None,
) -> None:
    key = f"{kind}:{meeting.id}:{now.timestamp()}"
    # News about a session must land before it starts, whoever is asleep.
    deadline = meeting.starts_at if meeting.starts_at > now else None
    tell_pair(
        session,
        pairing,
        kind,
        ("meeting", meeting.id),
        key,
        now,
        actor_id=actor_id,
        deadline_at=deadline,
    )


def meeting_for(
    session: Session, meeting_id: int, team_id: str, user_id: str, *, upcoming: bool = True
) -> Meeting:
    """A meeting of a pair this person belongs to; forged ids for other pairs are refused."""
    meeting = session.get(
        Meeting,
        meeting_id,
        options=[
            selectinload(Meeting.pairing).selectinload(Pairing.mentor),
            selectinload(Meeting.pairing).selectinload(Pairing.mentee),
        ],
    )
    if meeting is None:
        raise MeetingProblem("I can't find that session any more.")
    pairing = meeting.pairing
    if pairing.person(user_id) is None or pairing.mentor.workspace.team_id != team_id:
        raise MeetingProblem("That session isn't yours, so I left it alone.")
    if upcoming and meeting.status != MeetingStatus.SCHEDULED:
        raise MeetingProblem(f"That session was {meeting.status.value}.")
    return meeting


def reschedule_meeting(
    session: Session,
    meeting_id: int,
    team_id: str,
    user_id: str,
    form: MeetingForm,
    settings: Settings,
    now: datetime,
) -> Meeting:
    """Move one session; its prompts and agenda that have not gone out move with it."""
    meeting = meeting_for(session, meeting_id, team_id, user_id)
    actor_id = member_for(session, team_id, user_id, now).id
    plan = validate_plan(form, partner_of(meeting.pairing, actor_id), now, series=False)
    if plan.starts_at != meeting.starts_at:
        meeting.moved_from = meeting.starts_at
    meeting.starts_at, meeting.duration_minutes = plan.starts_at, plan.duration
    if plan.topic:
        meeting.topic = plan.topic
    retime_pending(
        session,
        "meeting",
        meeting.id,
        lambda row: _due(row.kind, meeting.starts_at, settings, now, meeting.duration_minutes),
        kinds=["prep_prompt", "agenda", "checkin"],
        deadline_at=meeting.starts_at,
    )
    _tell_pair_about(session, meeting.pairing, meeting, "meeting_moved", now)
    announce(session, [meeting], now)
    return meeting


def cancel_meeting(
    session: Session, meeting_id: int, team_id: str, user_id: str, whole_series: bool, now: datetime
) -> list[Meeting]:
    """Cancel one session, or it and every later one in its series, with their messages."""
    meeting = meeting_for(session, meeting_id, team_id, user_id)
    cancelled = [meeting]
    if whole_series and meeting.series_id:
        cancelled = list(
            session.scalars(
                select(Meeting).where(
                    Meeting.series_id == meeting.series_id,
                    Meeting.status == MeetingStatus.SCHEDULED,
                    Meeting.starts_at >= meeting.starts_at,
                )
            )
        )
    for item in cancelled:
        item.status, item.cancelled_at = MeetingStatus.CANCELLED, now
        cancel_pending(session, "meeting", item.id, "meeting cancelled")
    kind = "series_cancelled" if len(cancelled) > 1 else "meeting_cancelled"
    _tell_pair_about(session, meeting.pairing, meeting, kind, now)
    announce(session, cancelled, now)
    return cancelled


def add_agenda_items(
    session: Session, meeting_id: int, team_id: str, user_id: str, text: str | None, now: datetime
) -> int:
    """Topics typed in the 'Add topics' modal, one per line; returns how many were added."""
    meeting = meeting_for(session, meeting_id, team_id, user_id)
    if meeting.starts_at <= now:
        raise MeetingProblem("That session has started; bring it up live.")
    lines = [line.strip(" •-*\t") for line in (text or "").splitlines()]
    items = [line for line in lines if line]
    if not items:
        raise InvalidInput({ids.AGENDA_ITEMS_BLOCK: "Write at least one question or topic."})
    if any(len(item) > ITEM_LIMIT for item in items):
        raise InvalidInput(
            {ids.AGENDA_ITEMS_BLOCK: f"Keep each line under {ITEM_LIMIT} characters."}
        )
    if len(items) > ITEMS_PER_FORM:
        raise InvalidInput(
            {
                ids.AGENDA_ITEMS_BLOCK: f"That's a lot for one session! Pick the {ITEMS_PER_FORM} "
                f"that matter most (you wrote {len(items)})."
            }
        )
    author = member_for(session, team_id, user_id, now)
    session.add_all(
        AgendaItem(meeting_id=meeting.id, author_id=author.id, text=item, created_at=now)
        for item in items
    )
    return len(items)


@dataclass(frozen=True)
class Captured:
    """What happened to a DM: added to a meeting's agenda, too late, or not an answer at all."""

    outcome: str  # "added" | "started" | "none"
    meeting: Meeting | None = None
    partner_name: str = ""
    items: int = 0
    open_meetings: int = 0
    reader: Member | None = None  # who wrote the DM, for times in their own zone


def capture_dm(
    session: Session, team_id: str, user_id: str, channel: str, ts: str, text: str, now: datetime
) -> Captured:
    """A DM after a prep prompt becomes an agenda item for the nearest meeting it was about."""
    if not text:
        return Captured("none")
    member = member_for(session, team_id, user_id, now)
    prompted = (
        select(Meeting)
        .join(
            OutboxMessage,
            and_(
                OutboxMessage.subject_type == "meeting",
                OutboxMessage.subject_id == Meeting.id,
                OutboxMessage.kind == "prep_prompt",
                OutboxMessage.recipient_member_id == member.id,
                OutboxMessage.status == OutboxStatus.SENT,
            ),
        )
        .where(Meeting.status == MeetingStatus.SCHEDULED)
        .options(
            selectinload(Meeting.pairing).selectinload(Pairing.mentor),
            selectinload(Meeting.pairing).selectinload(Pairing.mentee),
        )
    )
    upcoming = session.scalars(
        prompted.where(Meeting.starts_at > now).order_by(Meeting.starts_at)
    ).all()
    if not upcoming:
        recent = session.scalars(
            prompted.where(Meeting.starts_at <= now, Meeting.starts_at > now - timedelta(hours=12))
        ).first()
        return Captured("started", recent, reader=member) if recent else Captured("none")
    meeting = upcoming[0]
    insert_or_ignore(
        session,
        AgendaItem,
        meeting_id=meeting.id,
        author_id=member.id,
        text=text[: ITEM_LIMIT * 4],
        source_channel_id=channel,
        source_ts=ts,
        created_at=now,
    )
    mine = sum(1 for item in _agenda(session, meeting.id) if item.author_id == member.id)
    return Captured(
        "added",
        meeting,
        partner_of(meeting.pairing, member.id).name,
        mine,
        len(upcoming),
        member,
    )


def _agenda(session: Session, meeting_id: int) -> list[AgendaItem]:
    return list(
        session.scalars(
            select(AgendaItem).where(AgendaItem.meeting_id == meeting_id).order_by(AgendaItem.id)
        )
    )


def edit_dm_item(
    session: Session, team_id: str, channel: str, ts: str, text: str, now: datetime
) -> bool:
    """The person edited a DM that became an agenda item: the item follows, until the meeting."""
    item = _dm_item(session, team_id, channel, ts)
    if item is None or session.get(Meeting, item.meeting_id).starts_at <= now:
        return False
    item.text = text[: ITEM_LIMIT * 4]
    return True


def delete_dm_item(session: Session, team_id: str, channel: str, ts: str) -> bool:
    item = _dm_item(session, team_id, channel, ts)
    if item is None:
        return False
    session.delete(item)
    return True


def _dm_item(session: Session, team_id: str, channel: str, ts: str) -> AgendaItem | None:
    """The item from this DM, written by someone of this workspace (the event's own)."""
    return session.scalars(
        select(AgendaItem)
        .join(Member, Member.id == AgendaItem.author_id)
        .join(Workspace, Workspace.id == Member.workspace_id)
        .where(
            AgendaItem.source_channel_id == channel,
            AgendaItem.source_ts == ts,
            Workspace.team_id == team_id,
        )
    ).one_or_none()


def previous_meetings(session: Session, meetings: list[Meeting]) -> dict[int, Meeting | None]:
    """For each meeting, the pair's last earlier session that was not cancelled, in two queries."""
    if not meetings:
        return {}
    earlier = session.scalars(
        select(Meeting)
        .where(
            Meeting.pairing_id.in_({m.pairing_id for m in meetings}),
            Meeting.starts_at < max(m.starts_at for m in meetings),
            Meeting.status != MeetingStatus.CANCELLED,
        )
        .order_by(Meeting.starts_at)
        .options(
            selectinload(Meeting.agenda).selectinload(AgendaItem.author),
            selectinload(Meeting.advice),
        )
    ).all()
    found: dict[int, Meeting | None] = {}
    for meeting in meetings:
        before = [
            m
            for m in earlier
            if m.pairing_id == meeting.pairing_id and m.starts_at < meeting.starts_at
        ]
        found[meeting.id] = before[-1] if before else None
    return found


def session_numbers(session: Session, meetings: list[Meeting]) -> dict[int, int]:
    """For each meeting, which session of its pair it is (1 for the first), cancelled ones aside."""
    if not meetings:
        return {}
    starts = session.execute(
        select(Meeting.pairing_id, Meeting.starts_at).where(
            Meeting.pairing_id.in_({m.pairing_id for m in meetings}),
            Meeting.starts_at <= max(m.starts_at for m in meetings),
            Meeting.status != MeetingStatus.CANCELLED,
        )
    ).all()
    return {
        m.id: sum(1 for pid, at in starts if pid == m.pairing_id and at <= m.starts_at)
        for m in meetings
    }


def starter_questions(mentee: Member) -> list[str]:
    """Three questions that fit what the mentee said they want, for an empty agenda."""
    sought = mentee.topic_names(TopicKind.SOUGHT)
    topic = sought[0] if sought else "this"
    goal = mentee.goals.strip().split(". ")[0].rstrip(".") if mentee.goals else ""
    first = (
        f"If you were me, aiming to “{goal[:120]}”, what would you work on first?"
        if goal
        else "What would you work on first if you were in my shoes?"
    )
    return [
        first,
        f"What did you get wrong early on with {topic}, and what would you do differently?",
        f"What could I practise on {topic} before we next meet, and how will I know it works?",
    ]


def held_sessions(session: Session, mentee_id: int) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(Meeting)
            .join(Pairing, Pairing.id == Meeting.pairing_id)
            .where(Pairing.mentee_id == mentee_id, Meeting.status == MeetingStatus.HELD)
        )
        or 0
    )
