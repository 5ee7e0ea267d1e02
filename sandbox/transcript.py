"""Plain-text renderings of Block Kit surfaces and of the sandbox timeline, for people to read."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sandbox.block_kit import MULTI_OPTION_ELEMENTS, PICKER_FIELDS, option_text, options_of
from sandbox.timeline import Seen, TimelineEntry

_TOKEN = re.compile(r"<([^<>]+)>")
_DATE_PART = re.compile(r"\{(\w+)\}")
_WHERE = {"ephemeral": "only visible to you", "dm": "DM", "group": "group DM", "home": "Home tab"}
_RELATIVE_DAYS = {-1: "yesterday", 0: "today", 1: "tomorrow"}


@dataclass(frozen=True)
class _Reader:
    """Who reads a surface: how names show, their time zone (None: not known) and their now."""

    names: Mapping[str, str] = field(default_factory=dict)
    zone: str | None = None
    now: dt.datetime | None = None


def slack_date(
    timestamp: int, style: str, zone: str, now: dt.datetime | None = None, link: str = ""
) -> str | None:
    """`<!date^timestamp^style|…>` as Slack shows it to a reader in `zone` (24-hour clock chosen
    in their preferences); None for a style Slack cannot render, which then shows the fallback."""
    tz = ZoneInfo(zone)
    at = dt.datetime.fromtimestamp(int(timestamp), tz)
    now = (now or dt.datetime.now(dt.UTC)).astimezone(tz)
    relative = _RELATIVE_DAYS.get((at.date() - now.date()).days)
    day = f"{at.day}{_ordinal(at.day)}"
    formats = {
        "date_num": f"{at:%Y-%m-%d}",
        "date_slash": f"{at:%d/%m/%Y}",
        "date": f"{at:%B} {day}, {at.year}",
        "date_short": f"{at:%b} {at.day}, {at.year}",
        "date_long": f"{at:%A, %B} {day}, {at.year}",
        "date_long_full": f"{at:%B} {at.day}, {at.year}",
        "time": f"{at:%H:%M}",
        "time_secs": f"{at:%H:%M:%S}",
        "ago": _ago(at, now),
    }
    for name in ("date", "date_short", "date_long"):
        formats[f"{name}_pretty"] = relative or formats[name]
    this_year = f"{at:%A, %B} {day}" if at.year == now.year else formats["date_long"]
    formats["day_divider_pretty"] = relative or this_year
    if any(part not in formats for part in _DATE_PART.findall(style)):
        return None
    shown = _DATE_PART.sub(lambda m: formats[m.group(1)], style)
    if relative and style.startswith("{") and shown.startswith(relative):
        shown = shown[0].upper() + shown[1:]  # "Tomorrow at 17:00", as Slack starts a sentence
    return f"{shown} ({link})" if link else shown


def _ordinal(day: int) -> str:
    if day % 100 in (11, 12, 13):
        return "th"
    return {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")


def _ago(at: dt.datetime, now: dt.datetime) -> str:
    seconds = int((now - at).total_seconds())
    future, seconds = seconds < 0, abs(seconds)
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = seconds // size
            amount = f"{count} {unit}{'s' if count != 1 else ''}"
            return f"in {amount}" if future else f"{amount} ago"
    return "just now"


def render_view_or_message(
    blocks: list[dict],
    text: str = "",
    *,
    submit: str | None = None,
    close: str | None = None,
    errors: Mapping[str, str] | None = None,
    state: Mapping[str, Any] | None = None,
    names: Mapping[str, str] | None = None,
    zone: str | None = None,
    now: dt.datetime | None = None,
) -> list[str]:
    """Readable lines for a message (blocks, else its text) or a view's body.

    `submit`/`close` add the modal's buttons, `errors` the modal's per-block errors and
    `state` what the person has entered so far (view.state.values). With the reader's `zone`
    (IANA), dates show as Slack shows them to that reader at `now`; without, their fallback."""
    reader = _Reader(names or {}, zone, now)
    errors = errors or {}
    state = state or {}
    if not blocks:
        lines = _display(text, reader).splitlines()
    else:
        lines = []
        for block in blocks:
            lines += _block_lines(block, state.get(block.get("block_id", ""), {}), reader)
            if block.get("block_id") in errors:
                lines.append(f"  ! {errors[block['block_id']]}")
        placed = {block.get("block_id") for block in blocks}
        lines += [f"! {message}" for key, message in errors.items() if key not in placed]
    if submit or close:
        lines.append(" ".join(f"[{label}]" for label in (close, submit) if label))
    return lines


def render_view(
    view: Mapping[str, Any],
    names: Mapping[str, str] | None = None,
    zone: str | None = None,
    now: dt.datetime | None = None,
) -> list[str]:
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
        zone=zone,
        now=now,
    )


def render_submission(
    view: Mapping[str, Any],
    names: Mapping[str, str] | None = None,
    zone: str | None = None,
    now: dt.datetime | None = None,
) -> list[str]:
    """What a person sent with a modal: each input as they left it when they pressed submit."""
    reader = _Reader(names or {}, zone, now)
    state = (view.get("state") or {}).get("values") or {}
    lines: list[str] = []
    for block in view.get("blocks") or []:
        values = state.get(block.get("block_id", ""), {})
        if block.get("type") == "input":
            element = block.get("element") or {}
            value = _value_for(element, values) or {}
            typed = value.get("value")
            if isinstance(typed, str) and "\n" in typed.strip():  # several lines, as typed
                lines.append(f"{_plain(block.get('label'))}:")
                lines += [f"  {line}" for line in typed.strip().splitlines()]
                continue
            entered = _entry(element, value or None, reader, empty="(left empty)")
            lines.append(f"{_plain(block.get('label'))}: {entered}")
        elif values:  # a select or picker outside an input block (a section's accessory)
            lines += _block_lines(block, values, reader)
    return lines


def render_timeline(
    entries: Iterable[TimelineEntry],
    *,
    names: Mapping[str, str] | None = None,
    app_name: str = "Mentor Coach",
    zones: Mapping[str, str] | None = None,
    clock: Callable[[float], dt.datetime] | None = None,
) -> str:
    """The whole story: what each person did, and indented under it, what people saw.

    `zones` (user id -> IANA zone) shows each date in its reader's own time, as Slack does;
    `clock` turns an entry's wall-clock `at` into the story's time (for "today", "tomorrow")."""
    names = names or {}
    zones = zones or {}
    clock = clock or (lambda at: dt.datetime.fromtimestamp(at, dt.UTC))
    lines: list[str] = []
    pending: list[TimelineEntry] = []

    def reader(entry: TimelineEntry) -> _Reader:
        return _Reader(names, zones.get(entry.user_id), clock(entry.at))

    def flush() -> None:
        if pending:
            lines.extend(_seen_lines(pending, reader, app_name))
            pending.clear()

    for entry in entries:
        if entry.seen is None:
            flush()
            line = f"{entry.user_name} {entry.action}" if entry.user_name else f"[{entry.action}]"
            if entry.view is not None:
                entered = render_submission(entry.view, **_reader_args(reader(entry)))
                line += ":" if entered else ""
                lines += [line, *(f"    {shown}" for shown in entered)]
                continue
            lines.append(line)
        elif pending and _same_sight(pending[-1].seen, entry.seen):
            pending.append(entry)
        else:
            flush()
            pending.append(entry)
    flush()
    return "\n".join(lines) + ("\n" if lines else "")


def _reader_args(reader: _Reader) -> dict[str, Any]:
    return {"names": reader.names, "zone": reader.zone, "now": reader.now}


def _seen_lines(
    group: list[TimelineEntry], reader: Callable[[TimelineEntry], _Reader], app_name: str
) -> list[str]:
    seen = group[0].seen
    assert seen is not None
    who = ", ".join(entry.user_name for entry in group)
    sender = "Slack" if seen.from_slack else app_name
    if seen.kind in ("modal", "home"):
        view = seen.view or {}
        where = f'modal "{_plain(view.get("title"))}"' if seen.kind == "modal" else "Home tab"
        if seen.removed:
            return [f"  {who}'s {where} closed"]
        body = render_view(view, **_reader_args(reader(group[0])))
        body = body[1:] if view.get("title") else body
        if seen.from_slack:
            body = [seen.text]
        bodies = [(who, body)]
    else:
        where = _WHERE.get(seen.kind) or f"#{seen.channel_name or seen.channel}"
        if seen.removed:
            return [f"  {sender} -> {who} ({where}): message deleted"]
        # One message, but each reader sees its dates on their own clock: tell it once per
        # distinct reading, naming who read it that way.
        readings: dict[tuple[str, ...], list[str]] = {}
        for entry in group:
            body = render_view_or_message(seen.blocks, seen.text, **_reader_args(reader(entry)))
            readings.setdefault(tuple(body), []).append(entry.user_name)
        bodies = [(", ".join(people), list(body)) for body, people in readings.items()]
    if seen.updated:
        where += ", updated"
    lines: list[str] = []
    for people, body in bodies:
        lines += [f"  {sender} -> {people} ({where}):"] + [f"    {line}" for line in body]
    return lines


def _same_sight(first: Seen | None, second: Seen) -> bool:
    # One message reaches every member of a conversation; tell it once, naming them all.
    return (
        first is not None
        and first.kind in ("dm", "group", "channel")
        and (first.kind, first.channel, first.ts, first.updated, first.removed, first.text)
        == (second.kind, second.channel, second.ts, second.updated, second.removed, second.text)
        and json.dumps(first.blocks, sort_keys=True) == json.dumps(second.blocks, sort_keys=True)
    )


def _block_lines(block: dict, values: Mapping[str, Any], reader: _Reader) -> list[str]:
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
            else _one_line(_display(element.get("text", ""), reader))
            for element in block.get("elements") or []
        ]
        return ["  ".join(parts)]
    if kind == "section":
        lines = (
            _display(_text_of(block.get("text")), reader).splitlines() if "text" in block else []
        )
        for field in block.get("fields") or []:
            lines.append(_one_line(_display(_text_of(field), reader)))
        accessory = block.get("accessory")
        if isinstance(accessory, dict):
            chip = _chip(accessory, _value_for(accessory, values), reader)
            lines = [*lines[:-1], f"{lines[-1]} {chip}"] if lines else [chip]
        return lines
    if kind == "actions":
        elements = block.get("elements") or []
        return [" ".join(_chip(e, _value_for(e, values), reader) for e in elements)]
    if kind == "input":
        element = block.get("element") or {}
        line = (
            f"{_plain(block.get('label'))}: {_entry(element, _value_for(element, values), reader)}"
        )
        lines = [line + (" (optional)" if block.get("optional") else "")]
        if block.get("hint"):
            lines.append(f"  ({_plain(block['hint'])})")
        return lines
    if kind == "rich_text":
        return _display(rich_text(block), reader).splitlines()
    if kind == "markdown":
        return _display(block.get("text", ""), reader).splitlines()
    return [f"({kind})"]


def _value_for(element: dict, values: Mapping[str, Any]) -> dict | None:
    return values.get(element.get("action_id", ""))


def _chip(element: dict, value: dict | None, reader: _Reader) -> str:
    kind = element.get("type")
    if kind == "button":
        return f"[{_plain(element.get('text'))}]"
    if kind == "image":
        return f"(image: {element.get('alt_text', '')})"
    if kind == "overflow":
        return "[...]"
    return f"[{_entry(element, value, reader)} v]"


def _entry(element: dict, value: dict | None, reader: _Reader, empty: str = "") -> str:
    """What an input shows: the entered or initial value, else its placeholder (or `empty`)."""
    kind = element.get("type", "")
    placeholder = _plain(element.get("placeholder"))
    empty = empty or (f"<{placeholder}>" if placeholder else "____")
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
            # Slack's client shows the picked moment on the reader's own clock.
            if reader.zone is None:
                return f"{dt.datetime.fromtimestamp(int(picked), dt.UTC):%Y-%m-%d %H:%M} UTC"
            return f"{dt.datetime.fromtimestamp(int(picked), ZoneInfo(reader.zone)):%Y-%m-%d %H:%M}"
        items = picked if isinstance(picked, list) else [picked]
        if "user" in kind:
            return ", ".join(f"@{reader.names.get(i, i)}" for i in items)
        return ", ".join(str(i) for i in items)
    if value is not None:
        typed = value.get("value")
        if kind == "rich_text_input" and value.get("rich_text_value"):
            typed = rich_text(value["rich_text_value"])
    else:
        typed = element.get("initial_value")
        if kind == "rich_text_input" and isinstance(typed, dict):
            typed = rich_text(typed)
    return " / ".join(str(typed).splitlines()) if typed not in (None, "") else empty


def _chosen_values(element: dict, value: dict | None) -> set:
    if value is not None:
        picked = value.get("selected_options") or [value.get("selected_option")]
    else:
        picked = element.get("initial_options") or [element.get("initial_option")]
    return {o.get("value") for o in picked if isinstance(o, dict)}


def _display(text: str, reader: _Reader) -> str:
    """Slack's mrkdwn as a reader sees it: mentions, dates and links resolved, entities decoded."""

    def token(match: re.Match[str]) -> str:
        inner = match.group(1)
        target, _, label = inner.partition("|")
        if target.startswith("@"):
            return "@" + reader.names.get(target[1:], label or target[1:])
        if target.startswith("#"):
            return "#" + (label or target[1:])
        if target.startswith("!date^"):
            return _date_token(target, label, reader)
        if target.startswith("!subteam^"):
            return label or "@group"
        if target.startswith("!"):
            return "@" + target[1:]
        return f"{label} ({target})" if label else target

    shown = _TOKEN.sub(token, text or "")
    return shown.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _date_token(target: str, fallback: str, reader: _Reader) -> str:
    # <!date^1796115600^{date_short_pretty} at {time}^optional_link|fallback>
    parts = target.split("^")
    if reader.zone is None or len(parts) < 3 or not parts[1].lstrip("-").isdigit():
        return fallback or target
    link = parts[3] if len(parts) > 3 else ""
    shown = slack_date(int(parts[1]), parts[2], reader.zone, reader.now, link)
    return fallback if shown is None else shown


def rich_text(node: Any) -> str:
    """The plain text of a rich_text block or element, as typed (Slack's escaping kept)."""
    if isinstance(node, dict):
        if node.get("type") == "text":
            return node.get("text", "")
        if node.get("type") == "user":
            return f"<@{node.get('user_id', '')}>"
        if node.get("type") == "link":
            return node.get("text") or node.get("url", "")
        if node.get("type") == "emoji":
            return f":{node.get('name', '')}:"
        inner = "".join(rich_text(child) for child in node.get("elements") or [])
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
