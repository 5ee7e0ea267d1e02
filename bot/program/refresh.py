"""Keeping names and time zones fresh for people who rarely touch the bot."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from bot.core.members import SYNC_EVERY
from bot.core.models import Member, Workspace

# users.info is Tier 4 (100+ a minute); 50 a minute leaves room for everything else.
REFRESH_BATCH = 50


def profiles_to_refresh(
    session: Session, now: datetime, limit: int = REFRESH_BATCH
) -> list[tuple[str, str]]:
    """Claim up to `limit` present members not synced for a day, oldest-synced first.

    Claiming marks them synced now, so another process's tick skips them (SKIP LOCKED on
    PostgreSQL) and a lookup that fails waits a day rather than being retried every minute.
    """
    rows = session.execute(
        select(Member.id, Workspace.team_id, Member.slack_user_id)
        .join(Workspace, Workspace.id == Member.workspace_id)
        .where(
            Member.is_active.is_(True),
            or_(Member.synced_at.is_(None), Member.synced_at <= now - SYNC_EVERY),
        )
        .order_by(Member.synced_at.asc().nulls_first(), Member.id)
        .limit(limit)
        .with_for_update(of=Member, skip_locked=True)
    ).all()
    if rows:
        session.execute(
            update(Member).where(Member.id.in_([row.id for row in rows])).values(synced_at=now)
        )
    return [(row.team_id, row.slack_user_id) for row in rows]
