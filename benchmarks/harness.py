"""The real bot wired to the Slack sandbox on a throwaway database, for tests and benchmarks."""

from __future__ import annotations

import os
import random
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

from slack_bolt import App
from sqlalchemy import Connection, Engine, create_engine, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from app import create_app, serve_http
from bot.core.database import make_engine, make_session_factory
from bot.core.members import member_for
from bot.core.models import Pairing, PairingStatus
from bot.core.settings import Settings
from migrations import upgrade
from sandbox import FakeSlack, SlackDriver, TrackingExecutor
from sandbox.clock import ManualClock
from scheduler import housekeeping
from scheduler.delivery import Deliverer, make_delivery_client

POSTGRES_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
SIGNING_SECRET = "sandbox-signing-secret"


@dataclass
class Database:
    backend: str
    url: str
    engine: Engine
    sessions: sessionmaker[Session]


def create_empty_database(backend: str, tmp_dir: Path) -> str:
    """A brand-new, uniquely named database; drop it with `drop_database`."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_dir / f'mc_{uuid.uuid4().hex[:8]}.db'}"
    name = f"mc_test_{uuid.uuid4().hex[:12]}"
    with _postgres_admin() as admin:
        admin.execute(text(f'CREATE DATABASE "{name}"'))
    return make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)


@contextmanager
def fresh_database(backend: str, folder: Path) -> Iterator[Database]:
    """A new, migrated, uniquely named database, dropped afterwards."""
    url = create_empty_database(backend, folder)
    engine = make_engine(url)
    try:
        upgrade(engine)
        yield Database(backend, url, engine, make_session_factory(engine))
    finally:
        engine.dispose()
        drop_database(url)


def drop_database(url: str) -> None:
    if not url.startswith("postgresql"):
        return
    name = make_url(url).database
    with _postgres_admin() as admin:
        admin.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def postgres_reachable() -> bool:
    try:
        with _postgres_admin(connect_timeout=2) as admin:
            admin.execute(text("SELECT 1"))
    except OperationalError:
        return False
    return True


@contextmanager
def _postgres_admin(**connect_args: Any) -> Iterator[Connection]:
    engine = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT", connect_args=connect_args)
    try:
        with engine.connect() as connection:
            yield connection
    finally:
        engine.dispose()


@dataclass
class Bot:
    """The real bot over HTTP, a Slack stand-in it talks to, and a driver playing the users."""

    slack: FakeSlack
    driver: SlackDriver
    database: Database
    clock: ManualClock
    url: str
    deliverer: Deliverer

    def deliver(self) -> int:
        """Run the delivery tick until nothing is due; returns how many messages went out."""
        sent = 0
        while (report := self.deliverer.tick()).claimed:
            sent += report.sent
        return sent

    def housekeeping(self) -> None:
        housekeeping(self.database.sessions, self.clock())


@contextmanager
def running_bot(
    database: Database,
    clock: ManualClock,
    *,
    extra_listeners: Callable[[App], None] | None = None,
    **overrides: Any,
) -> Iterator[Bot]:
    """The bot serving HTTP on a free port against a fresh sandbox; `overrides` go to Settings.

    `extra_listeners(app)` can add listeners of a test's own (one that fails on purpose, say).
    """
    executor = TrackingExecutor(max_workers=4)
    with FakeSlack(SIGNING_SECRET) as slack:
        settings = Settings(
            slack_bot_token=slack.bot_token,
            slack_signing_secret=SIGNING_SECRET,
            slack_api_url=slack.api_url,
            database_url=database.url,
            **overrides,
        )
        app = create_app(settings, database.sessions, listener_executor=executor, clock=clock)
        if extra_listeners is not None:
            extra_listeners(app)
        server = serve_http(app, database.engine, 0, host="127.0.0.1")
        url = f"http://127.0.0.1:{server.server_port}"
        driver = SlackDriver(
            slack, f"{url}/slack/events", SIGNING_SECRET, settle=executor.wait_idle
        )
        # Quiet hours are tested on their own; here they would only hide what a test sends.
        delivery_settings = replace(settings, quiet_hours=None, daily_nudge_limit=50)
        deliverer = Deliverer(
            delivery_settings, database.sessions, make_delivery_client(delivery_settings), clock
        )
        try:
            yield Bot(slack, driver, database, clock, url, deliverer)
        finally:
            server.shutdown()
            server.server_close()
            executor.shutdown(wait=True)


# ---------------------------------------------------------------------- a big workspace for find

FIND_TOPICS = [
    "public speaking", "python", "leadership", "career growth", "product management",
    "design critique", "machine learning", "writing", "negotiation", "hiring",
    "storytelling", "kubernetes", "javascript", "data analysis", "mentoring",
    "sales", "marketing", "finance", "security", "testing",
]  # fmt: skip
# How people also type some of them: plurals, synonyms, abbreviations (each its own Topic row).
FIND_SPELLINGS = {
    "public speaking": ["presentations"],
    "machine learning": ["ML"],
    "javascript": ["JS"],
    "negotiation": ["Negotiations"],
    "kubernetes": ["k8s"],
    "product management": ["PM"],
    "python": ["py"],
}
FIND_ZONES = [
    "Europe/Berlin", "America/New_York", "Asia/Tokyo", "Africa/Lagos", "America/Sao_Paulo",
    "Asia/Kolkata", "America/Los_Angeles", "Australia/Sydney", "Europe/London", "UTC",
    "Pacific/Auckland", "Asia/Singapore", "America/Chicago", "Asia/Kathmandu",
]  # fmt: skip
# Own working hours some people set (the rest follow the program's QUIET_HOURS).
FIND_HOURS = [(time(7), time(15)), (time(10), time(18)), (time(12), time(20)), (time(22), time(6))]
_PARAGRAPH = (
    "speaking leading team teams conference talks hiring interviews promotion career growth "
    "python backend frontend design product roadmap strategy negotiation salary writing docs "
    "machine learning models data analysis dashboards sales marketing finance budgets security "
    "testing automation kubernetes cloud javascript react mentoring coaching feedback storytelling "
    "startups founders management managers engineering architecture reviews delivery agile "
    "research users customers analytics metrics growth launches platform mobile payments "
    "healthcare education nonprofit remote distributed onboarding culture diversity inclusion "
    "public confidence presence visibility influence stakeholders executives planning estimates"
)
FIND_WORDS = _PARAGRAPH.split()


@dataclass
class FindSeed:
    """Who was seeded: the mentees one can search as, with their zones and sought topics."""

    workspace_id: int
    mentees: list[tuple[str, str, list[str]]]  # (slack user id, tz, sought topic names)


def find_user(n: int) -> str:
    return f"UB{n:06d}"


def seed_find_workspace(
    sessions: sessionmaker[Session], team_id: str, first: int, count: int, now: Any, seed: int = 7
) -> FindSeed:
    """Members `first`..`first+count-1` in bulk (Core inserts): a third mentors (capacity 1-4,
    some paused, full, left or forgotten), the rest mentees with goals; blocks, declines,
    pending requests. Member 1 is a mentee seeking public speaking, for a fixed seeker.

    Bulk inserts bypass find's change log: forget the process's find index after seeding."""
    from bot.core.members import workspace_for
    from bot.core.models import (
        Block,
        Member,
        MemberTopic,
        MentorRequest,
        Pairing,
        Topic,
        TopicKind,
    )

    rng = random.Random(seed * 1_000_003 + first)
    names = [spelling for t in FIND_TOPICS for spelling in [t, *FIND_SPELLINGS.get(t, [])]]
    with sessions.begin() as session:
        workspace = workspace_for(session, team_id, now)
        have = set(session.scalars(select(Topic.slug).where(Topic.workspace_id == workspace.id)))
        new = {n.casefold(): n for n in names if n.casefold() not in have}
        if new:
            session.execute(
                insert(Topic),
                [{"workspace_id": workspace.id, "slug": s, "name": n} for s, n in new.items()],
            )
        topic_ids = dict(
            session.execute(
                select(Topic.slug, Topic.id).where(Topic.workspace_id == workspace.id)
            ).all()
        )
        rows, people = [], []
        for n in range(first, first + count):
            mentor = n % 3 == 0
            hours = rng.choice(FIND_HOURS) if rng.random() < 0.25 else (None, None)
            gone = rng.random()
            rows.append(
                {
                    "workspace_id": workspace.id,
                    "slack_user_id": find_user(n),
                    "display_name": f"Person {n}",
                    "real_name": f"Person {n} Example",
                    "tz": rng.choice(FIND_ZONES),
                    "is_active": gone >= 0.02,
                    "is_mentor": mentor and gone >= 0.005,
                    "is_mentee": not mentor,
                    "goals": _sentence(rng, 3, 8, "I want to get better at"),
                    "background": _sentence(rng, 6, 14, "Ten years in"),
                    "experience": _sentence(rng, 0, 8, "I have helped with") if mentor else "",
                    "capacity": rng.randint(1, 4),
                    "paused_until": now + timedelta(days=10) if rng.random() < 0.03 else None,
                    "work_start": hours[0],
                    "work_end": hours[1],
                    "forgotten_at": now if 0.0 <= gone < 0.005 and mentor else None,
                    "profile_saved_at": now,
                    "synced_at": now,
                    "created_at": now,
                    "updated_at": now,
                }
            )
        session.execute(insert(Member), rows)
        ids = dict(
            session.execute(
                select(Member.slack_user_id, Member.id).where(
                    Member.workspace_id == workspace.id,
                    Member.slack_user_id.in_([r["slack_user_id"] for r in rows]),
                )
            ).all()
        )
        links, mentor_ids, mentee_ids = [], [], []
        for row in rows:
            n, member_id = int(row["slack_user_id"][2:]), ids[row["slack_user_id"]]
            mentor = n % 3 == 0
            chosen = rng.sample(FIND_TOPICS, rng.randint(2, 4) if mentor else rng.randint(1, 3))
            if n == 1 and "public speaking" not in chosen:
                chosen.append("public speaking")
            spelled = [rng.choice([t, *FIND_SPELLINGS.get(t, [])]) for t in chosen]
            for name in spelled:
                links.append(
                    {
                        "member_id": member_id,
                        "topic_id": topic_ids[name.casefold()],
                        "kind": TopicKind.OFFERED if mentor else TopicKind.SOUGHT,
                        # Some sought topics carry a goal of their own.
                        "goal": None
                        if mentor or rng.random() < 0.7
                        else _sentence(rng, 2, 6, "For this I want"),
                    }
                )
            (mentor_ids if mentor else mentee_ids).append(member_id)
            if not mentor:
                people.append((row["slack_user_id"], row["tz"], spelled))
        session.execute(insert(MemberTopic), links)
        pairings, blocks, asks, pairs = [], [], [], set()
        for mentor_id in mentor_ids:
            if rng.random() < 0.3 and mentee_ids:
                for _ in range(rng.randint(1, 4)):
                    pair = (mentor_id, rng.choice(mentee_ids))
                    if pair not in pairs:
                        pairs.add(pair)
                        pairings.append(
                            {
                                "workspace_id": workspace.id,
                                "mentor_id": pair[0],
                                "mentee_id": pair[1],
                                "status": "active",
                                "started_at": now,
                            }
                        )
        for mentee_id in mentee_ids:
            if rng.random() < 0.02 and mentor_ids:
                blocks.append(
                    {
                        "blocker_id": mentee_id,
                        "blocked_id": rng.choice(mentor_ids),
                        "created_at": now,
                    }
                )
            if rng.random() < 0.05 and mentor_ids:
                status = rng.choice(["declined", "pending"])
                asks.append(
                    {
                        "workspace_id": workspace.id,
                        "mentee_id": mentee_id,
                        "mentor_id": rng.choice(mentor_ids),
                        "note": "Could we talk?",
                        "status": status,
                        "created_at": now - timedelta(days=3),
                        "expires_at": now + timedelta(days=4),
                        "responded_at": now - timedelta(days=2) if status == "declined" else None,
                    }
                )
        for table, values in ((Pairing, pairings), (Block, blocks), (MentorRequest, asks)):
            if values:
                session.execute(insert(table), values)
        return FindSeed(workspace.id, people)


def _sentence(rng: random.Random, low: int, high: int, lead: str) -> str:
    words = rng.sample(FIND_WORDS, rng.randint(low, high))
    return f"{lead} {' '.join(words)}." if words else ""


def pair_up(database: Database, team_id: str, people: list[str], now: datetime) -> list[int]:
    """Members for these Slack users, paired in twos as active mentor and mentee; pairing ids."""
    with database.sessions.begin() as session:
        members = [member_for(session, team_id, user, now) for user in people]
        pairings = [
            Pairing(
                workspace_id=mentor.workspace_id,
                mentor_id=mentor.id,
                mentee_id=mentee.id,
                status=PairingStatus.ACTIVE,
                started_at=now,
            )
            for mentor, mentee in zip(members[::2], members[1::2], strict=False)
        ]
        session.add_all(pairings)
        session.flush()
        return sorted(pairing.id for pairing in pairings)
