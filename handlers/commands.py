"""The /mentor slash command and its subcommand router."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot import ids
from bot.messages import build_help, build_unknown_subcommand
from handlers import Deps
from handlers.directory import sync_member
from handlers.profile import open_profile_modal

Subcommand = Callable[[Ack, dict[str, Any], WebClient, Deps, str], None]


def register(app: App, deps: Deps) -> None:
    @app.command(ids.COMMAND)
    def handle_mentor_command(ack: Ack, command: dict[str, Any], client: WebClient) -> None:
        word, _, rest = command.get("text", "").strip().partition(" ")
        route = ROUTES.get(word.lower(), handle_unknown)
        route(ack, command, client, deps, rest.strip())
        sync_member(client, deps, command["team_id"], command["user_id"])


def handle_help(
    ack: Ack, command: dict[str, Any], client: WebClient, deps: Deps, rest: str
) -> None:
    ack(**build_help())


def handle_unknown(
    ack: Ack, command: dict[str, Any], client: WebClient, deps: Deps, rest: str
) -> None:
    ack(**build_unknown_subcommand(command.get("text", "").strip().split(" ", 1)[0]))


def handle_profile(
    ack: Ack, command: dict[str, Any], client: WebClient, deps: Deps, rest: str
) -> None:
    ack()
    open_profile_modal(
        client,
        deps,
        trigger_id=command["trigger_id"],
        team_id=command["team_id"],
        user_id=command["user_id"],
        response_url=command.get("response_url"),
    )


ROUTES: dict[str, Subcommand] = {"": handle_help, "help": handle_help, "profile": handle_profile}
