"""The program-admin gate for admin commands and buttons: ADMIN_USER_IDS, then users.info."""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.core.errors import NotAnAdmin
from bot.program.admins import NOT_AN_ADMIN, SlackRole, is_program_admin
from handlers.deps import Deps

logger = logging.getLogger(__name__)


def slack_role(client: WebClient, user_id: str) -> SlackRole | None:
    """The person's admin/owner flags from users.info; None when Slack can't say just now."""
    try:
        user = client.users_info(user=user_id)["user"]
    except SlackApiError as error:
        logger.warning("users.info failed for %s: %s", user_id, error.response.get("error"))
        return None
    if user.get("deleted") or user.get("is_bot"):
        return SlackRole()
    return SlackRole(
        is_admin=bool(user.get("is_admin")),
        is_owner=bool(user.get("is_owner")),
        is_primary_owner=bool(user.get("is_primary_owner")),
    )


def check_admin(client: WebClient, deps: Deps, user_id: str) -> bool:
    """True for a program admin. Call after ack: users.info is network I/O."""
    if user_id in deps.settings.admin_user_ids:  # no Slack call needed for the configured list
        return True
    return is_program_admin(user_id, deps.settings.admin_user_ids, slack_role(client, user_id))


def require_admin(client: WebClient, deps: Deps, user_id: str) -> None:
    """Raise NotAnAdmin (a MentorCoachError with a polite refusal) unless a program admin acts."""
    if not check_admin(client, deps, user_id):
        raise NotAnAdmin(NOT_AN_ADMIN)
