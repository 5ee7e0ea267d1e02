"""Quiet hours that never starve a message: time-zone arithmetic, deadlines and group DMs."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from bot.core import ids
from bot.core.models import OutboxMessage
from bot.core.outbox import _when_all_awake
from bot.core.quiet_hours import is_quiet, next_allowed, quiet_at, start_of_next_day
from bot.core.settings import QuietHours
from scheduler.delivery import Deliverer
from tests.test_find import ask, mentee, mentor, shown
from tests.test_outbox import Outbox

EVENING = QuietHours(clock_time(20, 0), clock_time(8, 0))
WINDOWS = [
    EVENING,
    QuietHours(clock_time(22, 0), clock_time(6, 0)),
    QuietHours(clock_time(0, 0), clock_time(8, 0)),
    QuietHours(clock_time(9, 0), clock_time(17, 0)),
    QuietHours(clock_time(2, 30), clock_time(3, 30)),  # inside the hour DST skips or repeats
    QuietHours(clock_time(1, 0), clock_time(1, 30)),
    QuietHours(clock_time(23, 59), clock_time(23, 58)),  # all day but one minute
    QuietHours(clock_time(20, 0), clock_time(20, 0)),  # empty
]
# Half-hour and 45-minute offsets, both hemispheres' DST, zones that dropped DST.
ZONES = [
    "UTC",
    "America/New_York",
    "America/Los_Angeles",
    "America/Chicago",
    "America/Denver",
    "America/Sao_Paulo",
    "America/Santiago",
    "America/Havana",
    "America/St_Johns",
    "America/Mexico_City",
    "America/Bogota",
    "America/Anchorage",
    "Pacific/Honolulu",
    "Pacific/Auckland",
    "Pacific/Chatham",
    "Pacific/Kiritimati",
    "Pacific/Pago_Pago",
    "Europe/London",
    "Europe/Lisbon",
    "Europe/Berlin",
    "Europe/Moscow",
    "Europe/Istanbul",
    "Africa/Lagos",
    "Africa/Cairo",
    "Africa/Nairobi",
    "Asia/Tehran",
    "Asia/Dubai",
    "Asia/Kabul",
    "Asia/Karachi",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Asia/Dhaka",
    "Asia/Yangon",
    "Asia/Bangkok",
    "Asia/Shanghai",
    "Asia/Tokyo",
    "Australia/Eucla",
    "Australia/Adelaide",
    "Australia/Sydney",
    "Australia/Lord_Howe",
]
# Days around DST changes in both hemispheres (2026 and 2027), plus ordinary days.
DST_DAYS = [
    date(2026, 3, 8),
    date(2026, 3, 29),
    date(2026, 4, 5),
    date(2026, 9, 27),
    date(2026, 10, 4),
    date(2026, 10, 25),
    date(2026, 11, 1),
    date(2027, 3, 14),
    date(2027, 4, 4),
    date(2027, 1, 15),
    date(2027, 7, 1),
]

instants = st.builds(
    lambda day, minutes, seconds: (
        datetime.combine(day, clock_time(0), tzinfo=UTC)
        + timedelta(minutes=minutes, seconds=seconds)
    ),
    st.sampled_from(DST_DAYS),
    st.integers(min_value=-36 * 60, max_value=36 * 60),
    st.integers(min_value=0, max_value=59),
)
windows = st.one_of(
    st.sampled_from(WINDOWS),
    st.builds(
        lambda a, b: QuietHours(clock_time(a // 60, a % 60), clock_time(b // 60, b % 60)),
        st.integers(0, 1439),
        st.integers(0, 1439),
    ),
)


def _whole_minutes_between(start: datetime, end: datetime):
    minute = start.replace(second=0, microsecond=0) + timedelta(minutes=1)
    while minute < end:
        yield minute
        minute += timedelta(minutes=1)


# Properties of the arithmetic ------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(due=instants, tz=st.sampled_from(ZONES), window=windows)
def test_next_allowed_is_the_earliest_moment_outside_the_window(due, tz, window):
    allowed = next_allowed(due, tz, window)
    assert allowed >= due
    assert not quiet_at(allowed, tz, window)
    assert allowed - due <= timedelta(hours=26)
    # Nothing earlier was allowed: every whole minute in between is quiet.
    for minute in _whole_minutes_between(due, allowed):
        assert quiet_at(minute, tz, window), (minute, allowed)


@settings(max_examples=200, deadline=None)
@given(moment=instants, tz=st.sampled_from(ZONES), window=windows)
@example(
    moment=datetime(2026, 3, 8, 0, 0, tzinfo=UTC),
    tz="America/Havana",
    window=QuietHours(clock_time(0, 1), clock_time(0, 0)),
)
def test_start_of_next_day_is_in_the_next_local_day(moment, tz, window):
    place = ZoneInfo(tz)
    following = start_of_next_day(moment, tz, window)
    assert following > moment
    assert not quiet_at(following, tz, window)
    tomorrow = moment.astimezone(place).date() + timedelta(1)
    day = following.astimezone(place).date()
    assert day >= tomorrow
    if day > tomorrow:
        # Only when tomorrow has no allowed minute at all: a one-minute gap that DST skips
        # (Havana springs forward at midnight).
        starts = datetime.combine(tomorrow, clock_time(0), place).astimezone(UTC)
        minutes = _whole_minutes_between(starts - timedelta(minutes=1), following)
        assert all(
            quiet_at(minute, tz, window)
            for minute in minutes
            if minute.astimezone(place).date() == tomorrow
        )


def test_an_empty_window_is_never_quiet():
    empty = QuietHours(clock_time(20, 0), clock_time(20, 0))
    assert not is_quiet(clock_time(20, 0), empty) and not is_quiet(clock_time(3, 0), empty)
    noon = datetime(2026, 5, 5, 12, 0, tzinfo=UTC)
    assert next_allowed(noon, "UTC", empty) == noon


def test_a_window_ending_in_the_hour_dst_skips_ends_when_the_clock_jumps():
    # 2026-03-08 in New York: 02:00 EST becomes 03:00 EDT, so 02:30 never happens.
    window = QuietHours(clock_time(22, 0), clock_time(2, 30))
    night = datetime(2026, 3, 8, 5, 0, tzinfo=UTC)  # 00:00 EST
    assert next_allowed(night, "America/New_York", window) == datetime(2026, 3, 8, 7, 0, tzinfo=UTC)


def test_a_window_in_the_repeated_hour_is_waited_out_the_second_time_too():
    # 2026-11-01 in New York: 01:00-02:00 happens twice (EDT, then EST).
    window = QuietHours(clock_time(1, 0), clock_time(1, 30))
    second_pass = datetime(2026, 11, 1, 6, 10, tzinfo=UTC)  # 01:10 EST
    assert next_allowed(second_pass, "America/New_York", window) == datetime(
        2026, 11, 1, 6, 30, tzinfo=UTC
    )


def _deliver_group(now, zones, window, deadline=None, tick=timedelta(seconds=5)):
    """Play the delivery tick for one group row: each deferral is honoured, then asked again."""
    start = now
    for _ in range(50):
        later = _when_all_awake(now, [(tz, window) for tz in zones], deadline)
        if later is None:
            return now
        assert later > now, "a released row must be due strictly later, or it loops"
        now = later + tick
    raise AssertionError(f"still deferred after 50 rounds, since {start}")


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    now=instants,
    zones=st.lists(st.sampled_from(ZONES), min_size=1, max_size=3),
    window=windows,
    deadline_in=st.one_of(st.none(), st.integers(min_value=1, max_value=72 * 60)),
)
def test_a_message_always_goes_within_a_day_and_before_its_deadline(
    now, zones, window, deadline_in
):
    deadline = now + timedelta(minutes=deadline_in) if deadline_in else None
    sent = _deliver_group(now, zones, window, deadline)
    assert sent - now <= timedelta(hours=24, minutes=1)
    if deadline is not None:
        assert sent < deadline + timedelta(seconds=5)


@pytest.mark.parametrize("first", ZONES)
def test_every_pair_of_zones_hears_within_a_day(first):
    now = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    for second in ZONES:
        for hour in range(0, 24, 3):
            start = now + timedelta(hours=hour)
            sent = _deliver_group(start, [first, second], EVENING)
            assert sent - start <= timedelta(hours=24, minutes=1), (first, second, start)
            # When their waking hours overlap, it waits for both to be awake.
            if _overlap(first, second, start):
                assert not any(quiet_at(sent, tz, EVENING) for tz in (first, second))


def _overlap(first, second, start):
    return any(
        not quiet_at(moment, first, EVENING) and not quiet_at(moment, second, EVENING)
        for moment in (start + timedelta(minutes=15 * n) for n in range(96))
    )


def _evening(*zones):
    return [(tz, EVENING) for tz in zones]


def test_partners_half_a_world_apart_hear_at_once_when_one_is_awake():
    # 13:00 UTC: 08:00 in New York (awake), 20:00 in Bangkok (quiet until 08:00 = 01:00 UTC).
    now = datetime(2026, 11, 25, 13, 0, tzinfo=UTC)
    assert _when_all_awake(now, _evening("America/New_York", "Asia/Bangkok")) is None


def test_the_least_bad_moment_is_when_fewest_are_asleep():
    # 09:00 UTC: 04:00 New York (quiet), 16:00 Bangkok (awake), 09:00 London (awake).
    # Nobody overlaps all three; the earliest time two of the three are awake is now.
    now = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    zones = ["America/New_York", "Asia/Bangkok", "Europe/London"]
    assert _when_all_awake(now, _evening(*zones)) is None
    # 03:00 UTC: 22:00 New York, 10:00 Bangkok, 03:00 London: two asleep; at 08:00 UTC
    # London wakes (two awake) - the first moment with only one asleep.
    early = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
    assert _when_all_awake(early, _evening(*zones)) == datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


def test_a_deadline_that_comes_before_anyone_wakes_sends_now():
    # 21:30 UTC: 06:30 in Tokyo, quiet until 08:00; the session starts 07:30.
    now = datetime(2026, 11, 26, 21, 30, tzinfo=UTC)
    deadline = now + timedelta(hours=1)
    assert _when_all_awake(now, _evening("Asia/Tokyo"), deadline) is None
    # Without the deadline it waits for 08:00 in Tokyo.
    assert _when_all_awake(now, _evening("Asia/Tokyo")) == datetime(2026, 11, 26, 23, 0, tzinfo=UTC)


# Through the real bot --------------------------------------------------------------------------


class Night:
    """The bot's delivery tick with quiet hours on, run while the clock walks forward."""

    def __init__(self, bot, window=EVENING):
        self.bot = bot
        quiet = replace(bot.deliverer.settings, quiet_hours=window)
        self.deliverer = Deliverer(quiet, bot.database.sessions, bot.deliverer.client, bot.clock)
        self.arrived: dict[str, list[tuple[datetime, str]]] = {}

    def settle(self):
        for _ in range(20):
            if not self.deliverer.tick().claimed:
                self._note()
                return
        raise AssertionError("the same messages were claimed again and again")

    def watch(self, *users):
        for user in users:
            self.arrived.setdefault(user, [])
        self._note()

    def _note(self):
        for user, log in self.arrived.items():
            for seen in self.bot.slack.seen(user)[len(log) :]:
                log.append((self.bot.clock(), f"{seen.kind}: {shown(seen)}"))

    def live_until(self, until, step=timedelta(minutes=15)):
        self.settle()
        while self.bot.clock() < until:
            self.bot.clock.advance(min(step, until - self.bot.clock()))
            self.settle()

    def when(self, user, text, kind="group"):
        """When this person first saw a message of this kind containing `text`."""
        return next(
            (at for at, seen in self.arrived[user] if seen.startswith(kind) and text in seen),
            None,
        )


def _local(day, hour, minute, tz):
    return datetime.combine(day, clock_time(hour, minute), tzinfo=ZoneInfo(tz)).astimezone(UTC)


def _book(bot, who, when):
    bot.driver.click(who, text="Schedule our first session")
    reply = bot.driver.submit(who, {ids.WHEN_ACTION: int(when.timestamp())})
    if reply.json and reply.json.get("response_action") == "update":
        bot.driver.submit(who)  # "Book it anyway": outside the partner's working hours


@pytest.mark.parametrize(
    ("mentor_tz", "mentee_tz"),
    [("America/New_York", "Asia/Bangkok"), ("America/Sao_Paulo", "Asia/Tokyo")],
)
def test_a_pair_whose_awake_hours_never_overlap_gets_every_group_message(bot, mentor_tz, mentee_tz):
    night = Night(bot)
    maya = mentor(bot, "Maya", mentor_tz, "Public speaking")
    niran = mentee(bot, "Niran", mentee_tz)
    night.watch(maya, niran)
    bot.driver.command(niran, "find")
    ask(bot, niran, maya)
    wakes = _local(date(2026, 11, 25), 8, 0, mentor_tz)
    if wakes < bot.clock():
        wakes += timedelta(days=1)
    night.live_until(wakes)
    assert night.when(maya, "Accept", kind="dm") == wakes  # her request waited for her morning
    bot.driver.click(maya, text="Accept")
    night.settle()
    for person in (maya, niran):
        assert night.when(person, "Schedule our first session") == wakes

    # The session: 09:00 the next day for the mentor, evening or night for the mentee.
    starts = _local(date(2026, 11, 26), 9, 0, mentor_tz)
    _book(bot, maya, starts)
    night.settle()
    for person in (maya, niran):
        assert night.when(person, "session is booked for") == wakes
    night.live_until(starts)
    for person in (maya, niran):
        agenda_at = night.when(person, "Agenda for your session")
        assert agenda_at is not None and agenda_at < starts, night.arrived[person]
        prep_at = night.when(person, "Getting ready", kind="dm")
        assert prep_at is not None and prep_at < starts


def test_an_early_sessions_agenda_arrives_before_it_starts(bot):
    night = Night(bot)
    amara = mentor(bot, "Amara", "Asia/Seoul", "Public speaking")
    kenji = mentee(bot)  # Tokyo: 18:00 now
    night.watch(amara, kenji)
    bot.driver.command(kenji, "find")
    ask(bot, kenji, amara)
    night.settle()
    bot.driver.click(amara, text="Accept")
    night.settle()
    # 07:30 in Tokyo and Seoul: the agenda is due at 06:30, inside both partners' quiet hours.
    starts = _local(date(2026, 11, 27), 7, 30, "Asia/Tokyo")
    _book(bot, amara, starts)
    night.live_until(starts + timedelta(hours=1))
    for person in (amara, kenji):
        # Nobody is awake before the session: the agenda keeps its hour's lead rather than wait.
        agenda_at = night.when(person, "Agenda for your session")
        assert agenda_at == starts - timedelta(hours=1), night.arrived[person]


def test_a_dm_due_in_quiet_hours_goes_before_its_deadline_and_others_wait(bot):
    outbox = Outbox(bot, quiet_hours=EVENING)
    kenji = outbox.member("Kenji", tz="Asia/Tokyo")
    bot.clock.advance(datetime(2026, 11, 25, 21, 30, tzinfo=UTC) - bot.clock())  # 06:30 Tokyo
    outbox.add("prep", kenji, deadline_at=bot.clock() + timedelta(hours=1))
    outbox.add("later", kenji, deadline_at=bot.clock() + timedelta(hours=3))
    outbox.add("whenever", kenji)
    assert outbox.deliverer.tick().sent == 1
    assert outbox.posted() == ["note prep"]
    wakes = datetime(2026, 11, 25, 23, 0, tzinfo=UTC)  # 08:00 in Tokyo
    assert outbox.row("later").due_at == wakes and outbox.row("whenever").due_at == wakes


def test_the_daily_limit_never_holds_a_message_past_its_deadline(bot):
    outbox = Outbox(bot, quiet_hours=EVENING, daily_nudge_limit=1)
    lisbon = outbox.member("Rita", tz="Europe/Lisbon")  # 09:00 there: awake
    outbox.add("first", lisbon)
    outbox.add(
        "expiring",
        lisbon,
        due_in=timedelta(seconds=1),
        deadline_at=bot.clock() + timedelta(hours=5),
    )
    outbox.add("patient", lisbon, due_in=timedelta(seconds=2))
    bot.clock.advance(timedelta(seconds=5))
    outbox.deliverer.tick()
    assert outbox.posted() == ["note first", "note expiring"]
    assert outbox.row("patient").due_at == datetime(2026, 11, 26, 8, 0, tzinfo=UTC)


def test_a_moved_session_moves_its_messages_deadlines(bot):
    amara = mentor(bot, "Amara", "Africa/Lagos", "Public speaking")
    kenji = mentee(bot)
    bot.driver.command(kenji, "find")
    ask(bot, kenji, amara)
    bot.deliver()
    bot.driver.click(amara, text="Accept")
    bot.deliver()
    first = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)
    _book(bot, amara, first)
    bot.deliver()
    moved_to = first + timedelta(days=2)
    bot.driver.click(kenji, text="Reschedule")
    bot.driver.submit(kenji, {ids.WHEN_ACTION: int(moved_to.timestamp())})
    with bot.database.sessions.begin() as session:
        rows = session.scalars(select(OutboxMessage).where(OutboxMessage.subject_type == "meeting"))
        deadlines = {(row.kind, row.deadline_at) for row in rows}
    assert ("prep_prompt", moved_to) in deadlines and ("agenda", moved_to) in deadlines
    assert ("checkin", None) in deadlines  # no deadline: "did it happen?" keeps its use
    assert ("meeting_moved", moved_to) in deadlines
    assert not {kind for kind, deadline in deadlines if deadline == first} - {"meeting_booked"}
