"""Mentor Coach: wiring and command line. settings -> database -> Bolt app -> handlers -> run."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import re
import signal
import sys
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Executor
from datetime import UTC, datetime
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from bot.database import make_engine, make_session_factory
from bot.settings import ConfigError, Settings, load_settings
from handlers import Deps, register_all

logger = logging.getLogger("mentor_coach")
EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"


def utc_now() -> datetime:
    return datetime.now(UTC)


def make_client(settings: Settings) -> WebClient:
    """A WebClient for answering people: one quick retry on connection errors, 429 and 5xx."""
    client = WebClient(token=settings.slack_bot_token, base_url=settings.slack_api_url, timeout=10)
    client.retry_handlers.extend(
        [RateLimitErrorRetryHandler(max_retry_count=1), ServerErrorRetryHandler(max_retry_count=1)]
    )
    return client


def create_app(
    settings: Settings,
    sessions: sessionmaker[Session],
    client: WebClient | None = None,
    *,
    listener_executor: Executor | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> App:
    """The Bolt app with every listener registered. Tests and the demo pass their own client."""
    app = App(
        signing_secret=settings.slack_signing_secret,
        client=client or make_client(settings),
        listener_executor=listener_executor,
    )
    register_all(app, Deps(settings=settings, sessions=sessions, clock=clock))
    return app


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("http %s", format % args)


def make_wsgi(app: App, engine: Engine) -> Callable[..., Iterable[bytes]]:
    """POST /slack/events goes to Bolt; GET /healthz checks that the database answers."""
    bolt = SlackRequestHandler(app, path=EVENTS_PATH)

    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == HEALTH_PATH:
            status, body = _health(engine)
            start_response(status, [("Content-Type", "application/json")])
            return [json.dumps(body).encode()]
        return bolt(environ, start_response)

    return wsgi


def _health(engine: Engine) -> tuple[str, dict[str, Any]]:
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as error:  # any database failure means unhealthy, whatever its type
        logger.warning("health check failed: %r", error)
        return "503 Service Unavailable", {"ok": False, "database": "unreachable"}
    return "200 OK", {"ok": True}


def serve_http(app: App, engine: Engine, port: int, host: str = "0.0.0.0") -> WSGIServer:
    """Start serving in a background thread; `port=0` picks a free port (see server.server_port)."""
    server = make_server(
        host, port, make_wsgi(app, engine), _ThreadingWSGIServer, handler_class=_QuietHandler
    )
    # A short poll interval keeps shutdown quick; requests are served on their own threads.
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.1}, name="http", daemon=True
    ).start()
    return server


class RedactTokens(logging.Filter):
    """Belt and braces: no Slack token ever reaches a log line, whoever logged it."""

    TOKEN = re.compile(r"xox[a-z]-[A-Za-z0-9-]+|xapp-[A-Za-z0-9-]+")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self.TOKEN.search(message):
            record.msg, record.args = self.TOKEN.sub("[redacted]", message), None
        return True


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactTokens())
    logging.basicConfig(level=level, handlers=[handler], force=True)


def open_database(settings: Settings) -> tuple[Engine, sessionmaker[Session]]:
    """Connect and apply any pending migrations, so every start runs on the current schema."""
    from migrations import upgrade

    engine = make_engine(settings.database_url)
    upgrade(engine)
    return engine, make_session_factory(engine)


def run(settings: Settings, stop: threading.Event | None = None) -> None:
    """Serve until SIGTERM or Ctrl-C (or until `stop` is set), then shut down cleanly."""
    from scheduler import start_scheduler
    from scheduler.delivery import Deliverer, make_delivery_client

    engine, sessions = open_database(settings)
    app = create_app(settings, sessions)
    deliverer = Deliverer(settings, sessions, make_delivery_client(settings), utc_now)
    scheduler = start_scheduler(deliverer, sessions, utc_now)
    if stop is None:
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
    if settings.socket_mode:
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        handler = SocketModeHandler(app, settings.slack_app_token)
        handler.connect()
        logger.info("Mentor Coach is connected to Slack in Socket Mode")
        close: Callable[[], None] = handler.close
    else:
        server = serve_http(app, engine, settings.port)
        logger.info("Mentor Coach is listening on port %s (POST %s)", settings.port, EVENTS_PATH)
        close = server.shutdown
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()
    logger.info("Mentor Coach is stopping")
    scheduler.shutdown(wait=True)
    close()
    engine.dispose()


def print_outbox(settings: Settings) -> None:
    from bot.outbox import summary

    engine, sessions = open_database(settings)
    with sessions.begin() as session:
        report = summary(session, utc_now())
    engine.dispose()
    counts = report["counts"]
    print("Outbox: " + ", ".join(f"{counts[status]} {status}" for status in counts))
    print("Next due:" if report["next"] else "Nothing is waiting to be sent.")
    for row in report["next"]:
        to = row.slack_user_id or row.recipient_channel_id
        retry = (
            f" (attempt {row.attempts + 1}, last error: {row.last_error})" if row.attempts else ""
        )
        print(f"  #{row.id} {row.kind} to {to} at {row.due_at:%Y-%m-%d %H:%M} UTC{retry}")
    if report["failed"]:
        print("Recently failed:")
        for row in report["failed"]:
            print(f"  #{row.id} {row.kind}: {row.last_error}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="app.py", description="Mentor Coach, a Slack bot.")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("run", help="run against Slack (the default)")
    commands.add_parser("demo", help="a whole mentoring cycle on a local Slack stand-in")
    db = commands.add_parser("db", help="database maintenance")
    db.add_argument("action", choices=["upgrade"], help="apply pending migrations")
    commands.add_parser("outbox", help="pending, failed and sent messages, for operators")
    args = parser.parse_args(argv)

    if args.command == "demo":
        from sandbox.demo import run_demo

        return run_demo()

    from dotenv import find_dotenv, load_dotenv

    load_dotenv(find_dotenv(usecwd=True))
    try:
        settings = load_settings(need_slack=args.command not in {"db", "outbox"})
    except ConfigError as error:
        print(f"Configuration error: {error}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    if args.command == "db":
        open_database(settings)[0].dispose()
        print("Database is up to date.")
        return 0
    if args.command == "outbox":
        print_outbox(settings)
        return 0
    run(settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
