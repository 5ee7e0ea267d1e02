"""Settings: the one place that reads the environment, validated into a frozen object."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import time

DEFAULT_API_URL = "https://slack.com/api/"
DEFAULT_DATABASE_URL = "sqlite:///mentor_coach.db"
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_CHANNEL = re.compile(r"^(#?[a-z0-9][a-z0-9._-]{0,79}|[CG][A-Z0-9]{2,})$")
_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_CLIENT_ID = re.compile(r"^[0-9]+\.[0-9]+$")


class ConfigError(Exception):
    """A missing or invalid environment variable, with what to do about it."""

    def __init__(self, variable: str, problem: str, fix: str) -> None:
        super().__init__(f"{variable} {problem}. {fix}")
        self.variable = variable


@dataclass(frozen=True)
class QuietHours:
    """A daily window, in each person's own time zone, when the bot sends nothing non-urgent."""

    start: time
    end: time


@dataclass(frozen=True)
class Settings:
    """Everything the bot is configured with. Built only by `load_settings`."""

    slack_bot_token: str
    slack_signing_secret: str
    slack_app_token: str | None = None
    slack_api_url: str = DEFAULT_API_URL
    database_url: str = DEFAULT_DATABASE_URL
    database_timeout_seconds: int = 10
    port: int = 3000
    success_channel: str | None = None
    admin_user_ids: frozenset[str] = frozenset()
    prep_lead_minutes: int = 1440
    agenda_lead_minutes: int = 60
    checkin_delay_minutes: int = 60
    followup_delay_minutes: int = 10080
    delivery_tick_seconds: int = 5
    daily_nudge_limit: int = 3
    outbox_retention_days: int = 30
    request_expiry_days: int = 5
    request_reminder_days: int = 3
    quiet_hours: QuietHours | None = QuietHours(time(20, 0), time(8, 0))
    log_level: str = "INFO"
    log_format: str = "text"
    # HTTP mode under gunicorn: one process of 8 threads by default. Bolt acks at once and
    # the rest is waiting on Slack and the database, which threads do well in one process
    # (and SQLite prefers one writer process); more workers use more cores (and connections).
    web_concurrency: int = 1
    web_threads: int = 8
    web_graceful_timeout_seconds: int = 30
    # Installing to many workspaces (OAuth): each workspace's token comes from its install.
    slack_client_id: str | None = None
    slack_client_secret: str | None = None
    slack_redirect_uri: str | None = None

    @property
    def socket_mode(self) -> bool:
        return self.slack_app_token is not None

    @property
    def oauth(self) -> bool:
        """Installable to many workspaces (SLACK_CLIENT_ID and SLACK_CLIENT_SECRET are set)."""
        return self.slack_client_id is not None


def load_settings(environ: Mapping[str, str] | None = None, *, need_slack: bool = True) -> Settings:
    """Read and validate the environment; raise ConfigError naming the first bad variable.

    `need_slack=False` is for commands that never talk to Slack (database upgrades, reports).
    """
    env = _Env(os.environ if environ is None else environ)
    token = env.text("SLACK_BOT_TOKEN")
    secret = env.text("SLACK_SIGNING_SECRET")
    client_id, client_secret = env.oauth_client()
    if environ is None and client_id is None:
        # Bolt reads these two itself and turns on its OAuth flow when they merely exist, so a
        # blank `SLACK_CLIENT_ID=` copied from .env.example would silently drop our bot token.
        for name in ("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET"):
            os.environ.pop(name, None)
    if need_slack:
        if client_id is None or token is not None:
            token = _require(token, "SLACK_BOT_TOKEN", "the Bot User OAuth Token (xoxb-...)")
        if token is not None and not token.startswith("xoxb-"):
            raise ConfigError(
                "SLACK_BOT_TOKEN",
                "is not a bot token",
                "Use the Bot User OAuth Token that starts with xoxb- (OAuth & Permissions page).",
            )
        secret = _require(secret, "SLACK_SIGNING_SECRET", "the Signing Secret (Basic Information)")
    app_token = env.text("SLACK_APP_TOKEN")
    if app_token is not None and not app_token.startswith("xapp-"):
        raise ConfigError(
            "SLACK_APP_TOKEN",
            "is not an app-level token",
            "Use an app-level token with the connections:write scope (it starts with xapp-), "
            "or unset it to serve HTTP instead of Socket Mode.",
        )
    if client_id is not None and app_token is not None:
        raise ConfigError(
            "SLACK_APP_TOKEN",
            "is set along with SLACK_CLIENT_ID",
            "Installing to many workspaces needs HTTP (Slack sends people back to "
            "/slack/oauth_redirect): unset SLACK_APP_TOKEN, or unset SLACK_CLIENT_ID and "
            "SLACK_CLIENT_SECRET to use Socket Mode in one workspace.",
        )
    expiry = env.integer("REQUEST_EXPIRY_DAYS", 5, 1, 60)
    reminder = env.integer("REQUEST_REMINDER_DAYS", 3, 1, 59)
    if reminder >= expiry:
        raise ConfigError(
            "REQUEST_REMINDER_DAYS",
            f"is {reminder}, not before the expiry on day {expiry}",
            "Set it below REQUEST_EXPIRY_DAYS, or unset both.",
        )
    return Settings(
        slack_bot_token=token or "",
        slack_signing_secret=secret or "",
        slack_app_token=app_token,
        slack_api_url=env.api_url(),
        database_url=env.database_url(),
        database_timeout_seconds=env.integer("DATABASE_TIMEOUT_SECONDS", 10, 1, 600),
        port=env.integer("PORT", 3000, 1, 65535),
        success_channel=env.channel("SUCCESS_CHANNEL"),
        admin_user_ids=env.user_ids("ADMIN_USER_IDS"),
        prep_lead_minutes=env.integer("PREP_LEAD_MINUTES", 1440, 0, 60 * 24 * 14),
        agenda_lead_minutes=env.integer("AGENDA_LEAD_MINUTES", 60, 0, 60 * 24),
        checkin_delay_minutes=env.integer("CHECKIN_DELAY_MINUTES", 60, 0, 60 * 24 * 7),
        followup_delay_minutes=env.integer("FOLLOWUP_DELAY_MINUTES", 10080, 0, 60 * 24 * 60),
        delivery_tick_seconds=env.integer("DELIVERY_TICK_SECONDS", 5, 1, 3600),
        daily_nudge_limit=env.integer("DAILY_NUDGE_LIMIT", 3, 1, 50),
        outbox_retention_days=env.integer("OUTBOX_RETENTION_DAYS", 30, 1, 3650),
        request_expiry_days=expiry,
        request_reminder_days=reminder,
        quiet_hours=env.quiet_hours("QUIET_HOURS"),
        log_level=env.log_level("LOG_LEVEL"),
        log_format=env.log_format("LOG_FORMAT"),
        web_concurrency=env.integer("WEB_CONCURRENCY", 1, 1, 64),
        web_threads=env.integer("WEB_THREADS", 8, 1, 256),
        web_graceful_timeout_seconds=env.integer("WEB_GRACEFUL_TIMEOUT_SECONDS", 30, 1, 600),
        slack_client_id=client_id,
        slack_client_secret=client_secret,
        slack_redirect_uri=env.redirect_uri("SLACK_REDIRECT_URI"),
    )


def _require(value: str | None, name: str, what: str) -> str:
    if value is None:
        raise ConfigError(
            name,
            "is not set",
            f"Put {what} of your Slack app in .env or the environment (see README, "
            "'Run it against your workspace'); `python app.py demo` needs no configuration.",
        )
    return value


class _Env:
    """Typed readers over an environment mapping; blank values count as unset."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ

    def text(self, name: str) -> str | None:
        value = self._environ.get(name, "").strip()
        return value or None

    def integer(self, name: str, default: int, low: int, high: int) -> int:
        raw = self.text(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            value = None
        if value is None or not low <= value <= high:
            raise ConfigError(
                name, f"is {raw!r}", f"Set it to a whole number from {low} to {high}, or unset it."
            )
        return value

    def api_url(self) -> str:
        url = self.text("SLACK_API_URL") or DEFAULT_API_URL
        if not re.match(r"^https?://[^/\s]+(/\S*)?/$", url):
            raise ConfigError(
                "SLACK_API_URL",
                f"is {url!r}",
                f"Set it to the Web API base URL ending in '/', for example {DEFAULT_API_URL}",
            )
        return url

    def oauth_client(self) -> tuple[str | None, str | None]:
        """SLACK_CLIENT_ID and SLACK_CLIENT_SECRET: both (OAuth, many workspaces) or neither."""
        client_id, secret = self.text("SLACK_CLIENT_ID"), self.text("SLACK_CLIENT_SECRET")
        where = "(your app's Basic Information page, App Credentials)"
        if client_id is not None and not _CLIENT_ID.match(client_id):
            raise ConfigError(
                "SLACK_CLIENT_ID",
                f"is {client_id!r}",
                f"Copy the Client ID {where}, like 1234.5678.",
            )
        if (client_id is None) != (secret is None):
            missing = "SLACK_CLIENT_SECRET" if secret is None else "SLACK_CLIENT_ID"
            raise ConfigError(
                missing,
                "is not set, but its partner is",
                f"Set both SLACK_CLIENT_ID and SLACK_CLIENT_SECRET {where} to install to many "
                "workspaces, or neither to run in one workspace with SLACK_BOT_TOKEN.",
            )
        return client_id, secret

    def redirect_uri(self, name: str) -> str | None:
        value = self.text(name)
        if value is not None and not re.match(r"^https?://[^/\s]+/\S*$", value):
            raise ConfigError(
                name,
                f"is {value!r}",
                "Set it to the Redirect URL in your app's OAuth & Permissions settings, like "
                "https://mentor.example.com/slack/oauth_redirect, or unset it.",
            )
        return value

    def database_url(self) -> str:
        url = self.text("DATABASE_URL") or DEFAULT_DATABASE_URL
        if url.startswith(("postgres://", "postgresql://")):
            # Heroku-style URLs name no driver; we use psycopg 3.
            url = "postgresql+psycopg://" + url.split("://", 1)[1]
        if not url.startswith(("sqlite://", "postgresql+psycopg://")):
            raise ConfigError(
                "DATABASE_URL",
                "is not a SQLite or PostgreSQL URL",
                "Use sqlite:///path/to/file.db or postgresql://user@host:5432/dbname, "
                "or unset it to use mentor_coach.db.",
            )
        return url

    def channel(self, name: str) -> str | None:
        value = self.text(name)
        if value is not None and not _CHANNEL.match(value):
            raise ConfigError(
                name, f"is {value!r}", "Set it to a channel ID like C0123ABCD or a name like #wins."
            )
        return value

    def user_ids(self, name: str) -> frozenset[str]:
        raw = self.text(name)
        if raw is None:
            return frozenset()
        ids = [part.strip() for part in raw.split(",") if part.strip()]
        bad = [i for i in ids if not _USER_ID.match(i)]
        if bad:
            raise ConfigError(
                name,
                f"has {bad[0]!r}, which is not a Slack user ID",
                "List member IDs like U0123ABCD, separated by commas "
                "(profile > More > Copy member ID).",
            )
        return frozenset(ids)

    def quiet_hours(self, name: str) -> QuietHours | None:
        if name not in self._environ:
            return Settings.quiet_hours
        raw = self._environ[name].strip()
        if not raw:
            return None
        start, _, end = raw.partition("-")
        clocks = [_CLOCK.match(part.strip()) for part in (start, end)]
        if not all(clocks) or start.strip() == end.strip():
            raise ConfigError(
                name,
                f"is {raw!r}",
                "Use HH:MM-HH:MM in 24-hour time, for example 20:00-08:00, or set it empty to "
                "turn quiet hours off.",
            )
        start_time, end_time = (time(int(m.group(1)), int(m.group(2))) for m in clocks if m)
        return QuietHours(start_time, end_time)

    def log_level(self, name: str) -> str:
        value = (self.text(name) or "INFO").upper()
        if value not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ConfigError(name, f"is {value!r}", "Use DEBUG, INFO, WARNING or ERROR.")
        return value

    def log_format(self, name: str) -> str:
        value = (self.text(name) or "text").lower()
        if value not in {"text", "json"}:
            raise ConfigError(
                name, f"is {value!r}", "Use text (lines for people) or json (one object a line)."
            )
        return value
