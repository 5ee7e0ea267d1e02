"""What people see around a session: booking, prep prompts, agendas, and their renderers."""

from __future__ import annotations

from datetime import datetime
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
from bot.core.mrkdwn import escape, local_time, quote
from bot.core.outbox import Outgoing, Rendered, Skip
from bot.prepare.meetings import (
    CADENCES,
    DURATIONS,
    TOPIC_LIMIT,
    previous_meetings,
    starter_questions,
)

# A prep note's parts share one message: what to know about the partner, then last time's lists.
PREP_ABOUT_BUDGET = 4000


PREP_LIST_BUDGET = 2000


def _when(meeting: Meeting) -> str:
    return f"{local_time(meeting.starts_at)} ({meeting.duration_minutes} min)"


def _meeting_buttons(meeting: Meeting) -> dict[str, Any]:
    return actions(
        button("Reschedule", ids.RESCHEDULE_ACTION, str(meeting.id)),
        button("Cancel", ids.CANCEL_MEETING_ACTION, str(meeting.id), style="danger"),
    )


def build_meeting_booked(
    meeting: Meeting, *, moved: bool = False, series: tuple[int, Any] | None = None
) -> Message:
    """To the pair's group DM: when, in each reader's own time zone, and what happens next."""
    pairing = meeting.pairing
    verb = "moved to" if moved else "booked for"
    head = f":calendar: Your session is {verb} {_when(meeting)}."
    if series and series[0] > 1:
        head += (
            f" It repeats every {meeting.cadence_weeks} week(s): {series[0]} sessions, the last "
            f"on {local_time(series[1], '{date_short_pretty}')}."
        )
    lines = [head]
    if meeting.topic:
        lines.append(f"*Topic:* {escape(meeting.topic)}")
    lines.append(
        "Before each session I'll send each of you a short prep note: your partner's background "
        "and a question about what you want to cover. Your answers become a shared agenda."
    )
    text = f"Session {verb} {meeting.starts_at:%Y-%m-%d %H:%M} UTC with {pairing.mentor.name} "
    text += f"and {pairing.mentee.name}."
    return {"text": text, "blocks": [section("\n".join(lines)), _meeting_buttons(meeting)]}


def build_meeting_cancelled(meeting: Meeting, series: bool) -> Message:
    rest = " and the sessions after it in the series" if series else ""
    text = f"The session on {local_time(meeting.starts_at)}{rest} is cancelled."
    nudge = "When you're ready, book another with the button below."
    return {
        "text": text,
        "blocks": [
            section(f":x: {text} {nudge}"),
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


def build_prep_prompt(meeting: Meeting, reader: Member, previous: Meeting | None) -> Message:
    pairing = meeting.pairing
    partner = pairing.mentee if reader.id == pairing.mentor_id else pairing.mentor
    head = (
        f":memo: *Getting ready for your session with {escape(partner.name)}* on {_when(meeting)}."
    )
    if meeting.topic:
        head += f"\n*Topic:* {escape(meeting.topic)}"
    about = "\n".join(_about(partner, mentor=partner is pairing.mentor))
    blocks = [section(head), *sections(about, budget=PREP_ABOUT_BUDGET)]
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
    text = f"Getting ready for your session with {partner.name}: what do you want to cover?"
    return {"text": text, "blocks": blocks}


def build_agenda(meeting: Meeting, starters: list[str]) -> Message:
    pairing = meeting.pairing
    head = f":clipboard: *Agenda for your session* {_when(meeting)}"
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
    meeting: Meeting, partner_name: str, items: int, open_meetings: int
) -> Message:
    """A short thread reply to a DM that became an agenda item."""
    which = f"your session with {escape(partner_name)} on {local_time(meeting.starts_at)}"
    count = "1 item" if items == 1 else f"{items} items"
    text = f"Added to the agenda for {which}. You have {count} so far."
    if open_meetings > 1:
        text += " (It went to the nearest of your upcoming sessions.)"
    return {"text": text}


def build_meeting_started(meeting: Meeting) -> Message:
    text = (
        f"Your session on {local_time(meeting.starts_at)} has already started, so I didn't add "
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
    blocks.append(
        text_input(
            ids.MEETING_TOPIC_BLOCK,
            ids.MEETING_TOPIC_ACTION,
            "Topic (optional)",
            initial=topic,
            placeholder="Structuring my talk",
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


def build_cancel_modal(meeting: Meeting, private_metadata: str) -> View:
    blocks: list[dict[str, Any]] = [
        section(
            f"Cancel the session on {local_time(meeting.starts_at)}? "
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
        elif row.kind in ("meeting_cancelled", "series_cancelled"):
            rendered[row.id] = Outgoing.of(
                build_meeting_cancelled(meeting, row.kind == "series_cancelled")
            )
        elif meeting.status != MeetingStatus.SCHEDULED:
            rendered[row.id] = Skip(f"the session was {meeting.status.value}")
        else:
            rendered[row.id] = Outgoing.of(
                build_meeting_booked(
                    meeting, moved=row.kind == "meeting_moved", series=series.get(meeting.series_id)
                )
            )
    return rendered


def _series_ends(
    session: Session, meetings: list[Meeting]
) -> dict[str | None, tuple[int, datetime]]:
    """How many sessions each series has left, and when its last one is."""
    if not meetings:
        return {}
    found = session.execute(
        select(Meeting.series_id, Meeting.starts_at).where(
            Meeting.series_id.in_({m.series_id for m in meetings}),
            Meeting.status == MeetingStatus.SCHEDULED,
        )
    ).all()
    ends: dict[str | None, tuple[int, datetime]] = {}
    for series_id, starts_at in found:
        count, last = ends.get(series_id, (0, starts_at))
        ends[series_id] = (count + 1, max(last, starts_at))
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
                build_prep_prompt(meeting, reader, previous.get(meeting.id))
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
