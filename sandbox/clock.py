"""A clock the demo and the tests move by hand, so a week of mentoring takes a second."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta


class ManualClock:
    """Call it for the current time; `advance` moves it forward. Thread-safe."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._now = start
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, delta: timedelta) -> datetime:
        with self._lock:
            self._now += delta
            return self._now
