"""The delivery tick: claim due outbox rows, send them through Slack, record what happened."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.orm import Session, sessionmaker

from bot import outbox
from bot.outbound import FAILURE_HOOKS, RENDERERS
from bot.settings import Settings

logger = logging.getLogger(__name__)
BATCH_SIZE = 50


@dataclass
class TickReport:
    claimed: int = 0
    sent: int = 0
    failed: int = 0
    retried: int = 0
    deferred: int = 0


def make_delivery_client(settings: Settings, timeout: int = 10) -> WebClient:
    """No built-in retry handlers: a retry here would sleep in the tick; we reschedule instead."""
    return WebClient(
        token=settings.slack_bot_token,
        base_url=settings.slack_api_url,
        timeout=timeout,
        retry_handlers=[],
    )


class Deliverer:
    """Sends due outbox rows. Any number of processes may run one: claims never overlap."""

    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        client: WebClient,
        clock: Callable[[], datetime],
        renderers: Mapping[str, outbox.Renderer] = RENDERERS,
        batch_size: int = BATCH_SIZE,
        failure_hooks: Mapping[str, outbox.FailureHook] = FAILURE_HOOKS,
    ) -> None:
        self.failure_hooks = failure_hooks
        self.settings = settings
        self.sessions = sessions
        self.client = client
        self.clock = clock
        self.renderers = renderers
        self.batch_size = batch_size

    def run_due(self, budget_seconds: float | None = None) -> TickReport:
        """Deliver batches until nothing is due or the time budget (one tick) is spent."""
        budget = (
            budget_seconds if budget_seconds is not None else self.settings.delivery_tick_seconds
        )
        started, total = time.monotonic(), TickReport()
        while True:
            report = self.tick()
            for name in vars(total):
                setattr(total, name, getattr(total, name) + getattr(report, name))
            if report.claimed < self.batch_size or time.monotonic() - started >= budget:
                return total

    def tick(self) -> TickReport:
        """One batch: claim and decide in one transaction, then send each outside of it."""
        report = TickReport()
        now = self.clock()
        with self.sessions.begin() as session:
            rows = outbox.claim_due(session, now, self.batch_size)
            report.claimed = len(rows)
            deliveries = outbox.prepare(
                session,
                rows,
                now,
                renderers=self.renderers,
                quiet_hours=self.settings.quiet_hours,
                daily_limit=self.settings.daily_nudge_limit,
            )
        report.deferred = report.claimed - len(deliveries)
        paused: set[int] = set()
        for index, delivery in enumerate(deliveries):
            if delivery.workspace_id in paused:
                continue
            try:
                channel, ts = self._send(delivery)
            except SlackApiError as error:
                if error.response.status_code == 429:
                    paused.add(delivery.workspace_id)
                    report.deferred += self._defer_workspace(delivery, deliveries[index:], error)
                    continue
                self._fail(delivery, error, report)
                continue
            except OSError as error:  # timeouts and refused or dropped connections
                self._fail(delivery, error, report)
                continue
            with self.sessions.begin() as session:
                outbox.record_sent(session, delivery, channel, ts, self.clock())
            report.sent += 1
        return report

    def _send(self, delivery: outbox.Delivery) -> tuple[str, str]:
        channel = delivery.channel_id
        if channel is None:
            opened = self.client.conversations_open(users=delivery.users)
            channel = opened["channel"]["id"]
        response = self.client.chat_postMessage(
            channel=channel,
            text=delivery.message.text,
            blocks=delivery.message.blocks or None,
            unfurl_links=False,
        )
        return response["channel"], response["ts"]

    def _fail(self, delivery: outbox.Delivery, error: Exception, report: TickReport) -> None:
        code, transient = _classify(error)
        with self.sessions.begin() as session:
            outbox.record_failure(
                session,
                delivery.id,
                code,
                self.clock(),
                transient=transient,
                hooks=self.failure_hooks,
            )
        if transient:
            report.retried += 1
            logger.info("outbox %s: %s, will retry", delivery.id, code)
        else:
            report.failed += 1
            logger.warning("outbox %s failed for good: %s", delivery.id, code)

    def _defer_workspace(
        self, delivery: outbox.Delivery, rest: list[outbox.Delivery], error: SlackApiError
    ) -> int:
        retry_after = _retry_after(error)
        until = self.clock() + timedelta(seconds=retry_after)
        ids = [d.id for d in rest if d.workspace_id == delivery.workspace_id]
        with self.sessions.begin() as session:
            outbox.defer_workspace(session, delivery.workspace_id, ids, until)
        logger.info("rate limited: workspace %s waits %ss", delivery.workspace_id, retry_after)
        return len(ids)


def _retry_after(error: SlackApiError) -> int:
    try:
        return max(1, int(error.response.headers.get("Retry-After", 1)))
    except (TypeError, ValueError):
        return 1


def _classify(error: Exception) -> tuple[str, bool]:
    """The error's name, and whether trying again later could succeed."""
    if isinstance(error, SlackApiError):
        status = error.response.status_code
        if status >= 500:
            return f"http_{status}", True
        data = error.response.data
        code = (data.get("error") if isinstance(data, dict) else None) or f"http_{status}"
        if code in outbox.PERMANENT_ERRORS:
            return code, False
        return code, code in outbox.TRANSIENT_ERRORS
    return type(error).__name__, True
