"""A database that stops answering, and listeners that fail after their ack: people still hear.

"Stops answering" is real here: PostgreSQL sits behind a loopback proxy that can freeze (every
connection stays open, no byte moves, as with a hung server or VM); SQLite gets its write lock
taken by another connection, which every transaction of the bot waits for.
"""

from __future__ import annotations

import contextlib
import logging
import select
import socket
import sqlite3
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from slack_bolt import Ack
from sqlalchemy.engine import make_url

from benchmarks.harness import Database, running_bot
from bot.core.database import make_engine, make_session_factory
from sandbox.clock import ManualClock
from scheduler import start_scheduler
from tests.conftest import START
from tests.test_outbox import Outbox

APOLOGY = "something went wrong on my side"
# Short, so that a test waits seconds, not the production default.
TIMEOUT_SECONDS = 1


class FreezingProxy:
    """A loopback TCP proxy that can freeze: connections stay open and no byte moves."""

    def __init__(self, host: str, port: int) -> None:
        self._target = (host, port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._moving = threading.Event()
        self._moving.set()
        self._sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def freeze(self) -> None:
        self._moving.clear()

    def thaw(self) -> None:
        self._moving.set()

    def close(self) -> None:
        self._moving.set()
        self._listener.close()
        for sock in self._sockets:
            with contextlib.suppress(OSError):
                sock.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
                upstream = socket.create_connection(self._target)
            except OSError:
                return
            self._sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while True:
                self._moving.wait()
                ready, _, _ = select.select([source], [], [], 0.05)
                if not ready or not self._moving.is_set():
                    continue
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
        except (OSError, ValueError):
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


@dataclass
class Outage:
    """The test database, reached through something that can stop answering."""

    database: Database
    freeze: Callable[[], None]
    thaw: Callable[[], None]


@pytest.fixture
def outage(database) -> Iterator[Outage]:
    if database.backend == "postgresql":
        target = make_url(database.url)
        proxy = FreezingProxy(target.host or "127.0.0.1", target.port or 5432)
        url = target.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        freeze, thaw, close = proxy.freeze, proxy.thaw, proxy.close
    else:
        url = database.url
        holder = sqlite3.connect(make_url(url).database, isolation_level=None)

        def freeze() -> None:
            holder.execute("BEGIN EXCLUSIVE")

        def thaw() -> None:
            if holder.in_transaction:
                holder.execute("ROLLBACK")

        close = holder.close
    engine = make_engine(url, timeout=TIMEOUT_SECONDS)
    try:
        yield Outage(
            Database(database.backend, url, engine, make_session_factory(engine)), freeze, thaw
        )
    finally:
        thaw()
        engine.dispose()
        close()


def health(url: str) -> tuple[int, float]:
    started = time.monotonic()
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=10) as response:
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    return status, time.monotonic() - started


def eventually(check: Callable[[], bool], timeout: float = 20) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return False


def test_health_says_503_within_2_seconds_while_frozen_and_200_after(outage, clock):
    with running_bot(outage.database, clock) as bot:
        assert health(bot.url)[0] == 200
        outage.freeze()
        for _ in range(3):
            status, elapsed = health(bot.url)
            assert (status, elapsed < 2) == (503, True), elapsed
        outage.thaw()
        assert eventually(lambda: health(bot.url)[0] == 200)


def apologies(bot, user_id: str) -> int:
    return sum(APOLOGY in item.text for item in bot.slack.seen(user_id))


@pytest.mark.parametrize("text", ["find public speaking", "pause 3", "mentors"])
def test_a_command_while_frozen_is_acked_in_time_and_the_person_hears_why(outage, clock, text):
    """`find` acks first; `pause` and `mentors` read the database to write their ack."""
    with running_bot(outage.database, clock) as bot:
        kenji = bot.slack.add_user("Kenji", real_name="Kenji Watanabe", tz="Asia/Tokyo")
        bot.driver.command(kenji, "help")  # Kenji is known before the outage
        outage.freeze()
        started = time.monotonic()
        reply = bot.driver.command(kenji, text)
        assert reply.status == 200 and reply.slack_error is None
        assert reply.elapsed < 3
        assert eventually(lambda: apologies(bot, kenji) == 1, timeout=15)
        assert time.monotonic() - started < 15
        outage.thaw()
        assert bot.driver.command(kenji, "help").status == 200


def test_events_are_acked_before_any_database_write(outage, clock):
    with running_bot(outage.database, clock) as bot:
        kenji = bot.slack.add_user("Kenji", real_name="Kenji Watanabe", tz="Asia/Tokyo")
        outage.freeze()
        bot.driver.settle = None  # the listener waits for the database; the ack must not
        bot.driver.dm(kenji, "first question for our session")
        reply = bot.driver.last_reply
        # The database gives up after a second or more; the ack came well before that.
        assert reply.status == 200 and reply.slack_error is None
        assert reply.elapsed < TIMEOUT_SECONDS * 0.8, reply.elapsed
        assert eventually(lambda: apologies(bot, kenji) == 1, timeout=15)
        outage.thaw()


def test_delivery_survives_a_frozen_database_and_resumes_by_itself(outage, clock, caplog):
    with running_bot(outage.database, clock) as bot:
        outbox = Outbox(bot, quiet_hours=None, delivery_tick_seconds=1)
        kenji = outbox.member("Kenji")
        outbox.add("hello-kenji", kenji)
        outage.freeze()
        scheduler = start_scheduler(outbox.deliverer, bot.database.sessions, clock)
        try:
            # Ticks come and fail against the frozen database; under load the first timeout can
            # take longer than a fixed sleep, so wait for the warning itself.
            failed = "the database did not answer, trying again next tick"
            assert eventually(lambda: failed in caplog.text)
            assert outbox.posted() == []
            outage.thaw()
            assert eventually(lambda: len(outbox.posted()) == 1)
        finally:
            scheduler.shutdown(wait=False)
    assert "the database did not answer, trying again next tick" in caplog.text
    assert not [
        r for r in caplog.records if r.name.startswith("apscheduler") and r.levelno >= logging.ERROR
    ]


def test_a_listener_failing_right_after_ack_keeps_its_answer(database, clock):
    def register(app) -> None:
        @app.command("/boom")
        def boom(ack: Ack) -> None:
            ack(text="On it!")
            raise RuntimeError("broke right after the ack")

    with running_bot(database, clock, extra_listeners=register) as bot:
        slack, driver = bot.slack, bot.driver
        kenji = slack.add_user("Kenji", real_name="Kenji Watanabe", tz="Asia/Tokyo")
        for attempt in range(5):
            reply = driver.command(kenji, command="/boom")
            assert (reply.status, reply.slack_error) == (200, None), (attempt, reply)
            assert reply.body == "On it!"
            assert reply.elapsed < 1
        apologies = [item for item in slack.seen(kenji) if APOLOGY in item.text]
        assert len(apologies) == 5


def test_a_listener_too_slow_to_ack_is_acked_in_time_and_answers_later(database, clock):
    def register(app) -> None:
        @app.command("/slow")
        def slow(ack: Ack, command: dict) -> None:
            time.sleep(3.2)
            if command["text"] == "fail":
                raise RuntimeError("gave up after waiting")
            ack(text="Here you go, a little late.")

    with running_bot(database, clock, extra_listeners=register) as bot:
        slack, driver = bot.slack, bot.driver
        kenji = slack.add_user("Kenji", real_name="Kenji Watanabe", tz="Asia/Tokyo")
        for text, expected in (("", "Here you go, a little late."), ("fail", APOLOGY)):
            reply = driver.command(kenji, text, command="/slow")
            assert (reply.status, reply.slack_error) == (200, None), reply
            assert reply.elapsed < 3
            assert expected in slack.seen(kenji)[-1].text
            assert slack.seen(kenji)[-1].kind == "ephemeral"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)
