"""Slack -> us: thin Bolt listeners that ack, parse, call one bot/ service and answer the actor."""

from __future__ import annotations

from slack_bolt import App

from handlers.deps import Deps


def register_all(app: App, deps: Deps) -> None:
    from handlers import actions, commands, errors, events, views

    errors.register(app, deps)
    events.register(app, deps)
    commands.register(app, deps)
    actions.register(app, deps)
    views.register(app, deps)
