"""Mentor Coach: wiring and command line. settings -> database -> Bolt app -> handlers -> run."""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import hmac
import json
import logging
import os
import re
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Executor, Future
from datetime import UTC, datetime
from http import HTTPStatus
from socketserver import ThreadingMixIn
from typing import Any
from urllib.parse import parse_qsl
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from slack_bolt import App, BoltContext, BoltRequest
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_bolt.adapter.wsgi.http_request import WsgiHttpRequest
from slack_bolt.adapter.wsgi.http_response import WsgiHttpResponse
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped
from slack_bolt.request.internals import build_context
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from bot.core.database import make_engine, make_session_factory
from bot.core.settings import ConfigError, Settings, load_settings
from handlers import register_all
from handlers.deps import Deps
from handlers.installs import NOT_INSTALLED, Installs, register_one_workspace

logger = logging.getLogger("mentor_coach")
EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"


def utc_now() -> datetime:
    return datetime.now(UTC)


def make_client(settings: Settings) -> WebClient:
    """A WebClient for answering people: one quick retry on connection errors, 429 and 5xx."""
    # Under OAuth each request's token comes from its workspace's installation (Bolt sets it).
    token = None if settings.oauth else settings.slack_bot_token
    client = WebClient(token=token, base_url=settings.slack_api_url, timeout=10)
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
    installs: Installs | None = None,
) -> App:
    """The Bolt app with every listener registered. Tests and the demo pass their own client.

    With SLACK_CLIENT_ID and SLACK_CLIENT_SECRET it serves the OAuth install flow and takes
    each workspace's token from its installation (`installs`, made here unless given)."""
    client = client or make_client(settings)
    if installs is None and settings.oauth:
        installs = Installs(settings, sessions.kw["bind"], sessions, client, clock)
    app = App(
        signing_secret=settings.slack_signing_secret,
        client=client,
        listener_executor=listener_executor,
        oauth_settings=installs.oauth_settings if installs is not None else None,
        user_facing_authorize_error_message=NOT_INSTALLED if installs is not None else None,
    )
    deps = Deps(settings=settings, sessions=sessions, clock=clock)
    register_all(app, deps)
    if installs is not None:
        installs.register(app, deps)
    else:
        register_one_workspace(app)
    return app


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    # Slack sends a whole request at once; a client that trickles or stalls loses its thread
    # after this long instead of holding it forever.
    timeout = 10

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("http %s", format % args)


# Slack's largest requests (a 100-block modal submitted with its state) are tens of kilobytes;
# 1 MiB is far above any of them and small enough to refuse before reading.
MAX_BODY_BYTES = 1 << 20
# Slack's rule: a request signed more than five minutes ago may be a replay.
SIGNATURE_MAX_AGE_SECONDS = 5 * 60
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
HEALTH_DEADLINE_SECONDS = 1.5


class Refused(Exception):
    """A request answered at the door: an HTTP status, and a reason that is safe to log."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


def make_wsgi(app: App, engine: Engine) -> Callable[..., Iterable[bytes]]:
    """POST /slack/events goes to Bolt once `admit` lets it in; GET /healthz checks the database."""
    bolt = SlackRequestHandler(app, path=EVENTS_PATH)
    # Bolt keeps the secret private; the gate must check the very secret Bolt checks after it.
    signing_secret: str = app._signing_secret
    database_answers = HealthCheck(engine)

    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == HEALTH_PATH:
            if database_answers():
                return _answer(start_response, 200, {"ok": True})
            return _answer(start_response, 503, {"ok": False, "database": "unreachable"})
        if environ.get("PATH_INFO") == EVENTS_PATH and environ.get("REQUEST_METHOD") == "POST":
            try:
                request = admit(environ, signing_secret)
            except Refused as refusal:
                # Only our own words: everything in a refused request is the sender's choice.
                logger.info("refused a request: %s", refusal)
                return _answer(start_response, refusal.status, {"error": str(refusal)})
            response = app.dispatch(request)
            answer = WsgiHttpResponse(response.status, response.headers, response.body)
            start_response(answer.status, answer.get_headers())
            return answer.get_body()
        # Anything else is Bolt's: in OAuth mode GET /slack/install and /slack/oauth_redirect,
        # which a person's browser opens (unsigned; the OAuth state guards them), else a 404.
        return bolt(environ, start_response)

    return wsgi


def admit(environ: dict[str, Any], signing_secret: str) -> BoltRequest:
    """The request for Bolt, once it is no bigger than Slack sends, signed by Slack, well formed.

    Bolt verifies signatures too (and still does), but it crashes on a timestamp that is not a
    number and then hands the unverified body to the error handler; and it reads any body
    whole. So nothing reaches Bolt before it passed this gate.
    """
    raw = _read_body(environ)
    _check_signature(environ, raw, signing_secret)
    try:
        text_body = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused(400, "the body is not UTF-8") from None
    query, headers = environ.get("QUERY_STRING", ""), WsgiHttpRequest(environ).get_headers()
    try:
        request = BoltRequest(body=text_body, query=query, headers=headers)
    except (ValueError, TypeError, AttributeError, LookupError):
        raise Refused(400, "the body is not a Slack request") from None
    form = dict(parse_qsl(text_body, keep_blank_values=True)) if not request.body else {}
    if "command" in form and "payload" not in form:
        # Bolt takes any form mentioning "payload" (say, in what someone typed after /mentor)
        # for an interactivity payload, finds none and reads the body as empty.
        request.body, request.context = form, build_context(BoltContext(), form)
    body = request.body
    if not (
        isinstance(body.get("type"), str)
        or isinstance(body.get("command"), str)
        or body.get("ssl_check") == "1"
    ):
        raise Refused(400, "the body is not a Slack request")
    return request


def _read_body(environ: dict[str, Any]) -> bytes:
    stream = environ["wsgi.input"]
    declared = str(environ.get("CONTENT_LENGTH") or "").strip()
    if not declared:
        body = stream.read(MAX_BODY_BYTES + 1)
    elif not (declared.isascii() and declared.isdigit()):
        raise Refused(400, "the Content-Length is not a number")
    elif len(declared) > len(str(MAX_BODY_BYTES)) or int(declared) > MAX_BODY_BYTES:
        raise Refused(413, "the body is larger than Slack ever sends")
    else:
        body = stream.read(int(declared))
    if len(body) > MAX_BODY_BYTES:
        raise Refused(413, "the body is larger than Slack ever sends")
    return body


def _check_signature(environ: dict[str, Any], body: bytes, signing_secret: str) -> None:
    """Slack's v0 signature, computed over the raw bytes (whatever their encoding)."""
    timestamp = environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP", "")
    signature = environ.get("HTTP_X_SLACK_SIGNATURE", "")
    if not _TIMESTAMP.fullmatch(timestamp):
        raise Refused(401, "the request timestamp is missing or not a number")
    if abs(time.time() - int(timestamp)) > SIGNATURE_MAX_AGE_SECONDS:
        raise Refused(401, "the request timestamp is over 5 minutes off (is the clock right?)")
    base = b"v0:" + timestamp.encode() + b":" + body
    expected = b"v0=" + hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest().encode()
    # WSGI hands headers over as latin-1 strings, so this encoding never fails.
    if not hmac.compare_digest(expected, signature.encode("latin-1", "replace")):
        raise Refused(401, "the signature does not match (is SLACK_SIGNING_SECRET right?)")


def _answer(
    start_response: Callable[..., Any], status: int, body: dict[str, Any]
) -> Iterable[bytes]:
    payload = json.dumps(body).encode()
    start_response(
        f"{status} {HTTPStatus(status).phrase}",
        [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))],
    )
    return [payload]


class HealthCheck:
    """Does the database answer? Decided within HEALTH_DEADLINE_SECONDS, even when it hangs.

    A hung database neither answers nor fails, so the ping runs on its own thread and the check
    stops waiting for it; while one ping is stuck, later checks wait on it instead of piling up
    more threads and connections behind it.
    """

    def __init__(self, engine: Engine, deadline: float = HEALTH_DEADLINE_SECONDS) -> None:
        self._engine = engine
        self._deadline = deadline
        self._lock = threading.Lock()
        self._ping: Future[None] | None = None

    def __call__(self) -> bool:
        with self._lock:
            if self._ping is None or self._ping.done():
                self._ping = Future()
                threading.Thread(
                    target=self._run, args=(self._ping,), name="health", daemon=True
                ).start()
            ping = self._ping
        try:
            ping.result(timeout=self._deadline)
        except TimeoutError:
            logger.warning("health check: the database did not answer in %ss", self._deadline)
            return False
        except Exception as error:  # any database failure means unhealthy, whatever its type
            logger.warning("health check failed: %r", error)
            return False
        return True

    def _run(self, ping: Future[None]) -> None:
        try:
            with self._engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception as error:  # handed to the waiting check, which logs it
            ping.set_exception(error)
        else:
            ping.set_result(None)


def serve_http(app: App, engine: Engine, port: int, host: str = "0.0.0.0") -> WSGIServer:
    """Serve in a background thread for the demo, tests and benchmarks (production uses gunicorn).

    `port=0` picks a free port (see server.server_port).
    """
    return _serve_in_background(make_wsgi(app, engine), port, host)


def make_socket_health_wsgi(
    engine: Engine, connected: Callable[[], bool]
) -> Callable[..., Iterable[bytes]]:
    """Socket Mode's one HTTP answer, GET /healthz: 200 while the database answers and the
    WebSocket to Slack is open, 503 naming what is not."""
    database_answers = HealthCheck(engine)

    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != HEALTH_PATH:
            return _answer(start_response, 404, {"ok": False, "error": "not found"})
        trouble = {} if connected() else {"socket": "disconnected"}
        if not database_answers():
            trouble["database"] = "unreachable"
        return _answer(start_response, 503 if trouble else 200, {"ok": not trouble, **trouble})

    return wsgi


def _serve_in_background(wsgi: Callable[..., Iterable[bytes]], port: int, host: str) -> WSGIServer:
    server = make_server(host, port, wsgi, _ThreadingWSGIServer, handler_class=_QuietHandler)
    # A connection select() saw may be gone by accept(); a blocking accept would then hold the
    # serving thread, and shutdown with it, forever.
    server.socket.settimeout(1)
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


# The attributes every LogRecord has; anything else on a record came from `extra=` and is a field.
_RECORD_ATTRIBUTES = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
}


class TextLines(logging.Formatter):
    """One line for people: time, level, logger, message; tokens redacted, tracebacks too."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        return RedactTokens.TOKEN.sub("[redacted]", super().format(record))


class JsonLines(logging.Formatter):
    """One JSON object a line with the fields a log system indexes (LOG_FORMAT=json)."""

    def format(self, record: logging.LogRecord) -> str:
        fields: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,
        }
        for name, value in vars(record).items():
            if name not in _RECORD_ATTRIBUTES and not name.startswith("_"):
                fields[name] = value if isinstance(value, int | float | bool | None) else str(value)
        if record.exc_info:
            fields["error"] = self.formatException(record.exc_info)
        return RedactTokens.TOKEN.sub("[redacted]", json.dumps(fields, ensure_ascii=False))


# Routine library chatter an operator never needs: APScheduler writes a line or two every tick
# (about 35,000 a day), Alembic seven per start, gunicorn a few per worker. LOG_LEVEL=DEBUG
# brings them back.
CHATTY_LOGGERS = ("apscheduler", "alembic", "gunicorn.error")


def _not_bolts_token_notice(record: logging.LogRecord) -> bool:
    # Bolt reads SLACK_BOT_TOKEN itself and warns at every start that the client we hand it
    # (with our retries and API URL) wins over it: true, expected, and not worth a line.
    return record.getMessage() != warning_client_prioritized_and_token_skipped()


def configure_logging(level: str, log_format: str = "text") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonLines() if log_format == "json" else TextLines())
    handler.addFilter(RedactTokens())
    logging.basicConfig(level=level, handlers=[handler], force=True)
    for name in CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG if level == "DEBUG" else logging.WARNING)
    logging.getLogger("slack_bolt.App").addFilter(_not_bolts_token_notice)


def open_database(settings: Settings) -> tuple[Engine, sessionmaker[Session]]:
    """Connect and apply any pending migrations, so every start runs on the current schema."""
    from migrations import upgrade

    engine = make_engine(settings.database_url, timeout=settings.database_timeout_seconds)
    upgrade(engine)
    return engine, make_session_factory(engine)


class BotProcess:
    """One serving process: its database engine, Bolt app, WSGI callable and delivery scheduler.

    Every process that serves Slack runs its own delivery tick: outbox claims make that safe
    with any number of them (see "How messages reach people" in README).
    """

    def __init__(self, settings: Settings) -> None:
        from bot.find.candidates import warm_indexes
        from scheduler import start_scheduler
        from scheduler.delivery import Deliverer, make_delivery_client

        self.engine, sessions = open_database(settings)
        client = make_client(settings)
        installs = (
            Installs(settings, self.engine, sessions, client, utc_now) if settings.oauth else None
        )
        self.app = create_app(settings, sessions, client, installs=installs)
        self.wsgi = make_wsgi(self.app, self.engine)
        deliverer = Deliverer(
            settings,
            sessions,
            make_delivery_client(settings),
            utc_now,
            tokens=installs.tokens if installs is not None else None,
        )
        self.scheduler = start_scheduler(deliverer, sessions, utc_now)
        # Find's in-memory index, built in the background so the first search need not wait.
        threading.Thread(
            target=warm_indexes, args=(sessions,), name="find-index", daemon=True
        ).start()

    def close(self) -> None:
        """Let the send in progress finish and record its outcome, then let go of the database."""
        self.scheduler.shutdown(wait=True)
        self.engine.dispose()


def gunicorn_options(settings: Settings) -> dict[str, Any]:
    """How gunicorn serves the bot, for `python app.py` and for `gunicorn -c python:wsgi`."""
    return {
        "bind": f"0.0.0.0:{settings.port}",
        "workers": settings.web_concurrency,
        # Threads, not one process per request: a thread waiting on Slack or the database costs
        # little, and a connection that is slow to send its request waits in the poller
        # without holding a thread.
        "worker_class": "gthread",
        "threads": settings.web_threads,
        # A worker silent this long is stuck and replaced (slow requests do not count).
        "timeout": 30,
        # On SIGTERM: in-flight requests and the delivery tick get this long to finish.
        "graceful_timeout": settings.web_graceful_timeout_seconds,
        # Idle kept-alive connections wait in the poller, not on a thread; behind a proxy,
        # keep its upstream idle timeout below this.
        "keepalive": 5,
        # Slack's request lines and headers are short; a body over 1 MiB is refused by `admit`.
        "limit_request_line": 4094,
        "limit_request_fields": 100,
        "limit_request_field_size": 8190,
        "loglevel": "debug" if settings.log_level == "DEBUG" else "warning",
        "logger_class": _gunicorn_logger_class,  # called by gunicorn for the class
        "accesslog": None,
        "proc_name": "mentor-coach",
        # gunicornc's socket sits at one path per user: two bots on a machine would collide.
        "control_socket_disable": True,
    }


def _gunicorn_logger_class() -> type:
    from gunicorn.glogging import Logger

    class Logs(Logger):  # type: ignore[misc]
        """Gunicorn's lines through our handler: one format, tokens redacted, one stream."""

        def setup(self, cfg: Any) -> None:
            super().setup(cfg)
            for log in (self.error_log, self.access_log):
                for handler in list(log.handlers):
                    log.removeHandler(handler)
                log.propagate = True

    return Logs


_worker_bot: BotProcess | None = None


def serve_with_gunicorn(settings: Settings) -> None:
    """Serve HTTP under gunicorn until SIGTERM; each worker builds its own bot after the fork."""
    from gunicorn.app.base import BaseApplication

    class Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            options = {
                **gunicorn_options(settings),
                "worker_exit": lambda _arbiter, _worker: _stop_worker_bot(),
                "on_exit": lambda _arbiter: logger.info("Mentor Coach has stopped"),
            }
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> Callable[..., Iterable[bytes]]:
            # Runs in each worker after the fork, so no thread or connection is ever forked.
            global _worker_bot
            _worker_bot = BotProcess(settings)
            return _worker_bot.wsgi

    # Migrate once, before any worker starts; the workers' own upgrade then finds nothing to do.
    open_database(settings)[0].dispose()
    logger.info(
        "Mentor Coach is listening on port %s (POST %s; %s worker%s x %s threads)",
        settings.port,
        EVENTS_PATH,
        settings.web_concurrency,
        "" if settings.web_concurrency == 1 else "s",
        settings.web_threads,
    )
    Server().run()


def _stop_worker_bot() -> None:
    # Gunicorn calls this once the worker's in-flight requests are answered (or its graceful
    # timeout is up): the delivery tick still sending gets to finish before the process goes.
    if _worker_bot is not None:
        logger.info("Mentor Coach is stopping (worker %s)", os.getpid())
        _worker_bot.close()


def run(settings: Settings, stop: threading.Event | None = None) -> None:
    """Serve until SIGTERM or Ctrl-C (or until `stop` is set), then shut down cleanly."""
    if not settings.socket_mode:
        serve_with_gunicorn(settings)  # gunicorn handles SIGTERM itself
        return
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    bot = BotProcess(settings)
    if stop is None:
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
    handler = SocketModeHandler(bot.app, settings.slack_app_token)
    try:
        health = _serve_in_background(
            make_socket_health_wsgi(bot.engine, handler.client.is_connected),
            settings.port,
            "0.0.0.0",
        )
    except OSError as error:
        bot.close()
        handler.close()
        raise ConfigError(
            "PORT",
            f"({settings.port}) could not be opened for GET {HEALTH_PATH} ({error.strerror})",
            "Pick a free port, or stop whatever is using it.",
        ) from None
    handler.connect()
    logger.info(
        "Mentor Coach is connected to Slack in Socket Mode (GET %s on port %s)",
        HEALTH_PATH,
        settings.port,
    )
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()
    logger.info("Mentor Coach is stopping")
    bot.close()
    handler.close()
    health.shutdown()
    health.server_close()
    logger.info("Mentor Coach has stopped")


def check_database(settings: Settings) -> None:
    """Does the database answer? If not, say so in one line before anything starts."""
    engine = make_engine(settings.database_url, timeout=settings.database_timeout_seconds)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        raise ConfigError(
            "DATABASE_URL",
            f"names a database that did not answer ({reason})",
            "Check that the database is running and reachable from here, and that the URL's "
            "host, port, database name and user are right.",
        ) from None
    finally:
        engine.dispose()


def check_slack_token(settings: Settings) -> None:
    """Ask Slack who we are (auth.test): a revoked or mistyped token stops the start in one line."""
    # Whatever happens is said in one line below; slack_sdk's own lines would only repeat it.
    quiet = logging.getLogger("mentor_coach.auth_test")
    quiet.disabled = True
    client = WebClient(
        token=settings.slack_bot_token,
        base_url=settings.slack_api_url,
        timeout=10,
        logger=quiet,
        retry_handlers=[],
    )
    try:
        client.auth_test()
    except SlackApiError as error:
        if error.response.status_code >= 500:
            raise ConfigError(
                "SLACK_API_URL",
                f"answered auth.test with HTTP {error.response.status_code}",
                "Slack may be having trouble; try again shortly (status.slack.com).",
            ) from None
        raise ConfigError(
            "SLACK_BOT_TOKEN",
            f"was refused by Slack ({error.response.get('error')})",
            "Copy the Bot User OAuth Token (xoxb-...) again from your app's OAuth & Permissions "
            "page; if the app was uninstalled or the token revoked, reinstall the app first.",
        ) from None
    except OSError as error:
        raise ConfigError(
            "SLACK_API_URL",
            f"({settings.slack_api_url}) could not be reached ({getattr(error, 'reason', error)})",
            "Check this machine's network and proxy settings, or unset SLACK_API_URL.",
        ) from None


def check_app_token(settings: Settings) -> None:
    """Socket Mode: can the app-level token open a connection? If not, say so in one line."""
    quiet = logging.getLogger("mentor_coach.apps_connections_open")
    quiet.disabled = True
    client = WebClient(base_url=settings.slack_api_url, timeout=10, logger=quiet, retry_handlers=[])
    try:
        client.apps_connections_open(app_token=settings.slack_app_token or "")
    except SlackApiError as error:
        raise ConfigError(
            "SLACK_APP_TOKEN",
            f"was refused by Slack ({error.response.get('error')})",
            "Create an app-level token with the connections:write scope again (Basic "
            "Information, App-Level Tokens), or unset it to serve HTTP instead.",
        ) from None


def print_outbox(settings: Settings) -> None:
    from bot.core.outbox import summary

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
            told = f"{row.told} told ({row.notice_status})" if row.told else "nobody to tell"
            print(f"  #{row.id} {row.kind}: {row.last_error} (to {row.to}; {told})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="app.py", description="Mentor Coach, a Slack bot.")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("run", help="run against Slack (the default)")
    commands.add_parser("demo", help="a whole mentoring cycle on a local Slack stand-in")
    playground = commands.add_parser(
        "playground", help="play the mentee, mentor and admin in your browser, on a local Slack"
    )
    playground.add_argument("--port", type=int, default=8800, help="port on 127.0.0.1")
    playground.add_argument("--blank", action="store_true", help="start with no mentor profiles")
    db = commands.add_parser("db", help="database maintenance")
    db.add_argument("action", choices=["upgrade"], help="apply pending migrations")
    commands.add_parser("outbox", help="pending, failed and sent messages, for operators")
    args = parser.parse_args(argv)

    if args.command == "demo":
        from sandbox.demo import run_demo

        return run_demo(sys.modules[__name__])
    if args.command == "playground":
        from sandbox.playground import run_playground

        return run_playground(sys.modules[__name__], args.port, seed=not args.blank)

    from dotenv import find_dotenv, load_dotenv

    load_dotenv(find_dotenv(usecwd=True))
    try:
        settings = load_settings(need_slack=args.command not in {"db", "outbox"})
    except ConfigError as error:
        print(f"Configuration error: {error}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, settings.log_format)
    try:
        check_database(settings)
        if args.command not in {"db", "outbox"} and not settings.oauth:
            check_slack_token(settings)
        if args.command not in {"db", "outbox"} and settings.socket_mode:
            check_app_token(settings)
    except ConfigError as error:
        print(f"Configuration error: {error}", file=sys.stderr)
        return 2
    if args.command == "db":
        open_database(settings)[0].dispose()
        print("Database is up to date.")
        return 0
    if args.command == "outbox":
        print_outbox(settings)
        return 0
    try:
        run(settings)
    except ConfigError as error:
        print(f"Configuration error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
