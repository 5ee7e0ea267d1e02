"""Every kind of outbox message and the renderer that writes it at send time.

Each feature module keeps its own renderers; this is the one table the delivery tick reads.
"""

from __future__ import annotations

from bot import checkins, intros, meetings, reframe, successes, wishes
from bot.outbox import FailureHook, Renderer

RENDERERS: dict[str, Renderer] = {
    **intros.RENDERERS,
    **meetings.RENDERERS,
    **checkins.RENDERERS,
    **successes.RENDERERS,
    **reframe.RENDERERS,
    **wishes.RENDERERS,
}
# What else must happen when a kind of message fails for good (tell someone, undo a flag).
FAILURE_HOOKS: dict[str, FailureHook] = {**successes.FAILURE_HOOKS}
