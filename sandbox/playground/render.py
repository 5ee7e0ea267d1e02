"""Block Kit and Slack mrkdwn as HTML, the way Slack shows them to one reader.

Everything that came from the bot or from a person is escaped with html.escape before any
formatting is applied, so text a person typed can never become markup or script in the page.
"""

from __future__ import annotations

import datetime as dt
import html
import itertools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sandbox.block_kit import MULTI_OPTION_ELEMENTS, PICKER_FIELDS, option_text, options_of
from sandbox.transcript import rich_text, slack_date

_TOKEN = re.compile(r"<([^<>\n]+)>")
_FENCE = re.compile(r"```(.*?)```", re.DOTALL)
_CODE = re.compile(r"`([^`\n]+)`")
# Slack formats *bold*, _italic_ and ~strike~ only around non-space text, not inside words.
_BOLD = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]*?\S)\*(?![\w*])")
_ITALIC = re.compile(r"(?<![\w_])_(?=\S)([^_\n]*?\S)_(?![\w_])")
_STRIKE = re.compile(r"(?<![\w~])~(?=\S)([^~\n]*?\S)~(?![\w~])")
_SLOT = re.compile(r"\x00(\d+)\x00")
_EMOJI = re.compile(r":([a-z0-9_+'-]+):")
_BULLET = re.compile(r"^(\s*)([•◦▪\-]|\d+[.)])\s+")
_SAFE_URL = re.compile(r"^(https?://|mailto:)", re.IGNORECASE)
# A few emoji the bot uses; any other :name: stays as typed, as in a client without it.
EMOJI = {
    "wave": "👋",
    "tada": "🎉",
    "warning": "⚠️",
    "white_check_mark": "✅",
    "calendar": "📅",
    "spiral_calendar_pad": "🗓️",
    "memo": "📝",
    "pray": "🙏",
    "sparkles": "✨",
    "star": "⭐",
    "seedling": "🌱",
    "raised_hands": "🙌",
    "bulb": "💡",
    "clipboard": "📋",
    "handshake": "🤝",
    "hourglass_flowing_sand": "⏳",
    "x": "❌",
    "heart": "❤️",
    "thumbsup": "👍",
    "+1": "👍",
    "mag": "🔍",
    "speech_balloon": "💬",
    "trophy": "🏆",
    "bell": "🔔",
    "zzz": "💤",
    "email": "📧",
    "envelope": "✉️",
    "question": "❓",
    "books": "📚",
    "rocket": "🚀",
    "clock3": "🕒",
    "alarm_clock": "⏰",
    "mega": "📣",
    "chart_with_upwards_trend": "📈",
    "bar_chart": "📊",
    "point_right": "👉",
    "information_source": "\u2139\ufe0f",
    "lock": "🔒",
    "gift": "🎁",
    "muscle": "💪",
}


@dataclass(frozen=True)
class Reader:
    """Who looks at a surface: mentions show their names, dates their own clock."""

    user_id: str
    zone: str
    now: dt.datetime
    names: Mapping[str, str] = field(default_factory=dict)
    channels: Mapping[str, str] = field(default_factory=dict)
    people: tuple[tuple[str, str], ...] = ()  # (user id, name) for user pickers


def e(text: Any) -> str:
    """Escape anything for HTML text and attribute values."""
    return html.escape("" if text is None else str(text), quote=True)


def mrkdwn(text: str, reader: Reader) -> str:
    """Slack mrkdwn as HTML: tokens resolved, entities decoded, then escaped, then formatted."""
    slots: list[str] = []

    def keep(fragment: str) -> str:
        slots.append(fragment)
        return f"\x00{len(slots) - 1}\x00"

    def fence(match: re.Match[str]) -> str:
        return keep(f"<pre>{_escaped_plain(match.group(1).strip(chr(10)))}</pre>")

    # NUL marks our own placeholders below; it has no business in a message anyway.
    text = _FENCE.sub(fence, (text or "").replace("\x00", ""))
    chunks: list[tuple[str, str]] = []  # (text | item | quote, html) per line
    for line in text.split("\n"):
        if line.startswith((">", "&gt;")):
            rest = line[1:] if line.startswith(">") else line[4:]
            chunks.append(("quote", _inline(rest, reader, keep)))
            continue
        bullet = _BULLET.match(line)
        if bullet:
            body = _inline(line[bullet.end() :], reader, keep)
            chunks.append(("item", f'<span class="bullet">{e(bullet.group(2))}</span> {body}'))
        else:
            chunks.append(("text", _inline(line, reader, keep)))
    parts = []
    for kind, group in itertools.groupby(chunks, key=lambda chunk: chunk[0]):
        shown = [body for _, body in group]
        if kind == "item":
            parts.append("<ul>" + "".join(f"<li>{body}</li>" for body in shown) + "</ul>")
        elif kind == "quote":
            parts.append("<blockquote>" + "<br>".join(shown) + "</blockquote>")
        else:
            parts.append("<br>".join(shown))
    joined = "".join(parts)
    return _SLOT.sub(lambda m: slots[int(m.group(1))], joined)


def _inline(line: str, reader: Reader, keep: Any) -> str:
    # Tokens become placeholders first, so that *<@U1> said:* is bold around the mention.
    return _formatted(_TOKEN.sub(lambda m: keep(_token(m.group(1), reader)), line), keep)


def _formatted(text: str, keep: Any) -> str:
    escaped = _escaped_plain(text)
    escaped = _CODE.sub(lambda m: keep(f"<code>{m.group(1)}</code>"), escaped)
    escaped = _BOLD.sub(r"<strong>\1</strong>", escaped)
    escaped = _ITALIC.sub(r"<em>\1</em>", escaped)
    escaped = _STRIKE.sub(r"<del>\1</del>", escaped)
    return _EMOJI.sub(lambda m: EMOJI.get(m.group(1), m.group(0)), escaped)


def _escaped_plain(text: str) -> str:
    # Slack sends &, < and > as entities; decode exactly those, then escape everything for HTML.
    decoded = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return html.escape(decoded, quote=True)


def _token(inner: str, reader: Reader) -> str:
    target, _, label = inner.partition("|")
    label = label.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    if target.startswith("@"):
        name = reader.names.get(target[1:], label or target[1:])
        mine = " me" if target[1:] == reader.user_id else ""
        return f'<span class="mention{mine}">@{e(name)}</span>'
    if target.startswith("#"):
        name = label or reader.channels.get(target[1:], target[1:])
        return f'<span class="mention">#{e(name)}</span>'
    if target.startswith("!date^"):
        return f'<span class="date">{e(_date(target, label, reader))}</span>'
    if target.startswith("!subteam^"):
        return f'<span class="mention">{e(label or "@group")}</span>'
    if target.startswith("!"):
        return f'<span class="mention">@{e(target[1:])}</span>'
    url = target.replace("&amp;", "&")
    if not _SAFE_URL.match(url):
        return e(label or url)
    return (
        f'<a href="{e(url)}" target="_blank" rel="noopener noreferrer nofollow">'
        f"{e(label or url)}</a>"
    )


def _date(target: str, fallback: str, reader: Reader) -> str:
    # <!date^1796115600^{date_short_pretty} at {time}^optional_link|fallback>
    parts = target.split("^")
    if len(parts) < 3 or not parts[1].lstrip("-").isdigit():
        return fallback or target
    shown = slack_date(int(parts[1]), parts[2], reader.zone, reader.now)
    return fallback if shown is None else shown


def text_object(obj: Any, reader: Reader) -> str:
    """A plain_text or mrkdwn text object as HTML."""
    if not isinstance(obj, dict):
        return e(obj or "")
    if obj.get("type") == "mrkdwn":
        return mrkdwn(obj.get("text", ""), reader)
    text = html.escape(obj.get("text", ""), quote=True)
    if obj.get("emoji", True):
        text = _EMOJI.sub(lambda m: EMOJI.get(m.group(1), m.group(0)), text)
    return text.replace("\n", "<br>")


def plain(obj: Any) -> str:
    """The raw words of a text object (for labels and attribute values; escape before use)."""
    return obj.get("text", "") if isinstance(obj, dict) else str(obj or "")


def blocks_html(
    blocks: list[dict],
    reader: Reader,
    *,
    state: Mapping[str, Any] | None = None,
    errors: Mapping[str, str] | None = None,
    interactive: bool = True,
) -> str:
    """A surface's blocks; `state` is what the person has entered so far (view.state.values)."""
    state = state or {}
    errors = errors or {}
    out = []
    for block in blocks:
        values = state.get(block.get("block_id", ""), {})
        out.append(
            _block(block, values, reader, errors.get(block.get("block_id", "")), interactive)
        )
    return "".join(out)


def _block(
    block: dict, values: Mapping[str, Any], reader: Reader, error: str | None, interactive: bool
) -> str:
    kind = block.get("type")
    block_id = e(block.get("block_id", ""))
    if kind == "header":
        return f'<h3 class="b-header">{text_object(block.get("text"), reader)}</h3>'
    if kind == "divider":
        return '<hr class="b-divider">'
    if kind == "image":
        title = block.get("title")
        caption = f"<figcaption>{text_object(title, reader)}</figcaption>" if title else ""
        return f'<figure class="b-image">{_image(block)}{caption}</figure>'
    if kind == "context":
        parts = []
        for element in block.get("elements") or []:
            if isinstance(element, dict) and element.get("type") == "image":
                parts.append(_image(element, small=True))
            else:
                parts.append(f"<span>{text_object(element, reader)}</span>")
        return f'<div class="b-context">{"".join(parts)}</div>'
    if kind == "section":
        body = ""
        if "text" in block:
            body += f'<div class="b-text">{text_object(block["text"], reader)}</div>'
        fields = block.get("fields") or []
        if fields:
            cells = "".join(f"<div>{text_object(f, reader)}</div>" for f in fields)
            body += f'<div class="b-fields">{cells}</div>'
        accessory = block.get("accessory")
        side = ""
        if isinstance(accessory, dict):
            value = values.get(accessory.get("action_id", ""))
            side = f'<div class="b-accessory">{_element(accessory, value, block, reader)}</div>'
        return f'<div class="b-section" data-block="{block_id}"><div>{body}</div>{side}</div>'
    if kind == "actions":
        elements = "".join(
            _element(el, values.get(el.get("action_id", "")), block, reader)
            for el in block.get("elements") or []
        )
        return f'<div class="b-actions" data-block="{block_id}">{elements}</div>'
    if kind == "input":
        return _input_block(block, values, reader, error)
    if kind == "rich_text":
        return f'<div class="b-text">{mrkdwn(rich_text(block), reader)}</div>'
    if kind == "markdown":
        return f'<div class="b-text">{mrkdwn(block.get("text", ""), reader)}</div>'
    return f'<div class="b-unknown">({e(kind)} block)</div>'


def _image(obj: dict, *, small: bool = False) -> str:
    url = str(obj.get("image_url") or "")
    alt = e(obj.get("alt_text", ""))
    if not url.lower().startswith(("https://", "http://")):
        return f'<span class="img-alt">[{alt}]</span>'
    cls = "img-small" if small else "img"
    return f'<img class="{cls}" src="{e(url)}" alt="{alt}" referrerpolicy="no-referrer">'


def _element(element: dict, value: dict | None, block: dict, reader: Reader) -> str:
    kind = element.get("type")
    action_id = e(element.get("action_id", ""))
    block_id = e(block.get("block_id", ""))
    if kind == "button":
        style = element.get("style")
        cls = f"btn btn-{style}" if style in ("primary", "danger") else "btn"
        url = element.get("url")
        label = text_object(element.get("text"), reader)
        if url and _SAFE_URL.match(str(url)):
            return (
                f'<a class="{cls}" href="{e(url)}" target="_blank" '
                f'rel="noopener noreferrer">{label}</a>'
            )
        return (
            f'<button type="button" class="{cls}" data-act="click" data-block="{block_id}" '
            f'data-action="{action_id}" data-value="{e(element.get("value", ""))}">'
            f"{label}</button>"
        )
    if kind == "image":
        return _image(element)
    if kind == "overflow":
        return '<span class="btn" title="More actions">⋯</span>'
    # Selects and pickers outside input blocks: shown as Slack shows them, not wired here.
    return f'<span class="chip">{_summary(element, value, reader)}</span>'


def _summary(element: dict, value: dict | None, reader: Reader) -> str:
    kind = element.get("type", "")
    if kind in PICKER_FIELDS:
        state_key, initial_key = PICKER_FIELDS[kind]
        picked = value.get(state_key) if value else element.get(initial_key)
        return e(picked or plain(element.get("placeholder")) or "Pick")
    chosen = _chosen(element, value)
    texts = [option_text(o) for o in options_of(element) if o.get("value") in chosen]
    return e(", ".join(texts) or plain(element.get("placeholder")) or "Select") + " ▾"


def _chosen(element: dict, value: dict | None) -> set:
    if value is not None:
        picked = value.get("selected_options") or [value.get("selected_option")]
    else:
        picked = element.get("initial_options") or [element.get("initial_option")]
    return {o.get("value") for o in picked if isinstance(o, dict)}


def _input_block(block: dict, values: Mapping[str, Any], reader: Reader, error: str | None) -> str:
    element = block.get("element") or {}
    kind = element.get("type", "")
    value = values.get(element.get("action_id", ""))
    field_id = f"f-{reader.user_id}-{block.get('block_id', '')}"
    label = e(plain(block.get("label")))
    optional = ' <span class="optional">(optional)</span>' if block.get("optional") else ""
    control = _control(element, value, reader, field_id)
    hint = block.get("hint")
    hint_html = f'<div class="hint">{text_object(hint, reader)}</div>' if hint else ""
    error_html = f'<div class="field-error" role="alert">{e(error)}</div>' if error else ""
    tag = "fieldset" if kind in ("radio_buttons", "checkboxes") else "div"
    legend = (
        f"<legend>{label}{optional}</legend>"
        if tag == "fieldset"
        else f'<label for="{e(field_id)}">{label}{optional}</label>'
    )
    return (
        f'<{tag} class="b-input{" has-error" if error else ""}" data-input '
        f'data-block="{e(block.get("block_id", ""))}" '
        f'data-action="{e(element.get("action_id", ""))}" '
        f'data-kind="{e(kind)}">{legend}{control}{hint_html}{error_html}</{tag}>'
    )


def _control(element: dict, value: dict | None, reader: Reader, field_id: str) -> str:
    kind = element.get("type", "")
    fid = e(field_id)
    placeholder = e(plain(element.get("placeholder")))
    if kind in ("plain_text_input", "email_text_input", "url_text_input"):
        typed = value.get("value") if value else element.get("initial_value")
        typed = "" if typed is None else str(typed)
        limits = ""
        if isinstance(element.get("max_length"), int):
            limits += f' maxlength="{element["max_length"]}"'
        if element.get("multiline"):
            return (
                f'<textarea id="{fid}" rows="3" placeholder="{placeholder}"{limits}>'
                f"{e(typed)}</textarea>"
            )
        input_type = {"email_text_input": "email", "url_text_input": "url"}.get(kind, "text")
        return (
            f'<input id="{fid}" type="{input_type}" value="{e(typed)}" '
            f'placeholder="{placeholder}"{limits}>'
        )
    if kind == "number_input":
        typed = value.get("value") if value else element.get("initial_value")
        bounds = "".join(
            f' {attr}="{e(element[key])}"'
            for key, attr in (("min_value", "min"), ("max_value", "max"))
            if element.get(key) is not None
        )
        step = "any" if element.get("is_decimal_allowed") else "1"
        return (
            f'<input id="{fid}" type="number" step="{step}"{bounds} '
            f'value="{e("" if typed is None else typed)}" placeholder="{placeholder}">'
        )
    if kind in ("static_select", "external_select", "multi_static_select"):
        chosen = _chosen(element, value)
        multiple = " multiple" if kind in MULTI_OPTION_ELEMENTS else ""
        blank = "" if multiple else f'<option value="">{placeholder or "Select an option"}</option>'
        options = "".join(
            f'<option value="{e(o.get("value"))}"{" selected" if o.get("value") in chosen else ""}>'
            f"{e(option_text(o))}</option>"
            for o in options_of(element)
        )
        return f'<select id="{fid}"{multiple}>{blank}{options}</select>'
    if kind in ("users_select", "multi_users_select"):
        state_key, initial_key = PICKER_FIELDS[kind]
        picked = value.get(state_key) if value else element.get(initial_key)
        chosen = set(picked if isinstance(picked, list) else [picked])
        multiple = " multiple" if kind.startswith("multi_") else ""
        blank = "" if multiple else f'<option value="">{placeholder or "Select a person"}</option>'
        options = "".join(
            f'<option value="{e(uid)}"{" selected" if uid in chosen else ""}>{e(name)}</option>'
            for uid, name in reader.people
        )
        return f'<select id="{fid}"{multiple}>{blank}{options}</select>'
    if kind in ("radio_buttons", "checkboxes"):
        chosen = _chosen(element, value)
        input_type = "radio" if kind == "radio_buttons" else "checkbox"
        rows = []
        for index, option in enumerate(options_of(element)):
            checked = " checked" if option.get("value") in chosen else ""
            description = option.get("description")
            detail = (
                f'<span class="hint">{text_object(description, reader)}</span>'
                if description
                else ""
            )
            rows.append(
                f'<label class="choice"><input type="{input_type}" name="{fid}" '
                f'id="{fid}-{index}" value="{e(option.get("value"))}"{checked}> '
                f"{text_object(option.get('text'), reader)}{detail}</label>"
            )
        return "".join(rows)
    if kind == "datepicker":
        picked = value.get("selected_date") if value else element.get("initial_date")
        return f'<input id="{fid}" type="date" value="{e(picked or "")}">'
    if kind == "timepicker":
        picked = value.get("selected_time") if value else element.get("initial_time")
        return f'<input id="{fid}" type="time" value="{e(picked or "")}">'
    if kind == "datetimepicker":
        picked = value.get("selected_date_time") if value else element.get("initial_date_time")
        shown = ""
        if picked not in (None, ""):
            local = dt.datetime.fromtimestamp(int(picked), ZoneInfo(reader.zone))
            shown = f"{local:%Y-%m-%dT%H:%M}"
        zone = e(reader.zone)
        return (
            f'<input id="{fid}" type="datetime-local" value="{shown}">'
            f'<span class="hint">Your time ({zone})</span>'
        )
    return f'<span class="chip">({e(kind)} cannot be filled here)</span>'


def state_from_form(
    blocks: list[dict], entered: Mapping[str, Any], zone: str
) -> dict[str, dict[str, Any]]:
    """What the page's form sent ({block_id: {action_id: raw}}) as values a person enters."""
    from sandbox.block_kit import stateful_controls

    values: dict[str, dict[str, Any]] = {}
    for control in stateful_controls(blocks):
        raw = (entered.get(control.block_id) or {}).get(control.action_id, _MISSING)
        if raw is _MISSING:
            continue
        values.setdefault(control.block_id, {})[control.action_id] = _value(
            control.element["type"], raw, zone
        )
    return values


_MISSING = object()


def _value(kind: str, raw: Any, zone: str) -> Any:
    if kind in MULTI_OPTION_ELEMENTS or kind.startswith("multi_"):
        return [str(v) for v in raw] if isinstance(raw, list) else []
    if raw in (None, ""):
        return None
    if kind == "datetimepicker":
        # The page's datetime-local holds the person's own wall-clock time, as Slack shows it.
        local = dt.datetime.fromisoformat(str(raw)).replace(tzinfo=ZoneInfo(zone))
        return int(local.timestamp())
    return str(raw)


def data_json(value: Any) -> str:
    """A value for a data-* attribute, escaped."""
    return e(json.dumps(value))
