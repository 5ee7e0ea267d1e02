"""Sessions in people's calendars: .ics files read back by two parsers, exact through DST for
a pair in two zones, links that decode to the session's times, and a pair who book, move and
cancel in the sandbox getting files and links that stay in step."""

from __future__ import annotations

import html
import json
import re
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import ics
from dateutil.rrule import rrulestr
from icalendar import Calendar
from sqlalchemy import event, select

from bot.calendar.blocks import build_ics, links_line, session_links
from bot.calendar.events import CalendarEvent
from bot.core import ids
from bot.core.models import Meeting, MeetingStatus, Member, OutboxMessage, OutboxStatus, Pairing
from bot.core.settings import QuietHours
from bot.home.blocks import build_home
from bot.home.state import home_state
from scheduler.delivery import Deliverer, make_delivery_client
from tests.test_find import ask, mentee, mentor, send

LONDON, NEW_YORK = ZoneInfo("Europe/London"), ZoneInfo("America/New_York")
# Thursday 4 March 2027, 15:00 UTC: 15:00 in London, 10:00 in New York. Weekly from there, a
# series crosses New York's DST change (14 March), then London's (28 March).
FIRST = datetime(2027, 3, 4, 15, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 25, 14, 0, tzinfo=UTC)


# ------------------------------------------------------------------ the files and links alone


def _pair() -> Pairing:
    amara = Member(id=1, slack_user_id="U1", display_name="Amara", tz="Europe/London")
    kenji = Member(id=2, slack_user_id="U2", display_name="Kenji", tz="America/New_York")
    return Pairing(id=1, workspace_id=1, mentor=amara, mentee=kenji, mentor_id=1, mentee_id=2)


def _series(starts: list[datetime], pairing: Pairing) -> list[Meeting]:
    return [
        Meeting(
            id=n + 1,
            pairing=pairing,
            pairing_id=pairing.id,
            starts_at=start,
            duration_minutes=30,
            status=MeetingStatus.SCHEDULED,
            series_id="5e7c1b52-0000-4000-8000-000000000001" if len(starts) > 1 else None,
            cadence_weeks=1 if len(starts) > 1 else None,
            topic="Conference talk",
            created_by_id=1,
            created_at=NOW,
            calendar_uid="5e7c1b52-0000-4000-8000-000000000001",
            calendar_sequence=0,
            calendar_slot=start,
        )
        for n, start in enumerate(starts)
    ]


def vevents(calendar: Calendar) -> list:
    return list(calendar.walk("VEVENT"))


def occurrences(calendar: Calendar) -> list[datetime]:
    """Every start the file puts in a calendar: the rule or dates, less EXDATEs, with overrides."""
    (master,) = [e for e in vevents(calendar) if "RECURRENCE-ID" not in e]
    start = master.decoded("DTSTART")
    starts = [start]
    if "RRULE" in master:
        starts = list(rrulestr(master["RRULE"].to_ical().decode(), dtstart=start))
    rdates = master.get("RDATE", [])
    starts += [
        d.dt for value in (rdates if isinstance(rdates, list) else [rdates]) for d in value.dts
    ]
    exdates = master.get("EXDATE", [])
    excluded = {
        d.dt for value in (exdates if isinstance(exdates, list) else [exdates]) for d in value.dts
    }
    moved = {
        e.decoded("RECURRENCE-ID"): e.decoded("DTSTART")
        for e in vevents(calendar)
        if "RECURRENCE-ID" in e
    }
    return sorted(moved.get(at, at).astimezone(UTC) for at in starts if at not in excluded)


def test_a_weekly_series_across_both_dst_changes_is_exact_for_london_and_new_york():
    pairing = _pair()
    starts = [FIRST + timedelta(weeks=n) for n in range(6)]
    event = CalendarEvent(_series(starts, pairing))
    for reader, other in ((pairing.mentor, "Kenji"), (pairing.mentee, "Amara")):
        text = build_ics(event, reader, NOW)
        calendar = Calendar.from_ical(text)
        (master,) = vevents(calendar)
        assert str(master["SUMMARY"]) == f"Mentoring with {other}: Conference talk"
        assert master["RRULE"].to_ical() == b"FREQ=WEEKLY;COUNT=6;INTERVAL=1"
        assert "DTSTART:20270304T150000Z" in text.replace("\r\n", "\n")
        assert occurrences(calendar) == starts
        # The second parser reads the same event at the same instant.
        (parsed,) = ics.Calendar(text).events
        assert (parsed.uid, parsed.begin.datetime, parsed.end.datetime) == (
            event.uid,
            FIRST,
            FIRST + timedelta(minutes=30),
        )
        assert "Prepare:" in parsed.description and "agenda arrives" in parsed.description
        # What each calendar shows: an hour later in New York from 14 March, London 28 March.
        shown = occurrences(calendar)
        assert [at.astimezone(LONDON).hour for at in shown] == [15, 15, 15, 15, 16, 16]
        assert [at.astimezone(NEW_YORK).hour for at in shown] == [10, 10, 11, 11, 11, 11]


def test_a_series_that_keeps_one_persons_clock_is_written_in_their_zone():
    """Should a series ever keep 10:00 London time through DST, the rule follows London's clock
    (TZID with its VTIMEZONE), and each session still lands on its exact instant."""
    pairing = _pair()
    local = [datetime(2027, 3, 18, 10, 0, tzinfo=LONDON) + timedelta(weeks=n) for n in range(4)]
    starts = [at.astimezone(UTC) for at in local]
    assert len({at.hour for at in starts}) == 2  # the UTC hour changes: not a UTC rule
    text = build_ics(CalendarEvent(_series(starts, pairing)), pairing.mentee, NOW)
    assert "DTSTART;TZID=Europe/London:20270318T100000" in text
    assert "BEGIN:VTIMEZONE" in text and "TZID:Europe/London" in text
    assert occurrences(Calendar.from_ical(text)) == starts
    (parsed,) = ics.Calendar(text).events
    assert parsed.begin.datetime == starts[0]
    # Sessions on no regular clock at all are each listed (RDATE).
    uneven = [starts[0], starts[1], starts[2] + timedelta(days=1)]
    text = build_ics(CalendarEvent(_series(uneven, pairing)), pairing.mentee, NOW)
    assert "RRULE" not in text and occurrences(Calendar.from_ical(text)) == uneven


def test_links_decode_to_the_exact_times_and_carry_the_event():
    pairing = _pair()
    (meeting,) = _series([FIRST + timedelta(weeks=3)], pairing)  # after New York's DST change
    google, outlook = (
        parse_qs(urlsplit(url).query) for url in session_links(meeting, pairing.mentee)
    )
    assert google["action"] == ["TEMPLATE"]
    assert google["dates"] == ["20270325T150000Z/20270325T153000Z"]
    assert google["text"] == ["Mentoring with Amara: Conference talk"]
    assert (outlook["startdt"], outlook["enddt"]) == (
        ["2027-03-25T15:00:00Z"],
        ["2027-03-25T15:30:00Z"],
    )
    assert outlook["rru"] == ["addevent"] and outlook["subject"] == google["text"]
    for details in (google["details"][0], outlook["body"][0]):
        assert "Amara, your mentor" in details and "Topic: Conference talk" in details
        assert "Prepare: Amara's time is precious" in details and "group DM" in details
    # A topic in another script could make them too long for one message: they stay whole.
    meeting.topic = "日本語" * 66
    line = links_line(meeting, pairing.mentee)
    assert len(line) <= 2200 and line.count("<https://") == 2 and "%E6%97%A5" not in line


# ------------------------------------------------------------------ end to end in the sandbox


def london_and_new_york(bot):
    """Amara mentors from London, Kenji is her mentee in New York; 14:00 UTC, both awake."""
    bot.clock.advance(timedelta(hours=5))
    amara = mentor(bot, "Amara", "Europe/London", "Public speaking")
    kenji = mentee(bot, tz="America/New_York")
    bot.driver.command(kenji, "find")
    ask(bot, kenji, amara)
    bot.deliver()
    bot.driver.click(amara, text="Accept")
    bot.deliver()
    return amara, kenji


def files(bot, user) -> list[tuple[str, Calendar, str]]:
    """Calendar files in this person's own DM, oldest first: (comment, parsed, text)."""
    shared = [f for f in bot.slack.files(user) if f["name"].endswith(".ics")]
    assert all(f["channels"] == [bot.slack.im_channel(user)] for f in shared)
    return [
        (f["initial_comment"], Calendar.from_ical(f["content"]), f["content"].decode())
        for f in shared
    ]


def links(comment: str) -> dict[str, dict[str, list[str]]]:
    """The links in a DM by label, their queries decoded."""
    return {
        label: parse_qs(urlsplit(html.unescape(url)).query)
        for url, label in re.findall(r"<(https://[^|>]+)\|([^>]+)>", comment)
    }


def scheduled(bot) -> list[datetime]:
    with bot.database.sessions.begin() as session:
        return list(
            session.scalars(
                select(Meeting.starts_at)
                .where(Meeting.status == MeetingStatus.SCHEDULED)
                .order_by(Meeting.starts_at)
            )
        )


def exdates(vevent) -> list[datetime]:
    values = vevent.get("EXDATE", [])
    return [
        moment.dt.astimezone(UTC)
        for value in (values if isinstance(values, list) else [values])
        for moment in value.dts
    ]


def stamp(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def test_a_pair_books_moves_and_cancels_a_series_and_their_calendars_follow(bot):
    amara, kenji = london_and_new_york(bot)
    bot.driver.click(kenji, text="Schedule our first session")
    bot.driver.submit(
        kenji,
        {
            ids.WHEN_ACTION: int(FIRST.timestamp()),
            ids.CADENCE_ACTION: "1",
            ids.MEETING_TOPIC_ACTION: "Conference talk",
        },
    )
    with bot.database.sessions.begin() as session:
        series = session.scalars(select(Meeting).order_by(Meeting.starts_at)).all()
    # New York moves its clocks on 14 March: Kenji's weekly 10:00 stays 10:00 for him.
    new_york = {m.starts_at.astimezone(ZoneInfo("America/New_York")).time() for m in series}
    assert new_york == {time(10)} and series[-1].starts_at.hour == 14
    bot.deliver()
    (to_amara,), (to_kenji,) = files(bot, amara), files(bot, kenji)
    uid = str(vevents(to_kenji[1])[0]["UID"])
    for comment, calendar, _ in (to_amara, to_kenji):
        (master,) = vevents(calendar)  # one event for the series, not six files
        assert (str(master["UID"]), master["SEQUENCE"], calendar["METHOD"]) == (uid, 0, "PUBLISH")
        assert occurrences(calendar) == scheduled(bot)
        assert "your 6 sessions with" in comment and "This file adds the whole series" in comment
        assert links(comment)["Google Calendar"]["dates"] == [
            f"{stamp(FIRST)}/{stamp(FIRST + timedelta(minutes=30))}"
        ]
    assert "Mentoring with Kenji" in to_amara[2] and "Mentoring with Amara" in to_kenji[2]

    # Kenji moves the third session a day later: the same event, version 1, with an override.
    third, friday = series[2], series[2].starts_at + timedelta(days=1)
    bot.clock.advance(timedelta(minutes=5))
    send(bot, kenji, ids.RESCHEDULE_ACTION, third.id)
    bot.driver.submit(kenji, {ids.WHEN_ACTION: int(friday.timestamp())})
    bot.deliver()
    for person in (amara, kenji):
        comment, calendar, _ = files(bot, person)[-1]
        master, override = vevents(calendar)
        assert (str(override["UID"]), override["SEQUENCE"]) == (uid, 1)
        assert override.decoded("RECURRENCE-ID") == third.starts_at
        assert override.decoded("DTSTART") == friday
        assert occurrences(calendar) == scheduled(bot)
        assert "*Your calendar, updated:*" in comment and "6 to come" in comment

    # Amara cancels just the second session: version 2 leaves it out (EXDATE).
    bot.clock.advance(timedelta(minutes=5))
    send(bot, amara, ids.CANCEL_MEETING_ACTION, series[1].id)
    bot.driver.submit(amara, {ids.CANCEL_SCOPE_ACTION: "one"})
    bot.deliver()
    _, calendar, text = files(bot, kenji)[-1]
    assert vevents(calendar)[0]["SEQUENCE"] == 2
    assert exdates(vevents(calendar)[0]) == [series[1].starts_at]
    assert occurrences(calendar) == scheduled(bot) and len(scheduled(bot)) == 5
    for _, calendar, text in files(bot, kenji) + files(bot, amara):
        assert [e.uid for e in ics.Calendar(text).events] == [uid] * len(vevents(calendar))

    # Kenji cancels the fourth and the rest: the series now ends after three (COUNT=3).
    bot.clock.advance(timedelta(minutes=5))
    send(bot, kenji, ids.CANCEL_MEETING_ACTION, series[3].id)
    bot.driver.submit(kenji, {ids.CANCEL_SCOPE_ACTION: "series"})
    bot.deliver()
    for person in (amara, kenji):
        comment, calendar, _ = files(bot, person)[-1]
        assert vevents(calendar)[0]["RRULE"]["COUNT"] == [3]
        assert vevents(calendar)[0]["SEQUENCE"] == 3
        assert occurrences(calendar) == scheduled(bot) == [series[0].starts_at, friday]
        # The links add the next session as it now stands.
        google = links(comment)["Google Calendar"]
        assert google["dates"] == [f"{stamp(FIRST)}/{stamp(FIRST + timedelta(minutes=30))}"]
    assert [len(files(bot, p)) for p in (amara, kenji)] == [4, 4]


def test_a_single_session_moves_then_is_cancelled_and_home_shows_its_links(bot):
    amara, kenji = london_and_new_york(bot)
    bot.driver.click(amara, text="Schedule our first session")
    bot.driver.submit(amara, {ids.WHEN_ACTION: int(FIRST.timestamp())})
    bot.deliver()
    ((comment, calendar, _),) = files(bot, kenji)
    (vevent,) = vevents(calendar)
    uid = str(vevent["UID"])
    assert "RRULE" not in vevent and vevent.decoded("DTSTART") == FIRST
    assert "*Add it to your calendar:*" in comment

    # Home lists the session with the same links, built from what Home already loads.
    bot.driver.open_home(kenji)
    home = json.dumps(bot.slack.home(kenji))
    assert "Add to calendar:" in home and f"dates={stamp(FIRST)}/" in html.unescape(home)
    statements = []

    def count(*args):
        statements.append(args[2])

    with bot.database.sessions.begin() as session:
        state = home_state(session, bot.slack.team_id, kenji, bot.clock())
        event.listen(bot.database.engine, "before_cursor_execute", count)
        try:
            view = build_home(state)
        finally:
            event.remove(bot.database.engine, "before_cursor_execute", count)
    assert statements == [] and "Add to calendar:" in json.dumps(view)

    later = FIRST + timedelta(days=1, hours=1)
    (meeting,) = [m for m in _meetings(bot)]
    send(bot, kenji, ids.RESCHEDULE_ACTION, meeting.id)
    bot.driver.submit(kenji, {ids.WHEN_ACTION: int(later.timestamp())})
    bot.deliver()
    for person in (amara, kenji):
        comment, calendar, _ = files(bot, person)[-1]
        (vevent,) = vevents(calendar)
        assert (str(vevent["UID"]), vevent["SEQUENCE"], vevent.decoded("DTSTART")) == (
            uid,
            1,
            later,
        )
        outlook = links(comment)["Outlook"]
        assert outlook["startdt"] == [later.strftime("%Y-%m-%dT%H:%M:%SZ")]
    bot.driver.open_home(kenji)
    assert f"dates={stamp(later)}/" in html.unescape(json.dumps(bot.slack.home(kenji)))

    # Cancelled at 01:00 in London, 20:00 in New York: each file waits until its reader wakes.
    nightly = replace(bot.deliverer.settings, quiet_hours=QuietHours(time(20), time(8)))
    night = Deliverer(nightly, bot.database.sessions, bot.deliverer.client, bot.clock)
    bot.clock.advance(datetime(2026, 11, 26, 1, 0, tzinfo=UTC) - bot.clock())
    send(bot, amara, ids.CANCEL_MEETING_ACTION, meeting.id)
    bot.driver.submit(amara)
    night.tick()
    assert [len(files(bot, p)) for p in (amara, kenji)] == [2, 2]
    bot.clock.advance(timedelta(hours=7))  # 08:00 in London, 03:00 in New York
    night.tick()
    assert [len(files(bot, p)) for p in (amara, kenji)] == [3, 2]
    bot.clock.advance(timedelta(hours=5))  # 08:00 in New York
    night.tick()
    for person in (amara, kenji):
        comment, calendar, text = files(bot, person)[-1]
        (vevent,) = vevents(calendar)
        assert calendar["METHOD"] == "CANCEL" and vevent["STATUS"] == "CANCELLED"
        assert (str(vevent["UID"]), vevent["SEQUENCE"]) == (uid, 2)
        assert "*Take it out of your calendar:*" in comment and "<https://" not in comment
        assert ics.Calendar(text).events.pop().uid == uid
    bot.driver.open_home(kenji)
    assert "Add to calendar:" not in json.dumps(bot.slack.home(kenji))


def _meetings(bot):
    with bot.database.sessions.begin() as session:
        return session.scalars(select(Meeting).order_by(Meeting.id)).all()


def test_a_failed_upload_is_retried_and_lands_once(bot):
    amara, kenji = london_and_new_york(bot)
    bot.slack.fail_next("files.completeUploadExternal", error="internal_error")
    bot.driver.click(amara, text="Schedule our first session")
    bot.driver.submit(amara, {ids.WHEN_ACTION: int(FIRST.timestamp())})
    bot.deliver()
    bot.clock.advance(timedelta(minutes=2))
    bot.deliver()
    assert [len(files(bot, p)) for p in (amara, kenji)] == [1, 1]
    with bot.database.sessions.begin() as session:
        rows = session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "calendar_file")
        ).all()
        assert {r.status for r in rows} == {OutboxStatus.SENT}
        assert sorted(r.attempts for r in rows) == [1, 2]


def test_an_upload_that_landed_but_timed_out_is_found_not_posted_twice(bot):
    amara, kenji = london_and_new_york(bot)
    impatient = Deliverer(
        bot.deliverer.settings,
        bot.database.sessions,
        make_delivery_client(bot.deliverer.settings, timeout=0.3),
        bot.clock,
    )
    bot.driver.click(amara, text="Schedule our first session")
    bot.driver.submit(amara, {ids.WHEN_ACTION: int(FIRST.timestamp())})
    # Slack shares Amara's file, then answers too late: the sender can't know it landed.
    bot.slack.fail_next("files.completeUploadExternal", hang_seconds=0.6, act="before")
    impatient.tick()
    assert [len(files(bot, p)) for p in (amara, kenji)] == [1, 1]
    bot.clock.advance(timedelta(minutes=2))
    impatient.tick()  # the retry finds the file by its name in her DM instead of sharing it again
    assert [len(files(bot, p)) for p in (amara, kenji)] == [1, 1]
    with bot.database.sessions.begin() as session:
        rows = session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.kind == "calendar_file")
            .order_by(OutboxMessage.id)
        ).all()
        assert [(r.status, r.attempts) for r in rows] == [
            (OutboxStatus.SENT, 2),
            (OutboxStatus.SENT, 1),
        ]
        assert len(bot.slack.calls_to("files.completeUploadExternal")) == 2
