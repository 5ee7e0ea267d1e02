"""Workspaces and members: who has touched the bot, and what Slack tells us about them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.core.database import insert_or_ignore
from bot.core.models import Member, Workspace

SYNC_EVERY = timedelta(days=1)


@dataclass(frozen=True)
class SlackProfile:
    """What users.info told us about a person."""

    display_name: str
    real_name: str
    tz: str
    is_active: bool = True


def workspace_for(session: Session, team_id: str, now: datetime) -> Workspace:
    insert_or_ignore(session, Workspace, team_id=team_id, created_at=now)
    return session.scalars(select(Workspace).where(Workspace.team_id == team_id)).one()


def find_member(session: Session, team_id: str, user_id: str) -> Member | None:
    return session.scalars(
        select(Member)
        .join(Workspace, Member.workspace_id == Workspace.id)
        .where(Workspace.team_id == team_id, Member.slack_user_id == user_id)
    ).one_or_none()


def member_for(session: Session, team_id: str, user_id: str, now: datetime) -> Member:
    """The member for this Slack user, created (without Slack details yet) on first touch."""
    member = find_member(session, team_id, user_id)
    if member is not None:
        return member
    workspace = workspace_for(session, team_id, now)
    insert_or_ignore(
        session,
        Member,
        workspace_id=workspace.id,
        slack_user_id=user_id,
        created_at=now,
        updated_at=now,
    )
    member = find_member(session, team_id, user_id)
    assert member is not None
    return member


def needs_sync(session: Session, team_id: str, user_id: str, now: datetime) -> bool:
    """True the first time we see someone, and at most once a day after that."""
    # One column, not the member and their topics: this runs on every command.
    synced_at = session.execute(
        select(Member.synced_at)
        .join(Workspace, Member.workspace_id == Workspace.id)
        .where(Workspace.team_id == team_id, Member.slack_user_id == user_id)
    ).first()
    return synced_at is None or out_of_sync(synced_at[0], now)


def out_of_sync(synced_at: datetime | None, now: datetime) -> bool:
    """Whether what Slack told us about someone (name, zone) is due for a fresh look."""
    return synced_at is None or now - synced_at >= SYNC_EVERY


def record_slack_profile(
    session: Session, team_id: str, user_id: str, profile: SlackProfile | None, now: datetime
) -> Member:
    """Store what users.info said; with no profile (the lookup failed) try again next time."""
    member = member_for(session, team_id, user_id, now)
    if profile is None:
        return member
    member.display_name = profile.display_name[:200]
    member.real_name = profile.real_name[:200]
    member.tz = profile.tz if _known_zone(profile.tz) else "UTC"
    member.is_active = profile.is_active
    member.synced_at = now
    member.updated_at = now
    return member


def _known_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True
