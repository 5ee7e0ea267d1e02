"""What people see around a session: booking, prep prompts, agendas, and their renderers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from bot.core import ids
from bot.core.block_limits import TEXT_BUDGET, sections, shorten
from bot.core.blocks import (
    Message,
    View,
    _listed,
    actions,
    button,
    context,
    modal,
    plain,
    plain_option,
    section,
    static_select,
    text_input,
)
from bot.core.models import (
    AgendaItem,
    Meeting,
    MeetingStatus,
    Member,
    OutboxMessage,
    Pairing,
    TopicKind,
)
from bot.core.mrkdwn import Reader, escape, local_time, quote, reader_time
from bot.core.outbox import Outgoing, Rendered, Skip
from bot.prepare.meetings import (
    CADENCES,
    DURATIONS,
    HORIZON,
    SERIES_SESSIONS,
    TOPIC_LIMIT,
    previous_meetings,
    session_numbers,
    starter_questions,
)

# A prep note's parts share one message: what to know about the partner, then last time's lists.
PREP_ABOUT_BUDGET = 4000


PREP_LIST_BUDGET = 2000


DAY = "{date_short_pretty}"


def _when(meeting: Meeting, readers: Sequence[Reader]) -> str:
    return f"{local_time(meeting.starts_at, readers=readers)} ({meeting.duration_minutes} min)"


def _pair(meeting: Meeting) -> tuple[Member, Member]:
    """Both people: a message to their group DM is read in two time zones."""
    return meeting.pairing.mentor, meeting.pairing.mentee


def _every(weeks: int | None) -> str:
    return "every week" if weeks == 1 else f"every {weeks} weeks"


def _series_line(meeting: Meeting, count: int, last: datetime, readers: Sequence[Reader]) -> str:
    """ "every week, 6 sessions until 15 Jan", the last day in each reader's own calendar."""
    return (
        f"{_every(meeting.cadence_weeks)}, {count} sessions until {local_time(last, DAY, readers)}"
    )


def _reader(meeting: Meeting, user_id: str) -> Member:
    return meeting.pairing.person(user_id) or meeting.pairing.mentee


def booked_summary(meetings: list[Meeting], user_id: str) -> str:
    """The booker's confirmation: the first session and, for a series, how long it runs."""
    first = meetings[0]
    reader = _reader(first, user_id)
    said = f"Booked for {_when(first, [reader])}"
    if len(meetings) > 1:
        said += f", {_series_line(first, len(meetings), meetings[-1].starts_at, [reader])}"
    return f"{said}. I've told you both."


def moved_summary(meeting: Meeting, user_id: str) -> str:
    return f"{_moved(meeting, [_reader(meeting, user_id)])} I've told you both."


def _moved(meeting: Meeting, readers: Sequence[Reader]) -> str:
    """Exactly what changed: which session, where to, and that the others stay put."""
    new = _when(meeting, readers)
    said = (
        f"The session on {local_time(meeting.moved_from, readers=readers)} moved to {new}."
        if meeting.moved_from
        else f"Your session is now {new}."
    )
    if meeting.series_id:
        said += " The rest of the series stays as it was."
    return said


def cancelled_summary(cancelled: list[Meeting], user_id: str) -> str:
    first, last = cancelled[0], max(m.starts_at for m in cancelled)
    said = _cancelled(first, len(cancelled), last, [_reader(first, user_id)])
    return f"{said} I've told you both."


def _cancelled(meeting: Meeting, count: int, last: datetime, readers: Sequence[Reader]) -> str:
    """One session, or the rest of a series: how many, and from when to when."""
    if count > 1:
        return (
            f"The {count} remaining sessions, from {local_time(meeting.starts_at, DAY, readers)} "
            f"to {local_time(last, DAY, readers)}, are cancelled."
        )
    said = f"The session on {local_time(meeting.starts_at, readers=readers)} is cancelled."
    if meeting.series_id:
        said += " The rest of the series stays as it was."
    return said


def _meeting_buttons(meeting: Meeting) -> dict[str, Any]:
    return actions(
        button("Reschedule", ids.RESCHEDULE_ACTION, str(meeting.id)),
        button("Cancel", ids.CANCEL_MEETING_ACTION, str(meeting.id), style="danger"),
    )


def build_meeting_booked(
    meeting: Meeting, *, moved: bool = False, series: tuple[int, datetime] | None = None
) -> Message:
    """To the pair's group DM: when, in each reader's own time zone, and what happens next."""
    readers = _pair(meeting)
    when = reader_time(meeting.starts_at, readers)
    if moved:
        head = f":calendar: {_moved(meeting, readers)}"
        text = f"Session moved: now {when}."
    else:
        booked = _when(meeting, readers)
        text = f"Session booked: {when}."
        if series and series[0] > 1:
            booked += f", {_series_line(meeting, *series, readers)}"
            text += f" Then {_every(meeting.cadence_weeks)}, {series[0]} sessions in all."
        head = f":calendar: Your session is booked for {booked}."
    lines = [head]
    if meeting.topic:
        lines.append(f"*Topic:* {escape(meeting.topic)}")
    lines.append(
        "Before each session I'll send each of you a short prep note: your partner's background "
        "and a question about what you want to cover. Your answers become a shared agenda."
    )
    return {"text": text, "blocks": [section("\n".join(lines)), _meeting_buttons(meeting)]}


def build_meeting_cancelled(
    meeting: Meeting, count: int = 1, last: datetime | None = None
) -> Message:
    readers = _pair(meeting)
    said = _cancelled(meeting, count, last or meeting.starts_at, readers)
    nudge = "When you're ready, book another with the button below."
    if count > 1:
        text = f"{count} sessions cancelled, from {reader_time(meeting.starts_at, readers)}."
    else:
        text = f"Session cancelled: {reader_time(meeting.starts_at, readers)}."
    return {
        "text": text,
        "blocks": [
            section(f":x: {said} {nudge}"),
            actions(
                button("Schedule a session", ids.SCHEDULE_SESSION_ACTION, str(meeting.pairing_id))
            ),
        ],
    }


def _about(partner: Member, *, mentor: bool) -> list[str]:
    """What one person should know about the other before they meet."""
    lines = []
    if mentor:
        topics = partner.topic_names(TopicKind.OFFERED)
        if topics:
            lines.append(f"*Helps with:* {', '.join(escape(t) for t in topics)}")
    elif partner.goals:
        lines.append(f"*Their goals, in their words:*\n{quote(shorten(partner.goals, 600))}")
    if partner.background:
        lines.append(f"*Background:* {escape(shorten(partner.background, 400))}")
    if partner.experience:
        lines.append(f"*Experience:* {escape(shorten(partner.experience, 400))}")
    return lines or ["They haven't written much in their profile yet: ask them about it."]


# The habit, one line at a time: a mentee respects the mentor's time, a mentor asks what the
# mentee wants, and both listen for one thing to apply. Each session gets the next line.
MENTEE_TIPS = (
    "{partner}'s time is precious: come with your top question, the one that would make "
    "this session worth it.",
    "Open with what you tried since last time and how it went, then your top question. "
    "That's the best use of {partner}'s time.",
    "Ask your most important question first, while there's time to go deep.",
)
MENTOR_TIPS = (
    "Start by asking {partner} what they want from this session, and from mentoring overall.",
    "Before any advice, ask {partner} what they want from this session and what they tried "
    "since last time.",
    "Ask {partner} what would make this session worth it, and let their question lead.",
)
MENTEE_LISTEN = "Listen for one thing you'll apply this week, and note it before you leave."
MENTOR_LISTEN = "Before you wrap up, help {partner} name one thing to apply this week."


def coaching(reader_is_mentor: bool, partner: Member, number: int) -> str:
    """The habit for this person's role, a different line each session (number 1 is the first)."""
    tips, listen = (
        (MENTOR_TIPS, MENTOR_LISTEN) if reader_is_mentor else (MENTEE_TIPS, MENTEE_LISTEN)
    )
    name = escape(partner.name)
    tip = tips[(max(number, 1) - 1) % len(tips)]
    return f":bulb: {tip.format(partner=name)} {listen.format(partner=name)}"


def build_prep_prompt(
    meeting: Meeting, reader: Member, previous: Meeting | None, number: int = 1
) -> Message:
    pairing = meeting.pairing
    partner = pairing.mentee if reader.id == pairing.mentor_id else pairing.mentor
    head = (
        f":memo: *Getting ready for your session with {escape(partner.name)}* on "
        f"{_when(meeting, [reader])}."
    )
    if meeting.topic:
        head += f"\n*Topic:* {escape(meeting.topic)}"
    about = "\n".join(_about(partner, mentor=partner is pairing.mentor))
    blocks = [
        section(head),
        *sections(about, budget=PREP_ABOUT_BUDGET),
        section(coaching(reader.id == pairing.mentor_id, partner, number)),
    ]
    if previous is not None and previous.agenda:
        recap = [shorten(item.text, 200) for item in previous.agenda]
        covered = _listed(recap, PREP_LIST_BUDGET, most=8)
        blocks.extend(sections(f"*Last time you planned to cover:*\n{covered}"))
    if previous is not None and previous.advice:
        applying = _listed(
            [shorten(a.text, 200) for a in previous.advice], PREP_LIST_BUDGET, most=8
        )
        who = "you" if reader.id == pairing.mentee_id else escape(pairing.mentee.name)
        blocks.extend(sections(f"*Advice {who} chose to apply after last time:*\n{applying}"))
    ask = (
        "*What do you want to cover?* Reply here with your questions or topics, one per "
        "message. I'll share the combined agenda with you both before the session."
    )
    blocks.append(section(ask))
    blocks.append(
        actions(
            button("Add topics", ids.ADD_TOPICS_ACTION, str(meeting.id)),
            button("Nothing this time", ids.NOTHING_THIS_TIME_ACTION, str(meeting.id)),
        )
    )
    text = (
        f"Getting ready for your session with {escape(partner.name)} on "
        f"{reader_time(meeting.starts_at, [reader])}: what do you want to cover?"
    )
    return {"text": text, "blocks": blocks}


def build_agenda(meeting: Meeting, starters: list[str]) -> Message:
    pairing = meeting.pairing
    head = f":clipboard: *Agenda for your session* {_when(meeting, _pair(meeting))}"
    blocks = [section(head)]
    if meeting.agenda:
        authors = [p for p in (pairing.mentee, pairing.mentor) if _items_by(meeting, p)]
        for person in authors:
            # The pair share one message, so each person's list gets an equal part of it.
            listed = _listed(_items_by(meeting, person), TEXT_BUDGET // len(authors) - 200)
            blocks.extend(sections(f"*From {escape(person.name)}:*\n{listed}"))
        text = f"Agenda for your session: {len(meeting.agenda)} item(s)."
    else:
        listed = "\n".join(f"• {escape(q)}" for q in starters)
        blocks.append(
            section(
                "Nobody has added anything yet, and that's fine. If you need a place to start, "
                f"{escape(pairing.mentee.name)} could ask:\n{listed}"
            )
        )
        text = "Your session is coming up; here are three questions to start with."
    blocks.append(context("Enjoy the session. I'll check in afterwards."))
    return {"text": text, "blocks": blocks}


def _items_by(meeting: Meeting, person: Member) -> list[str]:
    return [item.text for item in meeting.agenda if item.author_id == person.id]


def build_agenda_added(
    meeting: Meeting, partner_name: str, items: int, open_meetings: int, reader: Member
) -> Message:
    """A short thread reply to a DM that became an agenda item."""
    when = local_time(meeting.starts_at, readers=[reader])
    which = f"your session with {escape(partner_name)} on {when}"
    count = "1 item" if items == 1 else f"{items} items"
    text = f"Added to the agenda for {which}. You have {count} so far."
    if open_meetings > 1:
        text += " (It went to the nearest of your upcoming sessions.)"
    return {"text": text}


def build_meeting_started(meeting: Meeting, reader: Member) -> Message:
    text = (
        f"Your session on {local_time(meeting.starts_at, readers=[reader])} has already "
        "started, so I didn't add "
        "this to its agenda. Bring it up live, or keep it for next time."
    )
    return {"text": text}


def build_schedule_modal(
    partner_name: str,
    private_metadata: str,
    *,
    starts_at: datetime,
    duration: int = 30,
    cadence: int = 0,
    sessions: int = SERIES_SESSIONS,
    until: date | None = None,
    topic: str = "",
    warning: str = "",
    moving: bool = False,
) -> View:
    """Book a session (or move one): when, how long, how often, about what."""
    intro = (
        f"Pick a time that works for you and *{escape(partner_name)}*. I'll show it to each of "
        "you in your own time zone."
    )
    blocks: list[dict[str, Any]] = [section(intro)]
    if warning:
        blocks.append(section(f":warning: {escape(warning)}"))
    blocks.append(
        {
            "type": "input",
            "block_id": ids.WHEN_BLOCK,
            "label": plain("When"),
            "element": {
                "type": "datetimepicker",
                "action_id": ids.WHEN_ACTION,
                "initial_date_time": int(starts_at.timestamp()),
            },
        }
    )
    blocks.append(
        {
            "type": "input",
            "block_id": ids.DURATION_BLOCK,
            "label": plain("How long"),
            "element": static_select(
                ids.DURATION_ACTION, [(f"{d} minutes", str(d)) for d in DURATIONS], str(duration)
            ),
        }
    )
    if not moving:
        blocks.append(
            {
                "type": "input",
                "block_id": ids.CADENCE_BLOCK,
                "label": plain("How often"),
                "element": static_select(
                    ids.CADENCE_ACTION,
                    [(label, str(weeks)) for weeks, label in CADENCES.items()],
                    str(cadence),
                ),
            }
        )
        blocks.extend(_series_end_inputs(sessions, until))
    blocks.append(
        text_input(
            ids.MEETING_TOPIC_BLOCK,
            ids.MEETING_TOPIC_ACTION,
            "Topic (optional)",
            initial=topic,
            placeholder="The one thing you most want to work on",
            max_length=TOPIC_LIMIT,
        )
    )
    return modal(
        ids.SCHEDULE_CALLBACK,
        "Move this session" if moving else "Schedule a session",
        "Book it anyway" if warning else "Save",
        private_metadata,
        blocks=blocks,
    )


def _series_end_inputs(sessions: int, until: date | None) -> list[dict[str, Any]]:
    """A series has an end: a number of sessions, or a last day."""
    count: dict[str, Any] = {
        "type": "number_input",
        "action_id": ids.SESSIONS_ACTION,
        "is_decimal_allowed": False,
        "initial_value": str(sessions),
        "min_value": "1",
        "max_value": str(HORIZON.days // 7 + 1),
    }
    last: dict[str, Any] = {
        "type": "datepicker",
        "action_id": ids.UNTIL_ACTION,
        "placeholder": plain("Pick a last day"),
    }
    if until is not None:
        last["initial_date"] = until.isoformat()
    return [
        {
            "type": "input",
            "block_id": ids.SESSIONS_BLOCK,
            "label": plain("How many sessions, if it repeats"),
            "element": count,
            "optional": True,
        },
        {
            "type": "input",
            "block_id": ids.UNTIL_BLOCK,
            "label": plain("Or repeat until"),
            "element": last,
            "optional": True,
            "hint": plain("Leave it empty to stop after the number of sessions above."),
        },
    ]


def build_cancel_modal(meeting: Meeting, private_metadata: str, reader: Member) -> View:
    blocks: list[dict[str, Any]] = [
        section(
            f"Cancel the session on {local_time(meeting.starts_at, readers=[reader])}? "
            "I'll let you both know in your group DM."
        )
    ]
    if meeting.series_id:
        blocks.append(
            {
                "type": "input",
                "block_id": ids.CANCEL_SCOPE_BLOCK,
                "label": plain("Which sessions?"),
                "element": {
                    "type": "radio_buttons",
                    "action_id": ids.CANCEL_SCOPE_ACTION,
                    "options": [
                        plain_option("Just this one", "one"),
                        plain_option("This one and all later ones", "series"),
                    ],
                    "initial_option": plain_option("Just this one", "one"),
                },
            }
        )
    return modal(
        ids.CANCEL_CALLBACK,
        "Cancel session",
        "Cancel session",
        private_metadata,
        close="Keep it",
        blocks=blocks,
    )


def build_agenda_modal(partner_name: str, private_metadata: str) -> View:
    return modal(
        ids.AGENDA_CALLBACK,
        "Add topics",
        "Add",
        private_metadata,
        blocks=[
            text_input(
                ids.AGENDA_ITEMS_BLOCK,
                ids.AGENDA_ITEMS_ACTION,
                f"What do you want to cover with {partner_name}?",
                placeholder="One question or topic per line",
                multiline=True,
                optional=False,
                max_length=3000,
            )
        ],
    )


def _meetings(
    session: Session, rows: list[OutboxMessage], agenda: bool = False
) -> dict[int, Meeting]:
    query = (
        select(Meeting)
        .where(Meeting.id.in_({row.subject_id for row in rows}))
        .options(
            selectinload(Meeting.pairing).selectinload(Pairing.mentor).selectinload(Member.topics),
            selectinload(Meeting.pairing).selectinload(Pairing.mentee).selectinload(Member.topics),
        )
    )
    if agenda:
        query = query.options(selectinload(Meeting.agenda).selectinload(AgendaItem.author))
    return {meeting.id: meeting for meeting in session.scalars(query)}


def render_meeting_notice(
    session: Session, rows: list[OutboxMessage], now: datetime
) -> dict[int, Rendered]:
    """Booked, moved and cancelled notices to the pair's group DM."""
    meetings = _meetings(session, rows)
    series = _series_ends(session, [m for m in meetings.values() if m.series_id])
    rendered: dict[int, Rendered] = {}
    for row in rows:
        meeting = meetings.get(row.subject_id or 0)
        if meeting is None:
            rendered[row.id] = Skip("the session is gone")
        elif row.kind == "series_cancelled":
            together = series.get((meeting.series_id, meeting.cancelled_at))
            count, last = together or (1, meeting.starts_at)
            rendered[row.id] = Outgoing.of(build_meeting_cancelled(meeting, count, last))
        elif row.kind == "meeting_cancelled":
            rendered[row.id] = Outgoing.of(build_meeting_cancelled(meeting))
        elif meeting.status != MeetingStatus.SCHEDULED:
            rendered[row.id] = Skip(f"the session was {meeting.status.value}")
        else:
            rendered[row.id] = Outgoing.of(
                build_meeting_booked(
                    meeting,
                    moved=row.kind == "meeting_moved",
                    series=series.get((meeting.series_id, None)),
                )
            )
    return rendered


def _series_ends(
    session: Session, meetings: list[Meeting]
) -> dict[tuple[str | None, datetime | None], tuple[int, datetime]]:
    """How many sessions each series has left, and when its last one is; and likewise for the
    sessions cancelled together (keyed by the moment they were cancelled)."""
    if not meetings:
        return {}
    found = session.execute(
        select(Meeting.series_id, Meeting.status, Meeting.cancelled_at, Meeting.starts_at).where(
            Meeting.series_id.in_({m.series_id for m in meetings}),
            Meeting.status.in_([MeetingStatus.SCHEDULED, MeetingStatus.CANCELLED]),
        )
    ).all()
    ends: dict[tuple[str | None, datetime | None], tuple[int, datetime]] = {}
    for series_id, status, cancelled_at, starts_at in found:
        if status == MeetingStatus.CANCELLED and cancelled_at is None:
            continue  # cancelled some other way (the pair ended): not part of any notice
        count, last = ends.get((series_id, cancelled_at), (0, starts_at))
        ends[series_id, cancelled_at] = (count + 1, max(last, starts_at))
    return ends


def _still_ahead(meeting: Meeting | None, now: datetime) -> Skip | None:
    """Prompts and agendas only make sense before a session that is still on."""
    if meeting is None or meeting.status != MeetingStatus.SCHEDULED:
        return Skip("the session is no longer scheduled")
    if meeting.starts_at <= now:
        return Skip("the session has already started")
    return None


def render_prep_prompt(
    session: Session, rows: list[OutboxMessage], now: datetime
) -> dict[int, Rendered]:
    meetings = _meetings(session, rows)
    previous = previous_meetings(session, list(meetings.values()))
    numbers = session_numbers(session, list(meetings.values()))
    rendered: dict[int, Rendered] = {}
    for row in rows:
        meeting = meetings.get(row.subject_id or 0)
        skip = _still_ahead(meeting, now)
        if skip is not None or meeting is None:  # (the second test only narrows the type)
            rendered[row.id] = skip or Skip("the session is gone")
        else:
            reader = next(
                p
                for p in (meeting.pairing.mentor, meeting.pairing.mentee)
                if p.id == row.recipient_member_id
            )
            rendered[row.id] = Outgoing.of(
                build_prep_prompt(
                    meeting, reader, previous.get(meeting.id), numbers.get(meeting.id, 1)
                )
            )
    return rendered


def render_agenda(
    session: Session, rows: list[OutboxMessage], now: datetime
) -> dict[int, Rendered]:
    meetings = _meetings(session, rows, agenda=True)
    rendered: dict[int, Rendered] = {}
    for row in rows:
        meeting = meetings.get(row.subject_id or 0)
        skip = _still_ahead(meeting, now)
        if skip is not None or meeting is None:  # (the second test only narrows the type)
            rendered[row.id] = skip or Skip("the session is gone")
        else:
            starters = [] if meeting.agenda else starter_questions(meeting.pairing.mentee)
            rendered[row.id] = Outgoing.of(build_agenda(meeting, starters))
    return rendered


MEETINGS_RENDERERS = {
    "meeting_booked": render_meeting_notice,
    "meeting_moved": render_meeting_notice,
    "meeting_cancelled": render_meeting_notice,
    "series_cancelled": render_meeting_notice,
    "prep_prompt": render_prep_prompt,
    "agenda": render_agenda,
}
