"""The delivery tick: claim due outbox rows, send them through Slack, record what happened."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError
from sqlalchemy.orm import Session, sessionmaker

from bot.core import installs, outbox
from bot.core.block_limits import OverSlackLimits
from bot.core.settings import Settings
from bot.find.leaving import member_left_by_id
from bot.renderers import RENDERERS
from handlers.installs import DEAD_TOKEN_ERRORS, WorkspaceTokens

logger = logging.getLogger(__name__)
BATCH_SIZE = 200
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
        tokens: WorkspaceTokens | None = None,
    ) -> None:
        timeout = timedelta(seconds=client.timeout)
        if 2 * timeout >= outbox.LEASE:
            raise ValueError(
                f"the outbox lease ({outbox.LEASE}) must outlast two Slack calls ({timeout} each)"
            )
        self.settings = settings
        self.sessions = sessions
        self._client = client
        # OAuth: each workspace's token from its install. None: the one token `client` carries.
        self.tokens = tokens
        self._serving = threading.local()
        self.clock = clock
        self.renderers = renderers
        self.batch_size = batch_size

    @property
    def client(self) -> WebClient:
        """The client for the workspace being delivered to right now (its own token under
        OAuth), else the one this deliverer was given."""
        return getattr(self._serving, "client", None) or self._client

    def _serve_workspace(self, delivery: outbox.Delivery) -> bool:
        """Under OAuth, send as the row's workspace; False when the app has no token there."""
        if self.tokens is None:
            return True
        client = self.tokens.client_for_workspace(delivery.workspace_id, self._client)
        self._serving.client = client
        return client is not None

    def _hold_workspace(
        self, delivery: outbox.Delivery, rest: list[outbox.Delivery], token: str
    ) -> int:
        """No live token there (uninstalled, revoked): its rows wait, unharmed, for a new
        install (which resumes them) or the hold's end (when we look again)."""
        if self.tokens is not None:
            self.tokens.forget_workspace(delivery.workspace_id)
        until = self.clock() + installs.HOLD
        ids = [d.id for d in rest if d.workspace_id == delivery.workspace_id]
        with self.sessions.begin() as session:
            outbox.defer_workspace(session, delivery.workspace_id, ids, until, token=token)
        logger.info(
            "workspace %s has no live token: %s messages held", delivery.workspace_id, len(ids)
        )
        return len(ids)

    def run_due(
        self,
        budget_seconds: float | None = None,
        *,
        keep_going: Callable[[], bool] = lambda: True,
        each: Callable[[TickReport], None] | None = None,
    ) -> TickReport:
        """Deliver batches until nothing is due, the time budget (one tick unless given) is
        spent, or `keep_going()` says stop; `each` hears about every batch as it ends."""
        budget = (
            budget_seconds if budget_seconds is not None else self.settings.delivery_tick_seconds
        )
        started, total = time.monotonic(), TickReport()
        while True:
            report = self.tick()
            if each is not None:
                each(report)
            for name in vars(total):
                setattr(total, name, getattr(total, name) + getattr(report, name))
            if (
                report.claimed < self.batch_size
                or time.monotonic() - started >= budget
                or not keep_going()
            ):
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
        posted: list[tuple[outbox.Delivery, str, str]] = []
        # DMs and group DMs opened in this batch: a pair's booking and agenda need one open.
        # Only for the batch: someone who leaves later is caught by the next open.
        self._serving.opened = {}
        try:
            self._send_all(deliveries, token, unsure, report, posted)
        finally:
            self._serving.client = None
            # Recorded together: until then each row says where its post went (attempt_*),
            # so a process that dies first loses nothing and the next holder finds the post.
            self._record(posted, token, report)
        return report

    def _send_all(
        self,
        deliveries: list[outbox.Delivery],
        token: str,
        unsure: dict[int, tuple[str, datetime]],
        report: TickReport,
        posted: list[tuple[outbox.Delivery, str, str]],
    ) -> None:
        """Send each in turn. Rows whose channel is known are held in one statement, renewed
        together while half the lease's spare time remains, so each Slack call that could post
        still starts with at least two timeouts left on its claim."""
        timeout = timedelta(seconds=self.client.timeout)
        renew_every = (outbox.LEASE - 2 * timeout) / 2
        since = self.clock()
        known: dict[int, tuple[str, datetime]] = {}
        for delivery in deliveries:
            if delivery.id in unsure:
                known[delivery.id] = unsure[delivery.id]
            elif delivery.channel_id is not None:
                known[delivery.id] = (delivery.channel_id, since)
        with self.sessions.begin() as session:
            held = outbox.hold_all(session, token, self.clock(), attempts=known)
        held_at = self.clock()
        fresh = set(known) - set(unsure)  # noted for a post by this batch alone
        paused: set[int] = set()
        for index, delivery in enumerate(deliveries):
            if delivery.workspace_id in paused:
                continue
            if self.clock() >= held_at + renew_every:
                # What went out meanwhile is recorded now, before its claim can run out.
                self._record(posted, token, report)
                posted.clear()
                rest = {d.id for d in deliveries[index:]} & held
                with self.sessions.begin() as session:
                    held = outbox.hold_all(session, token, self.clock(), ids=rest)
                held_at = self.clock()
            if problems := delivery.message.problems():
                self._fail(delivery, OverSlackLimits(problems), report, token)
                continue
            if not self._serve_workspace(delivery):
                paused.add(delivery.workspace_id)
                self._untried(delivery, deliveries[index:], fresh, token)
                report.deferred += self._hold_workspace(delivery, deliveries[index:], token)
                continue
            earlier = unsure.get(delivery.id)
            try:
                if delivery.id in known and delivery.id not in held:
                    outcome = None
                else:
                    outcome = self._send(delivery, token, earlier, delivery.id in held)
            except SlackApiError as error:
                if error.response.status_code == 429:
                    paused.add(delivery.workspace_id)
                    rest = deliveries[index:]
                    self._untried(delivery, rest, fresh, token)
                    report.deferred += self._defer_workspace(delivery, rest, error, token)
                    continue
                if self.tokens is not None and error.response.get("error") in DEAD_TOKEN_ERRORS:
                    paused.add(delivery.workspace_id)
                    self._untried(delivery, deliveries[index:], fresh, token)
                    report.deferred += self._hold_workspace(delivery, deliveries[index:], token)
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
            posted.append((delivery, channel, ts))
            report.sent += 1
            report.found += found

    def _untried(
        self,
        delivery: outbox.Delivery,
        rest: list[outbox.Delivery],
        fresh: set[int],
        token: str,
    ) -> None:
        """Its workspace is paused: the rows of it this batch noted but never posted need no
        history lookup next time (conversations.history has a rate limit of its own)."""
        ids = [d.id for d in rest if d.workspace_id == delivery.workspace_id and d.id in fresh]
        if ids:
            with self.sessions.begin() as session:
                outbox.forget_attempts(session, ids, token)

    def _record(
        self, posted: list[tuple[outbox.Delivery, str, str]], token: str, report: TickReport
    ) -> None:
        if not posted:
            return
        with self.sessions.begin() as session:
            recorded = outbox.record_all_sent(session, posted, self.clock(), token=token)
        for delivery, _, _ in posted:
            if delivery.id not in recorded:
                # Cannot happen while the lease outlasts a call; said loudly if it ever does.
                logger.warning("outbox %s: sent, but another process had taken it", delivery.id)

    def _send(
        self,
        delivery: outbox.Delivery,
        token: str,
        unsure: tuple[str | None, datetime | None] | None,
        held: bool = False,
    ) -> tuple[str, str, bool] | None:
        """Post the message once: (channel, ts, whether it had landed before), or None when
        another process holds the row now. `held`: its claim was just renewed with its channel."""
        earlier_channel, since = unsure or (None, None)
        opened: dict[tuple[int, str | None], str] = getattr(self._serving, "opened", {})
        key = (delivery.workspace_id, delivery.users)
        channel = earlier_channel or delivery.channel_id or opened.get(key)
        if channel is None:
            answer = self.client.conversations_open(users=delivery.users)
            channel = opened[key] = answer["channel"]["id"]
        since = since or self.clock()
        if not held and not self._hold(delivery, token, channel, since):
            return None
        if unsure:
            ts = self._find_posted(delivery, token, channel, since)
            if ts == "":
                return None
            if ts is not None:
                logger.info("outbox %s had been posted after all (%s)", delivery.id, ts)
                return channel, ts, True
        try:
            if delivery.message.file is not None:
                return channel, self._upload(channel, delivery.message), False
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

    def _upload(self, channel: str, message: outbox.Outgoing) -> str:
        """Share the file with its comment (files.uploadV2, as `/mentor my-data` does); the
        answer names the file but not the message, so the file id stands for the ts. Its three
        calls all fit in the claim (a lease outlasts far more than three timeouts in production);
        only the last one can post."""
        assert message.file is not None
        try:
            response = self.client.files_upload_v2(
                channel=channel,
                filename=message.file.filename,
                title=message.file.title,
                content=message.file.content,
                initial_comment=message.text,
            )
        except SlackRequestError as error:  # the bytes themselves were refused: nothing shared
            raise ConnectionError(str(error)) from error
        return str(response["file"]["id"])

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
            file = delivery.message.file
            for message in page.get("messages") or []:
                metadata = message.get("metadata") or {}
                payload = metadata.get("event_payload") or {}
                if (
                    metadata.get("event_type") == outbox.METADATA_EVENT
                    and payload.get("outbox_id") == delivery.id
                ):
                    return str(message["ts"])
                # A file share carries no metadata: its file name is unique to the row.
                shared = [
                    f.get("id")
                    for f in message.get("files") or []
                    if file is not None and f.get("name") == file.filename
                ]
                if shared:
                    return str(shared[0] or message["ts"])
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
