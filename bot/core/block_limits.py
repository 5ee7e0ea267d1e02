"""Slack's Block Kit limits: every builder fits its text into them; a last check before sending.

Lengths are measured on the text as posted (after escaping) and in UTF-16 code units, which is how
Slack's clients count: never fewer than Python's code points, so what fits here fits either way.
"""

from __future__ import annotations

import copy
import re
import unicodedata
from collections.abc import Iterator
from typing import Any

SECTION_TEXT = 3000
FIELD_TEXT = 2000
CONTEXT_TEXT = 3000
CONTEXT_ELEMENTS = 10
HEADER_TEXT = 150
BUTTON_TEXT = 75
BUTTON_VALUE = 2000
OPTION_TEXT = 75
OPTION_VALUE = 150
LABEL_TEXT = 2000
PLACEHOLDER_TEXT = 150
INPUT_LENGTH = 3000
MODAL_TITLE = 24
PRIVATE_METADATA = 3000
MESSAGE_BLOCKS = 50
VIEW_BLOCKS = 100
# Slack refuses a message whose blocks hold about 12,000 characters in all (msg_blocks_too_long,
# undocumented); the margin covers what it counts that we do not.
MESSAGE_TEXT_BUDGET = 10_000
# One text (a note, a success) may use most of that; the rest is for the blocks around it.
TEXT_BUDGET = MESSAGE_TEXT_BUDGET - 1000
# Slack refuses long `text` (msg_too_long) far below its documented 40,000; a fallback needs less.
MESSAGE_TEXT = 3000
# Shortened list lines keep at least this much, so each still says what it was about.
SHORTEST_LINE = 100
ELLIPSIS = "…"
SHORTENED = f"{ELLIPSIS} _(shortened to fit in one Slack message)_"

# Slack's own tokens (<@U1>, <!date^…|…>, <url|label>) and escapes break if a cut lands inside them.
_TOKEN = re.compile(r"<[^<>\n]{1,500}>|&(?:amp|lt|gt);")
_ZWJ = "\u200d"  # joins emoji into one (a family, a profession)


class OverSlackLimits(Exception):
    """A message Slack would refuse: never sent, and its reasons are recorded for the operator."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("over Slack's limits: " + "; ".join(problems))
        self.problems = problems


def measure(text: str) -> int:
    """Characters as Slack counts them."""
    return len(text.encode("utf-16-le")) // 2


def split_text(text: str, limit: int = SECTION_TEXT) -> list[str]:
    """Pieces of mrkdwn that each fit `limit`, cut at a line, else a word, else a character."""
    pieces: list[str] = []
    rest = text
    while measure(rest) > limit:
        end, resume = _cut(rest, limit, window=limit)
        piece = rest[:end].strip("\n").rstrip()
        if piece:
            pieces.append(piece)
        line_start = rest.rfind("\n", 0, end) + 1
        # A quoted line cut in the middle stays quoted in the next piece.
        carry = ">" if rest.startswith(">", line_start) and rest[end : end + 1] != "\n" else ""
        rest = carry + rest[resume:]
    if rest.strip():
        pieces.append(rest.rstrip())
    return pieces


def shorten(text: str, limit: int, marker: str = ELLIPSIS) -> str:
    """`text` if it fits, else its beginning cut at a word where possible, then `marker`."""
    if measure(text) <= limit:
        return text
    end, _ = _cut(text, max(limit - measure(marker), 1), window=40)
    return text[:end].rstrip() + marker


def trim_input(value: str, max_length: int) -> str:
    """A plain-text pre-fill cut to its input's max_length (no marker: it becomes what is sent)."""
    if measure(value) <= max_length:
        return value
    end, _ = _cut(value, max_length, window=40)
    return value[:end].rstrip()


def sections(text: str, budget: int = TEXT_BUDGET) -> list[dict[str, Any]]:
    """Section blocks holding `text`, as many as needed; beyond `budget` it is visibly shortened."""
    pieces = split_text(shorten(text, budget, SHORTENED))
    return [{"type": "section", "text": {"type": "mrkdwn", "text": piece}} for piece in pieces]


def fit_lines(
    lines: list[str], budget: int, *, max_lines: int | None = None, where: str = ""
) -> list[str]:
    """List lines (already escaped) within `budget`: all of them, shortened evenly if they must
    be, and an "…and N more" line for any that still do not fit, saying `where` to see them."""
    if not lines:
        return []
    shown = lines[:max_lines] if max_lines else list(lines)
    if _lines_length(shown) > budget:
        share = max(budget // len(shown) - 1, SHORTEST_LINE)
        shown = [shorten(line, share) for line in shown]
    if len(shown) == len(lines) and _lines_length(shown) <= budget:
        return shown
    room = budget - measure(_more(len(lines), where)) - 1
    kept: list[str] = []
    for line in shown:
        room -= measure(line) + 1
        if room < 0:
            break
        kept.append(line)
    if len(kept) < len(lines):
        kept.append(_more(len(lines) - len(kept), where))
    return kept


def _lines_length(lines: list[str]) -> int:
    return sum(measure(line) + 1 for line in lines)


def _more(count: int, where: str) -> str:
    return f"{ELLIPSIS}and {count} more{f' ({where})' if where else ''}"


def fit_message(message: dict[str, Any]) -> dict[str, Any]:
    """A copy of a message that Slack will take: long text split or shortened, never dropped."""
    fitted = copy.deepcopy(message)
    text = str(fitted.get("text") or "")
    if not fitted.get("blocks") and measure(text) > MESSAGE_TEXT:
        fitted["blocks"] = sections(text)
    if fitted.get("blocks"):
        fitted["blocks"] = _fit_blocks(fitted["blocks"])
        _fit_budget(fitted["blocks"])
    if text:
        fitted["text"] = shorten(text, MESSAGE_TEXT)
    return fitted


def fit_view(view: dict[str, Any]) -> dict[str, Any]:
    """A copy of a modal or Home view with over-long texts split or shortened."""
    fitted = copy.deepcopy(view)
    fitted["blocks"] = _fit_blocks(fitted.get("blocks") or [])
    for key in ("title", "submit", "close"):
        if isinstance(fitted.get(key), dict):
            fitted[key]["text"] = shorten(fitted[key]["text"], MODAL_TITLE)
    return fitted


def _fit_blocks(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    fitted: list[dict[str, Any]] = []
    for block in blocks:
        text = block.get("text") if block.get("type") == "section" else None
        if isinstance(text, dict) and measure(text.get("text", "")) > SECTION_TEXT:
            parts = sections(text["text"])
            for key in ("accessory", "fields"):  # what belongs to the block stays on its head
                if key in block:
                    parts[0][key] = block[key]
            fitted.extend(parts)
            continue
        for obj, limit in _text_objects(block):
            if limit and measure(obj.get("text", "")) > limit:
                obj["text"] = shorten(obj["text"], limit)
        fitted.append(block)
    return fitted


def _fit_budget(blocks: list[dict[str, Any]]) -> None:
    """Shorten the longest sections until the message fits Slack's total for all its blocks."""
    while (excess := _block_text(blocks) - MESSAGE_TEXT_BUDGET) > 0:
        longest = max(
            (b["text"] for b in blocks if b.get("type") == "section" and "text" in b),
            key=lambda t: measure(t["text"]),
            default=None,
        )
        length = measure(longest["text"]) if longest else 0
        if length <= SHORTEST_LINE + measure(SHORTENED):
            return  # nothing long is left to shorten: the check names what is wrong
        longest["text"] = shorten(longest["text"], max(length - excess, SHORTEST_LINE), SHORTENED)


def check_message(message: dict[str, Any]) -> list[str]:
    """What Slack would refuse in this message; empty when it fits every limit."""
    text, blocks = message.get("text"), message.get("blocks") or []
    problems: list[str] = []
    if not text and not blocks:
        problems.append("no text and no blocks")
    if text and measure(str(text)) > MESSAGE_TEXT:
        problems.append(f"text is {measure(str(text))} characters, more than {MESSAGE_TEXT}")
    problems += _blocks_problems(blocks, MESSAGE_BLOCKS)
    total = _block_text(blocks)
    if total > MESSAGE_TEXT_BUDGET:
        problems.append(f"blocks hold {total} characters, more than {MESSAGE_TEXT_BUDGET}")
    return problems


def check_view(view: dict[str, Any]) -> list[str]:
    """What Slack would refuse in this modal or Home view; empty when it fits every limit."""
    problems = _blocks_problems(view.get("blocks") or [], VIEW_BLOCKS)
    for key in ("title", "submit", "close"):
        if isinstance(view.get(key), dict):
            problems += _too_long(view[key].get("text"), MODAL_TITLE, key)
    problems += _too_long(view.get("private_metadata"), PRIVATE_METADATA, "private_metadata")
    return problems


def _blocks_problems(blocks: list[dict[str, Any]], most: int) -> list[str]:
    problems = [f"{len(blocks)} blocks, more than {most}"] if len(blocks) > most else []
    for index, block in enumerate(blocks):
        at = f"block {index} ({block.get('type')})"
        for obj, limit in _text_objects(block):
            if not obj.get("text"):
                problems.append(f"{at}: empty text")
            elif limit:
                problems += _too_long(obj["text"], limit, at)
        if block.get("type") == "context" and len(block.get("elements") or []) > CONTEXT_ELEMENTS:
            problems.append(f"{at}: more than {CONTEXT_ELEMENTS} elements")
        for element in _elements(block):
            problems += _too_long(element.get("value"), BUTTON_VALUE, f"{at} value")
            for option in element.get("options") or []:
                problems += _too_long(option.get("value"), OPTION_VALUE, f"{at} option value")
            if element.get("type") == "plain_text_input":
                most_chars = min(element.get("max_length") or INPUT_LENGTH, INPUT_LENGTH)
                problems += _too_long(element.get("initial_value"), most_chars, f"{at} pre-fill")
    return problems


def _too_long(value: Any, limit: int, at: str) -> list[str]:
    if value is not None and measure(str(value)) > limit:
        return [f"{at}: {measure(str(value))} characters, more than {limit}"]
    return []


def _elements(block: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for element in [block.get("accessory"), block.get("element"), *(block.get("elements") or [])]:
        if isinstance(element, dict):
            yield element


def _text_objects(block: dict[str, Any]) -> Iterator[tuple[dict[str, Any], int]]:
    """Each text object in a block with Slack's limit for where it sits."""
    kind = block.get("type")
    own = {"section": SECTION_TEXT, "header": HEADER_TEXT}.get(str(kind))
    if own and isinstance(block.get("text"), dict):
        yield block["text"], own
    for field in block.get("fields") or []:
        yield field, FIELD_TEXT
    for key in ("label", "hint"):
        if isinstance(block.get(key), dict):
            yield block[key], LABEL_TEXT
    if kind == "context":
        for element in block.get("elements") or []:
            if isinstance(element, dict) and "text" in element:
                yield element, CONTEXT_TEXT
        return
    for element in _elements(block):
        if element.get("type") == "button" and isinstance(element.get("text"), dict):
            yield element["text"], BUTTON_TEXT
        if isinstance(element.get("placeholder"), dict):
            yield element["placeholder"], PLACEHOLDER_TEXT
        for option in element.get("options") or []:
            if isinstance(option.get("text"), dict):
                yield option["text"], OPTION_TEXT


def _block_text(blocks: list[dict[str, Any]]) -> int:
    return sum(measure(obj.get("text", "")) for block in blocks for obj, _ in _text_objects(block))


def _cut(text: str, limit: int, *, window: int) -> tuple[int, int]:
    """Where to end a piece of at most `limit` and where the rest resumes: the last line break,
    else the last space, within `window` of the limit; else the last safe character."""
    end = _longest_prefix(text, limit)
    if end >= len(text):
        return len(text), len(text)
    if end == 0:  # a limit below one character: take one anyway, or nothing would move
        return 1, 1
    tokens = [m.span() for m in _TOKEN.finditer(text, 0, end + 500)]

    def safe(at: int) -> bool:
        return not any(start < at < stop for start, stop in tokens)

    floor = max(end - window, 0)
    for separator in ("\n", " "):
        at = text.rfind(separator, floor, end + 1)
        while at > 0 and not safe(at):
            at = text.rfind(separator, floor, at)
        if at > 0:
            return at, at + 1
    at = end
    while at > 0 and not (safe(at) and not _joined(text, at)):
        at -= 1
    # One unbreakable run longer than the limit (a 10,000-character word): cut it anyway.
    return (at, at) if at > 0 else (end, end)


def _longest_prefix(text: str, limit: int) -> int:
    units = 0
    for index, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > limit:
            return index
    return len(text)


def _joined(text: str, at: int) -> bool:
    """True where a cut would split one visible character (accents, emoji sequences, flags)."""
    after, before = text[at], text[at - 1]
    flags = "\U0001f1e6" <= before <= "\U0001f1ff" and "\U0001f1e6" <= after <= "\U0001f1ff"
    return (
        unicodedata.category(after) in ("Mn", "Me")  # accents, variation selectors, keycaps
        or _ZWJ in (after, before)
        or "\U0001f3fb" <= after <= "\U0001f3ff"  # skin tones
        or flags
    )
