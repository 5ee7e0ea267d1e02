"""Slack's Block Kit rules: limits and ids the fake API enforces, and element lookups."""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

MESSAGE_BLOCK_LIMIT = 50
# Undocumented but real: Slack refuses a message whose blocks hold about 12,000 characters of
# text in all (msg_blocks_too_long), even when every block is within its own limit.
MESSAGE_BLOCKS_TEXT_LIMIT = 12_000
TEXT_INPUT_MAX_LENGTH = 3000
SURFACE_BLOCK_LIMIT = 100
MODAL_STACK_LIMIT = 3

BLOCK_TYPES = frozenset(
    {
        "actions",
        "call",
        "context",
        "divider",
        "file",
        "header",
        "image",
        "input",
        "markdown",
        "rich_text",
        "section",
        "table",
        "video",
    }
)
TEXT_INPUTS = frozenset({"plain_text_input", "email_text_input", "url_text_input"})
SINGLE_OPTION_ELEMENTS = frozenset({"radio_buttons", "static_select", "external_select"})
MULTI_OPTION_ELEMENTS = frozenset({"checkboxes", "multi_static_select", "multi_external_select"})
# element type -> (state key Slack submits, initial_* field in the view), for plain-value pickers.
PICKER_FIELDS = {
    "datepicker": ("selected_date", "initial_date"),
    "timepicker": ("selected_time", "initial_time"),
    "datetimepicker": ("selected_date_time", "initial_date_time"),
    "users_select": ("selected_user", "initial_user"),
    "multi_users_select": ("selected_users", "initial_users"),
    "conversations_select": ("selected_conversation", "initial_conversation"),
    "multi_conversations_select": ("selected_conversations", "initial_conversations"),
    "channels_select": ("selected_channel", "initial_channel"),
    "multi_channels_select": ("selected_channels", "initial_channels"),
}
STATEFUL_ELEMENTS = (
    TEXT_INPUTS
    | SINGLE_OPTION_ELEMENTS
    | MULTI_OPTION_ELEMENTS
    | frozenset(PICKER_FIELDS)
    | {"number_input", "rich_text_input", "file_input"}
)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIME = re.compile(r"^\d{2}:\d{2}$")
_PICKER_FORMATS: dict[str, tuple[str, Callable[[Any], bool], str]] = {
    "datepicker": ("initial_date", lambda v: bool(_DATE.match(str(v))), "a date YYYY-MM-DD"),
    "timepicker": ("initial_time", lambda v: bool(_TIME.match(str(v))), "a time HH:mm"),
    "datetimepicker": ("initial_date_time", lambda v: isinstance(v, int), "an integer"),
}


@dataclass(frozen=True)
class Control:
    """An interactive element in a surface, with the block that holds it."""

    block: dict
    element: dict

    @property
    def block_id(self) -> str:
        return self.block["block_id"]

    @property
    def action_id(self) -> str:
        return self.element["action_id"]

    @property
    def label(self) -> str:
        text = self.element.get("text") or {}
        return text.get("text", "") if isinstance(text, dict) else ""


def with_ids(blocks: list[dict]) -> list[dict]:
    """A copy of the blocks with Slack's generated block_id/action_id filled in where absent."""
    filled = copy.deepcopy(blocks)
    for index, block in enumerate(filled):
        if not isinstance(block, dict):
            continue
        if not block.get("block_id"):
            block["block_id"] = _short_id(block, index)
        for position, element in enumerate(block_elements(block)):
            if "type" in element and not element.get("action_id"):
                element["action_id"] = _short_id(element, position)
    return filled


def block_elements(block: dict) -> list[dict]:
    """Interactive elements a block holds (actions elements, a section accessory, an input)."""
    found: list[dict] = []
    if block.get("type") == "actions":
        found.extend(e for e in block.get("elements") or [] if isinstance(e, dict))
    elif block.get("type") == "section" and isinstance(block.get("accessory"), dict):
        if block["accessory"].get("type") != "image":
            found.append(block["accessory"])
    elif block.get("type") == "input" and isinstance(block.get("element"), dict):
        found.append(block["element"])
    return found


def controls(blocks: list[dict]) -> Iterator[Control]:
    """Every interactive element in the blocks, in reading order."""
    for block in blocks:
        for element in block_elements(block):
            yield Control(block, element)


def buttons(blocks: list[dict]) -> list[Control]:
    """The buttons a person can click in these blocks."""
    return [c for c in controls(blocks) if c.element.get("type") == "button"]


def stateful_controls(blocks: list[dict]) -> list[Control]:
    """Elements whose values Slack reports in view.state.values."""
    return [c for c in controls(blocks) if c.element.get("type") in STATEFUL_ELEMENTS]


def options_of(element: dict) -> list[dict]:
    """All options of a select/radio/checkbox element, option groups flattened."""
    found = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        found.extend(group.get("options") or [])
    return found


def option_text(option: dict) -> str:
    text = option.get("text")
    return text.get("text", "") if isinstance(text, dict) else str(text or "")


def message_problems(blocks: Any) -> list[str]:
    """Slack's complaints about a message's blocks; empty when Slack would accept them."""
    if not isinstance(blocks, list):
        return ["must provide an array [json-pointer:/blocks]"]
    return _blocks_problems(blocks, "/blocks", MESSAGE_BLOCK_LIMIT)


def view_problems(view: Any, *, expected_type: str | None = None) -> list[str]:
    """Slack's complaints about a modal or Home view; empty when Slack would accept it."""
    if not isinstance(view, dict):
        return ["must provide an object [json-pointer:/view]"]
    problems: list[str] = []
    kind = view.get("type")
    allowed = {expected_type} if expected_type else {"modal", "home"}
    if kind not in allowed:
        problems.append(f"must be one of: {', '.join(sorted(allowed))} [json-pointer:/view/type]")
    blocks = view.get("blocks")
    if not isinstance(blocks, list):
        problems.append("missing required field: blocks [json-pointer:/view]")
    else:
        problems += _blocks_problems(blocks, "/view/blocks", SURFACE_BLOCK_LIMIT)
    if kind == "modal":
        if "title" not in view:
            problems.append("missing required field: title [json-pointer:/view]")
        else:
            problems += _text_problems(view["title"], "/view/title", plain=True, limit=24)
        for button in ("submit", "close"):
            if view.get(button) is not None:
                problems += _text_problems(view[button], f"/view/{button}", plain=True, limit=24)
        has_inputs = isinstance(blocks, list) and any(
            isinstance(b, dict) and b.get("type") == "input" for b in blocks
        )
        if has_inputs and not view.get("submit"):
            problems.append(
                "must provide submit when view has input blocks [json-pointer:/view/submit]"
            )
    problems += _length_problem(view.get("callback_id"), "/view/callback_id", 255)
    problems += _length_problem(view.get("private_metadata"), "/view/private_metadata", 3000)
    problems += _length_problem(view.get("external_id"), "/view/external_id", 255)
    return problems


def _blocks_problems(blocks: list, pointer: str, limit: int) -> list[str]:
    if len(blocks) > limit:
        return [f"no more than {limit} items allowed [json-pointer:{pointer}]"]
    problems: list[str] = []
    block_ids: set[str] = set()
    for index, block in enumerate(blocks):
        at = f"{pointer}/{index}"
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            problems.append(f"must provide an object with a type [json-pointer:{at}]")
            continue
        if block["type"] not in BLOCK_TYPES:
            problems.append(f"unsupported type: {block['type']} [json-pointer:{at}/type]")
            continue
        block_id = block.get("block_id")
        if block_id is not None:
            problems += _length_problem(block_id, f"{at}/block_id", 255)
            if block_id in block_ids:
                problems.append(f"duplicate block_id: {block_id} [json-pointer:{at}/block_id]")
            block_ids.add(block_id)
        problems += _block_problems(block, at)
    return problems


def _block_problems(block: dict, at: str) -> list[str]:
    kind = block["type"]
    problems: list[str] = []
    if kind == "section":
        if "text" not in block and "fields" not in block:
            problems.append(f"must provide text or fields [json-pointer:{at}]")
        if "text" in block:
            problems += _text_problems(block["text"], f"{at}/text", limit=3000)
        fields = block.get("fields")
        if fields is not None:
            if not isinstance(fields, list) or len(fields) > 10:
                problems.append(f"no more than 10 items allowed [json-pointer:{at}/fields]")
            else:
                for i, field in enumerate(fields):
                    problems += _text_problems(field, f"{at}/fields/{i}", limit=2000)
        if isinstance(block.get("accessory"), dict):
            problems += _element_problems(block["accessory"], f"{at}/accessory")
    elif kind == "header":
        problems += _text_problems(block.get("text"), f"{at}/text", plain=True, limit=150)
    elif kind == "context":
        elements = block.get("elements")
        if not isinstance(elements, list) or not 1 <= len(elements) <= 10:
            problems.append(f"must provide 1 to 10 elements [json-pointer:{at}/elements]")
        else:
            for i, element in enumerate(elements):
                if isinstance(element, dict) and element.get("type") == "image":
                    problems += _image_problems(element, f"{at}/elements/{i}")
                else:
                    problems += _text_problems(element, f"{at}/elements/{i}", limit=3000)
    elif kind == "actions":
        elements = block.get("elements")
        if not isinstance(elements, list) or not 1 <= len(elements) <= 25:
            problems.append(f"must provide 1 to 25 elements [json-pointer:{at}/elements]")
        else:
            action_ids: set[str] = set()
            for i, element in enumerate(elements):
                problems += _element_problems(element, f"{at}/elements/{i}")
                action_id = element.get("action_id") if isinstance(element, dict) else None
                if action_id and action_id in action_ids:
                    problems.append(
                        f"duplicate action_id: {action_id} [json-pointer:{at}/elements/{i}]"
                    )
                action_ids.add(action_id or "")
    elif kind == "input":
        problems += _text_problems(block.get("label"), f"{at}/label", plain=True, limit=2000)
        if "hint" in block:
            problems += _text_problems(block["hint"], f"{at}/hint", plain=True, limit=2000)
        element = block.get("element")
        if not isinstance(element, dict):
            problems.append(f"missing required field: element [json-pointer:{at}]")
        elif element.get("type") not in STATEFUL_ELEMENTS:
            problems.append(
                f"unsupported input element: {element.get('type')} [json-pointer:{at}/element]"
            )
        else:
            problems += _element_problems(element, f"{at}/element")
    elif kind == "image":
        problems += _image_problems(block, at)
    return problems


def _element_problems(element: Any, at: str) -> list[str]:
    if not isinstance(element, dict) or not isinstance(element.get("type"), str):
        return [f"must provide an object with a type [json-pointer:{at}]"]
    kind = element["type"]
    problems = _length_problem(element.get("action_id"), f"{at}/action_id", 255)
    if kind == "button":
        problems += _text_problems(element.get("text"), f"{at}/text", plain=True, limit=75)
        problems += _length_problem(element.get("value"), f"{at}/value", 2000)
        problems += _length_problem(element.get("url"), f"{at}/url", 3000)
        if element.get("style") not in (None, "primary", "danger"):
            problems.append(f"must be one of: primary, danger [json-pointer:{at}/style]")
    elif kind in SINGLE_OPTION_ELEMENTS | MULTI_OPTION_ELEMENTS or kind == "overflow":
        problems += _options_problems(element, at)
    elif kind == "number_input":
        if not isinstance(element.get("is_decimal_allowed"), bool):
            problems.append(f"missing required field: is_decimal_allowed [json-pointer:{at}]")
    elif kind in TEXT_INPUTS:
        problems += _text_input_problems(element, at)
    elif kind in _PICKER_FORMATS:
        field, valid, description = _PICKER_FORMATS[kind]
        if element.get(field) is not None and not valid(element[field]):
            problems.append(f"must be {description} [json-pointer:{at}/{field}]")
    if "placeholder" in element:
        problems += _text_problems(
            element["placeholder"], f"{at}/placeholder", plain=True, limit=150
        )
    return problems


def _text_input_problems(element: dict, at: str) -> list[str]:
    problems: list[str] = []
    for bound in ("min_length", "max_length"):
        value = element.get(bound)
        if value is not None and (
            not isinstance(value, int) or not 0 <= value <= TEXT_INPUT_MAX_LENGTH
        ):
            problems.append(
                f"must be an integer from 0 to {TEXT_INPUT_MAX_LENGTH} [json-pointer:{at}/{bound}]"
            )
    most = element.get("max_length")
    most = most if isinstance(most, int) and most <= TEXT_INPUT_MAX_LENGTH else None
    problems += _length_problem(
        element.get("initial_value"), f"{at}/initial_value", most or TEXT_INPUT_MAX_LENGTH
    )
    return problems


def blocks_text_length(blocks: list) -> int:
    """All the text a message's blocks hold, as Slack sums it for msg_blocks_too_long."""
    total = 0
    stack: list[Any] = list(blocks)
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if item.get("type") in ("plain_text", "mrkdwn") and isinstance(item.get("text"), str):
                total += len(item["text"])
            else:
                stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return total


def _options_problems(element: dict, at: str) -> list[str]:
    kind = element["type"]
    if kind in ("external_select", "multi_external_select"):
        return []
    options = options_of(element)
    limit = {"radio_buttons": 10, "checkboxes": 10, "overflow": 5}.get(kind, 100)
    if not options or len(options) > limit:
        return [f"must provide 1 to {limit} options [json-pointer:{at}/options]"]
    problems: list[str] = []
    plain_only = kind not in ("radio_buttons", "checkboxes")
    values = set()
    for i, option in enumerate(options):
        where = f"{at}/options/{i}"
        if not isinstance(option, dict):
            problems.append(f"must provide an object [json-pointer:{where}]")
            continue
        problems += _text_problems(option.get("text"), f"{where}/text", plain=plain_only, limit=75)
        problems += _length_problem(option.get("value"), f"{where}/value", 150)
        values.add(option.get("value"))
    initial = element.get("initial_options") or (
        [element["initial_option"]] if element.get("initial_option") else []
    )
    for option in initial:
        if not isinstance(option, dict) or option.get("value") not in values:
            problems.append(f"must match one of the options [json-pointer:{at}/initial_option]")
    return problems


def _image_problems(image: dict, at: str) -> list[str]:
    problems: list[str] = []
    if not image.get("image_url") and not image.get("slack_file"):
        problems.append(f"must provide image_url or slack_file [json-pointer:{at}]")
    if not isinstance(image.get("alt_text"), str):
        problems.append(f"missing required field: alt_text [json-pointer:{at}]")
    else:
        problems += _length_problem(image["alt_text"], f"{at}/alt_text", 2000)
    return problems


def _text_problems(text: Any, at: str, *, plain: bool = False, limit: int) -> list[str]:
    if not isinstance(text, dict):
        return [f"must provide a text object [json-pointer:{at}]"]
    allowed = ("plain_text",) if plain else ("plain_text", "mrkdwn")
    if text.get("type") not in allowed:
        return [f"must be one of: {', '.join(allowed)} [json-pointer:{at}/type]"]
    value = text.get("text")
    if not isinstance(value, str) or not value:
        return [f"must be more than 0 characters [json-pointer:{at}/text]"]
    return _length_problem(value, f"{at}/text", limit)


def _length_problem(value: Any, at: str, limit: int) -> list[str]:
    if value is not None and len(str(value)) > limit:
        return [f"must be less than {limit + 1} characters [json-pointer:{at}]"]
    return []


def _short_id(thing: dict, position: int) -> str:
    # Slack fills missing ids with short random strings; hashing keeps them stable per content.
    digest = hashlib.sha1(f"{position}:{json.dumps(thing, sort_keys=True)}".encode()).hexdigest()
    return digest[:5]
