"""Models and migrations: the schema the bot runs on, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, select
from sqlalchemy.exc import IntegrityError, StatementError

from bot.core.database import make_engine
from bot.core.models import (
    Base,
    Member,
    OutboxMessage,
    Pairing,
    PairingStatus,
    ProcessedEvent,
    Workspace,
)
from migrations import upgrade
from tests.conftest import create_empty_database, drop_database

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def _workspace_and_members(session, *user_ids):
    workspace = Workspace(team_id="T1", created_at=NOW)
    session.add(workspace)
    session.flush()
    members = [
        Member(workspace_id=workspace.id, slack_user_id=u, created_at=NOW, updated_at=NOW)
        for u in user_ids
    ]
    session.add_all(members)
    session.flush()
    return workspace, members


def test_fresh_database_migrates_to_exactly_the_models(tmp_path, migrated_database):
    url = create_empty_database(migrated_database.backend, tmp_path)
    engine = make_engine(url)
    try:
        upgrade(engine)
        upgrade(engine)  # every start runs it again: a no-op the second time
        with engine.connect() as connection:
            diff = compare_metadata(
                MigrationContext.configure(connection, opts={"compare_type": True}), Base.metadata
            )
            tables = set(inspect(connection).get_table_names())
        assert diff == []
        assert {"member", "outbox_message", "processed_event", "alembic_version"} <= tables
    finally:
        engine.dispose()
        drop_database(url)


def test_member_defaults_and_aware_utc_times(database):
    later = datetime(2026, 11, 25, 13, 30, tzinfo=timezone(timedelta(hours=1)))
    with database.sessions.begin() as session:
        _, (member,) = _workspace_and_members(session, "U1")
        member.paused_until = later
    with database.sessions.begin() as session:
        member = session.scalars(select(Member)).one()
        assert (member.capacity, member.tz, member.is_mentor, member.is_mentee) == (
            2,
            "UTC",
            False,
            False,
        )
        assert member.paused_until == datetime(2026, 11, 25, 12, 30, tzinfo=UTC)
        assert member.paused_until.tzinfo is not None


def test_naive_datetimes_are_refused(database):
    with (
        pytest.raises(StatementError, match="naive datetime"),
        database.sessions.begin() as session,
    ):
        session.add(Workspace(team_id="T1", created_at=datetime(2026, 1, 1)))


def test_member_is_unique_per_workspace_and_capacity_is_bounded(database):
    with database.sessions.begin() as session:
        _workspace_and_members(session, "U1")
    with pytest.raises(IntegrityError), database.sessions.begin() as session:
        workspace = session.scalars(select(Workspace)).one()
        session.add(
            Member(workspace_id=workspace.id, slack_user_id="U1", created_at=NOW, updated_at=NOW)
        )
    with pytest.raises(IntegrityError), database.sessions.begin() as session:
        session.scalars(select(Member)).one().capacity = 11
    with database.sessions.begin() as session:
        session.scalars(select(Member)).one().capacity = 10  # the top of the range is allowed


def test_only_one_active_pairing_per_pair(database):
    with database.sessions.begin() as session:
        workspace, (mentor, mentee) = _workspace_and_members(session, "U1", "U2")
        ids = {"workspace_id": workspace.id, "mentor_id": mentor.id, "mentee_id": mentee.id}
        session.add(Pairing(**ids, status=PairingStatus.ENDED, started_at=NOW))
        session.add(Pairing(**ids, status=PairingStatus.ENDED, started_at=NOW))
        session.add(Pairing(**ids, started_at=NOW))
    with pytest.raises(IntegrityError), database.sessions.begin() as session:
        session.add(Pairing(**ids, started_at=NOW))


def test_status_columns_refuse_unknown_values(database):
    with database.sessions.begin() as session:
        workspace, (mentor, mentee) = _workspace_and_members(session, "U1", "U2")
        ids = {"workspace_id": workspace.id, "mentor_id": mentor.id, "mentee_id": mentee.id}
    with pytest.raises(StatementError), database.sessions.begin() as session:
        session.add(Pairing(**ids, status="paused", started_at=NOW))


def test_outbox_dedupe_key_and_recipient_are_enforced(database):
    with database.sessions.begin() as session:
        workspace, (member,) = _workspace_and_members(session, "U1")
        row = {"workspace_id": workspace.id, "kind": "prep", "due_at": NOW, "created_at": NOW}
        session.add(OutboxMessage(**row, recipient_member_id=member.id, dedupe_key="prep:1:1"))
    with pytest.raises(IntegrityError), database.sessions.begin() as session:
        session.add(OutboxMessage(**row, recipient_member_id=member.id, dedupe_key="prep:1:1"))
    with pytest.raises(IntegrityError), database.sessions.begin() as session:
        session.add(OutboxMessage(**row, dedupe_key="prep:1:2"))


def test_processed_events_are_unique(database):
    with database.sessions.begin() as session:
        session.add(ProcessedEvent(event_id="Ev1", received_at=NOW))
    with pytest.raises(IntegrityError), database.sessions.begin() as session:
        session.add(ProcessedEvent(event_id="Ev1", received_at=NOW))
