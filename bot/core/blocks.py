"""Block Kit pieces every habit's screens share: sections, buttons, modals, text inputs."""

from __future__ import annotations

from typing import Any

from bot.core.block_limits import fit_lines, fit_view, measure, shorten, trim_input
from bot.core.models import MAX_TEXT
from bot.core.mrkdwn import escape

Message = dict[str, Any]


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


def build_dm_without_words() -> Message:
    """A DM with nothing to read in it: a file alone, or only invisible characters."""
    text = (
        "I can only read words, so that message passed me by. Write it out in a line or two "
        "and I'll take it from there."
    )
    return {"text": text, "blocks": [section(text)]}


def build_error_reply() -> Message:
    text = (
        "Sorry, something went wrong on my side and nothing was changed. "
        "Please try again in a minute; if it keeps happening, let your program admin know."
    )
    return {"response_type": "ephemeral", "replace_original": False, "text": text}


def one_line(text: str, limit: int = 120) -> str:
    """The first sentence or line of a longer text, for a compact list."""
    first = text.strip().splitlines()[0] if text.strip() else ""
    sentence = first.split(". ")[0]
    return shorten(sentence, limit)


def actions(*elements: dict[str, Any]) -> dict[str, Any]:
    return {"type": "actions", "elements": list(elements)}


def build_note(text: str) -> Message:
    """A short ephemeral answer: confirmations, refusals, next steps."""
    return {"response_type": "ephemeral", "replace_original": False, "text": text}


def _listed(items: list[str], budget: int, most: int | None = None) -> str:
    """Typed items as an escaped bullet list that fits `budget`, saying how many did not."""
    return "\n".join(fit_lines([f"• {escape(item)}" for item in items], budget, max_lines=most))


# What the person did that could not reach someone, and a next step, by outbox kind.
_UNDELIVERED = {
    "intro_request": (
        "your request for an intro",
        "`/mentor find` shows other mentors who offer what you're after.",
    ),
    "thanks": ("your thank-you note", "It's saved; a word in person would do it too."),
    "mentor_note": ("your note", "It's saved, if you'd like to pass it on another way."),
    "success_to_mentor": ("your success", "It's saved; `/mentor success` can share it again."),
    "meeting_booked": (
        "the session you booked",
        "The session is still in your calendar here; check with them before you meet.",
    ),
    "introduction": ("your introduction", "`/mentor mentees` shows who you're mentoring."),
}


_ACCOUNT_GONE = frozenset({"account_inactive", "user_not_found", "user_disabled"})


def build_delivery_failed(kind: str, recipient: str | None, error: str) -> Message:
    """Tell the person whose action caused a message that it can never arrive, and why."""
    what, next_step = _UNDELIVERED.get(kind, ("a message about what you did", ""))
    if error in _ACCOUNT_GONE:
        why = "their Slack account is no longer active"
    elif error == "is_archived":
        why = "the conversation has been archived"
    elif error in {"channel_not_found", "not_in_channel"}:
        why = "I can't reach that conversation any more"
    else:
        why = f"Slack kept refusing it ({escape(error) or 'no reason given'})"
    who = escape(recipient) if recipient else "They"
    text = f"{who} couldn't get {what}: {why}. {next_step}".strip()
    return {"text": text, "blocks": [section(text)]}


View = dict[str, Any]


def modal(
    callback_id: str,
    title: str,
    submit: str,
    private_metadata: str,
    blocks: list[dict[str, Any]],
    *,
    close: str = "Cancel",
) -> View:
    """A modal view, fitted to Slack's limits (titles of 24 characters, sections of 3,000)."""
    return fit_view(
        {
            "type": "modal",
            "callback_id": callback_id,
            "private_metadata": private_metadata,
            "title": plain(title),
            "submit": plain(submit),
            "close": plain(close),
            "blocks": blocks,
        }
    )


def plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": True}


def text_input(
    block_id: str,
    action_id: str,
    label: str,
    *,
    initial: str = "",
    placeholder: str = "",
    hint: str = "",
    multiline: bool = False,
    optional: bool = True,
    max_length: int = MAX_TEXT,
) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": action_id,
        "multiline": multiline,
        "max_length": max_length,
    }
    if initial:
        element["initial_value"] = trim_input(initial, max_length)
        if element["initial_value"] != initial:
            # Slack refuses a pre-fill longer than its box; keep what fits and say so.
            kept = measure(element["initial_value"])
            cut = (
                f"What you typed was {measure(initial):,} characters and this box holds "
                f"{max_length:,}, so I kept the first {kept:,}. Check the end before sending."
            )
            hint = f"{hint} {cut}" if hint else cut
    if placeholder:
        element["placeholder"] = plain(placeholder)
    block: dict[str, Any] = {
        "type": "input",
        "block_id": block_id,
        "label": plain(label),
        "element": element,
        "optional": optional,
    }
    if hint:
        block["hint"] = plain(hint)
    return block


def plain_option(text: str, value: str) -> dict[str, Any]:
    return {"text": plain(text), "value": value}


def static_select(action_id: str, options: list[tuple[str, str]], initial: str) -> dict[str, Any]:
    choices = [plain_option(text, value) for text, value in options]
    return {
        "type": "static_select",
        "action_id": action_id,
        "options": choices,
        "initial_option": next(c for c in choices if c["value"] == initial),
    }
