"""Member sync: the first touch (and at most daily after) asks Slack who the person is."""

from __future__ import annotations

import contextlib
import logging
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as LookupTimeout

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
SUCCESS_CHANNEL = "the success channel"
# A modal must open within 3 seconds of the click: a slow conversations.info gets this long,
# then the form says "the success channel" and the name is there for the next one.
CHANNEL_LOOKUP_SECONDS = 1.0
_channel_names: dict[str, str] = {}  # channel id -> "#name"; channels are rarely renamed
_lookups = ThreadPoolExecutor(max_workers=2, thread_name_prefix="channel-name")


def sync_member(client: WebClient, deps: Deps, team_id: str, user_id: str) -> None:
    """Call after ack: users.info is network I/O, so it never delays Slack's 3-second window."""
    with deps.sessions.begin() as session:
        if not needs_sync(session, team_id, user_id, deps.clock()):
            return
    profile = fetch_profile(client, user_id)
    with deps.sessions.begin() as session:
        record_slack_profile(session, team_id, user_id, profile, deps.clock())


def fetch_profile(client: WebClient, user_id: str) -> SlackProfile | None:
    """What users.info says about a person; None when Slack cannot say just now."""
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


def channel_label(client: WebClient, channel: str | None) -> str | None:
    """The configured channel as people know it ("#wins"), never its id; None when none is set."""
    if not channel:
        return None
    if channel.startswith("#"):
        return channel
    if channel not in _channel_names:
        with contextlib.suppress(LookupTimeout):
            _lookups.submit(_look_up_channel, client, channel).result(CHANNEL_LOOKUP_SECONDS)
    return _channel_names.get(channel, SUCCESS_CHANNEL)


def _look_up_channel(client: WebClient, channel: str) -> None:
    try:
        name = client.conversations_info(channel=channel)["channel"]["name"]
    except (SlackApiError, OSError) as error:
        # A missing scope, a channel we cannot see, Slack unreachable: keep the plain words and
        # ask again next time.
        logger.warning("conversations.info failed for %s: %s", channel, error)
        return
    _channel_names[channel] = f"#{name}"


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
