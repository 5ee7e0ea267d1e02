"""Quiet hours: when a message may reach someone, in their own time zone, DST included."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.core.settings import QuietHours

# The longest a window can last (a minute short of a day) plus the largest DST shift, rounded up:
# the first allowed moment is always closer than this.
_REACH = timedelta(hours=26)


def zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


class WorkingHours(Protocol):
    """Someone's own working day on their clock (a Member, or a row with these two columns)."""

    @property
    def work_start(self) -> time | None: ...

    @property
    def work_end(self) -> time | None: ...


def quiet_window(member: WorkingHours, default: QuietHours | None) -> QuietHours | None:
    """The hours this person hears nothing from the bot: outside their own working hours, else
    the program's `QUIET_HOURS` (`default`; None when the program turned quiet hours off)."""
    if member.work_start is None or member.work_end is None:
        return default
    # Working from `work_start` to `work_end` means quiet from the end of one day to the start of
    # the next; equal times would be an empty day, which the profile form never saves.
    return QuietHours(member.work_end, member.work_start)


def is_quiet(local: time, window: QuietHours) -> bool:
    """A window whose start and end are the same minute is empty, never the whole day."""
    if window.start == window.end:
        return False
    if window.start < window.end:
        return window.start <= local < window.end
    return local >= window.start or local < window.end


def quiet_at(moment: datetime, tz: str | None, window: QuietHours | None) -> bool:
    """Whether `moment` falls inside the window, read on the person's own clock."""
    if window is None:
        return False
    return is_quiet(moment.astimezone(zone(tz)).time().replace(tzinfo=None), window)


def next_allowed(due: datetime, tz: str | None, window: QuietHours | None) -> datetime:
    """`due` itself when it is outside the window, else the earliest later moment that is.

    The window ends either when the local clock reaches its end (an end time that happens twice,
    on the night clocks go back, counts both times) or when a DST change jumps the clock out of
    it (an end time that never happens, on the night clocks go forward).
    """
    if not quiet_at(due, tz, window):
        return due
    assert window is not None  # quiet_at is False without one
    place = zone(tz)
    today = due.astimezone(place).date()
    candidates = [
        datetime.combine(
            today + timedelta(days=days), window.end.replace(fold=fold), place
        ).astimezone(UTC)
        for days in range(-1, 3)
        for fold in (0, 1)
    ]
    candidates += _offset_changes(place, due, due + _REACH)
    allowed = [c for c in candidates if c >= due and not quiet_at(c, tz, window)]
    # Unreachable with real zones; a later moment still keeps the caller from looping.
    return min(allowed, default=due + _REACH)


def _offset_changes(place: ZoneInfo, start: datetime, end: datetime) -> list[datetime]:
    """The instants in [start, end) at which the zone's UTC offset changes, to the second."""

    def offset(seconds: int) -> timedelta | None:
        return datetime.fromtimestamp(seconds, UTC).astimezone(place).utcoffset()

    changes = []
    low = int(start.timestamp())
    last = int(end.timestamp())
    while low < last:
        high = min(low + 3600, last)
        # Sampled hourly: no zone changes its offset twice within an hour.
        if offset(low) != offset(high):
            before, after = low, high
            while after - before > 1:
                middle = (before + after) // 2
                if offset(middle) == offset(before):
                    before = middle
                else:
                    after = middle
            changes.append(datetime.fromtimestamp(after, UTC))
        low = high
    return changes


def start_of_next_day(moment: datetime, tz: str | None, window: QuietHours | None) -> datetime:
    """The first moment of the person's next local day that is outside quiet hours."""
    local = moment.astimezone(zone(tz))
    # A midnight that a DST change skips resolves (fold=0) to the instant the clock jumps.
    midnight = datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=local.tzinfo)
    return next_allowed(midnight.astimezone(UTC), tz, window)
