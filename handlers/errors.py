"""The one error handler: a friendly reply to the person, a log line with context for us."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, BoltContext, BoltResponse
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from bot.core.blocks import build_error_reply
from handlers.deps import Deps

logger = logging.getLogger("mentor_coach.errors")
VERIFIED = "mentor_coach_verified"


# Slack gives up on an ack after 3 seconds; this leaves time for the answer to travel.
ACK_DEADLINE_SECONDS = 2.5


class KeptAck(Ack):
    """An ack that is given in time, and that once given stays given.

    In time: a listener that has not acked by the deadline (its database hangs, say) would turn
    into Slack's "operation_timeout". So when a response_url can carry the answer later, the
    request is acked empty at the deadline and whatever the listener acks afterwards, answer or
    apology, goes through the response_url instead.

    Stays given: when a listener raises after ack(), Bolt's thread runner sets ack.response
    back to None while the request thread may still be polling for it (every 10 ms); the
    request would then wait out the ack timeout and answer 404. The person already has their
    answer; the error handler tells them about the failure.
    """

    def __init__(
        self, response_url: str | None = None, deadline: float = ACK_DEADLINE_SECONDS
    ) -> None:
        self._lock = threading.Lock()
        self._response: BoltResponse | None = None
        self._response_url = response_url
        self._due = time.monotonic() + deadline
        self._lapsed = False
        super().__init__()

    @property  # type: ignore[override]
    def response(self) -> BoltResponse | None:
        with self._lock:
            if self._response is None and self._response_url and time.monotonic() >= self._due:
                self._response, self._lapsed = BoltResponse(status=200, body=""), True
            return self._response

    @response.setter
    def response(self, value: BoltResponse | None) -> None:
        with self._lock:
            late = self._lapsed and value is not None
            if value is not None and not self._lapsed:
                self._response = value
        if late and self._response_url and value is not None:
            _send_late(self._response_url, value)


def _send_late(response_url: str, response: BoltResponse) -> None:
    body = response.body or ""
    message = json.loads(body) if body.startswith("{") else {"text": body}
    if not (message.get("text") or message.get("blocks")):
        return
    try:
        WebhookClient(response_url).send_dict(message)
    except (SlackApiError, OSError) as failure:
        logger.warning("could not send a late answer: %r", failure)


def register(app: App, deps: Deps) -> None:
    @app.middleware
    def remember_verified(
        context: BoltContext, body: dict[str, Any], next: Callable[[], None]
    ) -> Any:
        """Bolt runs our middleware only after its signature check passed (Socket Mode needs none:
        the connection itself is authenticated), so this mark means the request is Slack's."""
        context[VERIFIED] = True
        # A modal's answer (errors, update) can't travel by response_url: a late one would
        # only close it, so a submission keeps Slack's own "trouble connecting" instead.
        late_answers = body.get("type") != "view_submission"
        context["ack"] = KeptAck(context.response_url if late_answers else None)
        return next()

    @app.error
    def handle_error(
        error: Exception,
        body: dict[str, Any],
        context: BoltContext,
        response: BoltResponse | None,
        client: WebClient,
    ) -> BoltResponse | None:
        if not context.get(VERIFIED):
            # Everything in an unverified body is the sender's choice: no ids in the log, no
            # reply to its response_url or its user, and no answer but a refusal.
            logger.warning("refused a request that failed verification (%s)", type(error).__name__)
            if response is None:
                return None
            return BoltResponse(status=401, body='{"error": "invalid request"}')
        logger.error("unhandled error in %s: %r", request_summary(body), error, exc_info=error)
        reply = build_error_reply()
        # Events are acked before their listener runs; anything else not yet acked can carry
        # the apology in the HTTP answer itself.
        if response is not None and body.get("type") != "event_callback":
            return BoltResponse(status=200, body=_ack_body(body, reply))
        try:
            _tell_user(body, client, reply)
        except (SlackApiError, OSError) as failure:
            logger.warning("could not tell the user about the error: %r", failure)
        return None


def request_summary(body: dict[str, Any]) -> str:
    """Who did what, for logs: ids and names only, never tokens or what people typed."""
    user = (
        body.get("user_id")
        or (body.get("user") or {}).get("id")
        or body.get("event", {}).get("user")
    )
    what = (
        body.get("command")
        or ",".join(a.get("action_id", "?") for a in body.get("actions") or [])
        or (body.get("view") or {}).get("callback_id")
        or (body.get("event") or {}).get("type")
        or "?"
    )
    team = body.get("team_id") or (body.get("team") or {}).get("id")
    return f"{body.get('type') or 'slash_command'} {what} (team={team}, user={user})"


def _ack_body(body: dict[str, Any], reply: dict[str, Any]) -> str:
    if body.get("type") == "view_submission":
        view = {
            "type": "modal",
            "title": {"type": "plain_text", "text": "Mentor Coach"},
            "close": {"type": "plain_text", "text": "Close"},
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": reply["text"]}}],
        }
        return json.dumps({"response_action": "update", "view": view})
    return json.dumps(reply)


def _tell_user(body: dict[str, Any], client: WebClient, reply: dict[str, Any]) -> None:
    response_url = body.get("response_url") or next(
        (r.get("response_url") for r in body.get("response_urls") or []), None
    )
    if response_url:
        WebhookClient(response_url).send_dict(reply)
        return
    user = (body.get("user") or {}).get("id") or (body.get("event") or {}).get("user")
    if user:
        client.chat_postMessage(channel=user, text=reply["text"])
