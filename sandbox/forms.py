"""What Slack's client puts in view.state.values when a person fills in a modal."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from fnmatch import fnmatchcase
from typing import Any

from sandbox.block_kit import (
    MULTI_OPTION_ELEMENTS,
    PICKER_FIELDS,
    SINGLE_OPTION_ELEMENTS,
    TEXT_INPUTS,
    Control,
    option_text,
    options_of,
    stateful_controls,
)


def fill_state(
    blocks: list[dict], values: Mapping[str, Any], current: Mapping[str, Any]
) -> dict[str, dict[str, dict]]:
    """state.values for the blocks: entered `values` (keyed by the label a person reads, with
    * for a name in it, or by action_id or block_id) win,
    then what the person already entered (`current`), then each element's initial value."""
    remaining = dict(values)
    state: dict[str, dict[str, dict]] = {}
    for control in stateful_controls(blocks):
        block_id, action_id = control.block_id, control.action_id
        label = field_label(control)
        key = next((k for k in (label, action_id, block_id) if k in remaining), None)
        if key is None and label is not None:  # a label naming someone: 'Your note to *'
            key = next((k for k in remaining if "*" in k and fnmatchcase(label, k)), None)
        if key is not None:
            value = entered_value(control, remaining.pop(key))
        elif action_id in current.get(block_id, {}):
            value = current[block_id][action_id]
        else:
            value = initial_value(control.element)
        state.setdefault(block_id, {})[action_id] = value
    if remaining:
        names = [
            f"{field_label(c)!r} ({c.action_id}, block {c.block_id})"
            for c in stateful_controls(blocks)
        ]
        raise AssertionError(
            f"no input named {sorted(remaining)} in this view; inputs: {names or 'none'}"
        )
    return state


def unsubmittable(blocks: list[dict], state: Mapping[str, Any]) -> list[str]:
    """Why Slack's client would refuse to send this submission (it checks these itself)."""
    reasons: list[str] = []
    for control in stateful_controls(blocks):
        if control.block.get("type") != "input":
            continue
        label = (control.block.get("label") or {}).get("text", control.block_id)
        value = state.get(control.block_id, {}).get(control.action_id, {})
        if is_empty(value):
            if not control.block.get("optional"):
                reasons.append(f"{label!r} is required")
            continue
        element = control.element
        text = value.get("value")
        if element["type"] in TEXT_INPUTS and isinstance(text, str):
            if "min_length" in element and len(text) < element["min_length"]:
                reasons.append(f"{label!r} needs at least {element['min_length']} characters")
            if "max_length" in element and len(text) > element["max_length"]:
                reasons.append(f"{label!r} allows at most {element['max_length']} characters")
        if element["type"] == "number_input" and text is not None:
            reasons += _number_problems(label, element, str(text))
    return reasons


def is_empty(value: Mapping[str, Any]) -> bool:
    """True when an element's state holds nothing the person entered or chose."""
    return all(v in (None, "", [], {}) for k, v in value.items() if k != "type")


def initial_value(element: dict) -> dict:
    """An element's state before the person touches it."""
    kind = element["type"]
    if kind in TEXT_INPUTS or kind in ("number_input", "rich_text_input"):
        key = "rich_text_value" if kind == "rich_text_input" else "value"
        return {"type": kind, key: element.get("initial_value")}
    if kind in SINGLE_OPTION_ELEMENTS:
        return {"type": kind, "selected_option": element.get("initial_option")}
    if kind in MULTI_OPTION_ELEMENTS:
        return {"type": kind, "selected_options": list(element.get("initial_options") or [])}
    if kind in PICKER_FIELDS:
        state_key, initial_key = PICKER_FIELDS[kind]
        empty = [] if kind.startswith("multi_") else None
        return {"type": kind, state_key: element.get(initial_key, empty)}
    if kind == "file_input":
        return {"type": kind, "files": []}
    raise AssertionError(f"unsupported input element {kind!r}")


def entered_value(control: Control, value: Any) -> dict:
    """An element's state after the person enters `value` (a str, number, date, list...)."""
    element = control.element
    kind = element["type"]
    if kind in TEXT_INPUTS:
        return {"type": kind, "value": None if value is None else str(value)}
    if kind == "number_input":
        return {"type": kind, "value": None if value is None else str(value)}
    if kind == "rich_text_input":
        return {"type": kind, "rich_text_value": _rich_text(str(value))}
    if kind in SINGLE_OPTION_ELEMENTS:
        option = None if value is None else _choose(control, value)
        return {"type": kind, "selected_option": option}
    if kind in MULTI_OPTION_ELEMENTS:
        chosen = [value] if isinstance(value, (str, int)) else list(value or [])
        return {"type": kind, "selected_options": [_choose(control, v) for v in chosen]}
    if kind in PICKER_FIELDS:
        state_key, _ = PICKER_FIELDS[kind]
        return {"type": kind, state_key: _picked(kind, value)}
    raise AssertionError(f"the driver cannot fill a {kind!r} element ({control.action_id})")


def _choose(control: Control, wanted: Any) -> dict:
    if isinstance(wanted, dict):
        return wanted
    options = options_of(control.element)
    if control.element["type"] in ("external_select", "multi_external_select"):
        # External options come from the app at runtime; take the caller's value at face value.
        return {"text": {"type": "plain_text", "text": str(wanted)}, "value": str(wanted)}
    for match in (
        lambda o: o.get("value") == str(wanted),
        lambda o: option_text(o) == str(wanted),
        lambda o: option_text(o).casefold() == str(wanted).casefold(),
    ):
        found = [o for o in options if match(o)]
        if found:
            return dict(found[0])
    available = [f"{option_text(o)!r} (value {o.get('value')!r})" for o in options]
    raise AssertionError(
        f"{control.action_id}: no option {wanted!r}; options: {', '.join(available)}"
    )


def _picked(kind: str, value: Any) -> Any:
    if value is None:
        return [] if kind.startswith("multi_") else None
    if kind == "datepicker" and isinstance(value, (dt.date, dt.datetime)):
        return value.strftime("%Y-%m-%d")
    if kind == "timepicker" and isinstance(value, (dt.time, dt.datetime)):
        return value.strftime("%H:%M")
    if kind == "datetimepicker":
        return int(value.timestamp()) if isinstance(value, dt.datetime) else int(value)
    if kind.startswith("multi_"):
        return [value] if isinstance(value, str) else list(value)
    return str(value)


def _number_problems(label: str, element: dict, text: str) -> list[str]:
    try:
        number = float(text) if element.get("is_decimal_allowed") else int(text)
    except ValueError:
        kind = "a number" if element.get("is_decimal_allowed") else "a whole number"
        return [f"{label!r} must be {kind}, not {text!r}"]
    reasons = []
    if element.get("min_value") is not None and number < float(element["min_value"]):
        reasons.append(f"{label!r} must be at least {element['min_value']}")
    if element.get("max_value") is not None and number > float(element["max_value"]):
        reasons.append(f"{label!r} must be at most {element['max_value']}")
    return reasons


def _rich_text(text: str) -> dict:
    return {
        "type": "rich_text",
        "elements": [{"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}],
    }


def field_label(control: Control) -> str | None:
    """The label a person reads above an input (None for controls outside input blocks)."""
    if control.block.get("type") != "input":
        return None
    return (control.block.get("label") or {}).get("text")
