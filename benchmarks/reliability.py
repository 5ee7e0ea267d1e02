"""Does every message arrive exactly once when Slack misbehaves and bot processes die?

    python -m benchmarks.reliability                       # full size, on PostgreSQL
    python -m benchmarks.reliability --messages 150 --kills 3 --processes 2 --database sqlite

Delivery processes (separate OS processes running the real Deliverer with the real renderers)
share one database while this process keeps queueing thank-you notes (DMs) and session bookings
(group DMs) through the real services; the Slack stand-in fails a share of calls at random (429
with Retry-After, 500, timeouts after it posted), and delivery processes are SIGKILLed at random
moments and restarted. Then it waits until every row is settled and counts, from what the
stand-in holds, what arrived and how often.
The hostile-input catalogue (benchmarks/hostile.py) runs first, through the real bot over HTTP.

One line per figure, e.g. `messages: 2000 expected, 2000 delivered, 0 duplicated, 0 lost`; the
exit status is 1 when anything was lost, duplicated, left unsettled or not handled, when the
database and Slack disagree about what was sent, or when a delivery process died on its own.

Time can run faster than the wall clock (`--time-scale 12`: a second is twelve) in the bot and
in the sandbox's delays alike, so a 2-minute lease, 10-second client timeouts and backoff keep
their proportions while a small run fits in CI; the stand-in stamps messages with the same time.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import math
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from benchmarks.harness import Database, fresh_database, pair_up, postgres_reachable, running_bot
from bot.core.database import make_engine, make_session_factory
from bot.core.models import OutboxMessage, OutboxStatus, Pairing
from bot.core.settings import Settings
from bot.prepare.meetings import Plan, schedule_meeting
from bot.respect.checkins import send_thanks
from sandbox import FakeSlack
from sandbox.chaos import Chaos
from sandbox.clock import ManualClock
from scheduler.delivery import Deliverer, make_delivery_client

SECRET = "reliability-secret"
CLIENT_TIMEOUT = 10.0  # seconds of bot time, as in make_delivery_client
SLOW_POST = 4.0  # seconds of bot time per chat.postMessage in slow mode
LEASE_ALLOWANCE = 180.0  # bot seconds: the 2-minute lease of a killed process, plus room
REF = re.compile(r"\(ref (\d+)\)")
SETTLED = (OutboxStatus.SENT, OutboxStatus.FAILED, OutboxStatus.CANCELLED)
HOSTILE_START = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


@dataclass
class Options:
    messages: int = 2000
    kills: int = 20
    processes: int = 3
    slow: bool = False
    seed: int = 7
    database: str = "postgresql"
    fault_rate: float = 0.05
    time_scale: float = 1.0
    hostile: bool = True
    # Wall-clock seconds over which messages are queued (and kills happen); 0 picks one.
    spread_seconds: float = 0.0
    settle_seconds: float = 0.0  # wall-clock limit to wait for every row to settle; 0 picks one


@dataclass
class Report:
    lines: list[str] = field(default_factory=list)
    expected: int = 0
    delivered: int = 0
    duplicated: int = 0
    lost: int = 0
    unsettled: int = 0
    disagreeing: int = 0  # rows the database calls sent that Slack lacks, or the reverse
    faults: int = 0
    kills: int = 0
    crashes: int = 0
    hostile_tried: int | None = None
    hostile_handled: int | None = None

    @property
    def ok(self) -> bool:
        hostile_ok = self.hostile_tried is None or self.hostile_handled == self.hostile_tried
        troubles = (self.lost, self.duplicated, self.unsettled, self.disagreeing, self.crashes)
        return not any(troubles) and hostile_ok


class ScaledClock:
    """Bot time that runs `scale` times faster than the wall clock, the same in every process."""

    def __init__(self, epoch: float, scale: float) -> None:
        self.epoch, self.scale = epoch, scale

    def __call__(self) -> datetime:
        return datetime.fromtimestamp(self.epoch + (time.time() - self.epoch) * self.scale, UTC)

    def wall(self, bot_seconds: float) -> float:
        return bot_seconds / self.scale


def run(options: Options, out: IO[str] = sys.stdout) -> Report:
    """Run everything, print one line per figure to `out`, and return the figures."""
    report = Report()
    started = time.monotonic()
    if options.database == "postgresql" and not postgres_reachable():
        raise SystemExit("PostgreSQL is not reachable at TEST_POSTGRES_URL; use --database sqlite")
    with tempfile.TemporaryDirectory(prefix="mentor-coach-reliability-") as folder:
        if options.hostile:
            _hostile_inputs(options, Path(folder), report)
        with fresh_database(options.database, Path(folder)) as database:
            _deliver_under_fire(options, database, Path(folder), report)
    slow = "slow Slack (4 s a post)" if options.slow else "Slack at full speed"
    report.lines.append(
        f"run: {options.database}, {options.processes} delivery processes, {slow}, "
        f"seed {options.seed}, time x{options.time_scale:g}, "
        f"{time.monotonic() - started:.0f} s"
    )
    out.write("".join(line + "\n" for line in report.lines))
    out.flush()
    return report


# ----------------------------------------------------------------------------- hostile inputs


def _hostile_inputs(options: Options, folder: Path, report: Report) -> None:
    try:
        from benchmarks.hostile import run_catalogue
    except ImportError:
        # The seam for the catalogue (issue 9, point 11), until benchmarks/hostile.py exists.
        report.lines.append("hostile inputs: not run (benchmarks/hostile.py is not there yet)")
        return
    with (
        fresh_database(options.database, folder) as database,
        running_bot(database, ManualClock(HOSTILE_START)) as bot,
    ):
        catalogue = run_catalogue(bot)
    report.hostile_tried, report.hostile_handled = catalogue.tried, catalogue.handled
    for problem in catalogue.problems:  # the figures stay on stdout, one line each
        print(f"hostile input not handled: {problem}", file=sys.stderr)
    report.lines.append(f"hostile inputs: {catalogue.tried} tried, {catalogue.handled} handled")


# ----------------------------------------------------------------------------- delivery


class Workers:
    """Delivery processes: started, SIGKILLed and restarted, and stopped at the end."""

    def __init__(self, args: list[str], folder: Path) -> None:
        self.args, self.folder = args, folder
        self.running: list[subprocess.Popen[bytes]] = []
        self.started = 0
        self.crashed = 0

    def start(self) -> None:
        self.started += 1
        log = self.folder / f"worker-{self.started}.log"
        with log.open("wb") as stderr:
            process = subprocess.Popen(
                [sys.executable, "-m", "benchmarks.reliability", "worker", *self.args],
                cwd=Path(__file__).resolve().parent.parent,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
        process.log = log  # type: ignore[attr-defined]
        self.running.append(process)

    def kill_one(self, rng: random.Random) -> None:
        process = rng.choice(self.running)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        self.running.remove(process)
        self.start()

    def replace_crashed(self) -> None:
        """A process that died on its own is a finding: show its last words, start another."""
        for process in [p for p in self.running if p.poll() is not None]:
            self.crashed += 1
            last_words = process.log.read_text(errors="replace")[-3000:]  # type: ignore[attr-defined]
            print(f"a delivery process died on its own:\n{last_words}", file=sys.stderr)
            self.running.remove(process)
            self.start()

    def stop(self, grace_seconds: float) -> None:
        """SIGTERM: each finishes the batch it holds, as a deploy would let it."""
        for process in self.running:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace_seconds
        for process in self.running:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=30)


def _deliver_under_fire(options: Options, database: Database, folder: Path, report: Report) -> None:
    rng = random.Random(options.seed)
    clock = ScaledClock(time.time(), options.time_scale)
    chaos = Chaos(
        options.seed,
        rate=options.fault_rate,
        client_timeout=clock.wall(CLIENT_TIMEOUT),
        slow_post_seconds=clock.wall(SLOW_POST) if options.slow else 0.0,
    )
    with FakeSlack(SECRET) as slack:
        slack.chaos = chaos
        slack.ts_clock = lambda: clock().timestamp()  # Slack's ts and the bot's clock agree
        people = _people(slack, options.messages)
        producer = Producer(database, slack, clock, people, rng)
        workers = Workers(
            [
                database.url,
                slack.api_url,
                slack.bot_token,
                f"{clock.epoch!r}",
                f"{options.time_scale!r}",
                f"{clock.wall(CLIENT_TIMEOUT)!r}",
            ],
            folder,
        )
        for _ in range(options.processes):
            workers.start()
        try:
            expected = _queue_while_killing(options, producer, workers, rng, report)
            report.unsettled = _wait_until_settled(database, expected, options, clock, workers)
        finally:
            # A worker still holding a batch (slow Slack) may yet post; count that too.
            workers.stop(grace_seconds=clock.wall(50 * (SLOW_POST + CLIENT_TIMEOUT)) + 30)
        posts = _count(slack, expected, report)
        report.faults = chaos.total
        report.lines.append(f"faults injected: {chaos.describe()}")
        report.lines.append(
            f"messages: {report.expected} expected, {report.delivered} delivered, "
            f"{report.duplicated} duplicated, {report.lost} lost"
        )
        statuses = _statuses(database, expected)
        report.disagreeing = sum(
            1
            for ref, status in statuses.items()
            if (status == OutboxStatus.SENT) != bool(posts[ref])
        )
        counts = Counter(statuses.values())
        report.lines.append(
            "outbox rows: "
            + ", ".join(f"{counts[s]} {s.value}" for s in OutboxStatus)
            + f" ({report.unsettled} unsettled, {report.disagreeing} disagreeing with Slack)"
        )
        report.crashes = workers.crashed
        survived = f"kills survived: {report.kills}"
        if workers.crashed:
            survived += f" ({workers.crashed} delivery processes died on their own)"
        report.lines.append(survived)


def _people(slack: FakeSlack, messages: int) -> list[str]:
    """Enough people that every thank-you goes between a different ordered pair."""
    count = max(8, math.ceil((1 + math.sqrt(1 + 4 * messages)) / 2))
    return [
        slack.add_user(f"Person {n}", real_name=f"Person {n}", tz="Europe/Berlin")
        for n in range(count)
    ]


class Producer:
    """Queues messages through the real services, as people's actions would: mostly thank-you
    notes (a DM), and every fifth a booked session (the pair's group DM)."""

    def __init__(
        self,
        database: Database,
        slack: FakeSlack,
        clock: ScaledClock,
        people: list[str],
        rng: random.Random,
    ) -> None:
        self.database, self.slack, self.clock = database, slack, clock
        self.pairs = list(itertools.permutations(people, 2))
        rng.shuffle(self.pairs)
        self.settings = Settings(
            slack_bot_token=slack.bot_token,
            slack_signing_secret=SECRET,
            slack_api_url=slack.api_url,
            database_url=database.url,
        )
        now = clock()
        self.pairing_ids = pair_up(database, slack.team_id, people, now)

    def queue(self, refs: range) -> dict[int, int]:
        """One request's worth of messages, in one transaction; ref -> outbox row id."""
        now = self.clock()
        with self.database.sessions.begin() as session:
            subjects = {
                ref: self._book(session, ref, now)
                if ref % 5 == 4
                else self._thank(session, ref, now)
                for ref in refs
            }
            rows = {
                (kind, subject): row_id
                for kind, subject, row_id in session.execute(
                    select(OutboxMessage.kind, OutboxMessage.subject_id, OutboxMessage.id).where(
                        OutboxMessage.kind.in_(["thanks", "meeting_booked"]),
                        OutboxMessage.subject_id.in_([s for _, s in subjects.values()]),
                    )
                )
            }
        return {ref: rows[subject] for ref, subject in subjects.items()}

    def _thank(self, session: Session, ref: int, now: datetime) -> tuple[str, int]:
        sender, recipient = self.pairs[ref]
        text = f"Thank you for the advice on my talk (ref {ref})"
        note = send_thanks(session, self.slack.team_id, sender, recipient, text, now)
        return "thanks", note.id

    def _book(self, session: Session, ref: int, now: datetime) -> tuple[str, int]:
        pairing = session.get_one(Pairing, self.pairing_ids[ref % len(self.pairing_ids)])
        # Two days ahead, so that only the booking is due now, not the prep prompts.
        plan = Plan(now + timedelta(days=2, minutes=ref), 30, 0, f"Practice run (ref {ref})")
        booked = schedule_meeting(
            session, pairing, pairing.mentee.slack_user_id, plan, self.settings, now
        )
        return "meeting_booked", booked[0].id


def _queue_while_killing(
    options: Options, producer: Producer, workers: Workers, rng: random.Random, report: Report
) -> dict[int, int]:
    """Queue messages evenly over the spread, killing on schedule; ref -> outbox row id."""
    spread = options.spread_seconds or max(10.0, options.messages / 40)
    kills = sorted(rng.uniform(0.05 * spread, spread) for _ in range(options.kills))
    chunk = max(1, options.messages // max(1, int(spread * 10)))
    started = time.monotonic()
    expected: dict[int, int] = {}
    for first in range(0, options.messages, chunk):
        expected.update(producer.queue(range(first, min(first + chunk, options.messages))))
        target = started + spread * len(expected) / options.messages
        while time.monotonic() < target:
            if kills and time.monotonic() - started >= kills[0]:
                kills.pop(0)
                workers.kill_one(rng)
                report.kills += 1
            workers.replace_crashed()
            time.sleep(0.01)
    for _ in kills:  # queueing ran late: the remaining kills now
        workers.kill_one(rng)
        report.kills += 1
    return expected


def _wait_until_settled(
    database: Database,
    expected: dict[int, int],
    options: Options,
    clock: ScaledClock,
    workers: Workers,
) -> int:
    """Poll until every row is sent, failed or cancelled, or the time limit; how many are not."""
    limit = options.settle_seconds or clock.wall(LEASE_ALLOWANCE + 50 * SLOW_POST) + 120
    deadline = time.monotonic() + limit
    ids = list(expected.values())
    while True:
        with database.sessions.begin() as session:
            settled = session.scalar(
                select(func.count()).where(
                    OutboxMessage.id.in_(ids), OutboxMessage.status.in_(SETTLED)
                )
            )
        if settled == len(ids) or time.monotonic() >= deadline:
            return len(ids) - (settled or 0)
        workers.replace_crashed()
        time.sleep(0.25)


def _count(slack: FakeSlack, expected: dict[int, int], report: Report) -> Counter[int]:
    """Posts per ref, from what Slack holds: the outbox id in each post's metadata, else the ref
    that the message's text carries (in the fallback text or the blocks)."""
    by_row = {row_id: ref for ref, row_id in expected.items()}
    opened = {
        call.response["channel"]["id"]
        for call in slack.calls_to("conversations.open")
        if call.response.get("ok")
    }
    posts: Counter[int] = Counter()
    for channel in opened:
        for message in slack.history(channel):
            payload = (message.get("metadata") or {}).get("event_payload") or {}
            if payload.get("outbox_id") in by_row:
                posts[by_row[payload["outbox_id"]]] += 1
            elif match := REF.search(json.dumps([message.get("text"), message.get("blocks")])):
                posts[int(match.group(1))] += 1
    report.expected = len(expected)
    report.delivered = sum(1 for ref in expected if posts[ref])
    report.duplicated = sum(count - 1 for ref, count in posts.items() if ref in expected)
    report.lost = report.expected - report.delivered
    return posts


def _statuses(database: Database, expected: dict[int, int]) -> dict[int, OutboxStatus]:
    """ref -> the row's status."""
    by_row = {row_id: ref for ref, row_id in expected.items()}
    with database.sessions.begin() as session:
        found = session.execute(
            select(OutboxMessage.id, OutboxMessage.status).where(OutboxMessage.id.in_(by_row))
        )
        return {by_row[row_id]: status for row_id, status in found}


# ----------------------------------------------------------------------------- a delivery process


def work(
    database_url: str, api_url: str, token: str, epoch: float, scale: float, timeout: float
) -> None:
    """A bot delivery process: what the scheduler's tick does, until SIGTERM or its parent dies."""
    stopping: list[bool] = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    settings = Settings(
        slack_bot_token=token,
        slack_signing_secret="unused",
        slack_api_url=api_url,
        database_url=database_url,
        quiet_hours=None,
        daily_nudge_limit=1_000_000,
    )
    engine = make_engine(database_url)
    clock = ScaledClock(epoch, scale)
    deliverer = Deliverer(
        settings,
        make_session_factory(engine),
        make_delivery_client(settings, timeout=timeout),
        clock,
    )
    parent, deadline = os.getppid(), time.monotonic() + 3600
    while not stopping and os.getppid() == parent and time.monotonic() < deadline:
        if not deliverer.run_due().claimed:
            time.sleep(0.05)
    engine.dispose()


# ----------------------------------------------------------------------------- command line


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["worker"]:
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
        url, api_url, token, epoch, scale, timeout = argv[1:7]
        work(url, api_url, token, float(epoch), float(scale), float(timeout))
        return 0
    defaults = Options()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=defaults.messages)
    parser.add_argument("--kills", type=int, default=defaults.kills)
    parser.add_argument("--processes", type=int, default=defaults.processes)
    parser.add_argument("--slow", action="store_true", help="Slack takes 4 s per post")
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default=defaults.database)
    parser.add_argument("--fault-rate", type=float, default=defaults.fault_rate)
    parser.add_argument("--time-scale", type=float, default=defaults.time_scale)
    parser.add_argument("--no-hostile", dest="hostile", action="store_false")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    report = run(Options(**vars(args)))
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
