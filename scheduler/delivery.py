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

from bot.core import outbox
from bot.core.block_limits import OverSlackLimits
from bot.core.settings import Settings
from bot.find.leaving import member_left_by_id
from bot.renderers import RENDERERS

logger = logging.getLogger(__name__)
BATCH_SIZE = 50
# Slack's ts and our clock may disagree a little; look back this much further than the attempt.
HISTORY_MARGIN = timedelta(minutes=5)
HISTORY_PAGE = 200


@dataclass
class TickReport:
    claimed: int = 0
    sent: int = 0
    failed: int = 0
    retried: int = 0
    deferred: int = 0
    found: int = 0  # an earlier attempt had landed after all: recorded, not posted again
    taken: int = 0  # the claim ran out and another process holds the row now


def make_delivery_client(settings: Settings, timeout: float = 10) -> WebClient:
    """No built-in retry handlers: a retry here would sleep in the tick; we reschedule instead."""
    return WebClient(
        token=settings.slack_bot_token,
        base_url=settings.slack_api_url,
        timeout=timeout,
        retry_handlers=[],
    )


class Deliverer:
    """Sends due outbox rows. Any number of processes may run one: claims never overlap.

    A batch may take longer than the claim's lease (slow Slack, 50 sends): rather than bound
    the batch, each row's claim is renewed (`outbox.hold`) right before every Slack call that
    could post it, so a claim only has to outlast one call, whatever the batch size. A row whose
    claim ran out before its turn is left to whoever holds it now.
    """

    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        client: WebClient,
        clock: Callable[[], datetime],
        renderers: Mapping[str, outbox.Renderer] = RENDERERS,
        batch_size: int = BATCH_SIZE,
    ) -> None:
        timeout = timedelta(seconds=client.timeout)
        if 2 * timeout >= outbox.LEASE:
            raise ValueError(
                f"the outbox lease ({outbox.LEASE}) must outlast two Slack calls ({timeout} each)"
            )
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
            token = (rows[0].claimed_by or "") if rows else ""
            unsure = {
                row.id: (row.attempt_channel_id, row.attempt_started_at)
                for row in rows
                if row.attempt_channel_id and row.attempt_started_at
            }
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
            if problems := delivery.message.problems():
                self._fail(delivery, OverSlackLimits(problems), report, token)
                continue
            try:
                outcome = self._send(delivery, token, unsure.get(delivery.id))
            except SlackApiError as error:
                if error.response.status_code == 429:
                    paused.add(delivery.workspace_id)
                    rest = deliveries[index:]
                    report.deferred += self._defer_workspace(delivery, rest, error, token)
                    continue
                self._fail(delivery, error, report, token)
                continue
            except OSError as error:  # timeouts and refused or dropped connections
                self._fail(delivery, error, report, token)
                continue
            if outcome is None:
                report.taken += 1
                continue
            channel, ts, found = outcome
            with self.sessions.begin() as session:
                recorded = outbox.record_sent(
                    session, delivery, channel, ts, self.clock(), token=token
                )
            if not recorded:
                # Cannot happen while the lease outlasts a call; said loudly if it ever does.
                logger.warning("outbox %s: sent, but another process had taken it", delivery.id)
            report.sent += 1
            report.found += found
        return report

    def _send(
        self,
        delivery: outbox.Delivery,
        token: str,
        unsure: tuple[str | None, datetime | None] | None,
    ) -> tuple[str, str, bool] | None:
        """Post the message once: (channel, ts, whether it had landed before), or None when
        another process holds the row now."""
        earlier_channel, since = unsure or (None, None)
        channel = earlier_channel or delivery.channel_id
        if channel is None:
            opened = self.client.conversations_open(users=delivery.users)
            channel = opened["channel"]["id"]
        since = since or self.clock()
        if not self._hold(delivery, token, channel, since):
            return None
        if unsure:
            ts = self._find_posted(delivery, token, channel, since)
            if ts == "":
                return None
            if ts is not None:
                logger.info("outbox %s had been posted after all (%s)", delivery.id, ts)
                return channel, ts, True
        try:
            response = self.client.chat_postMessage(
                channel=channel,
                text=delivery.message.text,
                blocks=delivery.message.blocks or None,
                unfurl_links=False,
                metadata={
                    "event_type": outbox.METADATA_EVENT,
                    "event_payload": {"outbox_id": delivery.id},
                },
            )
        except SlackApiError as error:
            if error.response.status_code < 500:  # Slack answered: nothing was posted
                with self.sessions.begin() as session:
                    outbox.forget_attempt(session, delivery.id, token)
            raise
        return response["channel"], response["ts"], False

    def _hold(self, delivery: outbox.Delivery, token: str, channel: str, since: datetime) -> bool:
        with self.sessions.begin() as session:
            return outbox.hold(session, delivery.id, token, channel, since, self.clock())

    def _find_posted(
        self, delivery: outbox.Delivery, token: str, channel: str, since: datetime
    ) -> str | None:
        """The ts of an earlier post of this row in the channel since `since`, None if there is
        none, "" if the claim ran out while looking."""
        oldest = f"{(since - HISTORY_MARGIN).timestamp():.6f}"
        cursor = None
        while True:
            try:
                page = self.client.conversations_history(
                    channel=channel,
                    oldest=oldest,
                    include_all_metadata=True,
                    limit=HISTORY_PAGE,
                    cursor=cursor,
                )
            except SlackApiError as error:
                code, transient = _classify(error)
                if transient or error.response.status_code == 429:
                    raise
                # Unreadable history (a missing scope, say): a possible repeat beats a loss.
                logger.warning(
                    "outbox %s: cannot check %s (%s); posting", delivery.id, channel, code
                )
                return None
            for message in page.get("messages") or []:
                metadata = message.get("metadata") or {}
                payload = metadata.get("event_payload") or {}
                if (
                    metadata.get("event_type") == outbox.METADATA_EVENT
                    and payload.get("outbox_id") == delivery.id
                ):
                    return str(message["ts"])
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not page.get("has_more") or not cursor:
                return None
            if not self._hold(delivery, token, channel, since):
                return ""

    def _fail(
        self, delivery: outbox.Delivery, error: Exception, report: TickReport, token: str
    ) -> None:
        code, transient = _classify(error)
        with self.sessions.begin() as session:
            held = outbox.record_failure(
                session,
                delivery.id,
                code,
                self.clock(),
                transient=transient,
                token=token,
                on_gone=member_left_by_id,
            )
        if not held:
            report.taken += 1
            logger.warning("outbox %s: %s, but another process had taken it", delivery.id, code)
            return
        if transient:
            report.retried += 1
            logger.info("outbox %s: %s, will retry", delivery.id, code)
        else:
            report.failed += 1
            logger.warning("outbox %s failed for good: %s", delivery.id, code)

    def _defer_workspace(
        self,
        delivery: outbox.Delivery,
        rest: list[outbox.Delivery],
        error: SlackApiError,
        token: str,
    ) -> int:
        retry_after = _retry_after(error)
        until = self.clock() + timedelta(seconds=retry_after)
        ids = [d.id for d in rest if d.workspace_id == delivery.workspace_id]
        with self.sessions.begin() as session:
            outbox.defer_workspace(session, delivery.workspace_id, ids, until, token=token)
        logger.info("rate limited: workspace %s waits %ss", delivery.workspace_id, retry_after)
        return len(ids)


def _retry_after(error: SlackApiError) -> int:
    try:
        return max(1, int(error.response.headers.get("Retry-After", 1)))
    except (TypeError, ValueError):
        return 1


def _classify(error: Exception) -> tuple[str, bool]:
    """The error's name, and whether trying again later could succeed."""
    if isinstance(error, OverSlackLimits):
        return str(error), False
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
