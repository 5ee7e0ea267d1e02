"""Publishing the App Home tab, after it opens and after anything on it changes."""

from __future__ import annotations

from slack_sdk import WebClient

from bot.home.blocks import build_home
from bot.home.state import home_state
from handlers.deps import Deps


def publish_home(client: WebClient, deps: Deps, team_id: str, user_id: str) -> None:
    with deps.sessions.begin() as session:
        view = build_home(home_state(session, team_id, user_id, deps.clock()))
    client.views_publish(user_id=user_id, view=view)
