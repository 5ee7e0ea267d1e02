"""Random Slack trouble for the reliability benchmark: rate limits, 500s, timeouts after posting.

A `Chaos` is installed on a FakeSlack (`slack.chaos = Chaos(...)`); the stand-in asks it about
every Web API call that has no failure queued with `fail_next`, and applies what it answers with
the same failure modes `fail_next` offers, so the benchmark exercises exactly what tests pin down.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Iterable
from typing import Any

# The calls a delivery process makes; everything else (views, users.info) stays reliable.
DELIVERY_METHODS = ("chat.postMessage", "conversations.open", "conversations.history")


class Chaos:
    """Fails `rate` of the calls to `methods` at random (seeded), and can make every post slow.

    The faults, equally likely: 429 with Retry-After; a 500; and a timeout that DID post - Slack
    stored the message, then answered too late for the client (`client_timeout` seconds).
    """

    FAULTS = ("rate_limited", "server_error", "timeout_after_posting")

    def __init__(
        self,
        seed: int,
        *,
        rate: float = 0.05,
        client_timeout: float = 10.0,
        slow_post_seconds: float = 0.0,
        methods: Iterable[str] = DELIVERY_METHODS,
    ) -> None:
        self.rate = rate
        self.client_timeout = client_timeout
        self.slow_post_seconds = slow_post_seconds
        self.methods = frozenset(methods)
        self.injected: Counter[str] = Counter()
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def __call__(self, method: str) -> dict[str, Any] | None:
        """The `fail_next` arguments for this call, or None to answer it normally."""
        if method not in self.methods:
            return None
        with self._lock:
            fault = self._rng.choice(self.FAULTS) if self._rng.random() < self.rate else None
            if fault:
                self.injected[fault] += 1
        slow = self.slow_post_seconds if method == "chat.postMessage" else 0.0
        if fault == "rate_limited":
            return {"status": 429, "retry_after": 1, "hang_seconds": slow or None}
        if fault == "server_error":
            return {"status": 500, "hang_seconds": slow or None}
        if fault == "timeout_after_posting":
            # Long enough past the client's timeout that it has surely given up.
            return {"hang_seconds": slow + self.client_timeout * 1.5, "act": "before"}
        return {"hang_seconds": slow} if slow else None

    @property
    def total(self) -> int:
        return sum(self.injected.values())

    def describe(self) -> str:
        """E.g. "412 (137 rate limited, 140 server error, 135 timeout after posting)"."""
        parts = ", ".join(
            f"{self.injected[fault]} {fault.replace('_', ' ')}" for fault in self.FAULTS
        )
        return f"{self.total} ({parts})"
