"""Events API: the Home tab, direct messages, and de-duplication of Slack's retries."""

from __future__ import annotations

import functools
import html
import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bot.core.blocks import build_dm_without_words
from bot.core.inbox import first_delivery
from bot.core.typed import clean_text, is_user_id
from bot.find.leaving import account_changed
from bot.home.blocks import build_dm_reply
from bot.prepare.blocks import build_agenda_added, build_meeting_started
from bot.prepare.meetings import Captured, capture_dm, delete_dm_item, edit_dm_item
from handlers.deps import Deps
from handlers.directory import sync_member
from handlers.home import publish_home

logger = logging.getLogger(__name__)


def register(app: App, deps: Deps) -> None:
    def once(listener: Callable[..., None]) -> Callable[..., None]:
        """Slack retries an event it thinks failed: act on each event_id once.

        Checked inside the listener, which Bolt runs after acking events, so a slow or hung
        database never delays the ack (a late ack is exactly what makes Slack retry).
        The listener must take `body`.
        """

        @functools.wraps(listener)
        def run(**kwargs: Any) -> None:
            event_id = kwargs["body"].get("event_id")
            if event_id:
                with deps.sessions.begin() as session:
                    if not first_delivery(session, event_id, deps.clock()):
                        logger.info("skipping event %s: already handled", event_id)
                        return
            listener(**kwargs)

        return run

    @app.event("app_home_opened")
    @once
    def handle_app_home_opened(
        event: dict[str, Any], body: dict[str, Any], client: WebClient
    ) -> None:
        if event.get("tab", "home") != "home":
            return
        team_id, user_id = body["team_id"], event["user"]
        sync_member(client, deps, team_id, user_id)
        publish_home(client, deps, team_id, user_id)

    @app.event({"type": "message", "subtype": None}, matchers=[is_direct_message])
    @once
    def handle_direct_message(
        event: dict[str, Any], body: dict[str, Any], client: WebClient
    ) -> None:
        channel, ts = event["channel"], event["ts"]
        sync_member(client, deps, body["team_id"], event["user"])
        text = typed(event)
        with deps.sessions.begin() as session:
            captured = capture_dm(
                session, body["team_id"], event["user"], channel, ts, text, deps.clock()
            )
            reply = agenda_reply(captured) if text else build_dm_without_words()
        if captured.outcome == "added":
            client.reactions_add(channel=channel, timestamp=ts, name="white_check_mark")
            client.chat_postMessage(channel=channel, thread_ts=ts, **reply)
        else:
            client.chat_postMessage(channel=channel, **reply)

    @app.event({"type": "message", "subtype": "message_changed"}, matchers=[is_im])
    @once
    def handle_dm_edited(event: dict[str, Any], body: dict[str, Any]) -> None:
        message = event.get("message") if isinstance(event.get("message"), dict) else {}
        with deps.sessions.begin() as session:
            edit_dm_item(
                session,
                body["team_id"],
                event["channel"],
                message.get("ts", ""),
                typed(message),
                deps.clock(),
            )

    @app.event({"type": "message", "subtype": "message_deleted"}, matchers=[is_im])
    @once
    def handle_dm_deleted(event: dict[str, Any], body: dict[str, Any]) -> None:
        with deps.sessions.begin() as session:
            delete_dm_item(session, body["team_id"], event["channel"], event.get("deleted_ts", ""))

    @app.event("user_change")
    @once
    def handle_user_change(event: dict[str, Any], body: dict[str, Any]) -> None:
        """Someone's account changed; a deleted (deactivated) one has left the program."""
        user = event.get("user") if isinstance(event.get("user"), dict) else {}
        if not is_user_id(user.get("id")):
            return
        with deps.sessions.begin() as session:
            account_changed(
                session, body["team_id"], user["id"], user.get("deleted") is True, deps.clock()
            )

    @app.event("message")
    def handle_other_messages() -> None:
        """Bot messages and channel chatter: nothing to do, but Slack needs the ack."""


def typed(message: dict[str, Any]) -> str:
    """What the person wrote; Slack sends &, < and > as entities, and we escape on the way out."""
    text = message.get("text")
    return clean_text(html.unescape(text)).strip() if isinstance(text, str) else ""


def agenda_reply(captured: Captured) -> dict[str, Any]:
    if captured.outcome == "added" and captured.meeting and captured.reader:
        return build_agenda_added(
            captured.meeting,
            captured.partner_name,
            captured.items,
            captured.open_meetings,
            captured.reader,
        )
    if captured.outcome == "started" and captured.meeting and captured.reader:
        return build_meeting_started(captured.meeting, captured.reader)
    return build_dm_reply()


def is_im(event: dict[str, Any]) -> bool:
    return event.get("channel_type") == "im"


def is_direct_message(event: dict[str, Any]) -> bool:
    """A person writing in their DM with the bot (Bolt already drops the bot's own messages)."""
    return (
        event.get("channel_type") == "im"
        and not event.get("bot_id")
        and is_user_id(event.get("user"))
        and isinstance(event.get("ts"), str)
    )
