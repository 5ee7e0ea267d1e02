"""Installing to many workspaces (OAuth): the install pages, uninstalls, and each one's token."""

from __future__ import annotations

import html
import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from slack_bolt import App, BoltContext, BoltResponse
from slack_bolt.authorization.authorize import InstallationStoreAuthorize
from slack_bolt.oauth.callback_options import CallbackOptions, FailureArgs, SuccessArgs
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_sdk import WebClient
from slack_sdk.oauth.installation_store import InstallationStore
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.core.installs import hold_deliveries, team_ids, workspace_installed
from bot.core.settings import Settings
from handlers.deps import Deps

logger = logging.getLogger(__name__)

# The bot scopes in manifest.yml (a test keeps them equal): what the install asks for.
BOT_SCOPES = (
    "commands",
    "chat:write",
    "im:write",
    "im:history",
    "mpim:write",
    "mpim:history",
    "channels:history",
    "groups:history",
    "reactions:write",
    "users:read",
    "channels:read",
    "files:write",
)
INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"
# How long someone has between opening the install link and approving it in Slack.
STATE_SECONDS = 10 * 60
# A token found in the store is used this long without asking again; an uninstall seen by
# another process reaches this one within it (and a refused token is forgotten at once).
TOKEN_SECONDS = 30.0
# What someone acting in a workspace without an installation is told (Bolt says it for us).
NOT_INSTALLED = (
    ":wave: Mentor Coach isn't installed in this workspace right now, so it can't help here yet. "
    "Ask whoever manages Slack apps here to install it again: everything you set up is kept."
)
# Slack's answers for a token that no longer works.
DEAD_TOKEN_ERRORS = frozenset({"invalid_auth", "token_revoked", "token_expired", "not_authed"})


class WorkspaceTokens:
    """Each workspace's bot token from the installation store, remembered for a short while.

    Requests get theirs from Bolt (it authorizes each one from the store); deliveries and jobs
    run outside any request and ask here."""

    def __init__(
        self,
        store: InstallationStore,
        sessions: sessionmaker[Session],
        base: WebClient,
        *,
        seconds: float = TOKEN_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.sessions = sessions
        self.base = base
        self.seconds = seconds
        self.monotonic = monotonic
        self._lock = threading.Lock()
        self._tokens: dict[str, tuple[str, float]] = {}
        self._clients: dict[tuple[int, str], WebClient] = {}
        self._teams: dict[int, str] = {}  # our workspace id -> Slack team id, which never changes

    def token(self, team_id: str) -> str | None:
        """The workspace's bot token, or None when the app is not installed there."""
        now = self.monotonic()
        with self._lock:
            cached = self._tokens.get(team_id)
            if cached is not None and cached[1] > now:
                return cached[0]
        bot = self.store.find_bot(enterprise_id=None, team_id=team_id)
        if bot is None or not bot.bot_token:
            self.forget(team_id)
            return None
        with self._lock:
            self._tokens[team_id] = (bot.bot_token, now + self.seconds)
        return bot.bot_token

    def client(self, team_id: str, base: WebClient | None = None) -> WebClient | None:
        """`base` (timeouts, retries, API URL) with the workspace's token; None if uninstalled."""
        token = self.token(team_id)
        if token is None:
            return None
        base = base or self.base
        with self._lock:
            client = self._clients.get((id(base), token))
            if client is None:
                client = WebClient(
                    token=token,
                    base_url=base.base_url,
                    timeout=base.timeout,
                    logger=base.logger,
                    retry_handlers=list(base.retry_handlers),
                )
                self._clients[(id(base), token)] = client
            return client

    def client_for_workspace(
        self, workspace_id: int, base: WebClient | None = None
    ) -> WebClient | None:
        """The same, for one of our workspace ids (as outbox rows carry them)."""
        with self._lock:
            team_id = self._teams.get(workspace_id)
        if team_id is None:
            with self.sessions.begin() as session:
                team_id = team_ids(session, {workspace_id}).get(workspace_id)
            if team_id is None:
                return None
            with self._lock:
                self._teams[workspace_id] = team_id
        return self.client(team_id, base)

    def forget(self, team_id: str) -> None:
        """Ask the store again next time (an uninstall, or Slack refused the token)."""
        with self._lock:
            forgotten = self._tokens.pop(team_id, None)
            if forgotten is not None:
                for key in [k for k in self._clients if k[1] == forgotten[0]]:
                    del self._clients[key]

    def forget_workspace(self, workspace_id: int) -> None:
        with self._lock:
            team_id = self._teams.get(workspace_id)
        if team_id is not None:
            self.forget(team_id)


class Installs:
    """OAuth mode's parts: slack_sdk's stores on our database, Bolt's settings, token lookups."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        sessions: sessionmaker[Session],
        client: WebClient,
        clock: Callable[[], datetime],
    ) -> None:
        if settings.slack_client_id is None or settings.slack_client_secret is None:
            raise ValueError("OAuth needs SLACK_CLIENT_ID and SLACK_CLIENT_SECRET")
        # Tables made by migration 0013; create_tables() is never called.
        self.store = SQLAlchemyInstallationStore(
            client_id=settings.slack_client_id, engine=engine, logger=logger
        )
        self.states = SQLAlchemyOAuthStateStore(
            expiration_seconds=STATE_SECONDS, engine=engine, logger=logger
        )
        self.sessions = sessions
        self.clock = clock
        self.tokens = WorkspaceTokens(self.store, sessions, client)
        self.oauth_settings = OAuthSettings(
            client_id=settings.slack_client_id,
            client_secret=settings.slack_client_secret,
            scopes=list(BOT_SCOPES),
            user_scopes=[],
            redirect_uri=settings.slack_redirect_uri,
            install_path=INSTALL_PATH,
            redirect_uri_path=REDIRECT_PATH,
            installation_store=self.store,
            installation_store_bot_only=True,
            state_store=self.states,
            state_expiration_seconds=STATE_SECONDS,
            callback_options=CallbackOptions(success=self.installed, failure=self.not_installed),
            logger=logger,
        )
        # Bolt finds each request's token in the store, then asks auth.test about it before the
        # ack; remembering that answer per token spares every later request the round trip. A
        # new install brings a new token; an uninstalled one is no longer found in the store.
        self.oauth_settings.authorize = InstallationStoreAuthorize(
            logger=logger,
            installation_store=self.store,
            client_id=settings.slack_client_id,
            client_secret=settings.slack_client_secret,
            bot_only=True,
            cache_enabled=True,
            client=client,
        )

    def installed(self, args: SuccessArgs) -> BoltResponse:
        """Slack approved the install and the token is stored: welcome, and resume deliveries."""
        installation = args.installation
        team_id = installation.team_id or ""
        self.tokens.forget(team_id)
        with self.sessions.begin() as session:
            resumed = workspace_installed(session, team_id, installation.team_name, self.clock())
        logger.info("installed in workspace %s (%s held messages resume)", team_id, resumed)
        team = html.escape(installation.team_name or "your workspace")
        open_slack = f"slack://app?team={team_id}&id={installation.app_id}"
        return _page(
            200,
            "Mentor Coach is installed",
            f"Mentor Coach is now part of {team}. Next: in Slack, type <b>/mentor profile</b> "
            "to say what you offer and what you are looking for, or <b>/mentor help</b> to see "
            "everything it does.",
            (open_slack, "Open Slack"),
            args.settings.state_utils.build_set_cookie_for_deletion(),
        )

    def not_installed(self, args: FailureArgs) -> BoltResponse:
        """Anything that stopped the install, said plainly, with the way to try again."""
        logger.info("an install did not complete: %s", args.reason)
        again = (INSTALL_PATH, "Start the install again")
        if args.reason == "access_denied":
            return _page(
                200,
                "Mentor Coach was not installed",
                "No problem: nothing was installed. If you change your mind, start again "
                "whenever you like.",
                again,
            )
        if args.reason == "storage_error":
            return _page(
                500,
                "The install did not finish",
                "Slack approved it, but we could not save it just now. Please try again in a "
                "minute; if it keeps happening, tell whoever runs Mentor Coach for you.",
                again,
            )
        return _page(
            args.suggested_status_code,
            "This install link has expired",
            "Install links work once, for ten minutes, in the browser that opened them. "
            "Please start again from here; it only takes a moment.",
            again,
        )

    def register(self, app: App, deps: Deps) -> None:
        """Uninstalls and revoked tokens: forget the tokens and hold that workspace's messages."""

        def stop_delivery(team_id: str | None) -> None:
            if not team_id:
                return
            self.tokens.forget(team_id)
            with deps.sessions.begin() as session:
                hold_deliveries(session, team_id, deps.clock())
            logger.info("the app lost its token in workspace %s: its messages are held", team_id)

        @app.event("app_uninstalled")
        def handle_app_uninstalled(context: BoltContext) -> None:
            self.store.delete_all(enterprise_id=context.enterprise_id, team_id=context.team_id)
            stop_delivery(context.team_id)

        @app.event("tokens_revoked")
        def handle_tokens_revoked(event: dict[str, Any], context: BoltContext) -> None:
            revoked = event.get("tokens") or {}
            for user_id in revoked.get("oauth") or []:
                self.store.delete_installation(
                    enterprise_id=context.enterprise_id, team_id=context.team_id, user_id=user_id
                )
            if revoked.get("bot"):
                # The installation rows hold the bot token too: without them it is gone for good.
                self.store.delete_all(enterprise_id=context.enterprise_id, team_id=context.team_id)
                stop_delivery(context.team_id)


def register_one_workspace(app: App) -> None:
    """With one SLACK_BOT_TOKEN, losing it can be said but not mended here: say it once."""

    def handle_token_lost(event: dict[str, Any], context: BoltContext) -> None:
        if event["type"] == "tokens_revoked" and not (event.get("tokens") or {}).get("bot"):
            return  # only user tokens, and we hold none
        logger.error(
            "Slack says the app lost its token in workspace %s (uninstalled, or revoked): "
            "reinstall the app, put its new token in SLACK_BOT_TOKEN and restart",
            context.team_id,
        )

    app.event("app_uninstalled")(handle_token_lost)
    app.event("tokens_revoked")(handle_token_lost)


def _page(
    status: int,
    title: str,
    text: str,
    link: tuple[str, str],
    set_cookie: str | None = None,
) -> BoltResponse:
    href, label = link
    body = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{html.escape(title)}</title>"
        "<style>body{font-family:system-ui,sans-serif;max-width:34rem;margin:3rem auto;"
        "padding:0 1rem;line-height:1.5}a{font-weight:600}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><p>{text}</p>"
        f"<p><a href='{html.escape(href)}'>{html.escape(label)}</a></p></body></html>"
    )
    headers: dict[str, Any] = {"Content-Type": "text/html; charset=utf-8"}
    if set_cookie:
        headers["Set-Cookie"] = [set_cookie]
    return BoltResponse(status=status, body=body, headers=headers)
