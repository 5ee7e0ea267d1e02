"""Safe Slack text: escaping what people typed, and dates each reader sees in their own zone."""

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Protocol

from bot.core.quiet_hours import zone


class Reader(Protocol):
    """Someone a time is written for: their name and IANA time zone (a Member is one)."""

    @property
    def name(self) -> str: ...

    @property
    def tz(self) -> str: ...


def escape(text: str) -> str:
    """Escape typed text so it cannot ping <!channel> or forge a <@mention> through the bot."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def quote(text: str) -> str:
    """Escape typed text and show it as a block quote."""
    return "\n".join(f">{line}" for line in escape(text).splitlines() or [""])


def local_time(
    when: datetime, style: str = "{date_short_pretty} at {time}", readers: Sequence[Reader] = ()
) -> str:
    """A Slack date token: each reader sees `when` in their own time zone. Its fallback (shown
    where Slack cannot render the token) is written for `readers` too; UTC only if none given."""
    fallback = reader_time(when, readers, with_time="{time" in style)
    return f"<!date^{int(when.timestamp())}^{style}|{fallback}>"


def reader_time(when: datetime, readers: Sequence[Reader], *, with_time: bool = True) -> str:
    """`when` as plain text for notifications: one reader's own clock ("Thu 3 Dec, 09:00"), or
    each reader's when several share one message ("Thu 3 Dec, 09:00 for Amara, 17:00 for Kenji")."""
    if not readers:
        return when.astimezone(UTC).strftime("%a %d %b %Y %H:%M UTC")
    local = [(reader, when.astimezone(zone(reader.tz))) for reader in readers]
    clocks = {_clock(at, with_time) for _, at in local}
    if len(clocks) == 1:  # everyone reads the same clock: no need for names
        return _clock(local[0][1], with_time)
    same_day = len({at.date() for _, at in local}) == 1
    # One day for all: say it once ("Thu 3 Dec, 09:00 for Amara, 17:00 for Kenji").
    parts = []
    for i, (reader, at) in enumerate(local):
        clock = f"{at:%H:%M}" if same_day and with_time and i else _clock(at, with_time)
        parts.append(f"{clock} for {escape(reader.name)}")
    return ", ".join(parts)


def _clock(at: datetime, with_time: bool) -> str:
    day = f"{at:%a} {at.day} {at:%b}"
    return f"{day}, {at:%H:%M}" if with_time else day
