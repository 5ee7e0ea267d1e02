"""What people add to their calendars: the .ics file for a session or series (icalendar),
Google Calendar and Outlook links, the DM that carries them, and its outbox renderer.

Times are written in UTC ("...Z"): exact for every reader, whatever their zone; the bot books
a series as the same instant every week, so its rule lands on exactly the instants stored,
across any DST change (a series that kept someone's wall-clock time would get their TZID and
VTIMEZONE instead). A series is one VEVENT with an RRULE (COUNT); a moved session is an
override (RECURRENCE-ID), one cancelled on its own an EXDATE, and cancelling the rest shortens
the COUNT. Each change goes out with the same UID and a higher SEQUENCE, so opening the new
file replaces the old event; a whole event cancelled goes out as METHOD:CANCEL.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime, timedelta, tzinfo
from urllib.parse import quote, urlencode

from icalendar import Calendar, Event
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.calendar.events import KIND, WITH_PAIR, CalendarEvent, events_for, slot_of
from bot.core.models import Meeting, Member, OutboxMessage
from bot.core.mrkdwn import escape, local_time
from bot.core.outbox import Attachment, Outgoing, Rendered, Skip
from bot.core.quiet_hours import zone
from bot.prepare.blocks import MENTEE_LISTEN, MENTEE_TIPS, MENTOR_LISTEN, MENTOR_TIPS

PRODID = "-//Mentor Coach//Mentoring sessions//EN"
# Google's "event publisher" template; times in UTC with Z, as its guide asks.
GOOGLE = "https://calendar.google.com/calendar/render"
# Outlook on the web (work and school accounts, as a Slack workspace's people have).
OUTLOOK = "https://outlook.office.com/calendar/deeplink/compose"
DAY = "{date_short_pretty}"
# Room for the two links in a message or a Home line of at most 3000 characters.
LINKS_BUDGET = 2200
BRIEF_DETAILS = "Mentoring session, booked with Mentor Coach in Slack: the agenda arrives there."


def _partner(meeting: Meeting, reader: Member) -> Member:
    pairing = meeting.pairing
    return pairing.mentee if reader.id == pairing.mentor_id else pairing.mentor


def summary(meeting: Meeting, reader: Member, topic: str | None = None) -> str:
    """The event's title in this person's calendar: who with, and about what."""
    said = f"Mentoring with {_partner(meeting, reader).name}"
    topic = topic if topic is not None else meeting.topic
    return f"{said}: {topic}" if topic else said


def description(meeting: Meeting, reader: Member, topic: str | None = None) -> str:
    """What makes the meeting good, as plain text: who, about what, how to prepare, and where
    the agenda will appear."""
    partner = _partner(meeting, reader)
    mentor = reader.id == meeting.pairing.mentor_id
    role = "mentee" if mentor else "mentor"
    tip, listen = (MENTOR_TIPS[0], MENTOR_LISTEN) if mentor else (MENTEE_TIPS[0], MENTEE_LISTEN)
    topic = topic if topic is not None else meeting.topic
    lines = [f"Your mentoring session with {partner.name}, your {role}."]
    if topic:
        lines.append(f"Topic: {topic}")
    lines.append(
        f"Prepare: {tip.format(partner=partner.name)} {listen.format(partner=partner.name)}"
    )
    lines.append(
        "Agenda: before the session Mentor Coach sends you a prep note in Slack. Reply there "
        f"with your questions; the shared agenda arrives in your Slack group DM with "
        f"{partner.name} shortly before you meet."
    )
    return "\n".join(lines)


def _stamp(when: datetime, fmt: str) -> str:
    return when.astimezone(UTC).strftime(fmt)


def _query(values: dict[str, str]) -> str:
    return urlencode(values, quote_via=lambda text, *_: quote(text, safe="/"))


def session_links(meeting: Meeting, reader: Member, *, brief: bool = False) -> tuple[str, str]:
    """Google Calendar and Outlook links that add this one session, from their URL templates;
    `brief` leaves the topic and description out, for where the full ones would not fit."""
    start = meeting.starts_at
    end = start + timedelta(minutes=meeting.duration_minutes)
    title = summary(meeting, reader, "" if brief else None)
    details = BRIEF_DETAILS if brief else description(meeting, reader)
    google = {
        "action": "TEMPLATE",
        "text": title,
        "dates": f"{_stamp(start, '%Y%m%dT%H%M%SZ')}/{_stamp(end, '%Y%m%dT%H%M%SZ')}",
        "details": details,
    }
    outlook = {
        "path": "/calendar/action/compose",
        "rru": "addevent",
        "subject": title,
        "startdt": _stamp(start, "%Y-%m-%dT%H:%M:%SZ"),
        "enddt": _stamp(end, "%Y-%m-%dT%H:%M:%SZ"),
        "body": details,
    }
    return f"{GOOGLE}?{_query(google)}", f"{OUTLOOK}?{_query(outlook)}"


def links_line(meeting: Meeting, reader: Member, budget: int = LINKS_BUDGET) -> str:
    """The two links as Slack mrkdwn (`&` escaped, as Slack asks); a long title or topic in
    another script can make them long, and a link cut short would be broken, so they drop
    the description before going over `budget`."""
    for brief in (False, True):
        google, outlook = session_links(meeting, reader, brief=brief)
        line = f"<{escape(google)}|Google Calendar> · <{escape(outlook)}|Outlook>"
        if len(line) <= budget:
            break
    return line


def build_ics(event: CalendarEvent, reader: Member, now: datetime) -> str:
    """The whole event as this person's calendar should hold it now."""
    first = event.first
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "CANCEL" if event.cancelled else "PUBLISH")
    clock = _rule_clock(event) if event.is_series else UTC
    rule_zone = clock or UTC  # where the rule's own times are written (RECURRENCE-ID too)
    start = (slot_of(first) if event.is_series else first.starts_at).astimezone(rule_zone)
    master = _vevent(event, first, reader, now, start, event.duration, event.topic)
    if event.is_series:
        # A cancelled series keeps its whole rule: the CANCEL then removes every session.
        count = event.count or len(event.meetings)
        if clock is not None:
            rule = {"freq": "weekly", "interval": event.cadence_weeks, "count": count}
            master.add("rrule", rule)
        elif count > 1:
            master.add("rdate", [slot_of(m).astimezone(UTC) for m in event.meetings[1:count]])
        for excluded in event.excluded():
            master.add("exdate", excluded.astimezone(rule_zone))
    calendar.add_component(master)
    for meeting in event.exceptions() if event.is_series else []:
        override = _vevent(
            event,
            meeting,
            reader,
            now,
            meeting.starts_at.astimezone(UTC),
            meeting.duration_minutes,
            meeting.topic,
        )
        override.add("recurrence-id", slot_of(meeting).astimezone(rule_zone))
        calendar.add_component(override)
    calendar.add_missing_timezones()
    return calendar.to_ical().decode()


def _rule_clock(event: CalendarEvent) -> tzinfo | None:
    """The clock a series repeats on. The bot books the same instant every week, which is UTC
    (exact for every reader); a series that keeps someone's wall-clock time across DST repeats
    in their zone (TZID, with its VTIMEZONE); None if neither, and each session is listed."""
    slots = [slot_of(m) for m in event.meetings]
    step = timedelta(weeks=event.cadence_weeks)
    pairing = event.first.pairing
    booker = event.first.created_by_id
    people = sorted((pairing.mentor, pairing.mentee), key=lambda p: p.id != booker)
    for clock in [UTC, *(zone(p.tz) for p in people)]:
        local = [at.astimezone(clock).replace(tzinfo=None) for at in slots]
        if all(at == local[0] + step * n for n, at in enumerate(local)):
            return clock
    return None


def _vevent(
    event: CalendarEvent,
    meeting: Meeting,
    reader: Member,
    now: datetime,
    start: datetime,
    minutes: int,
    topic: str | None,
) -> Event:
    vevent = Event()
    vevent.add("uid", event.uid)
    vevent.add("sequence", event.sequence)
    vevent.add("dtstamp", now.astimezone(UTC))
    vevent.add("dtstart", start)
    vevent.add("dtend", start + timedelta(minutes=minutes))
    vevent.add("summary", summary(meeting, reader, topic))
    vevent.add("description", description(meeting, reader, topic))
    vevent.add("status", "CANCELLED" if event.cancelled else "CONFIRMED")
    vevent.add("transp", "OPAQUE")
    return vevent


def _filename(partner: Member, row_id: int) -> str:
    """Readable, ASCII, and unique to the outbox row (see outbox.Attachment)."""
    ascii_name = unicodedata.normalize("NFKD", partner.name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:40] or "partner"
    return f"mentoring-with-{slug}-{row_id}.ics"


def build_calendar_file(
    event: CalendarEvent, reader: Member, now: datetime, row_id: int
) -> dict[str, object]:
    """The DM with the file: what it holds, in the reader's own zone, and the links."""
    partner = _partner(event.first, reader)
    title = summary(event.first, reader, event.topic)
    if event.cancelled:
        title = f"Cancelled: {title}"
    return {
        "text": _comment(event, reader, partner, now),
        "file": Attachment(_filename(partner, row_id), title, build_ics(event, reader, now)),
    }


def _comment(event: CalendarEvent, reader: Member, partner: Member, now: datetime) -> str:
    """What the file does for this person: add, update, or take out; with links to add the
    next session where there is one."""
    name = escape(partner.name)
    upcoming = event.upcoming(now)
    single = not event.is_series
    by_link = "\n_Added it with a link before? Delete that one there: a link can't update it._"
    if event.cancelled or not upcoming:
        # The sessions cancelled together last, which ended the event (or its series).
        latest = max((m.cancelled_at for m in event.meetings if m.cancelled_at), default=None)
        gone = [m for m in event.meetings if m.cancelled_at == latest and m.starts_at > now]
        start = min((m.starts_at for m in gone), default=event.first.starts_at)
        what = "your session" if single else "your sessions"
        if not event.cancelled:
            what = "the rest of your sessions"
        return (
            f":calendar: *Take it out of your calendar:* {what} with {name} from "
            f"{local_time(start, readers=[reader])} {'is' if single else 'are'} cancelled. "
            f"Open this file and your calendar follows.{by_link}"
        )
    when = local_time(upcoming[0].starts_at, readers=[reader])
    links = links_line(upcoming[0], reader)
    if event.sequence == 0 and single:
        return (
            f":calendar: *Add it to your calendar:* your session with {name} on {when}. "
            f"Open this file in any calendar, or use {links}"
        )
    if event.sequence == 0:
        last = local_time(max(m.starts_at for m in event.meetings), DAY, [reader])
        weeks = event.cadence_weeks
        every = "every week" if weeks == 1 else f"every {weeks} weeks"
        return (
            f":calendar: *Add them to your calendar:* your {len(event.meetings)} sessions with "
            f"{name}, {every} from {when} until {last}. This file adds the whole series to any "
            f"calendar. Just the first session: {links}"
        )
    now_on = (
        f"your session with {name} is now on {when}"
        if single
        else f"your sessions with {name}: {len(upcoming)} to come, the next on {when}"
    )
    return (
        f":calendar: *Your calendar, updated:* {now_on}. Open this file and it replaces the one "
        f"I sent before. The next session by link: {links}{by_link}"
    )


def render_calendar_file(
    session: Session, rows: list[OutboxMessage], now: datetime
) -> dict[int, Rendered]:
    """Each person's file about one event, rendered from the event as it is now."""
    anchors = session.scalars(
        select(Meeting).where(Meeting.id.in_({row.subject_id for row in rows})).options(*WITH_PAIR)
    ).all()
    events = events_for(session, anchors)
    rendered: dict[int, Rendered] = {}
    for row in rows:
        event = events.get(row.subject_id or 0)
        if event is None:
            rendered[row.id] = Skip("the session is gone")
            continue
        pairing = event.first.pairing
        reader = next(
            (p for p in (pairing.mentor, pairing.mentee) if p.id == row.recipient_member_id),
            None,
        )
        if reader is None:
            rendered[row.id] = Skip("not one of the pair")
        elif all(m.starts_at <= now for m in event.meetings):
            rendered[row.id] = Skip("the sessions are over")
        else:
            rendered[row.id] = Outgoing.of(build_calendar_file(event, reader, now, row.id))
    return rendered


CALENDAR_RENDERERS = {KIND: render_calendar_file}
