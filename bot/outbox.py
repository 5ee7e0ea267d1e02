"""The outbox: every message for someone other than the actor, or for later, is a row here first.

Services enqueue inside their own transaction; the delivery tick claims due rows, decides
(quiet hours, daily limit, pauses, whether the message still applies), sends, and records.
"""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from bot.database import insert_or_ignore
from bot.models import Member, OutboxMessage, OutboxStatus, Workspace
from bot.quiet_hours import next_allowed, start_of_next_day, zone
from bot.settings import QuietHours

LEASE = timedelta(minutes=2)
MAX_ATTEMPTS = 8
BACKOFF_BASE = timedelta(seconds=10)
BACKOFF_CAP = timedelta(hours=1)
# Slack errors that no retry can fix: the person, channel or token is gone or not ours.
PERMANENT_ERRORS = frozenset(
    {
        "user_not_found",
        "account_inactive",
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "invalid_auth",
        "not_authed",
        "token_revoked",
        "user_disabled",
        "cannot_dm_bot",
        "missing_scope",
    }
)
TRANSIENT_ERRORS = frozenset(
    {"internal_error", "fatal_error", "service_unavailable", "request_timeout", "ratelimited"}
)


@dataclass(frozen=True)
class Outgoing:
    """A rendered message: Block Kit plus fallback text."""

    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def of(cls, message: Mapping[str, Any]) -> Outgoing:
        """From a builder's message dict."""
        return cls(text=message["text"], blocks=message.get("blocks", []))


@dataclass(frozen=True)
class Skip:
    """The message no longer applies (its meeting was cancelled, say); recorded, never sent."""

    reason: str


Rendered = Outgoing | Skip
# A renderer turns due rows of one kind into messages at `now`, loading what it needs in one query.
Renderer = Callable[[Session, list[OutboxMessage], datetime], dict[int, Rendered]]
FailureHook = Callable[[Session, OutboxMessage, str, datetime], None]


@dataclass(frozen=True)
class Delivery:
    """One claimed row that should go out now, with what the sender needs and nothing more."""

    id: int
    workspace_id: int
    channel_id: str | None  # known channel, or None: open a DM with `users` first
    users: str | None  # one Slack user id, or several (comma-separated) for a group DM
    member_id: int | None  # set when the DM channel, once opened, should be cached
    message: Outgoing


def enqueue(
    session: Session,
    *,
    workspace_id: int,
    kind: str,
    dedupe_key: str,
    due_at: datetime,
    now: datetime,
    member_id: int | None = None,
    channel_id: str | None = None,
    group: Sequence[str] | None = None,
    subject: tuple[str, int] | None = None,
    urgent: bool = False,
    solicited: bool = False,
) -> bool:
    """Add a message unless one with this dedupe key exists; True when it was added.

    The recipient is one member (their DM), one channel, or a group of Slack users (a group DM).
    """
    if [member_id, channel_id, group].count(None) != 2:
        raise ValueError("a message goes to exactly one member, channel or group")
    subject_type, subject_id = subject if subject else (None, None)
    return insert_or_ignore(
        session,
        OutboxMessage,
        workspace_id=workspace_id,
        recipient_member_id=member_id,
        recipient_channel_id=channel_id,
        recipient_group=",".join(group) if group else None,
        kind=kind,
        subject_type=subject_type,
        subject_id=subject_id,
        urgent=urgent,
        solicited=solicited,
        due_at=due_at,
        status=OutboxStatus.PENDING,
        attempts=0,
        dedupe_key=dedupe_key,
        created_at=now,
    )


def _pending_about(subject_type: str, subject_id: int, kinds: Iterable[str] | None) -> Any:
    condition = and_(
        OutboxMessage.subject_type == subject_type,
        OutboxMessage.subject_id == subject_id,
        OutboxMessage.status == OutboxStatus.PENDING,
    )
    return and_(condition, OutboxMessage.kind.in_(list(kinds))) if kinds else condition


def cancel_pending(
    session: Session,
    subject_type: str,
    subject_id: int,
    reason: str,
    kinds: Iterable[str] | None = None,
) -> int:
    """Cancel what has not gone out yet about this subject; returns how many rows."""
    result = session.execute(
        update(OutboxMessage)
        .where(_pending_about(subject_type, subject_id, kinds))
        .values(status=OutboxStatus.CANCELLED, last_error=reason),
        execution_options={"synchronize_session": False, "preserve_rowcount": True},
    )
    return result.rowcount  # type: ignore[attr-defined]


def retime_pending(
    session: Session,
    subject_type: str,
    subject_id: int,
    due_at_for: Callable[[OutboxMessage], datetime],
    kinds: Iterable[str] | None = None,
) -> int:
    """Give what has not gone out yet about this subject a new due time (a meeting moved)."""
    # Computed in Python: date arithmetic in SQL differs between SQLite and PostgreSQL.
    rows = session.scalars(
        select(OutboxMessage).where(_pending_about(subject_type, subject_id, kinds))
    ).all()
    for row in rows:
        row.due_at = due_at_for(row)
    return len(rows)


def _claimable(now: datetime) -> Any:
    retry_ready = or_(OutboxMessage.next_attempt_at.is_(None), OutboxMessage.next_attempt_at <= now)
    pending = and_(
        OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.due_at <= now, retry_ready
    )
    # A row stuck in "sending" past its lease belonged to a process that died mid-send.
    abandoned = and_(
        OutboxMessage.status == OutboxStatus.SENDING, OutboxMessage.claimed_at < now - LEASE
    )
    return or_(pending, abandoned)


def claim_due(session: Session, now: datetime, limit: int) -> list[OutboxMessage]:
    """Atomically take up to `limit` due rows for this process, oldest first."""
    open_workspaces = select(Workspace.id).where(
        or_(Workspace.rate_limited_until.is_(None), Workspace.rate_limited_until <= now)
    )
    query = (
        select(OutboxMessage.id)
        .where(_claimable(now), OutboxMessage.workspace_id.in_(open_workspaces))
        .order_by(OutboxMessage.due_at, OutboxMessage.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    ids = list(session.scalars(query))
    if not ids:
        return []
    token = str(uuid.uuid4())
    # Re-checking the condition makes the claim safe where SKIP LOCKED does not exist (SQLite).
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(ids), _claimable(now))
        .values(
            status=OutboxStatus.SENDING,
            claimed_at=now,
            claimed_by=token,
            attempts=OutboxMessage.attempts + 1,
        ),
        execution_options={"synchronize_session": False},
    )
    return list(
        session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.claimed_by == token)
            .order_by(OutboxMessage.due_at, OutboxMessage.id)
        )
    )


def prepare(
    session: Session,
    rows: list[OutboxMessage],
    now: datetime,
    *,
    renderers: Mapping[str, Renderer],
    quiet_hours: QuietHours | None,
    daily_limit: int,
) -> list[Delivery]:
    """Decide each claimed row: defer it, skip it, or hand it to the sender, in a few queries."""
    member_ids = {row.recipient_member_id for row in rows if row.recipient_member_id}
    members = {
        member.id: member
        for member in session.scalars(select(Member).where(Member.id.in_(member_ids)))
    }
    group_zones = _group_zones(session, rows)
    sent_today = _nudges_sent_today(session, members.values(), now)
    sendable: list[OutboxMessage] = []
    for row in rows:
        member = members.get(row.recipient_member_id) if row.recipient_member_id else None
        if row.recipient_group:
            later = _when_all_awake(now, group_zones.get(row.id, []), quiet_hours)
        else:
            later = _when_allowed(row, member, now, quiet_hours, daily_limit, sent_today)
        if later is not None:
            _release(row, due_at=later)
        else:
            sendable.append(row)
            if member is not None and not row.urgent:
                sent_today[member.id] += 1

    by_kind: dict[str, list[OutboxMessage]] = defaultdict(list)
    for row in sendable:
        by_kind[row.kind].append(row)
    rendered: dict[int, Rendered] = {}
    for kind, group in by_kind.items():
        render = renderers.get(kind)
        if render is None:
            rendered.update({row.id: Skip(f"no renderer for kind {kind!r}") for row in group})
        else:
            rendered.update(render(session, group, now))

    deliveries = []
    for row in sendable:
        outcome = rendered.get(row.id) or Skip("renderer returned nothing")
        if isinstance(outcome, Skip):
            row.status, row.last_error = OutboxStatus.CANCELLED, outcome.reason
            continue
        member = members.get(row.recipient_member_id) if row.recipient_member_id else None
        deliveries.append(
            Delivery(
                id=row.id,
                workspace_id=row.workspace_id,
                channel_id=row.recipient_channel_id or (member.dm_channel_id if member else None),
                users=member.slack_user_id if member else row.recipient_group,
                member_id=member.id if member else None,
                message=outcome,
            )
        )
    return deliveries


def _when_allowed(
    row: OutboxMessage,
    member: Member | None,
    now: datetime,
    quiet_hours: QuietHours | None,
    daily_limit: int,
    sent_today: Mapping[int, int],
) -> datetime | None:
    """None to send now, else the moment this row may go out."""
    if member is None:
        return None
    if member.paused_until and member.paused_until > now and not row.solicited:
        return next_allowed(member.paused_until, member.tz, quiet_hours)
    allowed = next_allowed(now, member.tz, quiet_hours)
    if allowed > now:
        return allowed
    if not row.urgent and sent_today[member.id] >= daily_limit:
        return start_of_next_day(now, member.tz, quiet_hours)
    return None


def _group_zones(session: Session, rows: list[OutboxMessage]) -> dict[int, list[str]]:
    """Each group row's members' time zones, from one query."""
    wanted: dict[tuple[int, str], list[int]] = defaultdict(list)
    for row in rows:
        for user_id in (row.recipient_group or "").split(","):
            if user_id:
                wanted[(row.workspace_id, user_id)].append(row.id)
    if not wanted:
        return {}
    found = session.execute(
        select(Member.workspace_id, Member.slack_user_id, Member.tz).where(
            Member.slack_user_id.in_({user_id for _, user_id in wanted})
        )
    )
    zones: dict[int, list[str]] = defaultdict(list)
    for workspace_id, user_id, tz in found:
        for row_id in wanted.get((workspace_id, user_id), []):
            zones[row_id].append(tz)
    return zones


def _when_all_awake(
    now: datetime, zones: list[str], quiet_hours: QuietHours | None
) -> datetime | None:
    """The first moment outside everyone's quiet hours: a group DM notifies every member."""
    moment = now
    for _ in range(len(zones) + 1):
        later = max([next_allowed(moment, tz, quiet_hours) for tz in zones], default=moment)
        if later == moment:
            return None if moment == now else moment
        moment = later
    # Zones whose quiet windows never all open at once: send at the first member's morning.
    return next_allowed(now, zones[0], quiet_hours)


def _nudges_sent_today(
    session: Session, members: Iterable[Member], now: datetime
) -> defaultdict[int, int]:
    """Non-urgent messages each member has had since their own local midnight."""
    members = list(members)
    counts: defaultdict[int, int] = defaultdict(int)
    if not members:
        return counts
    # One query over the last 24 hours; the local-day cut happens here, per person.
    recent = session.execute(
        select(OutboxMessage.recipient_member_id, OutboxMessage.sent_at).where(
            OutboxMessage.recipient_member_id.in_([m.id for m in members]),
            OutboxMessage.status == OutboxStatus.SENT,
            OutboxMessage.urgent.is_(False),
            OutboxMessage.sent_at > now - timedelta(hours=24),
        )
    )
    midnight = {
        m.id: now.astimezone(zone(m.tz)).replace(hour=0, minute=0, second=0, microsecond=0)
        for m in members
    }
    for member_id, sent_at in recent:
        if sent_at >= midnight[member_id]:
            counts[member_id] += 1
    return counts


def _release(row: OutboxMessage, *, due_at: datetime | None = None) -> None:
    row.status, row.claimed_by, row.claimed_at = OutboxStatus.PENDING, None, None
    row.attempts -= 1  # deferring is not a failed attempt
    if due_at is not None:
        row.due_at = due_at


def record_sent(
    session: Session, delivery: Delivery, channel_id: str, ts: str, now: datetime
) -> None:
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == delivery.id)
        .values(
            status=OutboxStatus.SENT,
            sent_at=now,
            sent_channel_id=channel_id,
            sent_ts=ts,
            last_error=None,
            claimed_by=None,
        ),
        execution_options={"synchronize_session": False},
    )
    if delivery.member_id is not None and delivery.channel_id is None:
        session.execute(
            update(Member).where(Member.id == delivery.member_id).values(dm_channel_id=channel_id),
            execution_options={"synchronize_session": False},
        )


def record_failure(
    session: Session,
    delivery_id: int,
    error: str,
    now: datetime,
    *,
    transient: bool,
    hooks: Mapping[str, FailureHook] | None = None,
) -> None:
    """Retry a passing failure later with backoff and jitter; give up on permanent ones."""
    row = session.get(OutboxMessage, delivery_id)
    if row is None:
        return
    row.last_error, row.claimed_by, row.claimed_at = error[:500], None, None
    if not transient or row.attempts >= MAX_ATTEMPTS:
        row.status = OutboxStatus.FAILED
        hook = (hooks or {}).get(row.kind)
        if hook is not None:
            hook(session, row, error, now)
        return
    row.status = OutboxStatus.PENDING
    row.next_attempt_at = now + backoff(row.attempts)


def backoff(attempts: int, rng: Callable[[], float] = random.random) -> timedelta:
    """Exponential, capped, with jitter so retries from many rows do not arrive together."""
    ceiling = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** max(attempts - 1, 0))
    return ceiling * (0.5 + rng() / 2)


def defer_workspace(
    session: Session, workspace_id: int, delivery_ids: list[int], until: datetime
) -> None:
    """Slack said 429: pause this workspace's sends and put its claimed rows back, unharmed."""
    session.execute(
        update(Workspace).where(Workspace.id == workspace_id).values(rate_limited_until=until),
        execution_options={"synchronize_session": False},
    )
    for row in session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(delivery_ids))):
        _release(row)
        row.next_attempt_at = until


def summary(session: Session, now: datetime, upcoming: int = 10) -> dict[str, Any]:
    """Counts by status and the next messages due, for operators."""
    counts = dict(
        session.execute(
            select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
        ).all()
    )
    next_rows = session.execute(
        select(
            OutboxMessage.id,
            OutboxMessage.kind,
            Member.slack_user_id,
            OutboxMessage.recipient_channel_id,
            OutboxMessage.due_at,
            OutboxMessage.attempts,
            OutboxMessage.last_error,
        )
        .outerjoin(Member, Member.id == OutboxMessage.recipient_member_id)
        .where(OutboxMessage.status == OutboxStatus.PENDING)
        .order_by(OutboxMessage.due_at, OutboxMessage.id)
        .limit(upcoming)
    ).all()
    failed = session.execute(
        select(OutboxMessage.id, OutboxMessage.kind, OutboxMessage.last_error)
        .where(OutboxMessage.status == OutboxStatus.FAILED)
        .order_by(OutboxMessage.id.desc())
        .limit(upcoming)
    ).all()
    return {
        "counts": {status.value: counts.get(status, 0) for status in OutboxStatus},
        "next": next_rows,
        "failed": failed,
        "now": now,
    }
