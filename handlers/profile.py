"""Opening the profile modal, shared by /mentor profile and the Edit profile buttons."""

from __future__ import annotations

import json

from slack_sdk import WebClient

from bot.members import find_member
from bot.modals import build_profile_modal
from handlers import Deps


def open_profile_modal(
    client: WebClient,
    deps: Deps,
    *,
    trigger_id: str,
    team_id: str,
    user_id: str,
    response_url: str | None,
) -> None:
    """Open at once: the trigger_id dies 3 seconds after the click, so nothing slow comes first."""
    with deps.sessions.begin() as session:
        view = build_profile_modal(
            find_member(session, team_id, user_id),
            private_metadata=json.dumps({"response_url": response_url} if response_url else {}),
        )
    client.views_open(trigger_id=trigger_id, view=view)
