"""Outbound delivery through the sandbox over HTTP: claims, retries, respect for the recipient."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.core.members import workspace_for
from bot.core.models import Member, OutboxMessage, OutboxStatus, Workspace
from bot.core.outbox import Skip, backoff, cancel_pending, enqueue, retime_pending
from bot.core.quiet_hours import next_allowed
from bot.core.settings import QuietHours, Settings
from scheduler import start_scheduler
from scheduler.delivery import Deliverer, make_delivery_client
from tests.outbox_worker import render_notes

ROOT = Path(__file__).resolve().parent.parent
WORKER = ROOT / "tests" / "outbox_worker.py"
EVENING = QuietHours(clock_time(20, 0), clock_time(8, 0))


def render_gone(session, rows, now):
    return {row.id: Skip("its meeting was cancelled") for row in rows}


RENDERERS = {"note": render_notes, "gone": render_gone}


class Outbox:
    """The delivery side of the bot against the sandbox, with a clock the test moves."""

    def __init__(self, bot, **settings_overrides):
        self.bot = bot
        self.user_ids: dict[int, str] = {}
        self.settings = Settings(
            slack_bot_token=bot.slack.bot_token,
            slack_signing_secret="unused",
            slack_api_url=bot.slack.api_url,
            database_url=bot.database.url,
            **settings_overrides,
        )
        self.client = make_delivery_client(self.settings, timeout=1)
        self.deliverer = Deliverer(
            self.settings, bot.database.sessions, self.client, bot.clock, renderers=RENDERERS
        )

    def member(self, name, tz="Europe/Lisbon", **fields):
        user_id = self.bot.slack.add_user(name, real_name=name, tz=tz)
        now = self.bot.clock()
        with self.bot.database.sessions.begin() as session:
            workspace = workspace_for(session, self.bot.slack.team_id, now)
            member = Member(
                workspace_id=workspace.id,
                slack_user_id=user_id,
                display_name=name,
                tz=tz,
                created_at=now,
                updated_at=now,
                **fields,
            )
            session.add(member)
            session.flush()
            self.user_ids[member.id] = user_id
            return member.id

    def add(self, key, member_id=None, *, due_in=timedelta(0), kind="note", **options):
        now = self.bot.clock()
        with self.bot.database.sessions.begin() as session:
            workspace = workspace_for(session, self.bot.slack.team_id, now)
            return enqueue(
                session,
                workspace_id=workspace.id,
                kind=kind,
                dedupe_key=key,
                due_at=now + due_in,
                now=now,
                member_id=member_id,
                **options,
            )

    def row(self, key):
        with self.bot.database.sessions.begin() as session:
            return session.scalars(
                select(OutboxMessage).where(OutboxMessage.dedupe_key == key)
            ).one()

    def posted(self):
        """What Slack accepted, in order (refused and failed calls are not messages)."""
        calls = self.bot.slack.calls_to("chat.postMessage")
        return [call.args["text"] for call in calls if call.response.get("ok")]


@pytest.fixture
def outbox(bot):
    return Outbox(bot, quiet_hours=None)


def test_sends_what_is_due_and_nothing_before(outbox):
    kenji = outbox.member("Kenji")
    outbox.add("now", kenji)
    outbox.add("soon", kenji, due_in=timedelta(hours=1))
    report = outbox.deliverer.tick()
    assert (report.claimed, report.sent) == (1, 1)
    assert outbox.posted() == ["note now"]
    sent = outbox.row("now")
    assert sent.status == OutboxStatus.SENT and sent.sent_ts and sent.attempts == 1
    with outbox.bot.database.sessions.begin() as session:
        kenji_id = session.get(Member, kenji).slack_user_id
    assert sent.sent_channel_id == outbox.bot.slack.im_channel(kenji_id)
    assert outbox.row("soon").status == OutboxStatus.PENDING
    outbox.bot.clock.advance(timedelta(minutes=59))
    assert outbox.deliverer.tick().claimed == 0
    outbox.bot.clock.advance(timedelta(minutes=1))
    assert outbox.deliverer.tick().sent == 1
    assert outbox.posted() == ["note now", "note soon"]


def test_dm_channel_is_opened_once_and_cached(outbox):
    kenji = outbox.member("Kenji")
    outbox.add("one", kenji)
    outbox.deliverer.tick()
    outbox.add("two", kenji)
    outbox.deliverer.tick()
    assert len(outbox.bot.slack.calls_to("conversations.open")) == 1
    with outbox.bot.database.sessions.begin() as session:
        channel = session.get(Member, kenji).dm_channel_id
    assert channel and {
        c.args["channel"] for c in outbox.bot.slack.calls_to("chat.postMessage")
    } == {channel}
    assert len(outbox.bot.slack.history(channel)) == 2


def test_enqueueing_the_same_thing_twice_is_a_no_op(outbox):
    kenji = outbox.member("Kenji")
    assert outbox.add("prep:1:1", kenji) is True
    assert outbox.add("prep:1:1", kenji, due_in=timedelta(hours=3)) is False
    outbox.deliverer.tick()
    assert outbox.posted() == ["note prep:1:1"]


def test_a_message_needs_exactly_one_recipient(outbox):
    kenji = outbox.member("Kenji")
    with pytest.raises(ValueError):
        outbox.add("both", kenji, channel_id="C1")
    with pytest.raises(ValueError):
        outbox.add("neither")


def test_rescheduling_and_cancelling_touch_only_pending_rows_about_that_subject(outbox):
    kenji = outbox.member("Kenji")
    outbox.add("prep:7", kenji, due_in=timedelta(hours=1), subject=("meeting", 7))
    outbox.add("agenda:7", kenji, due_in=timedelta(hours=2), subject=("meeting", 7))
    outbox.add("prep:8", kenji, due_in=timedelta(hours=1), subject=("meeting", 8))
    outbox.add("sent:7", kenji, subject=("meeting", 7))
    outbox.deliverer.tick()
    with outbox.bot.database.sessions.begin() as session:
        moved = retime_pending(session, "meeting", 7, lambda row: row.due_at + timedelta(days=1))
        assert moved == 2
    assert outbox.row("prep:7").due_at == outbox.bot.clock() + timedelta(days=1, hours=1)
    assert outbox.row("prep:8").due_at == outbox.bot.clock() + timedelta(hours=1)
    with outbox.bot.database.sessions.begin() as session:
        assert cancel_pending(session, "meeting", 7, "meeting cancelled", kinds=["note"]) == 2
    outbox.bot.clock.advance(timedelta(days=2))
    outbox.deliverer.tick()
    assert outbox.row("agenda:7").status == OutboxStatus.CANCELLED
    assert outbox.row("agenda:7").last_error == "meeting cancelled"
    assert outbox.row("sent:7").status == OutboxStatus.SENT
    assert outbox.posted() == ["note sent:7", "note prep:8"]


def test_a_message_that_no_longer_applies_is_skipped_with_its_reason(outbox):
    kenji = outbox.member("Kenji")
    outbox.add("prep:9", kenji, kind="gone")
    outbox.add("mystery", kenji, kind="unknown-kind")
    outbox.deliverer.tick()
    assert outbox.posted() == []
    assert outbox.row("prep:9").status == OutboxStatus.CANCELLED
    assert outbox.row("prep:9").last_error == "its meeting was cancelled"
    assert "no renderer" in outbox.row("mystery").last_error


def test_429_defers_the_workspace_by_retry_after_then_sends(outbox):
    kenji, amara = outbox.member("Kenji"), outbox.member("Amara")
    outbox.add("a", kenji)
    outbox.add("b", amara)
    outbox.bot.slack.fail_next("chat.postMessage", status=429, retry_after=30)
    started = time.monotonic()
    report = outbox.deliverer.tick()
    assert time.monotonic() - started < 2  # the tick never sleeps through Retry-After
    assert (report.sent, report.deferred) == (0, 2)
    assert {outbox.row(k).status for k in "ab"} == {OutboxStatus.PENDING}
    assert outbox.row("a").attempts == 0
    with outbox.bot.database.sessions.begin() as session:
        until = session.scalars(select(Workspace.rate_limited_until)).one()
    assert until == outbox.bot.clock() + timedelta(seconds=30)
    outbox.bot.clock.advance(timedelta(seconds=29))
    assert outbox.deliverer.tick().claimed == 0
    outbox.bot.clock.advance(timedelta(seconds=1))
    assert outbox.deliverer.tick().sent == 2
    assert sorted(outbox.posted()) == ["note a", "note b"]


def test_a_server_error_is_retried_with_backoff(outbox):
    kenji = outbox.member("Kenji")
    outbox.add("a", kenji)
    outbox.deliverer.tick()  # opens the DM
    outbox.add("b", kenji)
    outbox.bot.slack.fail_next("chat.postMessage", status=500)
    assert outbox.deliverer.tick().retried == 1
    row = outbox.row("b")
    assert (row.status, row.last_error, row.attempts) == (OutboxStatus.PENDING, "http_500", 1)
    wait = row.next_attempt_at - outbox.bot.clock()
    assert timedelta(seconds=5) <= wait <= timedelta(seconds=10)
    assert outbox.deliverer.tick().claimed == 0
    outbox.bot.clock.advance(wait)
    assert outbox.deliverer.tick().sent == 1
    assert outbox.row("b").status == OutboxStatus.SENT and outbox.row("b").last_error is None


def test_a_timeout_is_retried(outbox):
    kenji = outbox.member("Kenji")
    outbox.add("a", kenji)
    outbox.deliverer.tick()
    outbox.add("b", kenji)
    outbox.bot.slack.fail_next("chat.postMessage", hang_seconds=1.5)
    assert outbox.deliverer.tick().retried == 1
    assert outbox.row("b").last_error == "TimeoutError"
    outbox.bot.clock.advance(timedelta(minutes=1))
    assert outbox.deliverer.tick().sent == 1
    assert outbox.row("b").status == OutboxStatus.SENT
    assert outbox.row("b").attempts == 2


@pytest.mark.parametrize(
    ("method", "error"),
    [
        ("chat.postMessage", "channel_not_found"),
        ("chat.postMessage", "is_archived"),
        ("conversations.open", "user_not_found"),
        ("conversations.open", "account_inactive"),
        ("chat.postMessage", "invalid_auth"),
    ],
)
def test_permanent_errors_fail_once_and_are_never_retried(outbox, method, error):
    kenji = outbox.member("Kenji")
    outbox.add("a", kenji)
    outbox.bot.slack.fail_next(method, error=error)
    assert outbox.deliverer.tick().failed == 1
    row = outbox.row("a")
    assert (row.status, row.last_error) == (OutboxStatus.FAILED, error)
    calls = len(outbox.bot.slack.calls)
    outbox.bot.clock.advance(timedelta(days=1))
    assert outbox.deliverer.tick().claimed == 0
    assert len(outbox.bot.slack.calls) == calls


def test_transient_failures_give_up_after_the_last_attempt(outbox):
    kenji = outbox.member("Kenji")
    outbox.add("a", kenji)
    outbox.bot.slack.fail_next("conversations.open", status=503, times=8)
    for _ in range(8):
        outbox.deliverer.tick()
        outbox.bot.clock.advance(timedelta(hours=2))
    assert outbox.row("a").status == OutboxStatus.FAILED
    assert outbox.row("a").attempts == 8


def test_backoff_grows_and_is_capped():
    assert backoff(1, rng=lambda: 1.0) == timedelta(seconds=10)
    assert backoff(2, rng=lambda: 1.0) == timedelta(seconds=20)
    assert backoff(2, rng=lambda: 0.0) == timedelta(seconds=10)
    assert backoff(30, rng=lambda: 1.0) == timedelta(hours=1)


@pytest.mark.parametrize(
    ("tz", "due_local", "expected_utc"),
    [
        # West of UTC: 22:30 in Los Angeles (PST, UTC-8) waits for 08:00 there.
        ("America/Los_Angeles", datetime(2026, 1, 15, 22, 30), datetime(2026, 1, 16, 16, 0)),
        # East of UTC: 05:00 in Tokyo (UTC+9) waits for 08:00 the same day.
        ("Asia/Tokyo", datetime(2026, 1, 16, 5, 0), datetime(2026, 1, 15, 23, 0)),
        # Autumn DST change in New York: quiet begins in EDT (UTC-4), ends in EST (UTC-5).
        ("America/New_York", datetime(2026, 10, 31, 23, 0), datetime(2026, 11, 1, 13, 0)),
        # Spring DST change in London: quiet begins in GMT, ends in BST (UTC+1).
        ("Europe/London", datetime(2026, 3, 28, 21, 0), datetime(2026, 3, 29, 7, 0)),
        # Outside quiet hours: unchanged (the negative case).
        ("Asia/Tokyo", datetime(2026, 1, 16, 8, 0), datetime(2026, 1, 15, 23, 0)),
        ("America/Los_Angeles", datetime(2026, 1, 15, 19, 59), datetime(2026, 1, 16, 3, 59)),
    ],
)
def test_quiet_hours_in_the_recipients_own_zone(tz, due_local, expected_utc):
    from zoneinfo import ZoneInfo

    due = due_local.replace(tzinfo=ZoneInfo(tz)).astimezone(UTC)
    assert next_allowed(due, tz, EVENING) == expected_utc.replace(tzinfo=UTC)


def test_quiet_hours_that_do_not_cross_midnight():
    lunch = QuietHours(clock_time(12, 0), clock_time(13, 0))
    noon = datetime(2026, 5, 5, 12, 30, tzinfo=UTC)
    assert next_allowed(noon, "UTC", lunch) == datetime(2026, 5, 5, 13, 0, tzinfo=UTC)
    assert next_allowed(noon - timedelta(hours=1), "UTC", lunch) == noon - timedelta(hours=1)
    assert next_allowed(noon, "UTC", None) == noon


def test_delivery_waits_out_the_recipients_quiet_hours(bot):
    outbox = Outbox(bot, quiet_hours=EVENING)
    # The bot's clock reads 09:00 UTC: 18:00 in Tokyo (fine), 01:00 in Los Angeles (quiet).
    tokyo, la = (
        outbox.member("Kenji", tz="Asia/Tokyo"),
        outbox.member("Sam", tz="America/Los_Angeles"),
    )
    outbox.add("tokyo", tokyo)
    outbox.add("la", la)
    assert outbox.deliverer.tick().sent == 1
    assert outbox.posted() == ["note tokyo"]
    moved = outbox.row("la")
    assert moved.status == OutboxStatus.PENDING
    assert moved.due_at == datetime(2026, 11, 25, 16, 0, tzinfo=UTC)  # 08:00 in Los Angeles
    bot.clock.advance(moved.due_at - bot.clock())
    assert outbox.deliverer.tick().sent == 1


def test_daily_nudge_limit_slides_the_rest_to_the_next_day_in_order(bot):
    outbox = Outbox(bot, quiet_hours=EVENING, daily_nudge_limit=2)
    kenji = outbox.member("Kenji", tz="Europe/Lisbon")
    for n in range(4):
        outbox.add(f"nudge {n}", kenji, due_in=timedelta(seconds=n))
    outbox.add("urgent", kenji, due_in=timedelta(seconds=9), urgent=True)
    bot.clock.advance(timedelta(seconds=10))
    outbox.deliverer.tick()
    assert outbox.posted() == ["note nudge 0", "note nudge 1", "note urgent"]
    next_morning = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)  # Lisbon is on UTC in winter
    assert [outbox.row(f"nudge {n}").due_at for n in (2, 3)] == [next_morning] * 2
    bot.clock.advance(next_morning - bot.clock())
    outbox.deliverer.tick()
    assert outbox.posted()[3:] == ["note nudge 2", "note nudge 3"]


def test_a_paused_member_gets_only_what_they_asked_for(bot):
    outbox = Outbox(bot, quiet_hours=None)
    back = bot.clock() + timedelta(days=3)
    kenji = outbox.member("Kenji", paused_until=back)
    outbox.add("nudge", kenji)
    outbox.add("asked", kenji, solicited=True)
    outbox.deliverer.tick()
    assert outbox.posted() == ["note asked"]
    assert outbox.row("nudge").due_at == back
    bot.clock.advance(timedelta(days=3))
    outbox.deliverer.tick()
    assert outbox.posted() == ["note asked", "note nudge"]


def _fill_channel(outbox, count):
    channel = outbox.bot.slack.add_channel("race", members=[outbox.bot.slack.bot_user_id])
    now = outbox.bot.clock()
    with outbox.bot.database.sessions.begin() as session:
        workspace = workspace_for(session, outbox.bot.slack.team_id, now)
        session.add_all(
            OutboxMessage(
                workspace_id=workspace.id,
                recipient_channel_id=channel,
                kind="note",
                due_at=now,
                dedupe_key=f"race:{n}",
                created_at=now,
            )
            for n in range(count)
        )
    return channel


def _run_workers(bot, count, batch_size=50, *extra):
    """`extra`: the worker's optional lease and client timeout, in seconds."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return [
        subprocess.Popen(
            [
                sys.executable,
                str(WORKER),
                bot.database.url,
                bot.slack.api_url,
                "0",
                str(batch_size),
                *map(str, extra),
            ],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(count)
    ]


def test_two_workers_racing_over_1000_rows_deliver_each_exactly_once(bot):
    outbox = Outbox(bot, quiet_hours=None)
    outbox.bot.clock.advance(datetime.now(UTC) - outbox.bot.clock())
    channel = _fill_channel(outbox, 1000)
    if bot.database.backend == "postgresql":
        workers = _run_workers(bot, 2)
        sent = [int(worker.communicate(timeout=120)[0]) for worker in workers]
    else:
        second = Deliverer(
            outbox.settings, bot.database.sessions, outbox.client, bot.clock, renderers=RENDERERS
        )
        sent = [0, 0]

        def drain(index, deliverer):
            while (report := deliverer.tick()).claimed:
                sent[index] += report.sent

        threads = [
            threading.Thread(target=drain, args=(i, d))
            for i, d in enumerate([outbox.deliverer, second])
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    texts = [m["text"] for m in bot.slack.history(channel)]
    assert len(texts) == 1000 and len(set(texts)) == 1000
    assert sum(sent) == 1000 and all(sent), sent  # both took part
    with bot.database.sessions.begin() as session:
        statuses = dict(
            session.execute(
                select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
            ).all()
        )
    assert statuses == {OutboxStatus.SENT: 1000}


def test_a_worker_killed_mid_batch_loses_nothing(bot):
    outbox = Outbox(bot, quiet_hours=None)
    outbox.bot.clock.advance(datetime.now(UTC) - outbox.bot.clock())
    channel = _fill_channel(outbox, 300)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    worker = subprocess.Popen(
        [sys.executable, str(WORKER), bot.database.url, bot.slack.api_url, "0.005", "100"],
        env=env,
        stdout=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while len(bot.slack.history(channel)) < 20 and time.monotonic() < deadline:
        time.sleep(0.01)
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=10)
    before = len(bot.slack.history(channel))
    assert 20 <= before < 300
    # A new process starts after the dead one's lease ran out.
    outbox.bot.clock.advance(timedelta(minutes=3))
    while outbox.deliverer.tick().claimed:
        pass
    texts = Counter(m["text"] for m in bot.slack.history(channel))
    assert set(texts) == {f"note race:{n}" for n in range(300)}
    # Not even the message in flight repeats: it is looked up in the channel before a retry.
    assert sum(texts.values()) == 300
    assert outbox.row("race:299").status == OutboxStatus.SENT


def test_the_scheduler_delivers_on_its_own_tick(bot):
    outbox = Outbox(bot, quiet_hours=None, delivery_tick_seconds=1)
    outbox.deliverer.clock = lambda: datetime.now(UTC)
    kenji = outbox.member("Kenji")
    outbox.add("tick", kenji, due_in=datetime.now(UTC) - bot.clock())
    scheduler = start_scheduler(outbox.deliverer, bot.database.sessions, outbox.deliverer.clock)
    try:
        deadline = time.monotonic() + 10
        while not outbox.posted() and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        scheduler.shutdown(wait=True)
    assert outbox.posted() == ["note tick"]


def test_outbox_report_for_operators(bot, tmp_path):
    if bot.database.backend != "sqlite":
        pytest.skip("the report reads the same tables on both backends; one run is enough")
    outbox = Outbox(bot, quiet_hours=None)
    kenji = outbox.member("Kenji")
    outbox.add("later", kenji, due_in=timedelta(days=400))
    outbox.add("broken", kenji)
    # Not user_not_found: that would mean Kenji left, and his later message would be cancelled.
    outbox.bot.slack.fail_next("conversations.open", error="channel_not_found")
    outbox.deliverer.tick()
    result = subprocess.run(
        [sys.executable, str(ROOT / "app.py"), "outbox"],
        cwd=tmp_path,
        env={**os.environ, "DATABASE_URL": bot.database.url},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "1 pending, 0 sending, 0 sent, 1 failed, 0 cancelled" in result.stdout
    assert "#1 note to U" in result.stdout and "2027-12-30" in result.stdout
    assert "#2 note: channel_not_found" in result.stdout


def test_a_group_dm_waits_until_everyone_in_it_is_outside_quiet_hours(bot):
    outbox = Outbox(bot, quiet_hours=EVENING)
    # 09:00 UTC: 18:00 in Tokyo (fine) but 01:00 in Los Angeles (quiet until 08:00 = 16:00 UTC);
    # by then Tokyo is at 01:00 (quiet until 08:00 = 23:00 UTC). Both are awake at 23:00 UTC.
    kenji = outbox.member("Kenji", tz="Asia/Tokyo")
    sam = outbox.member("Sam", tz="America/Los_Angeles")
    outbox.add("intro", group=[outbox.user_ids[kenji], outbox.user_ids[sam]])
    assert outbox.deliverer.tick().sent == 0
    moved = outbox.row("intro")
    assert moved.due_at == datetime(2026, 11, 25, 23, 0, tzinfo=UTC)
    bot.clock.advance(moved.due_at - bot.clock())
    assert outbox.deliverer.tick().sent == 1
    assert len(bot.slack.calls_to("conversations.open")[-1].args["users"].split(",")) == 2
