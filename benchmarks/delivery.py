"""Delivery against a plain Slack client: the real scheduler, renderers and rows; run by hand.

    python -m benchmarks.delivery                          # SQLite and PostgreSQL, 5 rounds each
    python -m benchmarks.delivery --database sqlite --rounds 3 --messages 1000

Each round queues `--messages` rows through the real services (thank-you notes by DM, and
session bookings, which bring the pair's group-DM notice and agenda and each person's prep
prompt and check-in, the check-ins not urgent), makes them all due, and lets the real
APScheduler job (`scheduler.start_scheduler`, real Deliverer and renderers, one process)
deliver them: timed from the scheduler's start until every row is recorded as sent. In the
same round, before or after (alternating), a plain loop of `WebClient.chat_postMessage` posts
the same messages (channel, text, blocks, metadata) the bot posted in the round before, through
the same Slack stand-in on loopback. Quiet hours are off and the daily nudge limit is 50, so
the benchmark's few hundred people are not held back by rules meant for real ones.

On PostgreSQL it then compares one delivery process with three (separate OS processes, each
running the real scheduler), alternating, and counts from the stand-in that every message
arrived once.

Figures are medians and p95 of per-round samples (messages per second, ms per message), the
longest gap between two posts while rows were due, SQL statements per message; the last line
is `ratio X`: the bot's delivered-per-second over the raw loop's (medians; the lower of the
two databases when both ran).
"""

from __future__ import annotations

import argparse
import itertools
import logging
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from sqlalchemy import event, func, select, update
from sqlalchemy.orm import Session

from benchmarks.harness import Database, fresh_database, pair_up, postgres_reachable
from bot.core.database import make_engine, make_session_factory
from bot.core.models import Member, OutboxMessage, OutboxStatus, Pairing
from bot.core.settings import Settings
from bot.prepare.meetings import Plan, schedule_meeting
from bot.renderers import RENDERERS
from bot.respect.checkins import send_thanks
from sandbox import FakeSlack
from scheduler import start_scheduler
from scheduler.delivery import Deliverer, make_delivery_client

SECRET = "delivery-benchmark-secret"
PEOPLE = 240  # 57,360 ordered pairs: a thank-you never repeats between the same two
ROOT = Path(__file__).resolve().parent.parent


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Samples:
    """Per-round samples of one side: messages per second and milliseconds per message."""

    name: str
    rates: list[float] = field(default_factory=list)

    def add(self, messages: int, seconds: float) -> None:
        self.rates.append(messages / seconds)

    @property
    def median(self) -> float:
        return statistics.median(self.rates)

    def line(self) -> str:
        ms = sorted(1000 / rate for rate in self.rates)
        p95_ms = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
        slowest = min(self.rates)
        return (
            f"{self.name:<34} median {self.median:7.0f} msg/s ({statistics.median(ms):5.2f} ms/msg)"
            f"   p95 {p95_ms:5.2f} ms/msg ({slowest:5.0f} msg/s)   n={len(self.rates)} rounds"
        )


class Workload:
    """Queues realistic outbox rows through the real services, as people's actions would."""

    def __init__(self, database: Database, slack: FakeSlack, settings: Settings) -> None:
        self.database, self.slack, self.settings = database, slack, settings
        people = [
            slack.add_user(f"Person {n}", real_name=f"Person {n}", tz="Europe/Berlin")
            for n in range(PEOPLE)
        ]
        self.pairs = itertools.cycle(itertools.permutations(people, 2))
        self.refs = itertools.count()
        now = utc_now()
        self.pairing_ids = pair_up(database, slack.team_id, people, now)

    def queue(self, messages: int) -> int:
        """About `messages` rows, half thank-you notes and half from bookings (6 rows each),
        all due now; returns how many rows were queued."""
        now = utc_now()
        with self.database.sessions.begin() as session:
            before = _counted(session)
            queued = 0
            while queued < messages:
                ref = next(self.refs)
                if ref % 7 == 6:
                    pairing = session.get_one(
                        Pairing, self.pairing_ids[ref % len(self.pairing_ids)]
                    )
                    starts = now + timedelta(days=2, minutes=ref)
                    plan = Plan(starts, 30, 0, f"Practice run {ref}")
                    schedule_meeting(
                        session, pairing, pairing.mentee.slack_user_id, plan, self.settings, now
                    )
                    queued += 6
                else:
                    sender, recipient = next(self.pairs)
                    text = f"Thank you for the advice on my talk, it went well (note {ref})"
                    send_thanks(session, self.slack.team_id, sender, recipient, text, now)
                    queued += 1
            session.flush()
            # Calendar files are uploads (three calls each), which the raw loop has no match
            # for: they are left out, as cancelled.
            session.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.status == OutboxStatus.PENDING,
                    OutboxMessage.kind == "calendar_file",
                )
                .values(status=OutboxStatus.CANCELLED, last_error="left out of the benchmark"),
                execution_options={"synchronize_session": False},
            )
            # Prompts, agendas and check-ins fall due later; the benchmark wants them all now.
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.status == OutboxStatus.PENDING)
                .values(due_at=now - timedelta(seconds=1)),
                execution_options={"synchronize_session": False},
            )
            # Kinds still without a renderer are skipped, not sent: they are not counted.
            after = _counted(session)
        return after - before


def _counted(session: Session) -> int:
    """Rows the benchmark counts: those with a renderer, calendar uploads aside."""
    return (
        session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.kind.in_(list(RENDERERS)), OutboxMessage.kind != "calendar_file")
        )
        or 0
    )


def unsettled(database: Database) -> int:
    with database.sessions.begin() as session:
        return (
            session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.status.in_([OutboxStatus.PENDING, OutboxStatus.SENDING]))
            )
            or 0
        )


def calls_due(database: Database) -> int:
    """The Slack calls the due rows need: a post each, and a conversations.open for each group
    DM and each DM not opened before."""
    pending = OutboxMessage.status == OutboxStatus.PENDING
    with database.sessions.begin() as session:
        posts = session.scalar(select(func.count()).where(pending)) or 0
        groups = (
            session.scalar(
                select(func.count()).where(pending, OutboxMessage.recipient_group.is_not(None))
            )
            or 0
        )
        unopened = (
            session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .join(Member, Member.id == OutboxMessage.recipient_member_id)
                .where(pending, Member.dm_channel_id.is_(None))
            )
            or 0
        )
    return posts + groups + unopened


def wait_until_settled(
    database: Database, slack: FakeSlack, expected_calls: int, limit: float = 600
) -> float:
    """Wait for the posts, then for the database to record them all; the moment it does.

    Watching costs the bot nothing it would not pay anyway: the call count is read every
    20 ms (reading it takes the stand-in's lock), the database only once the posts are in."""
    deadline = time.monotonic() + limit
    look = time.monotonic() + 0.5
    while len(slack.calls) < expected_calls and time.monotonic() < deadline:
        time.sleep(0.02)
        if time.monotonic() > look:  # a row skipped after all posts nothing: ask now and then
            if not unsettled(database):
                break
            look = time.monotonic() + 0.5
    while unsettled(database) and time.monotonic() < deadline:
        time.sleep(0.002)
    if time.monotonic() >= deadline:
        raise SystemExit("delivery did not finish within the time limit")
    return time.perf_counter()


def longest_gap(slack: FakeSlack, first_call: int) -> float:
    """The longest pause between two consecutive posts among the calls since `first_call`."""
    times = [c.at for c in slack.calls[first_call:] if c.method == "chat.postMessage"]
    return max((b - a for a, b in itertools.pairwise(times)), default=0.0)


@contextmanager
def counting_statements(database: Database) -> Iterator[list[int]]:
    count = [0]

    def seen(*_: Any) -> None:
        count[0] += 1

    event.listen(database.engine, "before_cursor_execute", seen)
    try:
        yield count
    finally:
        event.remove(database.engine, "before_cursor_execute", seen)


def bot_round(
    database: Database, slack: FakeSlack, deliverer: Deliverer, rows: int
) -> tuple[float, float, int]:
    """Seconds for the real scheduler to deliver `rows` due rows, the longest gap between
    posts, and the SQL statements it ran."""
    first_call = len(slack.calls)
    expected = first_call + calls_due(database)
    with counting_statements(database) as statements:
        started = time.perf_counter()
        scheduler = start_scheduler(deliverer, database.sessions, utc_now)
        try:
            ended = wait_until_settled(database, slack, expected)
        finally:
            scheduler.shutdown(wait=True)
    posted = sum(1 for c in slack.calls[first_call:] if c.method == "chat.postMessage")
    if posted != rows:
        raise SystemExit(f"the bot posted {posted} messages for {rows} rows")
    return ended - started, longest_gap(slack, first_call), statements[0]


def posted_in_round(slack: FakeSlack, first_call: int) -> list[dict[str, Any]]:
    keep = ("channel", "text", "blocks", "metadata")
    return [
        {name: c.args.get(name) for name in keep}
        for c in slack.calls[first_call:]
        if c.method == "chat.postMessage"
    ]


def raw_round(slack: FakeSlack, settings: Settings, messages: list[dict[str, Any]]) -> float:
    """A plain loop posting the same messages with the same client settings."""
    client = make_delivery_client(settings)
    started = time.perf_counter()
    for message in messages:
        client.chat_postMessage(
            channel=message["channel"],
            text=message["text"],
            blocks=message["blocks"],
            unfurl_links=False,
            metadata=message["metadata"],
        )
    return time.perf_counter() - started


def bench_settings(slack: FakeSlack, database_url: str) -> Settings:
    return Settings(
        slack_bot_token=slack.bot_token,
        slack_signing_secret=SECRET,
        slack_api_url=slack.api_url,
        database_url=database_url,
        quiet_hours=None,
        daily_nudge_limit=50,
    )


def compare(backend: str, rounds: int, messages: int, folder: Path, out: IO[str]) -> float:
    """Interleaved rounds of the bot and the raw loop on one database; returns the ratio."""
    with fresh_database(backend, folder) as database, FakeSlack(SECRET) as slack:
        settings = bench_settings(slack, database.url)
        workload = Workload(database, slack, settings)
        deliverer = Deliverer(settings, database.sessions, make_delivery_client(settings), utc_now)
        # A first, untimed round opens the DMs and gives the raw loop its messages.
        first_call = len(slack.calls)
        bot_round(database, slack, deliverer, workload.queue(messages))
        previous = posted_in_round(slack, first_call)
        bot, raw = Samples(f"{backend}: bot, real scheduler"), Samples(f"{backend}: raw loop")
        gaps, per_message = [], []
        for number in range(rounds):
            rows = workload.queue(messages)
            sides: list[Callable[[], None]] = []

            def run_bot(rows: int = rows) -> None:
                nonlocal previous
                first_call = len(slack.calls)
                seconds, gap, statements = bot_round(database, slack, deliverer, rows)
                bot.add(rows, seconds)
                gaps.append(gap)
                per_message.append(statements / rows)
                previous = posted_in_round(slack, first_call)

            def run_raw() -> None:
                raw.add(len(previous), raw_round(slack, settings, previous))

            sides = [run_bot, run_raw] if number % 2 == 0 else [run_raw, run_bot]
            for side in sides:
                side()
        ratio = bot.median / raw.median
        out.write(f"{backend}: {rounds} rounds of {messages} messages, interleaved\n")
        out.write(bot.line() + "\n")
        out.write(raw.line() + "\n")
        out.write(
            f"{backend}: longest gap between posts while rows were due: median "
            f"{1000 * statistics.median(gaps):.0f} ms, worst {1000 * max(gaps):.0f} ms; "
            f"SQL statements per message {statistics.median(per_message):.2f}\n"
        )
        out.write(f"{backend}: ratio {ratio:.2f}\n")
        out.flush()
        return ratio


# ----------------------------------------------------------------------------- several processes


def processes(rounds: int, messages: int, folder: Path, out: IO[str]) -> bool:
    """One delivery process against three on PostgreSQL, alternating; True when three were
    faster and every message arrived exactly once."""
    with fresh_database("postgresql", folder) as database, FakeSlack(SECRET) as slack:
        settings = bench_settings(slack, database.url)
        workload = Workload(database, slack, settings)
        run_workers(database, slack, 1, workload.queue(messages))  # opens the DMs, untimed
        samples = {1: Samples("postgresql: 1 process"), 3: Samples("postgresql: 3 processes")}
        for number in range(rounds):
            for count in (1, 3) if number % 2 == 0 else (3, 1):
                rows = workload.queue(messages)
                samples[count].add(rows, run_workers(database, slack, count, rows))
        posts: Counter[int] = Counter()
        for call in slack.calls:
            if call.method == "chat.postMessage" and call.status == 200:
                posts[call.args["metadata"]["event_payload"]["outbox_id"]] += 1
        with database.sessions.begin() as session:
            sent = set(
                session.scalars(
                    select(OutboxMessage.id).where(OutboxMessage.status == OutboxStatus.SENT)
                )
            )
        twice = sum(1 for count in posts.values() if count > 1)
        missing = len(sent - set(posts)) + len(set(posts) - sent)
        for count in (1, 3):
            out.write(samples[count].line() + "\n")
        speedup = samples[3].median / samples[1].median
        out.write(
            f"postgresql: 3 processes deliver {speedup:.2f}x one; {len(posts)} messages, "
            f"{twice} posted twice, {missing} where Slack and the database disagree\n"
        )
        out.flush()
        return speedup > 1 and not twice and not missing


def run_workers(database: Database, slack: FakeSlack, count: int, rows: int) -> float:
    """Start `count` delivery processes, let them go at once, and time them until all is sent."""
    args = [database.url, slack.api_url, slack.bot_token]
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "benchmarks.delivery", "worker", *args],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(count)
    ]
    try:
        for worker in workers:
            assert worker.stdout is not None and worker.stdout.readline().strip() == "ready"
        first_call, calls = len(slack.calls), calls_due(database)
        started = time.perf_counter()
        for worker in workers:
            assert worker.stdin is not None
            worker.stdin.write("go\n")
            worker.stdin.flush()
        ended = wait_until_settled(database, slack, first_call + calls)
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            worker.wait(timeout=60)
    return ended - started


def work(database_url: str, api_url: str, token: str) -> None:
    """One delivery process: the real scheduler until SIGTERM."""
    stopping: list[bool] = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    settings = Settings(
        slack_bot_token=token,
        slack_signing_secret=SECRET,
        slack_api_url=api_url,
        database_url=database_url,
        quiet_hours=None,
        daily_nudge_limit=50,
    )
    engine = make_engine(database_url)
    sessions = make_session_factory(engine)
    deliverer = Deliverer(settings, sessions, make_delivery_client(settings), utc_now)
    print("ready", flush=True)
    sys.stdin.readline()
    scheduler = start_scheduler(deliverer, sessions, utc_now)
    parent = os.getppid()
    while not stopping and os.getppid() == parent:
        time.sleep(0.05)
    scheduler.shutdown(wait=True)
    engine.dispose()


# ----------------------------------------------------------------------------- command line


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["worker"]:
        logging.basicConfig(level=logging.ERROR)
        work(*argv[1:4])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--messages", type=int, default=3000, help="rows per round")
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--no-processes", dest="processes", action="store_false")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    backends = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    if "postgresql" in backends and not postgres_reachable():
        raise SystemExit("PostgreSQL is not reachable at TEST_POSTGRES_URL; use --database sqlite")
    ok = True
    with tempfile.TemporaryDirectory(prefix="mentor-coach-delivery-") as folder:
        ratios = [
            compare(backend, args.rounds, args.messages, Path(folder), sys.stdout)
            for backend in backends
        ]
        if args.processes and "postgresql" in backends:
            ok = processes(max(2, args.rounds // 2), args.messages, Path(folder), sys.stdout)
    print(f"ratio {min(ratios):.2f}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
