"""Quiet hours: when a message may reach someone, in their own time zone, DST included."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.settings import QuietHours


def zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def is_quiet(local: time, window: QuietHours) -> bool:
    if window.start < window.end:
        return window.start <= local < window.end
    return local >= window.start or local < window.end


def next_allowed(due: datetime, tz: str | None, window: QuietHours | None) -> datetime:
    """`due` itself when it is outside the window, else the window's end in the person's zone."""
    if window is None:
        return due
    local = due.astimezone(zone(tz))
    if not is_quiet(local.time().replace(tzinfo=None), window):
        return due
    end_date = local.date()
    if window.start > window.end and local.time().replace(tzinfo=None) >= window.start:
        end_date += timedelta(days=1)
    # zoneinfo resolves a wall time that DST skips or repeats to a real instant (fold=0).
    end = datetime.combine(end_date, window.end, tzinfo=local.tzinfo)
    return end.astimezone(UTC)


def start_of_next_day(moment: datetime, tz: str | None, window: QuietHours | None) -> datetime:
    """The first moment of the person's next local day that is outside quiet hours."""
    local = moment.astimezone(zone(tz))
    midnight = datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=local.tzinfo)
    return next_allowed(midnight.astimezone(UTC), tz, window)
