"""Message builders: Block Kit dicts (with fallback text) for replies and DMs."""

from __future__ import annotations

from typing import Any

from bot import ids
from bot.models import Member, TopicKind
from bot.mrkdwn import escape

Message = dict[str, Any]

# (usage, what it does) for every subcommand that exists; the guide and the router share it.
SUBCOMMANDS: list[tuple[str, str]] = [
    ("profile", "Set up or edit your profile: mentor, mentee or both, your topics and goals."),
    ("help", "Show this guide."),
]


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def button(text: str, action_id: str, value: str = "", style: str | None = None) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": text, "emoji": True},
        "action_id": action_id,
    }
    if value:
        element["value"] = value
    if style:
        element["style"] = style
    return element


def guide_lines() -> str:
    return "\n".join(f"• `{ids.COMMAND} {usage}` — {what}" for usage, what in SUBCOMMANDS)


def build_help() -> Message:
    intro = (
        "*Mentor Coach* helps you find a mentor and get real value from every session. "
        "Here is what you can do:"
    )
    return {
        "response_type": "ephemeral",
        "text": f"{intro}\n{guide_lines()}",
        "blocks": [
            section(intro),
            section(guide_lines()),
            {
                "type": "actions",
                "elements": [button("Set up my profile", ids.OPEN_PROFILE_ACTION, style="primary")],
            },
            context("Tip: your profile and what's next also live in the bot's *Home* tab."),
        ],
    }


def build_unknown_subcommand(word: str) -> Message:
    head = f"I don't know `{ids.COMMAND} {escape(word[:40])}` yet. Here is what I can do:"
    message = build_help()
    message["text"] = f"{head}\n{guide_lines()}"
    message["blocks"] = [section(head), *message["blocks"][1:]]
    return message


def build_dm_reply() -> Message:
    text = (
        "Hi! I read messages here when I've asked you something before a session. "
        f"For everything else, type `{ids.COMMAND} help` to see what I can do."
    )
    return {"text": text, "blocks": [section(text)]}


def profile_summary(member: Member) -> str:
    roles = [
        role for role, on in (("a mentee", member.is_mentee), ("a mentor", member.is_mentor)) if on
    ]
    lines = [f"You're signed up as {' and '.join(roles) or 'nothing yet'}."]
    if member.is_mentor:
        offered = ", ".join(escape(t) for t in member.topic_names(TopicKind.OFFERED))
        lines.append(f"*You can help with:* {offered}")
        lines.append(f"*Mentees you can take:* {member.capacity}")
    sought = member.topic_names(TopicKind.SOUGHT)
    if member.is_mentee or sought:
        lines.append(f"*You want to learn:* {', '.join(escape(t) for t in sought) or '—'}")
    if member.goals:
        lines.append(f"*Your goals:* {escape(_short(member.goals))}")
    return "\n".join(lines)


def build_profile_saved(member: Member) -> Message:
    head = "*Profile saved.* Here's what people will see:"
    summary = profile_summary(member)
    return {
        "response_type": "ephemeral",
        "replace_original": False,
        "text": f"Profile saved. {summary}",
        "blocks": [
            section(f"{head}\n{summary}"),
            {"type": "actions", "elements": [button("Edit profile", ids.OPEN_PROFILE_ACTION)]},
        ],
    }


def build_error_reply() -> Message:
    text = (
        "Sorry, something went wrong on my side and nothing was changed. "
        "Please try again in a minute; if it keeps happening, let your program admin know."
    )
    return {"response_type": "ephemeral", "replace_original": False, "text": text}


def _short(text: str, limit: int = 280) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
