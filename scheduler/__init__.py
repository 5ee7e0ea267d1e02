"""Us -> Slack, over time: APScheduler is only the clock; the database holds every message."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import delete
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError
from sqlalchemy.orm import Session, sessionmaker

from bot.core.models import IdempotencyKey, ProcessedEvent
from bot.find.intros import expire_requests
from bot.reframe.invitations import queue_digests
from scheduler.delivery import Deliverer

logger = logging.getLogger(__name__)
EVENT_MEMORY = timedelta(days=7)


def forget_old_events(sessions: sessionmaker[Session], now: datetime) -> None:
    """Slack retries within minutes; a week of event ids and submission keys is plenty."""
    with sessions.begin() as session:
        session.execute(
            delete(ProcessedEvent).where(ProcessedEvent.received_at < now - EVENT_MEMORY)
        )
        session.execute(
            delete(IdempotencyKey).where(IdempotencyKey.created_at < now - EVENT_MEMORY)
        )


def monthly_digests(sessions: sessionmaker[Session], now: datetime) -> None:
    """On the first weekday of the month, mentors hear what their time achieved."""
    with sessions.begin() as session:
        queued = queue_digests(session, now)
    if queued:
        logger.info("queued %s monthly mentor digests", queued)


def housekeeping(sessions: sessionmaker[Session], now: datetime) -> None:
    """State that changes with time alone: requests nobody answered expire."""
    with sessions.begin() as session:
        expired = expire_requests(session, now)
    if expired:
        logger.info("expired %s unanswered mentor requests", expired)


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
        lambda now: monthly_digests(sessions, now),
        *(daily_jobs or []),
    ]

    def run_daily() -> None:
        for job in jobs:
            job(clock())

    scheduler = BackgroundScheduler(timezone="UTC")
    scheduler.add_job(
        lambda: while_database_answers(deliverer.run_due),
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
    scheduler.add_job(run_daily, "cron", hour=0, minute=5, id="daily", coalesce=True)
    scheduler.start()
    return scheduler
