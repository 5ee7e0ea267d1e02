"""What people type, made safe to parse and store before any service sees it."""

from __future__ import annotations

import re

# NUL and the other C0 controls (PostgreSQL refuses NUL in text; none is meant), and the bidi
# overrides and isolates that make a note read differently from what it says ("Trojan Source").
# Tabs and line breaks stay: people write lists.
_UNSAFE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u202a-\u202e\u2066-\u2069]")
# Invisible characters that glue to a word and make `pause\u200b` not `pause`. Only stripped
# where we parse words: inside free text a zero-width joiner holds emoji such as 👩‍💻 together.
_INVISIBLE = re.compile(r"[\u200b-\u200f\u2060\ufeff\u00ad]")
_ID = re.compile(r"[0-9]{1,10}")
# Slack user ids are about 11 characters; our columns hold 32, and nothing longer is real.
_USER_ID = re.compile(r"[UW][A-Z0-9]{2,30}")

# The largest id any of our integer columns holds; anything bigger cannot name a row.
MAX_ID = 2**31 - 1


def clean_text(raw: str | None) -> str:
    """Free text as typed, minus characters that can only do harm; nothing visible reads as ""."""
    text = _UNSAFE.sub("", raw or "")
    return text if _INVISIBLE.sub("", text).strip() else ""


def clean_words(raw: str | None) -> str:
    """Text we parse for words and numbers: also without invisible characters."""
    return _INVISIBLE.sub("", clean_text(raw))


def whole_number(text: str) -> int | None:
    """Up to 9 decimal digits in any script (Arabic-Indic or fullwidth 3 is 3, as the person
    meant); "²" and "1e3" are not whole numbers, although Python's isdigit() says yes to "²"."""
    return int(text) if text.isdecimal() and len(text) <= 9 else None


def row_id(value: object) -> int:
    """An id from a button or form: a positive int that fits our columns, else 0 (no row)."""
    if isinstance(value, bool):
        return 0
    if isinstance(value, str):
        value = int(value) if _ID.fullmatch(value.strip()) else 0
    return value if isinstance(value, int) and 0 < value <= MAX_ID else 0


def is_user_id(value: object) -> bool:
    return isinstance(value, str) and _USER_ID.fullmatch(value) is not None
