"""An outbox that stays small and a delivery job that keeps sending: the daily purge, few
transactions per message, and no idle ticks while messages are due."""

from __future__ import annotations

import itertools
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, select, update

from bot.core.models import OutboxMessage, OutboxStatus
from scheduler import purge_outbox, start_scheduler
from tests.test_outbox import Outbox, _fill_channel


@pytest.fixture
def outbox(bot):
    return Outbox(bot, quiet_hours=None)


def test_the_daily_purge_removes_only_old_settled_rows_in_batches(outbox):
    kenji = outbox.member("Kenji")
    now = outbox.bot.clock()
    ages = {"old": timedelta(days=31), "recent": timedelta(days=29)}
    statuses = [status for status in OutboxStatus]
    for (age, when), status, kind in itertools.product(
        ages.items(), statuses, ["note", "success_post"]
    ):
        outbox.add(f"{age}:{status.value}:{kind}", kenji, kind=kind)
        with outbox.bot.database.sessions.begin() as session:
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.dedupe_key == f"{age}:{status.value}:{kind}")
                .values(status=status, created_at=now - when, due_at=now - when)
            )
    purged = purge_outbox(outbox.bot.database.sessions, now, days=30, batch=1)
    with outbox.bot.database.sessions.begin() as session:
        left = set(session.scalars(select(OutboxMessage.dedupe_key)))
    # Sent and cancelled (skipped ones are cancelled with their reason) notes a month old go;
    # anything unsettled or failed stays, and so do success posts (forget-me deletes them).
    gone = {"old:sent:note", "old:cancelled:note"}
    assert purged == 2
    assert (
        left
        == {
            f"{age}:{status.value}:{kind}"
            for age, status, kind in itertools.product(ages, statuses, ["note", "success_post"])
        }
        - gone
    )


def test_a_batch_goes_out_in_a_handful_of_transactions(outbox):
    channel = _fill_channel(outbox, 60)
    statements = []
    engine = outbox.bot.database.engine
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        report = outbox.deliverer.tick()
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert report.sent == 60 and len(outbox.bot.slack.history(channel)) == 60
    # Claim, decide and render; hold every claim at once; record every post at once: not two
    # transactions a message.
    writes = [s for s in statements if s.lstrip().upper().startswith("UPDATE")]
    assert len(writes) <= 4, writes
    assert len(statements) <= 20


def test_the_scheduler_keeps_sending_while_messages_are_due(bot):
    if bot.database.backend != "sqlite":
        pytest.skip("the scheduler's timing is the same on both backends; one run is enough")
    outbox = Outbox(bot, quiet_hours=None, delivery_tick_seconds=1)
    outbox.deliverer.clock = lambda: datetime.now(UTC)
    outbox.deliverer.batch_size = 5
    outbox.bot.clock.advance(datetime.now(UTC) - outbox.bot.clock())
    channel = _fill_channel(outbox, 40)
    # 40 posts of 50 ms: twice the one-second tick, so one firing cannot send them all.
    bot.slack.fail_next("chat.postMessage", hang_seconds=0.05, times=40)
    scheduler = start_scheduler(outbox.deliverer, bot.database.sessions, outbox.deliverer.clock)
    try:
        deadline = time.monotonic() + 20
        while len(bot.slack.history(channel)) < 40 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        scheduler.shutdown(wait=True)
    posts = [call.at for call in bot.slack.calls_to("chat.postMessage")]
    assert len(posts) == 40
    gaps = [later - earlier for earlier, later in itertools.pairwise(posts)]
    # A tick that stopped at its budget would leave the next firing to itself and sit out a
    # whole second; draining leaves only the claim between batches.
    assert max(gaps) < 0.5, max(gaps)


def test_messages_put_back_after_a_429_are_sent_without_a_history_lookup(outbox):
    channel = _fill_channel(outbox, 3)
    outbox.bot.slack.fail_next("chat.postMessage", status=429, retry_after=30)
    assert outbox.deliverer.tick().deferred == 3
    outbox.bot.clock.advance(timedelta(seconds=30))
    assert outbox.deliverer.tick().sent == 3
    # Held together, noted for a post together, but never posted: nothing to look for.
    assert outbox.bot.slack.calls_to("conversations.history") == []
    assert len(outbox.bot.slack.history(channel)) == 3
