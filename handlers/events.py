"""Events API: the Home tab, direct messages, and de-duplication of Slack's retries."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltResponse
from slack_sdk import WebClient

from bot.inbox import first_delivery
from bot.messages import build_dm_reply
from handlers import Deps
from handlers.directory import sync_member
from handlers.home import publish_home

logger = logging.getLogger(__name__)


def register(app: App, deps: Deps) -> None:
    @app.middleware
    def skip_retried_events(body: dict[str, Any], next: Callable[[], None]) -> Any:
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if event_id:
            with deps.sessions.begin() as session:
                if not first_delivery(session, event_id, deps.clock()):
                    logger.info("skipping event %s: already handled", event_id)
                    return BoltResponse(status=200, body="")
        return next()

    @app.event("app_home_opened")
    def handle_app_home_opened(
        event: dict[str, Any], body: dict[str, Any], client: WebClient
    ) -> None:
        if event.get("tab", "home") != "home":
            return
        team_id, user_id = body["team_id"], event["user"]
        sync_member(client, deps, team_id, user_id)
        publish_home(client, deps, team_id, user_id)

    @app.event({"type": "message", "subtype": None}, matchers=[is_direct_message])
    def handle_direct_message(
        event: dict[str, Any], body: dict[str, Any], client: WebClient
    ) -> None:
        sync_member(client, deps, body["team_id"], event["user"])
        client.chat_postMessage(channel=event["channel"], **build_dm_reply())

    @app.event("message")
    def handle_other_messages() -> None:
        """Edits, deletions and channel chatter: nothing to do yet, but Slack needs the ack."""


def is_direct_message(event: dict[str, Any]) -> bool:
    """A person writing in their DM with the bot (Bolt already drops the bot's own messages)."""
    return event.get("channel_type") == "im" and not event.get("bot_id")
