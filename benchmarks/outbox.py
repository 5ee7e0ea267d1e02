"""Does a long outbox history slow delivery down, and does the daily purge keep it small?

    python -m benchmarks.outbox                        # SQLite and PostgreSQL, 500,000 rows
    python -m benchmarks.outbox --database sqlite --history 100000 --rounds 3

Two databases per backend, side by side: one with an empty outbox, one with `--history` rows of
history (sent, skipped, cancelled and a few failed, to the same people, over the last 60 days,
none in the last day). Each round queues about `--messages` rows through the real services
(thank-you notes, session bookings with their prompts, agenda and check-ins), cancels a tenth
of the bookings (`cancel_pending`), and delivers everything with the real Deliverer and
renderers against the Slack stand-in; the empty and the full database take turns, in
alternating order. The sample is messages delivered per second over that whole round.

Then the daily purge runs on the full database (OUTBOX_RETENTION_DAYS, default 30): how many
rows it removed, how long it took, and that no pending, sending or failed row was touched.
The last line is `ratio X`: the full database's median throughput over the empty one's (the
lower of the two backends when both ran).
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import IO

from sqlalchemy import func, select, text

from benchmarks.delivery import (
    SECRET,
    Samples,
    Workload,
    bench_settings,
    fresh_database,
    utc_now,
)
from benchmarks.harness import Database, postgres_reachable
from bot.core.database import make_engine
from bot.core.models import Meeting, Member, OutboxMessage, OutboxStatus, Workspace
from bot.core.outbox import cancel_pending
from sandbox import FakeSlack
from scheduler import purge_outbox
from scheduler.delivery import Deliverer, make_delivery_client

HISTORY_KINDS = ["thanks", "checkin", "prep_prompt", "agenda", "meeting_booked", "digest"]


def seed_history(database: Database, rows: int) -> float:
    """`rows` settled outbox rows to the workspace's members, 1 to 60 days old, in one
    statement; returns the seconds it took."""
    started = time.perf_counter()
    now = utc_now()
    with database.sessions.begin() as session:
        workspace_id = session.scalar(select(Workspace.id))
        members = list(session.scalars(select(Member.id).order_by(Member.id)))
    postgres = database.backend == "postgresql"
    kinds = ", ".join(f"'{kind}'" for kind in HISTORY_KINDS)
    # n -> a row: its member, kind and age (in minutes, 1 to 60 days) from n alone.
    generate = (
        "SELECT n FROM generate_series(1, :rows) AS n"
        if postgres
        else "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < :rows) "
        "SELECT n FROM s"
    )
    kind = (
        f"(ARRAY[{kinds}])[1 + n % {len(HISTORY_KINDS)}]"
        if postgres
        else "CASE n % {} {} END".format(
            len(HISTORY_KINDS),
            " ".join(f"WHEN {i} THEN '{k}'" for i, k in enumerate(HISTORY_KINDS)),
        )
    )
    age = "((1440 + (n * 7919::bigint) % (59 * 1440)) * interval '1 minute')"
    moment = f"(CAST(:now AS timestamptz) - {age})" if postgres else None
    if not postgres:
        # SQLite stores naive UTC text, in the format the ORM writes.
        minutes = "(1440 + (n * 7919) % (59 * 1440))"
        moment = f"strftime('%Y-%m-%d %H:%M:%f', :now, '-' || {minutes} || ' minutes')"
    status = "CASE WHEN n % 50 = 0 THEN 'failed' WHEN n % 10 = 0 THEN 'cancelled' ELSE 'sent' END"
    # The benchmark's members were created together: their ids run without gaps.
    assert members == list(range(members[0], members[0] + len(members)))
    member = f"({members[0]} + n % {len(members)})"
    true, false = ("true", "false") if postgres else ("1", "0")
    sql = f"""
        INSERT INTO outbox_message (
            workspace_id, recipient_member_id, kind, subject_type, subject_id, urgent, solicited,
            due_at, status, attempts, dedupe_key, created_at, sent_at, sent_channel_id, sent_ts,
            last_error
        )
        SELECT :workspace, {member}, {kind}, 'history', n, CASE WHEN n % 3 = 0 THEN {true}
            ELSE {false} END, {false}, {moment}, {status}, 1, 'history:' || n, {moment},
            CASE WHEN n % 10 = 0 THEN NULL ELSE {moment} END, 'D0HISTORY', '1700000000.' || n,
            CASE WHEN n % 50 = 0 THEN 'user_not_found' WHEN n % 10 = 0 THEN 'skipped' END
        FROM ({generate}) AS numbers
    """
    engine = make_engine(database.url, timeout=600)  # the bot's 10 s is for its own queries
    try:
        with engine.begin() as connection:
            connection.execute(
                text(sql),
                {"rows": rows, "workspace": workspace_id, "now": now if postgres else _naive(now)},
            )
            connection.execute(text("ANALYZE outbox_message" if postgres else "ANALYZE"))
    finally:
        engine.dispose()
    return time.perf_counter() - started


def _naive(moment: object) -> str:
    return moment.replace(tzinfo=None).isoformat(sep=" ")  # type: ignore[attr-defined]


def one_round(
    database: Database, workload: Workload, deliverer: Deliverer, messages: int
) -> tuple[int, float, float]:
    """Queue, cancel a tenth of the bookings, deliver everything: (messages sent, seconds
    queueing and cancelling, seconds delivering)."""
    started = time.perf_counter()
    first = utc_now()
    workload.queue(messages)
    with database.sessions.begin() as session:
        meetings = list(
            session.scalars(
                select(Meeting.id).where(Meeting.created_at >= first - timedelta(seconds=1))
            )
        )
    for meeting_id in meetings[::10]:
        with database.sessions.begin() as session:
            cancel_pending(session, "meeting", meeting_id, "the session was cancelled")
    queued = time.perf_counter()
    sent = 0
    while (report := deliverer.tick()).claimed:
        sent += report.sent
    return sent, queued - started, time.perf_counter() - queued


def compare(
    backend: str, history: int, rounds: int, messages: int, folder: Path, out: IO[str]
) -> float:
    with (
        fresh_database(backend, folder) as empty,
        fresh_database(backend, folder) as full,
        FakeSlack(SECRET) as slack,
    ):
        sides = {}
        for name, database in (("empty", empty), ("full", full)):
            settings = bench_settings(slack, database.url)
            workload = Workload(database, slack, settings)
            deliverer = Deliverer(
                settings, database.sessions, make_delivery_client(settings), utc_now
            )
            sides[name] = (database, workload, deliverer)
        seeded = seed_history(full, history)
        out.write(f"{backend}: {history:,} rows of history written in {seeded:.1f} s\n")
        for database, workload, deliverer in sides.values():  # opens every DM, untimed
            one_round(database, workload, deliverer, messages)
        samples = {
            "empty": Samples(f"{backend}: delivery, empty outbox"),
            "full": Samples(f"{backend}: delivery, {history:,} rows"),
        }
        queueing = {
            "empty": Samples(f"{backend}: queue + cancel, empty outbox"),
            "full": Samples(f"{backend}: queue + cancel, {history:,} rows"),
        }
        for number in range(rounds):
            for name in ("empty", "full") if number % 2 == 0 else ("full", "empty"):
                sent, queue_seconds, deliver_seconds = one_round(*sides[name], messages)
                samples[name].add(sent, deliver_seconds)
                queueing[name].add(sent, queue_seconds)
        for sample in (*samples.values(), *queueing.values()):
            out.write(sample.line() + "\n")
        ratio = samples["full"].median / samples["empty"].median
        out.write(
            f"{backend}: history / empty throughput: delivery {ratio:.2f}, queue + cancel "
            f"{queueing['full'].median / queueing['empty'].median:.2f}\n"
        )
        purge(full, backend, out)
        out.flush()
        return ratio


def purge(database: Database, backend: str, out: IO[str]) -> None:
    def counts() -> dict[OutboxStatus, int]:
        with database.sessions.begin() as session:
            return dict(
                session.execute(
                    select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
                ).all()
            )

    before = counts()
    days = 30
    started = time.perf_counter()
    purged = purge_outbox(database.sessions, utc_now(), days)
    seconds = time.perf_counter() - started
    after = counts()
    kept = [OutboxStatus.PENDING, OutboxStatus.SENDING, OutboxStatus.FAILED]
    untouched = all(before.get(s, 0) == after.get(s, 0) for s in kept)
    out.write(
        f"{backend}: daily purge ({days} days) removed {purged:,} rows in "
        f"{seconds:.1f} s ({1000 * seconds / max(1, -(-purged // 1000)):.0f} ms a batch of 1,000); "
        f"{sum(after.values()):,} left; pending, sending and failed untouched: "
        f"{'yes' if untouched else 'NO'}\n"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--history", type=int, default=500_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--messages", type=int, default=1000, help="rows per round")
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    backends = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    if "postgresql" in backends and not postgres_reachable():
        raise SystemExit("PostgreSQL is not reachable at TEST_POSTGRES_URL; use --database sqlite")
    with tempfile.TemporaryDirectory(prefix="mentor-coach-outbox-") as folder:
        ratios = [
            compare(backend, args.history, args.rounds, args.messages, Path(folder), sys.stdout)
            for backend in backends
        ]
    print(f"ratio {min(ratios):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
