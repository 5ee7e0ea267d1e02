"""Installs and uninstalls: a workspace without the app holds its messages until it is back."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.core.members import workspace_for
from bot.core.models import OutboxMessage, OutboxStatus, Workspace

# A workspace without a token is looked at again this often: cheap, and it outlives nothing if
# an install happens somewhere this process did not see.
HOLD = timedelta(minutes=15)


def hold_deliveries(session: Session, team_id: str, now: datetime) -> None:
    """The app lost its token there: no process claims that workspace's messages for a while.

    Its rows stay pending, untouched: never sent with a dead token, never given up on."""
    session.execute(
        update(Workspace).where(Workspace.team_id == team_id).values(rate_limited_until=now + HOLD),
        execution_options={"synchronize_session": False},
    )


def workspace_installed(session: Session, team_id: str, name: str | None, now: datetime) -> int:
    """The app was (re)installed: held messages go out at the next tick. Returns how many."""
    workspace = workspace_for(session, team_id, now)
    if name:
        workspace.name = name[:200]
    held_until, workspace.rate_limited_until = workspace.rate_limited_until, None
    if held_until is None or held_until <= now:
        return 0
    # Rows put back during the hold wait for its end at the latest; now they need not.
    result = session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.workspace_id == workspace.id,
            OutboxMessage.status == OutboxStatus.PENDING,
            OutboxMessage.next_attempt_at <= held_until,
        )
        .values(next_attempt_at=None),
        execution_options={"synchronize_session": False, "preserve_rowcount": True},
    )
    return result.rowcount  # type: ignore[attr-defined]


def team_ids(session: Session, workspace_ids: set[int]) -> dict[int, str]:
    """Slack's team id for each of our workspace ids, in one query."""
    rows = session.execute(
        select(Workspace.id, Workspace.team_id).where(Workspace.id.in_(workspace_ids))
    )
    return {row.id: row.team_id for row in rows}
