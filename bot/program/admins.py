"""Who runs the program: the ADMIN_USER_IDS list plus Slack's own workspace admins and owners."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass


@dataclass(frozen=True)
class SlackRole:
    """What users.info says about a person's standing in the workspace (handlers fetch it)."""

    is_admin: bool = False
    is_owner: bool = False
    is_primary_owner: bool = False


NOT_AN_ADMIN = (
    "That's for program admins, so I've left it alone. If you run the mentoring program here, "
    "ask whoever set me up to add your member ID to `ADMIN_USER_IDS`."
)


def is_program_admin(
    user_id: str, settings_admin_ids: Collection[str], slack_role: SlackRole | None
) -> bool:
    """A program admin is named in ADMIN_USER_IDS or is a workspace admin or owner in Slack.

    `slack_role` is None when Slack could not be asked; then only the configured list counts,
    so a Slack outage never grants anything.
    """
    if user_id in settings_admin_ids:
        return True
    if slack_role is None:
        return False
    return slack_role.is_admin or slack_role.is_owner or slack_role.is_primary_owner
