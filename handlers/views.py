"""Modal submissions (view_submission)."""

from __future__ import annotations

import json
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.webhook import WebhookClient

from bot import ids
from bot.errors import InvalidInput
from bot.home import build_home
from bot.messages import build_profile_saved
from bot.profiles import ProfileForm, save_profile, validate_profile
from handlers import Deps
from handlers.directory import sync_member


def register(app: App, deps: Deps) -> None:
    @app.view(ids.PROFILE_CALLBACK)
    def handle_profile_submission(
        ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient
    ) -> None:
        try:
            profile = validate_profile(profile_form(view["state"]["values"]))
        except InvalidInput as error:
            ack(response_action="errors", errors=error.errors)
            return
        ack()
        team_id, user_id = body["user"]["team_id"], body["user"]["id"]
        sync_member(client, deps, team_id, user_id)
        with deps.sessions.begin() as session:
            member = save_profile(session, team_id, user_id, profile, deps.clock())
            reply, home = build_profile_saved(member), build_home(member)
        response_url = json.loads(view.get("private_metadata") or "{}").get("response_url")
        if response_url:
            WebhookClient(response_url).send_dict(reply)
        client.views_publish(user_id=user_id, view=home)


def profile_form(values: dict[str, dict[str, Any]]) -> ProfileForm:
    """Read the modal's state; a field Slack left out (or a forged payload dropped) is None."""

    def field(block_id: str, action_id: str) -> dict[str, Any]:
        return values.get(block_id, {}).get(action_id) or {}

    def typed(block_id: str, action_id: str) -> str | None:
        return field(block_id, action_id).get("value")

    chosen = field(ids.PROFILE_ROLES_BLOCK, ids.PROFILE_ROLES_ACTION).get("selected_options") or []
    return ProfileForm(
        roles=frozenset(str(option.get("value")) for option in chosen),
        topics_offered=typed(ids.PROFILE_OFFERED_BLOCK, ids.PROFILE_OFFERED_ACTION),
        topics_sought=typed(ids.PROFILE_SOUGHT_BLOCK, ids.PROFILE_SOUGHT_ACTION),
        goals=typed(ids.PROFILE_GOALS_BLOCK, ids.PROFILE_GOALS_ACTION),
        background=typed(ids.PROFILE_BACKGROUND_BLOCK, ids.PROFILE_BACKGROUND_ACTION),
        experience=typed(ids.PROFILE_EXPERIENCE_BLOCK, ids.PROFILE_EXPERIENCE_ACTION),
        capacity=typed(ids.PROFILE_CAPACITY_BLOCK, ids.PROFILE_CAPACITY_ACTION),
    )
