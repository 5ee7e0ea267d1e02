"""How fast /mentor find, the Home tab and delivery are with many members; run by hand.

    python benchmarks/speed.py                 # 10,000 members on a temporary SQLite file
    python benchmarks/speed.py --members 2000 --runs 5
    createdb -h 127.0.0.1 -U postgres mentor_bench && python benchmarks/speed.py \
        --database-url postgresql+psycopg://postgres@127.0.0.1/mentor_bench   # an empty database

/mentor find is compared with a bare Bolt app that answers the same command with a message of
the same size, through the same HTTP server, Slack stand-in and driver.
"""

from __future__ import annotations

import argparse
import logging
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from slack_bolt import Ack, App, Respond
from sqlalchemy import insert, select

import app as wiring
from bot.core import ids
from bot.core.members import workspace_for
from bot.core.models import Member, MemberTopic, OutboxMessage, Pairing, Topic, TopicKind
from bot.core.settings import Settings
from sandbox import FakeSlack, SlackDriver, TrackingExecutor
from sandbox.clock import ManualClock
from scheduler.delivery import Deliverer, make_delivery_client

SECRET = "benchmark-secret"
TOPICS = [
    "public speaking", "python", "leadership", "career growth", "product management",
    "design critique", "machine learning", "writing", "negotiation", "hiring",
    "storytelling", "kubernetes", "javascript", "data analysis", "mentoring",
    "sales", "marketing", "finance", "security", "testing",
]  # fmt: skip
ZONES = ["Europe/Berlin", "America/New_York", "Asia/Tokyo", "Africa/Lagos", "America/Sao_Paulo"]


@dataclass
class Figures:
    name: str
    seconds: list[float]

    def line(self) -> str:
        ms = sorted(s * 1000 for s in self.seconds)
        p95 = ms[min(len(ms) - 1, int(len(ms) * 0.95))]
        median = statistics.median(ms)
        return f"{self.name:<34} median {median:8.1f} ms   p95 {p95:8.1f} ms   n={len(ms)}"


def seed(sessions: Any, team_id: str, members: int, now: datetime) -> None:
    """Members in bulk: a third mentors with 2 to 4 topics, the rest mentees; some pairings."""
    rng = random.Random(7)
    with sessions.begin() as session:
        workspace = workspace_for(session, team_id, now)
        session.execute(
            insert(Topic), [{"workspace_id": workspace.id, "slug": t, "name": t} for t in TOPICS]
        )
        topic_ids = dict(session.execute(select(Topic.slug, Topic.id)).all())
        rows = [
            {
                "workspace_id": workspace.id,
                "slack_user_id": f"UB{n:06d}",
                "display_name": f"Person {n}",
                "tz": rng.choice(ZONES),
                "is_mentor": n % 3 == 0,
                "is_mentee": n % 3 != 0,
                "goals": "Get better at speaking and leading a team",
                "background": f"Engineer number {n}, ten years in product teams.",
                "capacity": rng.randint(1, 4),
                "synced_at": now,
                "created_at": now,
                "updated_at": now,
            }
            for n in range(members)
        ]
        session.execute(insert(Member), rows)
        ids_by_user = dict(session.execute(select(Member.slack_user_id, Member.id)).all())
        links = []
        for n in range(members):
            kind = TopicKind.OFFERED if n % 3 == 0 else TopicKind.SOUGHT
            topics = rng.sample(TOPICS, rng.randint(2, 4))
            if n == 1 and "public speaking" not in topics:
                # The timed seeker searches a topic they gave a goal for, so find answers with
                # mentors rather than asking what they want from it first.
                topics.append("public speaking")
            for topic in topics:
                links.append(
                    {
                        "member_id": ids_by_user[f"UB{n:06d}"],
                        "topic_id": topic_ids[topic],
                        "kind": kind,
                    }
                )
        session.execute(insert(MemberTopic), links)
        pairings = [
            {
                "workspace_id": workspace.id,
                "mentor_id": ids_by_user[f"UB{n:06d}"],
                "mentee_id": ids_by_user[f"UB{n + 1:06d}"],
                "status": "active",
                "started_at": now,
            }
            for n in range(0, members - 1, 9)
        ]
        session.execute(insert(Pairing), pairings)


def timed(runs: int, action: Callable[[], Any]) -> list[float]:
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        seconds.append(time.perf_counter() - started)
    return seconds


def serve(
    app: App, engine: Any, slack: FakeSlack, executor: TrackingExecutor
) -> tuple[Any, SlackDriver]:
    server = wiring.serve_http(app, engine, 0, host="127.0.0.1")
    url = f"http://127.0.0.1:{server.server_port}{wiring.EVENTS_PATH}"
    return server, SlackDriver(slack, url, SECRET, settle=executor.wait_idle)


def bare_app(slack: FakeSlack, message: dict[str, Any], executor: TrackingExecutor) -> App:
    """Bolt with nothing behind it: acks, then responds with a message of the same size."""
    settings = Settings(
        slack_bot_token=slack.bot_token, slack_signing_secret=SECRET, slack_api_url=slack.api_url
    )
    bare = App(
        signing_secret=SECRET, client=wiring.make_client(settings), listener_executor=executor
    )

    @bare.command(ids.COMMAND)
    def handle(ack: Ack, respond: Respond) -> None:
        ack()
        respond(**message)

    return bare


def run(
    members: int, runs: int, database_url: str | None, out: Any = sys.stdout
) -> dict[str, Figures]:
    now = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    with tempfile.TemporaryDirectory(prefix="mentor-coach-bench-") as folder:
        url = database_url or f"sqlite:///{Path(folder) / 'bench.db'}"
        with FakeSlack(SECRET) as slack:
            settings = Settings(
                slack_bot_token=slack.bot_token,
                slack_signing_secret=SECRET,
                slack_api_url=slack.api_url,
                database_url=url,
                quiet_hours=None,
                daily_nudge_limit=50,
            )
            engine, sessions = wiring.open_database(settings)
            started = time.perf_counter()
            seed(sessions, slack.team_id, members, now)
            seconds, backend = time.perf_counter() - started, url.split(":")[0]
            out.write(f"seeded {members} members in {seconds:.1f} s ({backend})\n")
            clock = ManualClock(now)
            executor = TrackingExecutor(max_workers=4)
            bot = wiring.create_app(settings, sessions, listener_executor=executor, clock=clock)
            server, driver = serve(bot, engine, slack, executor)
            seeker = slack.add_user(
                "Seeker", real_name="Seeker", tz="Europe/Berlin", user_id="UB000001"
            )
            mentor = slack.add_user(
                "Mentor", real_name="Mentor", tz="Europe/Berlin", user_id="UB000000"
            )
            figures: dict[str, Figures] = {}
            try:
                driver.command(seeker, "find public speaking")  # warm up, and sync the seeker
                answer = slack.seen(seeker)[-1]
                assert "Ask for an intro" in str(answer.blocks), answer.text
                message = {
                    "text": answer.text,
                    "blocks": answer.blocks,
                    "response_type": "ephemeral",
                }
                figures["find"] = Figures(
                    "/mentor find public speaking",
                    timed(runs, lambda: driver.command(seeker, "find public speaking")),
                )
                figures["home"] = Figures(
                    "Home tab (app_home_opened)", timed(runs, lambda: driver.open_home(mentor))
                )
            finally:
                server.shutdown()
                server.server_close()
            bare_executor = TrackingExecutor(max_workers=4)
            bare_server, bare_driver = serve(
                bare_app(slack, message, bare_executor), engine, slack, bare_executor
            )
            try:
                bare_driver.command(seeker, "find public speaking")
                figures["bare"] = Figures(
                    "bare Bolt, same-size answer",
                    timed(runs, lambda: bare_driver.command(seeker, "find")),
                )
            finally:
                bare_server.shutdown()
                bare_server.server_close()
            for n in range(min(1000, members)):
                if f"UB{n:06d}" not in (seeker, mentor):
                    slack.add_user(
                        f"Person {n}", real_name=f"P {n}", tz="UTC", user_id=f"UB{n:06d}"
                    )
            delivered = deliver(sessions, settings, clock, members)
            figures["delivery"] = Figures("delivery, per message", delivered)
            engine.dispose()
            executor.shutdown()
            bare_executor.shutdown()
    for figure in figures.values():
        out.write(figure.line() + "\n")
    ratio = statistics.median(figures["find"].seconds) / statistics.median(figures["bare"].seconds)
    out.write(f"/mentor find takes {ratio:.2f}x the bare Bolt app (median)\n")
    return figures


def deliver(sessions: Any, settings: Settings, clock: ManualClock, members: int) -> list[float]:
    """Queue one message to each of up to 1,000 members, deliver them, time per message."""
    from bot.core.outbox import Outgoing

    count = min(1000, members)
    with sessions.begin() as session:
        member_ids = session.scalars(
            select(Member.id).where(Member.slack_user_id < f"UB{count:06d}")
        ).all()
        workspace_id = session.scalars(select(Member.workspace_id)).first()
        session.execute(
            insert(OutboxMessage),
            [
                {
                    "workspace_id": workspace_id,
                    "recipient_member_id": member_id,
                    "kind": "bench",
                    "due_at": clock() - timedelta(seconds=1),
                    "status": "pending",
                    "attempts": 0,
                    "urgent": True,
                    "solicited": True,
                    "dedupe_key": f"bench:{member_id}",
                    "created_at": clock(),
                }
                for member_id in member_ids
            ],
        )
    deliverer = Deliverer(
        settings,
        sessions,
        make_delivery_client(settings),
        clock,
        renderers={
            "bench": lambda session, rows, now: {r.id: Outgoing(text="hello") for r in rows}
        },
    )
    started = time.perf_counter()
    sent = 0
    while (report := deliverer.tick()).claimed:
        sent += report.sent
    elapsed = time.perf_counter() - started
    return [elapsed / max(sent, 1)] * max(sent, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    run(args.members, args.runs, args.database_url)


if __name__ == "__main__":
    main()
