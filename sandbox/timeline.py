"""What people saw from the app, and who did what, in order."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Seen:
    """Something a person saw from the app (or from Slack itself, when `from_slack`)."""

    kind: str  # ephemeral | dm | group | channel | modal | home
    user_id: str
    channel: str | None
    text: str
    blocks: list
    ts: str | None
    view: dict | None
    updated: bool = False
    removed: bool = False  # the message was deleted, or the modal closed
    channel_name: str | None = None
    from_slack: bool = False


@dataclass(frozen=True)
class TimelineEntry:
    """One step of the story: what a person did (`action`) or what they saw (`seen`)."""

    at: float
    user_id: str
    user_name: str
    action: str | None = None
    seen: Seen | None = None
    view: dict | None = None  # a submitted modal as the person sent it, with what they entered
