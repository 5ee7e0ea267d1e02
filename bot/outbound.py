"""Every kind of outbox message and the renderer that writes it at send time.

Each feature module keeps its own renderers; this is the one table the delivery tick reads.
"""

from __future__ import annotations

from bot import intros, meetings, wishes
from bot.outbox import Renderer

RENDERERS: dict[str, Renderer] = {**intros.RENDERERS, **meetings.RENDERERS, **wishes.RENDERERS}
