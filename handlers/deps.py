"""What every listener is given (settings, transactions, clock), and who acts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from bot.core.settings import Settings


@dataclass(frozen=True)
class Deps:
    """What every listener needs: configuration, a way to open a transaction, and the clock."""

    settings: Settings
    sessions: sessionmaker[Session]
    clock: Callable[[], datetime]


@dataclass(frozen=True)
class Interaction:
    """Someone acting on a button or a modal: who, in which workspace, and when."""

    body: dict[str, Any]
    deps: Deps

    @property
    def team_id(self) -> str:
        return self.body["user"]["team_id"]

    @property
    def user_id(self) -> str:
        return self.body["user"]["id"]

    @property
    def now(self) -> datetime:
        return self.deps.clock()
