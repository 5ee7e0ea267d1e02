"""Shared fixtures: a migrated database per backend, and the real bot wired to the Slack sandbox."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from app import create_app, serve_http
from bot.database import make_engine, make_session_factory
from bot.models import Base
from bot.settings import Settings
from migrations import upgrade
from sandbox import FakeSlack, SlackDriver, TrackingExecutor
from sandbox.clock import ManualClock
from scheduler import housekeeping
from scheduler.delivery import Deliverer, make_delivery_client

POSTGRES_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
BACKENDS = [
    name.strip()
    for name in os.environ.get("TEST_BACKENDS", "sqlite,postgresql").split(",")
    if name.strip()
]


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


def drop_database(url: str) -> None:
    if not url.startswith("postgresql"):
        return
    name = make_url(url).database
    with _postgres_admin() as admin:
        admin.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@contextmanager
def _postgres_admin() -> Iterator[Connection]:
    engine = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            yield connection
    finally:
        engine.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def migrated_database(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """One migrated database per backend for the whole run; `database` empties it per test."""
    url = create_empty_database(request.param, tmp_path_factory.mktemp(request.param))
    engine = make_engine(url)
    upgrade(engine)
    yield Database(request.param, url, engine, make_session_factory(engine))
    engine.dispose()
    drop_database(url)


@pytest.fixture
def database(migrated_database: Database) -> Iterator[Database]:
    yield migrated_database
    with migrated_database.engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())


SIGNING_SECRET = "sandbox-signing-secret"
START = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


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


@pytest.fixture
def bot(database: Database, request: pytest.FixtureRequest) -> Iterator[Bot]:
    """`@pytest.mark.settings(success_channel="#wins")` overrides settings for one test."""
    marker = request.node.get_closest_marker("settings")
    clock = ManualClock(START)
    executor = TrackingExecutor(max_workers=4)
    with FakeSlack(SIGNING_SECRET) as slack:
        settings = Settings(
            slack_bot_token=slack.bot_token,
            slack_signing_secret=SIGNING_SECRET,
            slack_api_url=slack.api_url,
            database_url=database.url,
            **(marker.kwargs if marker else {}),
        )
        app = create_app(settings, database.sessions, listener_executor=executor, clock=clock)
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
