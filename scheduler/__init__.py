"""Us -> Slack, over time: APScheduler is only the clock; the database holds every message."""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from slack_sdk import WebClient
from sqlalchemy import delete, func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError
from sqlalchemy.orm import Session, sessionmaker

from bot.core.members import record_slack_profile
from bot.core.models import IdempotencyKey, OutboxMessage, OutboxStatus, ProcessedEvent
from bot.core.outbox import purge_settled
from bot.find.intros import expire_requests
from bot.program.nudges import queue_pair_nudges
from bot.program.refresh import REFRESH_BATCH, profiles_to_refresh
from bot.reframe.invitations import queue_digests
from handlers.directory import fetch_profile
from handlers.installs import WorkspaceTokens
from scheduler.delivery import Deliverer, TickReport

logger = logging.getLogger(__name__)
EVENT_MEMORY = timedelta(days=7)
SUMMARY_MINUTES = 15
PURGE_BATCH = 1000


class DeliveryTally:
    """What this process's delivery ticks did since the last summary line."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts = {"delivered": 0, "failed": 0, "retried": 0}

    def add(self, report: TickReport) -> None:
        with self._lock:
            self._counts["delivered"] += report.sent + report.found
            self._counts["failed"] += report.failed
            self._counts["retried"] += report.retried

    def take(self) -> dict[str, int]:
        with self._lock:
            counts, self._counts = self._counts, dict.fromkeys(self._counts, 0)
        return counts


def summarise_deliveries(tally: DeliveryTally, sessions: sessionmaker[Session]) -> None:
    """One line every SUMMARY_MINUTES, and only when something was sent or failed: an idle
    bot stays silent, a busy one writes 96 lines a day whatever its volume."""
    counts = tally.take()
    if not any(counts.values()):
        return
    with sessions.begin() as session:
        pending = session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.status == OutboxStatus.PENDING)
        )
    logger.info(
        "deliveries in the last %s minutes: delivered %s, failed %s, retried %s; %s pending",
        SUMMARY_MINUTES,
        counts["delivered"],
        counts["failed"],
        counts["retried"],
        pending,
        extra={**counts, "pending": pending},
    )


def forget_old_events(sessions: sessionmaker[Session], now: datetime) -> None:
    """Slack retries within minutes; a week of event ids and submission keys is plenty."""
    with sessions.begin() as session:
        session.execute(
            delete(ProcessedEvent).where(ProcessedEvent.received_at < now - EVENT_MEMORY)
        )
        session.execute(
            delete(IdempotencyKey).where(IdempotencyKey.created_at < now - EVENT_MEMORY)
        )


def purge_outbox(
    sessions: sessionmaker[Session], now: datetime, days: int, batch: int = PURGE_BATCH
) -> int:
    """Settled messages older than `days` go, a small batch per transaction, so neither
    delivery nor people's requests wait long on the table meanwhile. Returns how many."""
    purged = 0
    while True:
        with sessions.begin() as session:
            count = purge_settled(session, now - timedelta(days=days), batch)
        purged += count
        if count < batch:
            break
    if purged:
        logger.info("purged %s settled outbox messages older than %s days", purged, days)
    return purged


def monthly_digests(sessions: sessionmaker[Session], now: datetime) -> None:
    """On the first weekday of the month, mentors hear what their time achieved."""
    with sessions.begin() as session:
        queued = queue_digests(session, now)
    if queued:
        logger.info("queued %s monthly mentor digests", queued)


def nudge_quiet_pairs(sessions: sessionmaker[Session], now: datetime) -> None:
    """Pairs with nothing booked for two weeks get one kind nudge, at most once a fortnight."""
    with sessions.begin() as session:
        nudged = queue_pair_nudges(session, now)
    if nudged:
        logger.info("nudged %s quiet pairs", nudged)


def refresh_profiles(
    sessions: sessionmaker[Session],
    client: WebClient,
    now: datetime,
    batch: int = REFRESH_BATCH,
    tokens: WorkspaceTokens | None = None,
) -> int:
    """Names and time zones from users.info, a batch a minute: everyone once a day, within
    Slack's rate tier, and never inside a request. Returns how many were asked about.

    Under OAuth (`tokens`) each person is looked up with their own workspace's token."""
    with sessions.begin() as session:
        due = profiles_to_refresh(session, now, batch)
    for team_id, user_id in due:  # one lookup at a time, no transaction held across it
        team_client = client if tokens is None else tokens.client(team_id, client)
        if team_client is None:
            continue  # not installed there just now: they are asked about again tomorrow
        profile = fetch_profile(team_client, user_id)
        with sessions.begin() as session:
            record_slack_profile(session, team_id, user_id, profile, now)
    return len(due)


def housekeeping(sessions: sessionmaker[Session], now: datetime) -> None:
    """State that changes with time alone: requests nobody answered expire."""
    with sessions.begin() as session:
        expired = expire_requests(session, now)
    if expired:
        logger.info("expired %s unanswered mentor requests", expired)


def next_delivery(sessions: sessionmaker[Session], now: datetime) -> tuple[datetime, list[str]]:
    """When the delivery tick next has something to send after `now`, and its kinds (for the
    playground's clock); (now, []) when nothing waits."""
    with sessions.begin() as session:
        rows = session.execute(
            select(OutboxMessage.kind, OutboxMessage.due_at, OutboxMessage.next_attempt_at).where(
                OutboxMessage.status == OutboxStatus.PENDING
            )
        ).all()
    due: dict[datetime, list[str]] = {}
    for kind, due_at, retry_at in rows:
        moment = max(due_at, retry_at or due_at)
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        if moment > now:
            due.setdefault(moment, []).append(kind)
    if not due:
        return now, []
    soonest = min(due)
    return soonest, list(dict.fromkeys(due[soonest]))


def while_database_answers(job: Callable[[], object]) -> None:
    """Run one tick of a job; a database that does not answer costs this tick only.

    The engine's timeouts end the wait, the next tick tries again, and a warning line says so
    instead of a traceback every few seconds for as long as the outage lasts.
    """
    try:
        job()
    except (OperationalError, SQLAlchemyTimeoutError) as error:
        logger.warning(
            "the database did not answer, trying again next tick: %s",
            getattr(error, "orig", None) or error,
        )


def start_scheduler(
    deliverer: Deliverer,
    sessions: sessionmaker[Session],
    clock: Callable[[], datetime],
    daily_jobs: list[Callable[[datetime], None]] | None = None,
) -> BackgroundScheduler:
    """A delivery tick every DELIVERY_TICK_SECONDS and the daily jobs at 00:05 UTC.

    The job store is in memory on purpose: APScheduler's stores must not be shared between
    processes, and our outbox table already makes every send durable and claimed once.
    """
    jobs = [
        lambda now: forget_old_events(sessions, now),
        lambda now: while_database_answers(
            lambda: purge_outbox(sessions, now, deliverer.settings.outbox_retention_days)
        ),
        lambda now: monthly_digests(sessions, now),
        lambda now: nudge_quiet_pairs(sessions, now),
        *(daily_jobs or []),
    ]

    def run_daily() -> None:
        for job in jobs:
            job(clock())

    tally = DeliveryTally()
    scheduler = BackgroundScheduler(timezone="UTC")
    # While rows are due the job keeps sending (a tick that stopped at a time budget would
    # find its next firing taken by itself, max_instances=1, and sit idle until the one after);
    # it stops between batches when the scheduler shuts down.
    scheduler.add_job(
        lambda: while_database_answers(
            lambda: deliverer.run_due(
                math.inf, keep_going=lambda: scheduler.running, each=tally.add
            )
        ),
        "interval",
        seconds=deliverer.settings.delivery_tick_seconds,
        id="deliver",
        max_instances=1,
        coalesce=True,
        next_run_time=datetime.now(UTC),
    )
    scheduler.add_job(
        lambda: while_database_answers(lambda: housekeeping(sessions, clock())),
        "interval",
        minutes=1,
        id="housekeeping",
        max_instances=1,
        coalesce=True,
    )
    scheduler.add_job(
        lambda: while_database_answers(
            lambda: refresh_profiles(sessions, deliverer.client, clock(), tokens=deliverer.tokens)
        ),
        "interval",
        minutes=1,
        id="refresh_profiles",
        max_instances=1,
        coalesce=True,
    )
    scheduler.add_job(
        lambda: while_database_answers(lambda: summarise_deliveries(tally, sessions)),
        "interval",
        minutes=SUMMARY_MINUTES,
        id="summary",
        max_instances=1,
        coalesce=True,
    )
    scheduler.add_job(run_daily, "cron", hour=0, minute=5, id="daily", coalesce=True)
    scheduler.start()
    return scheduler
