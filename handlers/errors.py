"""The one error handler: a friendly reply to the person, a log line with context for us."""

from __future__ import annotations

import json
import logging
from typing import Any

from slack_bolt import App, BoltResponse
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from bot.messages import build_error_reply
from handlers import Deps

logger = logging.getLogger("mentor_coach.errors")


def register(app: App, deps: Deps) -> None:
    @app.error
    def handle_error(
        error: Exception, body: dict[str, Any], response: BoltResponse | None, client: WebClient
    ) -> BoltResponse | None:
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
