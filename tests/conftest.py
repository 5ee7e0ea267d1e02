"""Shared fixtures: a migrated database per backend, and the real bot wired to the Slack sandbox."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from benchmarks.harness import (
    Bot,
    Database,
    create_empty_database,
    drop_database,
    running_bot,
)
from bot.core.database import make_engine, make_session_factory
from bot.core.models import Base
from bot.find.candidates import forget_indexes
from migrations import upgrade
from sandbox.clock import ManualClock

__all__ = ["Bot", "Database", "create_empty_database", "drop_database"]

BACKENDS = [
    name.strip()
    for name in os.environ.get("TEST_BACKENDS", "sqlite,postgresql").split(",")
    if name.strip()
]


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
    forget_indexes(migrated_database.engine)  # find's in-process index of what was just emptied


START = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


@pytest.fixture
def bot(database: Database, request: pytest.FixtureRequest) -> Iterator[Bot]:
    """`@pytest.mark.settings(success_channel="#wins")` overrides settings for one test."""
    marker = request.node.get_closest_marker("settings")
    with running_bot(database, ManualClock(START), **(marker.kwargs if marker else {})) as bot:
        yield bot
