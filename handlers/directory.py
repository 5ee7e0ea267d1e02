"""Member sync: the first touch (and at most daily after) asks Slack who the person is."""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.core.errors import NotAPerson
from bot.core.members import SlackProfile, needs_sync, record_slack_profile
from handlers.deps import Deps

logger = logging.getLogger(__name__)
UNKNOWN_PERSON = (
    "I can't find that person in this workspace. Mention them with @ so Slack fills in who."
)
NOT_A_PERSON = "That's an app, not a person, so I'll leave it out."
DEACTIVATED = "That account is deactivated, so they won't see anything from me."
LOOKUP_FAILED = "I couldn't check who that is just now. Please try again in a minute."


def sync_member(client: WebClient, deps: Deps, team_id: str, user_id: str) -> None:
    """Call after ack: users.info is network I/O, so it never delays Slack's 3-second window."""
    with deps.sessions.begin() as session:
        if not needs_sync(session, team_id, user_id, deps.clock()):
            return
    profile = _fetch_profile(client, user_id)
    with deps.sessions.begin() as session:
        record_slack_profile(session, team_id, user_id, profile, deps.clock())


def _fetch_profile(client: WebClient, user_id: str) -> SlackProfile | None:
    try:
        user = client.users_info(user=user_id)["user"]
    except SlackApiError as error:
        # Keep going without names or zone; the next touch asks again.
        logger.warning("users.info failed for %s: %s", user_id, error.response.get("error"))
        return None
    names = user.get("profile") or {}
    return SlackProfile(
        display_name=names.get("display_name") or user.get("name") or "",
        real_name=names.get("real_name") or user.get("real_name") or "",
        tz=user.get("tz") or "UTC",
        is_active=not user.get("deleted", False),
    )


def check_person(client: WebClient, user_id: str) -> None:
    """Refuse a mention we must not act on (users.info): typed ids are forged as easily as text."""
    try:
        user = client.users_info(user=user_id)["user"]
    except SlackApiError as error:
        known = error.response.get("error") not in ("user_not_found", "invalid_arguments")
        raise NotAPerson(LOOKUP_FAILED if known else UNKNOWN_PERSON) from error
    if user.get("is_bot") or user_id == "USLACKBOT":
        raise NotAPerson(NOT_A_PERSON)
    if user.get("deleted"):
        raise NotAPerson(DEACTIVATED)
