"""Slack's Socket Mode on loopback: the WebSocket that apps.connections.open hands out.

What Slack does, as its Socket Mode guide describes it: every connection opens with a `hello`;
each thing a person does arrives as an envelope with an `envelope_id`, which the app must
acknowledge with `{"envelope_id", "payload"?}` (the payload is a slash command's or a modal
submission's response); an events_api envelope left unacknowledged is sent again with
`retry_attempt` + 1; and `{"type": "disconnect", "reason": "refresh_requested"}` tells the app
to fetch a new URL through apps.connections.open and reconnect. The WebSocket protocol itself
is the `websockets` library's.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import Server, ServerConnection, serve

# Slack waits about 3 seconds for an acknowledgement before counting a delivery as failed.
ACK_TIMEOUT_SECONDS = 3.0
# Slack retries an event three times (it waits a minute, then five, between them; the sandbox
# retries as soon as the acknowledgement is late).
EVENT_RETRIES = 3
# After a refresh request Slack closes the old connection itself if the app has not.
REFRESH_GRACE_SECONDS = 10.0
# How long an envelope waits for a connection (a reconnect in progress) before Slack gives up.
CONNECT_WAIT_SECONDS = 5.0
HOST = "applink-sandbox-1"
LOSABLE = ("envelope", "ack")

logger = logging.getLogger(__name__)


@dataclass
class Envelope:
    """One envelope for the app, and what became of it."""

    envelope_id: str
    type: str  # slash_commands | interactive | events_api
    payload: dict
    accepts_response_payload: bool
    retry_attempt: int = 0
    retry_reason: str = ""
    connection_id: int | None = None  # the connection that carried it; None: nobody connected
    lost: str | None = None  # "envelope": it never reached the app; "ack": its ack never came back
    acks: int = 0  # acknowledgements received (more than one would be the app's bug)
    ack_payload: dict | None = None
    ack_connection_id: int | None = None
    sent_at: float = 0.0
    acked_at: float | None = None

    def message(self) -> dict:
        return {
            "envelope_id": self.envelope_id,
            "payload": self.payload,
            "type": self.type,
            "accepts_response_payload": self.accepts_response_payload,
            "retry_attempt": self.retry_attempt,
            "retry_reason": self.retry_reason,
        }


@dataclass
class SocketConnection:
    """One WebSocket the app opened."""

    id: int
    opened_at: float
    websocket: ServerConnection = field(repr=False)
    hello: dict = field(default_factory=dict)
    disconnect_reason: str | None = None  # what Slack told it before it left
    close_at: float | None = None  # monotonic time Slack closes it (after a refresh request)
    closed_at: float | None = None

    @property
    def live(self) -> bool:
        """Open and not asked to go: new envelopes may use it."""
        return self.closed_at is None and self.disconnect_reason is None


@dataclass(frozen=True)
class Delivered:
    """The outcome of delivering one request as an envelope, shaped like an HTTP answer."""

    status: int
    body: str
    json: dict | None
    elapsed: float
    slack_error: str | None
    envelope: Envelope


class SocketModeServer:
    """Slack's Socket Mode service for one app, on a free loopback port."""

    def __init__(
        self,
        app_id: str,
        *,
        ack_timeout: float = ACK_TIMEOUT_SECONDS,
        connection_seconds: int = 3600,
    ) -> None:
        self.app_id = app_id
        self.ack_timeout = ack_timeout
        self.connect_wait = CONNECT_WAIT_SECONDS
        self.connection_seconds = connection_seconds
        self._changed = threading.Condition()
        self._ids = itertools.count(1)
        self._tickets: set[str] = set()
        self._connections: list[SocketConnection] = []
        self._envelopes: list[Envelope] = []
        self._by_id: dict[str, Envelope] = {}
        self._stray_acks: list[dict] = []
        self._lose: dict[str, int] = dict.fromkeys(LOSABLE, 0)
        self._refusing = False
        self._turn = 0
        self._server: Server | None = None
        self._thread: threading.Thread | None = None

    # ----------------------------------------------------------------- lifecycle

    def start(self) -> SocketModeServer:
        self._server = serve(
            self._serve_connection,
            "127.0.0.1",
            0,
            process_request=self._admit,
            compression=None,
            close_timeout=2,
            logger=logger,
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="fake-slack-socket-mode", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the Socket Mode server is not started")
        return self._server.socket.getsockname()[1]

    def open_url(self) -> str:
        """A fresh single-use WebSocket URL, as apps.connections.open returns it."""
        ticket = secrets.token_hex(16)
        with self._changed:
            self._tickets.add(ticket)
        # ws://, not wss://: nothing on loopback has a certificate for Slack's name.
        return f"ws://127.0.0.1:{self.port}/link/?ticket={ticket}&app_id={self.app_id}"

    # ----------------------------------------------------------------- inspection

    @property
    def connections(self) -> list[SocketConnection]:
        """Every connection so far, oldest first."""
        with self._changed:
            return list(self._connections)

    def live_connections(self) -> list[SocketConnection]:
        with self._changed:
            return [c for c in self._connections if c.live]

    @property
    def envelopes(self) -> list[Envelope]:
        """Every envelope so far (each retry is an envelope of its own), in order."""
        with self._changed:
            return list(self._envelopes)

    @property
    def stray_acks(self) -> list[dict]:
        """Messages from the app that acknowledged no envelope Slack knows."""
        with self._changed:
            return list(self._stray_acks)

    def wait_for_connections(self, count: int = 1, timeout: float = 10.0) -> list[SocketConnection]:
        """Block until `count` connections are live (each has had its hello)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(live := [c for c in self._connections if c.live]) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(
                        f"{len(live)} of {count} Socket Mode connections after {timeout:g}s"
                    )
                self._changed.wait(remaining)
            return live

    # ----------------------------------------------------------------- Slack's side of things

    def refresh(
        self, reason: str = "refresh_requested", grace: float = REFRESH_GRACE_SECONDS
    ) -> None:
        """Ask every live connection to reconnect; Slack closes each after `grace` seconds."""
        with self._changed:
            leaving = [c for c in self._connections if c.live]
            for connection in leaving:
                connection.disconnect_reason = reason
                connection.close_at = time.monotonic() + grace
        message = json.dumps({"type": "disconnect", "reason": reason, "debug_info": {"host": HOST}})
        for connection in leaving:
            with contextlib.suppress(ConnectionClosed):
                connection.websocket.send(message)

    def drop_connections(self, *, refuse_new: bool = True) -> None:
        """Slack's side goes away: every connection closes; by default new ones are refused."""
        with self._changed:
            self._refusing = refuse_new
            leaving = [c for c in self._connections if c.closed_at is None]
        for connection in leaving:
            connection.websocket.close(1011, "server error")

    def accept_connections(self) -> None:
        with self._changed:
            self._refusing = False

    def lose_next(self, what: str, times: int = 1) -> None:
        """The next `times` envelopes never reach the app ("envelope"), or the app's next
        `times` acknowledgements never reach Slack ("ack"): either way Slack sees no ack."""
        if what not in LOSABLE:
            raise ValueError(f"lose_next takes one of {LOSABLE}")
        with self._changed:
            self._lose[what] += times

    def deliver(
        self, kind: str, payload: dict, *, retry_attempt: int = 0, retry_reason: str = ""
    ) -> Envelope:
        """Send an envelope and wait for its ack; an unacknowledged event is sent again with
        retry_attempt + 1, up to EVENT_RETRIES times. Returns the last envelope sent."""
        attempt, reason = retry_attempt, retry_reason
        while True:
            envelope = Envelope(
                str(uuid.uuid4()), kind, payload, kind != "events_api", attempt, reason
            )
            self._send(envelope)
            if envelope.connection_id is None and envelope.lost is None:
                return envelope  # nobody was connected
            if self._acknowledged(envelope, self.ack_timeout):
                return envelope
            if kind != "events_api" or attempt - retry_attempt >= EVENT_RETRIES:
                return envelope
            attempt, reason = attempt + 1, "timeout"

    def deliver_request(self, body: bytes, content_type: str, headers: dict[str, str]) -> Delivered:
        """What the driver would POST over HTTP, delivered as Socket Mode carries it instead."""
        kind, payload = _envelope_content(body, content_type)
        wanted = {name.lower(): value for name, value in headers.items()}
        started = time.monotonic()
        envelope = self.deliver(
            kind,
            payload,
            retry_attempt=int(wanted.get("x-slack-retry-num", 0)),
            retry_reason=wanted.get("x-slack-retry-reason", ""),
        )
        if envelope.acked_at is None:
            error = (
                "dispatch_failed"
                if envelope.connection_id is None and not envelope.lost
                else "operation_timeout"
            )
            return Delivered(0, "", None, time.monotonic() - started, error, envelope)
        answer = envelope.ack_payload if envelope.accepts_response_payload else None
        elapsed = envelope.acked_at - envelope.sent_at
        body_text = json.dumps(answer) if answer is not None else ""
        return Delivered(200, body_text, answer, elapsed, None, envelope)

    # ----------------------------------------------------------------- the wire

    def _admit(self, websocket: ServerConnection, request: Any) -> Any:
        url = urlsplit(request.path)
        ticket = (parse_qs(url.query).get("ticket") or [""])[0]
        with self._changed:
            if self._refusing:
                return websocket.respond(503, "Socket Mode is unavailable\n")
            if url.path.rstrip("/") != "/link" or ticket not in self._tickets:
                return websocket.respond(401, "invalid or used ticket\n")
            self._tickets.discard(ticket)
        return None

    def _serve_connection(self, websocket: ServerConnection) -> None:
        with self._changed:
            record = SocketConnection(next(self._ids), time.time(), websocket)
            open_now = 1 + sum(1 for c in self._connections if c.closed_at is None)
        record.hello = {
            "type": "hello",
            "num_connections": open_now,
            "debug_info": {
                "host": HOST,
                "started": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3],
                "build_number": 1,
                "approximate_connection_time": self.connection_seconds,
            },
            "connection_info": {"app_id": self.app_id},
        }
        try:
            websocket.send(json.dumps(record.hello))
            with self._changed:
                self._connections.append(record)
                self._changed.notify_all()
            while True:
                try:
                    message = websocket.recv(timeout=0.1)
                except TimeoutError:
                    if record.close_at is not None and time.monotonic() >= record.close_at:
                        websocket.close(1001, "refresh")
                        return
                    continue
                self._receive(record, message)
        except ConnectionClosed:
            pass
        finally:
            with self._changed:
                record.closed_at = time.time()
                self._changed.notify_all()

    def _receive(self, record: SocketConnection, message: str | bytes) -> None:
        try:
            ack = json.loads(message)
        except ValueError:
            ack = None
        with self._changed:
            envelope = self._by_id.get(ack.get("envelope_id")) if isinstance(ack, dict) else None
            if envelope is None:
                self._stray_acks.append(ack if isinstance(ack, dict) else {"raw": message})
                return
            if self._lose["ack"]:
                self._lose["ack"] -= 1
                envelope.lost = "ack"
                return
            envelope.acks += 1
            if envelope.acked_at is None:
                envelope.acked_at = time.monotonic()
                payload = ack.get("payload")
                envelope.ack_payload = payload if isinstance(payload, dict) else None
                envelope.ack_connection_id = record.id
            self._changed.notify_all()

    def _send(self, envelope: Envelope) -> None:
        deadline = time.monotonic() + self.connect_wait
        with self._changed:
            self._envelopes.append(envelope)
            self._by_id[envelope.envelope_id] = envelope
        while True:
            with self._changed:
                while not (live := [c for c in self._connections if c.live]):
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        return
                    self._changed.wait(remaining)
                connection = live[self._turn % len(live)]
                self._turn += 1
                if self._lose["envelope"]:
                    self._lose["envelope"] -= 1
                    envelope.lost = "envelope"
                    envelope.sent_at = time.monotonic()
                    return
                envelope.connection_id = connection.id
                envelope.sent_at = time.monotonic()
            try:
                connection.websocket.send(json.dumps(envelope.message()))
                return
            except ConnectionClosed:
                with self._changed:
                    connection.closed_at = connection.closed_at or time.time()

    def _acknowledged(self, envelope: Envelope, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._changed:
            while envelope.acked_at is None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(remaining)
            return True


def _envelope_content(body: bytes, content_type: str) -> tuple[str, dict]:
    """The envelope type and payload for what Slack would POST over HTTP."""
    text = body.decode("utf-8")
    if content_type.startswith("application/json"):
        return "events_api", json.loads(text)
    form = dict(parse_qsl(text, keep_blank_values=True))
    if "payload" in form:
        return "interactive", json.loads(form["payload"])
    if "command" in form:
        return "slash_commands", form
    raise AssertionError("Socket Mode carries Slack's own payloads only, not this body")
