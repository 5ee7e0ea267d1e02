"""The real bot wired to the Slack sandbox on a throwaway database, for tests and benchmarks."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from slack_bolt import App
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from app import create_app, serve_http
from bot.core.settings import Settings
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
