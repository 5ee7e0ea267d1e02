"""Safe Slack text: escaping what people typed, and dates each reader sees in their own zone."""

from datetime import UTC, datetime


def escape(text: str) -> str:
    """Escape typed text so it cannot ping <!channel> or forge a <@mention> through the bot."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def quote(text: str) -> str:
    """Escape typed text and show it as a block quote."""
    return "\n".join(f">{line}" for line in escape(text).splitlines() or [""])


def local_time(when: datetime, style: str = "{date_short_pretty} at {time}") -> str:
    """A Slack date token: each reader sees `when` in their own time zone; UTC is the fallback."""
    fallback = when.astimezone(UTC).strftime("%a %d %b %Y %H:%M UTC")
    return f"<!date^{int(when.timestamp())}^{style}|{fallback}>"
