"""The bot as a WSGI callable, to run gunicorn yourself: `gunicorn -c python:wsgi wsgi:application`.

`-c python:wsgi` also takes this module's settings (workers, threads, timeouts, limits, and the
hooks that start each worker's delivery tick and stop it cleanly), the same as `python app.py`.
Without it, each worker builds the bot on its first request and delivers from then on.
Run `python app.py db upgrade` before starting it (workers also upgrade, under a lock).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any

from dotenv import find_dotenv, load_dotenv

from app import BotProcess, configure_logging, gunicorn_options
from bot.core.settings import ConfigError, Settings, load_settings


def _settings() -> Settings:
    load_dotenv(find_dotenv(usecwd=True))
    try:
        return load_settings()
    except ConfigError as error:
        print(f"Configuration error: {error}", file=sys.stderr)
        sys.exit(2)


class LazyBot:
    """A WSGI callable that builds the bot in the process that serves, not the one importing."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._bot: BotProcess | None = None

    def start(self) -> BotProcess:
        with self._lock:
            if self._bot is None:
                self._bot = BotProcess(SETTINGS)
            return self._bot

    def close(self) -> None:
        with self._lock:
            if self._bot is not None:
                self._bot.close()
                self._bot = None

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        return self.start().wsgi(environ, start_response)


SETTINGS = _settings()
configure_logging(SETTINGS.log_level, SETTINGS.log_format)
application = LazyBot()

# Gunicorn reads a `-c python:` module's names as its settings: the same as `python app.py`'s.
globals().update(gunicorn_options(SETTINGS))


def post_worker_init(worker: Any) -> None:
    application.start()  # deliver from the start, not from the first request


def worker_exit(server: Any, worker: Any) -> None:
    application.close()
