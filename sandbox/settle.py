"""A thread pool that knows when all its work is done, so sandbox runs can wait for the bot."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any


class TrackingExecutor(ThreadPoolExecutor):
    """ThreadPoolExecutor that counts submitted-but-unfinished tasks."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._busy = 0
        self._changed = threading.Condition()

    @property
    def busy(self) -> int:
        """How many submitted tasks have not finished yet."""
        with self._changed:
            return self._busy

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        with self._changed:
            self._busy += 1
        try:
            future = super().submit(fn, *args, **kwargs)
        except BaseException:
            self._finished(None)
            raise
        future.add_done_callback(self._finished)
        return future

    def wait_idle(self, timeout: float = 10.0) -> None:
        """Block until no task is running or queued, including tasks those tasks submit."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while self._busy:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(
                        f"{self._busy} task(s) still busy after {timeout:g}s in TrackingExecutor"
                    )
                self._changed.wait(remaining)

    def _finished(self, _future: Future | None) -> None:
        with self._changed:
            self._busy -= 1
            self._changed.notify_all()
