"""Plain-text renderings of Block Kit surfaces and of the sandbox timeline, for people to read."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from sandbox.block_kit import MULTI_OPTION_ELEMENTS, PICKER_FIELDS, option_text, options_of
from sandbox.timeline import Seen, TimelineEntry

_TOKEN = re.compile(r"<([^<>]+)>")
_WHERE = {"ephemeral": "only visible to you", "dm": "DM", "group": "group DM", "home": "Home tab"}


def render_view_or_message(
    blocks: list[dict],
    text: str = "",
    *,
    submit: str | None = None,
    close: str | None = None,
    errors: Mapping[str, str] | None = None,
    state: Mapping[str, Any] | None = None,
    names: Mapping[str, str] | None = None,
) -> list[str]:
    """Readable lines for a message (blocks, else its text) or a view's body.

    `submit`/`close` add the modal's buttons, `errors` the modal's per-block errors and
    `state` what the person has entered so far (view.state.values)."""
    names = names or {}
    errors = errors or {}
    state = state or {}
    if not blocks:
        lines = _display(text, names).splitlines()
    else:
        lines = []
        for block in blocks:
            lines += _block_lines(block, state.get(block.get("block_id", ""), {}), names)
            if block.get("block_id") in errors:
                lines.append(f"  ! {errors[block['block_id']]}")
        placed = {block.get("block_id") for block in blocks}
        lines += [f"! {message}" for key, message in errors.items() if key not in placed]
    if submit or close:
        lines.append(" ".join(f"[{label}]" for label in (close, submit) if label))
    return lines


def render_view(view: Mapping[str, Any], names: Mapping[str, str] | None = None) -> list[str]:
    """Readable lines for a modal or Home view: title, body, errors and buttons."""
    title = _plain(view.get("title"))
    submit = _plain(view.get("submit")) or None
    close = None
    if view.get("type") == "modal":
        close = _plain(view.get("close")) or ("Cancel" if submit else "Close")
    lines = [f"== {title} =="] if title else []
    return lines + render_view_or_message(
        view.get("blocks") or [],
        submit=submit,
        close=close,
        errors=view.get("errors"),
        state=(view.get("state") or {}).get("values"),
        names=names,
    )


def render_timeline(
    entries: Iterable[TimelineEntry],
    *,
    names: Mapping[str, str] | None = None,
    app_name: str = "Mentor Coach",
) -> str:
    """The whole story: what each person did, and indented under it, what people saw."""
    names = names or {}
    lines: list[str] = []
    pending: list[TimelineEntry] = []

    def flush() -> None:
        if pending:
            lines.extend(_seen_lines(pending, names, app_name))
            pending.clear()

    for entry in entries:
        if entry.seen is None:
            flush()
            line = f"{entry.user_name} {entry.action}" if entry.user_name else f"[{entry.action}]"
            lines.append(line)
        elif pending and _same_sight(pending[-1].seen, entry.seen):
            pending.append(entry)
        else:
            flush()
            pending.append(entry)
    flush()
    return "\n".join(lines) + ("\n" if lines else "")


def _seen_lines(group: list[TimelineEntry], names: Mapping[str, str], app_name: str) -> list[str]:
    seen = group[0].seen
    assert seen is not None
    who = ", ".join(entry.user_name for entry in group)
    sender = "Slack" if seen.from_slack else app_name
    if seen.kind in ("modal", "home"):
        view = seen.view or {}
        where = f'modal "{_plain(view.get("title"))}"' if seen.kind == "modal" else "Home tab"
        if seen.removed:
            return [f"  {who}'s {where} closed"]
        body = render_view(view, names)[1:] if view.get("title") else render_view(view, names)
        if seen.from_slack:
            body = [seen.text]
    else:
        where = _WHERE.get(seen.kind) or f"#{seen.channel_name or seen.channel}"
        if seen.removed:
            return [f"  {sender} -> {who} ({where}): message deleted"]
        body = render_view_or_message(seen.blocks, seen.text, names=names)
    if seen.updated:
        where += ", updated"
    return [f"  {sender} -> {who} ({where}):"] + [f"    {line}" for line in body]


def _same_sight(first: Seen | None, second: Seen) -> bool:
    # One message reaches every member of a conversation; tell it once, naming them all.
    return (
        first is not None
        and first.kind in ("dm", "group", "channel")
        and (first.kind, first.channel, first.ts, first.updated, first.removed, first.text)
        == (second.kind, second.channel, second.ts, second.updated, second.removed, second.text)
        and json.dumps(first.blocks, sort_keys=True) == json.dumps(second.blocks, sort_keys=True)
    )


def _block_lines(block: dict, values: Mapping[str, Any], names: Mapping[str, str]) -> list[str]:
    kind = block.get("type")
    if kind == "header":
        return [f"# {_plain(block.get('text'))}"]
    if kind == "divider":
        return ["---"]
    if kind == "image":
        title = _plain(block.get("title"))
        return [f"(image: {block.get('alt_text', '')}{' - ' + title if title else ''})"]
    if kind == "context":
        parts = [
            f"({element.get('alt_text', 'image')})"
            if element.get("type") == "image"
            else _one_line(_display(element.get("text", ""), names))
            for element in block.get("elements") or []
        ]
        return ["  ".join(parts)]
    if kind == "section":
        lines = _display(_text_of(block.get("text")), names).splitlines() if "text" in block else []
        for field in block.get("fields") or []:
            lines.append(_one_line(_display(_text_of(field), names)))
        accessory = block.get("accessory")
        if isinstance(accessory, dict):
            chip = _chip(accessory, _value_for(accessory, values), names)
            lines = [*lines[:-1], f"{lines[-1]} {chip}"] if lines else [chip]
        return lines
    if kind == "actions":
        elements = block.get("elements") or []
        return [" ".join(_chip(e, _value_for(e, values), names) for e in elements)]
    if kind == "input":
        element = block.get("element") or {}
        line = (
            f"{_plain(block.get('label'))}: {_entry(element, _value_for(element, values), names)}"
        )
        lines = [line + (" (optional)" if block.get("optional") else "")]
        if block.get("hint"):
            lines.append(f"  ({_plain(block['hint'])})")
        return lines
    if kind == "rich_text":
        return _display(_rich_text(block), names).splitlines()
    if kind == "markdown":
        return _display(block.get("text", ""), names).splitlines()
    return [f"({kind})"]


def _value_for(element: dict, values: Mapping[str, Any]) -> dict | None:
    return values.get(element.get("action_id", ""))


def _chip(element: dict, value: dict | None, names: Mapping[str, str]) -> str:
    kind = element.get("type")
    if kind == "button":
        return f"[{_plain(element.get('text'))}]"
    if kind == "image":
        return f"(image: {element.get('alt_text', '')})"
    if kind == "overflow":
        return "[...]"
    return f"[{_entry(element, value, names)} v]"


def _entry(element: dict, value: dict | None, names: Mapping[str, str]) -> str:
    """What an input shows: the entered or initial value, else its placeholder."""
    kind = element.get("type", "")
    placeholder = _plain(element.get("placeholder"))
    empty = f"<{placeholder}>" if placeholder else "____"
    if kind in ("radio_buttons", "checkboxes"):
        chosen = _chosen_values(element, value)
        on, off = ("(o)", "( )") if kind == "radio_buttons" else ("[x]", "[ ]")
        return "  ".join(
            f"{on if o.get('value') in chosen else off} {option_text(o)}"
            for o in options_of(element)
        )
    if kind in ("static_select", "external_select") or kind in MULTI_OPTION_ELEMENTS:
        chosen = _chosen_values(element, value)
        texts = [option_text(o) for o in options_of(element) if o.get("value") in chosen]
        if not texts and value:
            picked = value.get("selected_options") or [value.get("selected_option")]
            texts = [option_text(o) for o in picked if o]
        return ", ".join(texts) or empty
    if kind in PICKER_FIELDS:
        state_key, initial_key = PICKER_FIELDS[kind]
        picked = value.get(state_key) if value else element.get(initial_key)
        if picked in (None, [], ""):
            return empty
        if kind == "datetimepicker":
            moment = dt.datetime.fromtimestamp(int(picked), dt.UTC)
            return moment.strftime("%Y-%m-%d %H:%M UTC")
        items = picked if isinstance(picked, list) else [picked]
        if "user" in kind:
            return ", ".join(f"@{names.get(i, i)}" for i in items)
        return ", ".join(str(i) for i in items)
    if value is not None:
        typed = value.get("value")
        if kind == "rich_text_input" and value.get("rich_text_value"):
            typed = _rich_text(value["rich_text_value"])
    else:
        typed = element.get("initial_value")
        if kind == "rich_text_input" and isinstance(typed, dict):
            typed = _rich_text(typed)
    return " / ".join(str(typed).splitlines()) if typed not in (None, "") else empty


def _chosen_values(element: dict, value: dict | None) -> set:
    if value is not None:
        picked = value.get("selected_options") or [value.get("selected_option")]
    else:
        picked = element.get("initial_options") or [element.get("initial_option")]
    return {o.get("value") for o in picked if isinstance(o, dict)}


def _display(text: str, names: Mapping[str, str]) -> str:
    """Slack's mrkdwn as a reader sees it: mentions, dates and links resolved, entities decoded."""

    def token(match: re.Match[str]) -> str:
        inner = match.group(1)
        target, _, label = inner.partition("|")
        if target.startswith("@"):
            return "@" + names.get(target[1:], label or target[1:])
        if target.startswith("#"):
            return "#" + (label or target[1:])
        if target.startswith("!date^"):
            return label or target
        if target.startswith("!subteam^"):
            return label or "@group"
        if target.startswith("!"):
            return "@" + target[1:]
        return f"{label} ({target})" if label else target

    shown = _TOKEN.sub(token, text or "")
    return shown.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _rich_text(node: Any) -> str:
    if isinstance(node, dict):
        if node.get("type") == "text":
            return node.get("text", "")
        if node.get("type") == "user":
            return f"<@{node.get('user_id', '')}>"
        if node.get("type") == "link":
            return node.get("text") or node.get("url", "")
        if node.get("type") == "emoji":
            return f":{node.get('name', '')}:"
        inner = "".join(_rich_text(child) for child in node.get("elements") or [])
        if node.get("type") in ("rich_text_section", "rich_text_preformatted", "rich_text_quote"):
            return inner + "\n"
        return inner
    return ""


def _text_of(text: Any) -> str:
    return text.get("text", "") if isinstance(text, dict) else str(text or "")


def _plain(text: Any) -> str:
    return _text_of(text) if text else ""


def _one_line(text: str) -> str:
    return " ".join(text.split())
