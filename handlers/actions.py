"""Button clicks (block_actions)."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot import ids
from handlers import Deps
from handlers.directory import sync_member
from handlers.profile import open_profile_modal


def register(app: App, deps: Deps) -> None:
    @app.action(ids.OPEN_PROFILE_ACTION)
    def handle_open_profile(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        team_id, user_id = body["user"]["team_id"], body["user"]["id"]
        open_profile_modal(
            client,
            deps,
            trigger_id=body["trigger_id"],
            team_id=team_id,
            user_id=user_id,
            response_url=body.get("response_url"),
        )
        sync_member(client, deps, team_id, user_id)
