"""Publishing the App Home tab, after it opens and after anything on it changes."""

from __future__ import annotations

from slack_sdk import WebClient

from bot.home.blocks import build_home
from bot.home.state import home_state
from bot.program.stats import program_stats
from handlers.admin import check_admin
from handlers.deps import Deps


def publish_home(client: WebClient, deps: Deps, team_id: str, user_id: str) -> None:
    admin = check_admin(client, deps, user_id)  # users.info: before the transaction, not in it
    with deps.sessions.begin() as session:
        state = home_state(session, team_id, user_id, deps.clock())
        program = program_stats(session, team_id, deps.clock()) if admin else None
        view = build_home(state, program)
    client.views_publish(user_id=user_id, view=view)
