"""`python app.py playground`: the real bot, the Slack sandbox and a local page to play it in."""

from __future__ import annotations

import errno
import logging
import signal
import sys
import tempfile
import threading
from pathlib import Path
from types import ModuleType
from typing import TextIO

from sandbox.playground.server import PlaygroundServer
from sandbox.playground.world import PEOPLE, Playground

DEFAULT_PORT = 8800

__all__ = ["DEFAULT_PORT", "PEOPLE", "Playground", "PlaygroundServer", "run_playground"]


def run_playground(
    wiring: ModuleType,
    port: int = DEFAULT_PORT,
    *,
    seed: bool = True,
    out: TextIO = sys.stdout,
    stop: threading.Event | None = None,
) -> int:
    """Serve the playground on 127.0.0.1 until Ctrl-C (or `stop`); `wiring` is app.py."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    with tempfile.TemporaryDirectory(prefix="mentor-coach-playground-") as folder:
        database_url = f"sqlite:///{Path(folder) / 'playground.db'}"
        with Playground(wiring, database_url, seed=seed) as world:
            try:
                server = PlaygroundServer(world, "127.0.0.1", port)
            except OSError as error:
                if error.errno != errno.EADDRINUSE or port == 0:
                    raise
                out.write(f"Port {port} is taken; using a free one instead.\n")
                server = PlaygroundServer(world, "127.0.0.1", 0)
            server.serve_in_background()
            out.write(
                "Mentor Coach playground: the real bot on a local Slack stand-in.\n"
                f"Open {server.url} in your browser (Ctrl-C stops it).\n"
            )
            out.flush()
            if stop is None:
                stop = threading.Event()
                if threading.current_thread() is threading.main_thread():
                    signal.signal(signal.SIGTERM, lambda *_: stop.set())
            try:
                stop.wait()
            except KeyboardInterrupt:
                out.write("\nPlayground stopped.\n")
            finally:
                server.shutdown()
                server.server_close()
    return 0
