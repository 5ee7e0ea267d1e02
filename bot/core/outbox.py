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

from sqlalchemy import and_, case, delete, func, or_, select, update
from sqlalchemy.orm import Session, aliased

from bot.core.block_limits import check_message, fit_message
from bot.core.database import insert_or_ignore
from bot.core.models import Member, OutboxMessage, OutboxStatus, Workspace
from bot.core.quiet_hours import (
    next_allowed,
    quiet_at,
    quiet_window,
    start_of_next_day,
    zone,
)
from bot.core.settings import QuietHours

# A claim lasts this long without renewal. The sender renews it (`hold`) right before each
# Slack call that could post, so it only has to outlast one call: see Deliverer.
LEASE = timedelta(minutes=2)
# Every post carries its row id in Slack message metadata, so an attempt whose outcome is
# unknown (a timeout after Slack may have posted) can be found before it is retried.
METADATA_EVENT = "mentor_coach_outbox"
# What tells the person whose action caused a message that it can never arrive.
NOTICE_KIND = "delivery_failed"
MAX_ATTEMPTS = 8
# However people's quiet hours fall, no message waits longer than this for them.
LONGEST_WAIT = timedelta(hours=24)
LEAST_BAD_STEP = timedelta(minutes=15)
# A person as quiet hours see them: their time zone and their own quiet window (None: none).
Clock = tuple[str | None, QuietHours | None]
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
# Permanent errors that mean the person's account is gone (deleted or deactivated).
GONE_ERRORS = frozenset({"account_inactive", "user_not_found", "user_disabled"})
# What to do, in the failure's transaction, about a member whose account is gone.
OnGone = Callable[[Session, int, datetime], None]


@dataclass(frozen=True)
class Attachment:
    """A file posted with the message (files.uploadV2; `text` becomes its comment).
    `filename` is unique to its outbox row: it is how an unsure upload is found again."""

    filename: str
    title: str
    content: str


@dataclass(frozen=True)
class Outgoing:
    """A rendered message: Block Kit plus fallback text, or a file with `text` as its comment."""

    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)
    file: Attachment | None = None

    @classmethod
    def of(cls, message: Mapping[str, Any]) -> Outgoing:
        """From a builder's message dict ("file": an Attachment), fitted to Slack's limits."""
        fitted = fit_message({k: v for k, v in message.items() if k != "file"})
        return cls(text=fitted["text"], blocks=fitted.get("blocks", []), file=message.get("file"))

    def problems(self) -> list[str]:
        """What Slack would refuse in this message (empty when it fits every limit)."""
        return check_message({"text": self.text, "blocks": self.blocks})


@dataclass(frozen=True)
class Skip:
    """The message no longer applies (its meeting was cancelled, say); recorded, never sent."""

    reason: str


Rendered = Outgoing | Skip
# A renderer turns due rows of one kind into messages at `now`, loading what it needs in one query.
Renderer = Callable[[Session, list[OutboxMessage], datetime], dict[int, Rendered]]
# Kind-specific wording for "what you sent could not be delivered", given the failed row;
# None falls back to the generic notice.
NoticeWriter = Callable[[Session, OutboxMessage], Mapping[str, Any] | None]


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
    actor_id: int | None = None,
    deadline_at: datetime | None = None,
) -> bool:
    """Add a message unless one with this dedupe key exists; True when it was added.

    The recipient is one member (their DM), one channel, or a group of Slack users (a group DM).
    `actor_id` is the member whose action caused it: they hear if it can never be delivered.
    `deadline_at` is when the message stops being useful: quiet hours never hold it past then.
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
        actor_member_id=actor_id,
        deadline_at=deadline_at,
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


def cancel_pending_about(
    session: Session, subjects: Mapping[str, Iterable[int]], reason: str
) -> int:
    """`cancel_pending` for many subjects at once, in one statement: {subject_type: ids}."""
    about = [
        and_(OutboxMessage.subject_type == subject_type, OutboxMessage.subject_id.in_(ids))
        for subject_type, subject_ids in subjects.items()
        if (ids := list(subject_ids))
    ]
    if not about:
        return 0
    result = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.status == OutboxStatus.PENDING, or_(*about))
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
    deadline_at: datetime | None = None,
) -> int:
    """Give what has not gone out yet about this subject a new due time (a meeting moved);
    rows that carry a deadline get `deadline_at` instead of their old one."""
    # Computed in Python: date arithmetic in SQL differs between SQLite and PostgreSQL.
    rows = session.scalars(
        select(OutboxMessage).where(_pending_about(subject_type, subject_id, kinds))
    ).all()
    for row in rows:
        row.due_at = due_at_for(row)
        if row.deadline_at is not None:
            row.deadline_at = deadline_at
    return len(rows)


def _due_pending(now: datetime) -> Any:
    retry_ready = or_(OutboxMessage.next_attempt_at.is_(None), OutboxMessage.next_attempt_at <= now)
    return and_(
        OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.due_at <= now, retry_ready
    )


def _abandoned(now: datetime) -> Any:
    # A row stuck in "sending" past its lease belonged to a process that died mid-send.
    return and_(
        OutboxMessage.status == OutboxStatus.SENDING, OutboxMessage.claimed_at < now - LEASE
    )


def _claimable(now: datetime) -> Any:
    return or_(_due_pending(now), _abandoned(now))


def claim_due(session: Session, now: datetime, limit: int) -> list[OutboxMessage]:
    """Atomically take up to `limit` due rows for this process, oldest first."""
    open_workspaces = select(Workspace.id).where(
        or_(Workspace.rate_limited_until.is_(None), Workspace.rate_limited_until <= now)
    )
    found: list[tuple[datetime, int]] = []
    # One query per status, not one with an OR: each walks the (status, due_at) index in order
    # and stops at `limit`, where the OR made SQLite collect and sort every due row first.
    for condition in (_abandoned(now), _due_pending(now)):
        query = (
            select(OutboxMessage.due_at, OutboxMessage.id)
            .where(condition, OutboxMessage.workspace_id.in_(open_workspaces))
            .order_by(OutboxMessage.due_at, OutboxMessage.id)
            .limit(limit)
        )
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        found.extend((due_at, row_id) for due_at, row_id in session.execute(query))
    ids = [row_id for _, row_id in sorted(found)[:limit]]
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
    group_clocks = _group_clocks(session, rows, quiet_hours)
    sent_today = _nudges_sent_today(session, members.values(), now)
    sendable: list[OutboxMessage] = []
    for row in rows:
        member = members.get(row.recipient_member_id) if row.recipient_member_id else None
        if row.recipient_group:
            later = _when_all_awake(now, group_clocks.get(row.id, []), row.deadline_at)
        else:
            later = _when_allowed(row, member, now, quiet_hours, daily_limit, sent_today)
        # Only a strictly later time defers: a row put back as due now would be claimed forever.
        if later is not None and later > now:
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
        member = members.get(row.recipient_member_id) if row.recipient_member_id else None
        if member is not None and not member.is_active:
            # Queued after they left (Slack told us): it could never arrive.
            outcome = Skip("the recipient left the workspace")
        if isinstance(outcome, Skip):
            row.status, row.last_error = OutboxStatus.CANCELLED, outcome.reason
            continue
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
    window = quiet_window(member, quiet_hours)
    if member.paused_until and member.paused_until > now and not row.solicited:
        # The person's own wish outranks a deadline; what went stale meanwhile is skipped then.
        return next_allowed(member.paused_until, member.tz, window)
    later = _when_all_awake(now, [(member.tz, window)], row.deadline_at)
    if later is not None:
        return later
    if not row.urgent and sent_today[member.id] >= daily_limit:
        tomorrow = start_of_next_day(now, member.tz, window)
        if row.deadline_at is None or tomorrow < row.deadline_at:
            return tomorrow
    return None


def _group_clocks(
    session: Session, rows: list[OutboxMessage], quiet_hours: QuietHours | None
) -> dict[int, list[Clock]]:
    """Each group row's members' time zones and quiet windows, from one query."""
    wanted: dict[tuple[int, str], list[int]] = defaultdict(list)
    for row in rows:
        for user_id in (row.recipient_group or "").split(","):
            if user_id:
                wanted[(row.workspace_id, user_id)].append(row.id)
    if not wanted:
        return {}
    found = session.scalars(
        select(Member).where(Member.slack_user_id.in_({user_id for _, user_id in wanted}))
    )
    clocks: dict[int, list[Clock]] = defaultdict(list)
    for member in found:
        for row_id in wanted.get((member.workspace_id, member.slack_user_id), []):
            clocks[row_id].append((member.tz, quiet_window(member, quiet_hours)))
    return clocks


def _when_all_awake(
    now: datetime, clocks: Sequence[Clock], deadline: datetime | None = None
) -> datetime | None:
    """None to send now, else the (later) moment a message to these people should go.

    A message notifies everyone it reaches, so it waits for the first moment nobody is in quiet
    hours, when that comes within a day and before its deadline. When it does not (partners
    whose waking hours never overlap, an agenda for a session early in the morning), waiting
    would starve the message or make it useless, so it goes at the least bad moment before
    then instead: the earliest when the fewest are in quiet hours. For partners half a world
    apart that is now, while one of them is awake; the other reads it over breakfast.
    """
    clocks = [(tz, window) for tz, window in clocks if window is not None]
    if not clocks:
        return None
    limit = now + LONGEST_WAIT if deadline is None else min(now + LONGEST_WAIT, deadline)
    moment = now
    # Each round jumps to the end of someone's quiet hours, at most a few per person a day.
    for _ in range(3 * len(clocks) + 2):
        if moment >= limit:
            break
        later = max(next_allowed(moment, tz, window) for tz, window in clocks)
        if later == moment:
            return None if moment == now else moment
        moment = later
    return _least_bad(now, limit, clocks)


def _least_bad(now: datetime, limit: datetime, clocks: Sequence[Clock]) -> datetime | None:
    """The earliest moment in [now, limit) when the fewest of these people are in quiet hours."""
    grid = [now]
    while grid[-1] + LEAST_BAD_STEP < limit:
        grid.append(grid[-1] + LEAST_BAD_STEP)
    # Someone waking up is when the count drops: try those exact moments, not only the grid's.
    wakes = set()
    for tz, window in clocks:
        was_quiet = False
        for moment in grid:
            quiet = quiet_at(moment, tz, window)
            if quiet and not was_quiet:
                wakes.add(next_allowed(moment, tz, window))
            was_quiet = quiet
    candidates = sorted({*grid, *(wake for wake in wakes if wake < limit)})
    best = min(
        candidates,
        key=lambda moment: sum(quiet_at(moment, tz, window) for tz, window in clocks),
    )
    return None if best == now else best


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


def _held(delivery_id: int, token: str) -> Any:
    return and_(
        OutboxMessage.id == delivery_id,
        OutboxMessage.claimed_by == token,
        OutboxMessage.status == OutboxStatus.SENDING,
    )


def _update_held(session: Session, delivery_id: int, token: str, **values: Any) -> bool:
    result = session.execute(
        update(OutboxMessage).where(_held(delivery_id, token)).values(**values),
        execution_options={"synchronize_session": False, "preserve_rowcount": True},
    )
    return result.rowcount == 1  # type: ignore[attr-defined]


def hold(
    session: Session, delivery_id: int, token: str, channel_id: str, since: datetime, now: datetime
) -> bool:
    """Renew this process's claim just before a post, noting where the post goes and since when.

    False when the claim ran out and another process took the row: leave it to them.
    """
    return _update_held(
        session,
        delivery_id,
        token,
        claimed_at=now,
        attempt_channel_id=channel_id,
        attempt_started_at=since,
    )


def hold_all(
    session: Session,
    token: str,
    now: datetime,
    attempts: Mapping[int, tuple[str, datetime]] | None = None,
    ids: Iterable[int] = (),
) -> set[int]:
    """`hold` for many rows in one statement: renew the claim on `ids` and on the rows of
    `attempts` (row id -> where its post goes and since when, noted as `hold` does).

    Returns the ids this process still holds; the others are another process's now.
    """
    wanted = {*ids, *(attempts or {})}
    if not wanted:
        return set()
    values: dict[str, Any] = {"claimed_at": now}
    if attempts:
        noted = OutboxMessage.id.in_(list(attempts))
        channels = {row_id: channel for row_id, (channel, _) in attempts.items()}
        sinces = {row_id: since for row_id, (_, since) in attempts.items()}
        values["attempt_channel_id"] = case(
            (noted, case(channels, value=OutboxMessage.id)), else_=OutboxMessage.attempt_channel_id
        )
        values["attempt_started_at"] = case(
            (noted, case(sinces, value=OutboxMessage.id)), else_=OutboxMessage.attempt_started_at
        )
    held = session.scalars(
        update(OutboxMessage)
        .where(
            OutboxMessage.id.in_(list(wanted)),
            OutboxMessage.claimed_by == token,
            OutboxMessage.status == OutboxStatus.SENDING,
        )
        .values(**values)
        .returning(OutboxMessage.id),
        execution_options={"synchronize_session": False},
    )
    return set(held)


def forget_attempts(session: Session, delivery_ids: Iterable[int], token: str) -> None:
    """Held rows noted for a post that was never tried: no lookup is needed next time."""
    session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id.in_(list(delivery_ids)),
            OutboxMessage.claimed_by == token,
            OutboxMessage.status == OutboxStatus.SENDING,
        )
        .values(attempt_channel_id=None, attempt_started_at=None),
        execution_options={"synchronize_session": False},
    )


def forget_attempt(session: Session, delivery_id: int, token: str) -> None:
    """Slack answered the post with a refusal: nothing landed, so no lookup is needed next time."""
    _update_held(session, delivery_id, token, attempt_channel_id=None, attempt_started_at=None)


def record_sent(
    session: Session, delivery: Delivery, channel_id: str, ts: str, now: datetime, *, token: str
) -> bool:
    """Mark the row sent; False (and nothing written) when this process no longer holds it."""
    recorded = _update_held(
        session,
        delivery.id,
        token,
        status=OutboxStatus.SENT,
        sent_at=now,
        sent_channel_id=channel_id,
        sent_ts=ts,
        last_error=None,
        claimed_by=None,
        attempt_channel_id=None,
        attempt_started_at=None,
    )
    if recorded and delivery.member_id is not None and delivery.channel_id is None:
        session.execute(
            update(Member).where(Member.id == delivery.member_id).values(dm_channel_id=channel_id),
            execution_options={"synchronize_session": False},
        )
    return recorded


def record_all_sent(
    session: Session,
    posted: Sequence[tuple[Delivery, str, str]],
    now: datetime,
    *,
    token: str,
) -> set[int]:
    """`record_sent` for many (delivery, channel, ts) in two statements at most; returns the
    ids recorded (the others are another process's now, and nothing was written for them)."""
    if not posted:
        return set()
    ids = [delivery.id for delivery, _, _ in posted]
    recorded = set(
        session.scalars(
            update(OutboxMessage)
            .where(
                OutboxMessage.id.in_(ids),
                OutboxMessage.claimed_by == token,
                OutboxMessage.status == OutboxStatus.SENDING,
            )
            .values(
                status=OutboxStatus.SENT,
                sent_at=now,
                sent_channel_id=case(
                    {d.id: channel for d, channel, _ in posted}, value=OutboxMessage.id
                ),
                sent_ts=case({d.id: ts for d, _, ts in posted}, value=OutboxMessage.id),
                last_error=None,
                claimed_by=None,
                attempt_channel_id=None,
                attempt_started_at=None,
            )
            .returning(OutboxMessage.id),
            execution_options={"synchronize_session": False},
        )
    )
    opened = {
        d.member_id: channel
        for d, channel, _ in posted
        if d.id in recorded and d.member_id is not None and d.channel_id is None
    }
    if opened:
        session.execute(
            update(Member)
            .where(Member.id.in_(list(opened)))
            .values(dm_channel_id=case(opened, value=Member.id)),
            execution_options={"synchronize_session": False},
        )
    return recorded


def record_failure(
    session: Session,
    delivery_id: int,
    error: str,
    now: datetime,
    *,
    transient: bool,
    token: str,
    on_gone: OnGone | None = None,
) -> bool:
    """Retry a passing failure later with backoff and jitter; give up on permanent ones, and
    tell whoever caused the message. A DM refused because its recipient's account is gone also
    calls `on_gone` for them. False when this process no longer holds the row."""
    row = session.scalars(
        select(OutboxMessage).where(_held(delivery_id, token)).with_for_update()
    ).one_or_none()
    if row is None:
        return False
    row.last_error, row.claimed_by, row.claimed_at = error[:500], None, None
    if not transient or row.attempts >= MAX_ATTEMPTS:
        row.status = OutboxStatus.FAILED
        _tell_actor(session, row, now)
        if on_gone is not None and error in GONE_ERRORS and row.recipient_member_id is not None:
            session.flush()
            on_gone(session, row.recipient_member_id, now)
        return True
    row.status = OutboxStatus.PENDING
    row.next_attempt_at = now + backoff(row.attempts)
    return True


def _tell_actor(session: Session, row: OutboxMessage, now: datetime) -> None:
    # Notices carry no actor, so a notice that fails tells nobody: never a notice about a notice.
    if row.actor_member_id is None or row.actor_member_id == row.recipient_member_id:
        return
    enqueue(
        session,
        workspace_id=row.workspace_id,
        kind=NOTICE_KIND,
        dedupe_key=f"{NOTICE_KIND}:{row.id}",
        due_at=now,
        now=now,
        member_id=row.actor_member_id,
        subject=("outbox", row.id),
        urgent=True,
        solicited=True,
    )


def backoff(attempts: int, rng: Callable[[], float] = random.random) -> timedelta:
    """Exponential, capped, with jitter so retries from many rows do not arrive together."""
    ceiling = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** max(attempts - 1, 0))
    return ceiling * (0.5 + rng() / 2)


def defer_workspace(
    session: Session, workspace_id: int, delivery_ids: list[int], until: datetime, *, token: str
) -> None:
    """Slack said 429: pause this workspace's sends and put its claimed rows back, unharmed."""
    session.execute(
        update(Workspace).where(Workspace.id == workspace_id).values(rate_limited_until=until),
        execution_options={"synchronize_session": False},
    )
    held = select(OutboxMessage).where(
        OutboxMessage.id.in_(delivery_ids),
        OutboxMessage.claimed_by == token,
        OutboxMessage.status == OutboxStatus.SENDING,
    )
    for row in session.scalars(held):
        _release(row)
        row.next_attempt_at = until


# Settled rows that other code still reads later: forget-me finds a person's public success
# posts through them, and the admin funnel counts prep prompts sent. Kept past the retention.
KEPT_KINDS = ("success_post", "prep_prompt")


def purge_settled(session: Session, before: datetime, limit: int) -> int:
    """Delete up to `limit` sent, skipped or cancelled rows created and due before `before`;
    returns how many. Pending, sending and failed rows are never touched."""
    ids = list(
        session.scalars(
            select(OutboxMessage.id)
            .where(
                OutboxMessage.status.in_([OutboxStatus.SENT, OutboxStatus.CANCELLED]),
                OutboxMessage.due_at < before,
                OutboxMessage.created_at < before,
                OutboxMessage.kind.not_in(KEPT_KINDS),
            )
            .limit(limit)
        )
    )
    if ids:
        session.execute(
            delete(OutboxMessage).where(OutboxMessage.id.in_(ids)),
            execution_options={"synchronize_session": False},
        )
    return len(ids)


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
    recipient, notice, told = aliased(Member), aliased(OutboxMessage), aliased(Member)
    failed = session.execute(
        select(
            OutboxMessage.id,
            OutboxMessage.kind,
            OutboxMessage.last_error,
            func.coalesce(
                recipient.slack_user_id,
                OutboxMessage.recipient_channel_id,
                OutboxMessage.recipient_group,
            ).label("to"),
            told.slack_user_id.label("told"),
            notice.status.label("notice_status"),
        )
        .outerjoin(recipient, recipient.id == OutboxMessage.recipient_member_id)
        .outerjoin(
            notice,
            and_(
                notice.subject_type == "outbox",
                notice.subject_id == OutboxMessage.id,
                notice.kind == NOTICE_KIND,
            ),
        )
        .outerjoin(told, told.id == notice.recipient_member_id)
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
