"""What each kind of outbox message says, rendered at send time from the current state.

Features register a renderer per kind with `@renders("kind")`; the delivery tick looks it up.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.outbox import Renderer

RENDERERS: dict[str, Renderer] = {}


def renders(kind: str) -> Callable[[Renderer], Renderer]:
    def register(function: Renderer) -> Renderer:
        if kind in RENDERERS:
            raise ValueError(f"two renderers for outbox kind {kind!r}")
        RENDERERS[kind] = function
        return function

    return register
