"""The real bot in OAuth mode (many workspaces) on the sandbox, for tests and benchmarks.

with running_oauth_bot(database, clock) as bot:
    acme = bot.slack.add_team("Acme Corp")
    wei = bot.slack.add_user("Wei", real_name="Wei Zhang", tz="Asia/Shanghai", team_id=acme)
    bot.save_installation()          # the default workspace, straight into the store
    bot.install(wei)                 # Acme, through /slack/install as a person does it
    bot.driver.command(wei, "help")  # answered with Acme's own token
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

from slack_sdk.oauth.installation_store import Installation, InstallationStore

from app import create_app, make_client, serve_http
from benchmarks.harness import SIGNING_SECRET, Bot, Database
from bot.core.settings import Settings
from handlers.installs import INSTALL_PATH, Installs
from sandbox import FakeSlack, SlackDriver, TrackingExecutor
from sandbox.clock import ManualClock
from sandbox.driver import Reply
from sandbox.slack_api import SCOPES
from scheduler.delivery import Deliverer, make_delivery_client


@dataclass
class OAuthBot(Bot):
    """A `Bot` installable to many workspaces: no SLACK_BOT_TOKEN, a token per installation."""

    installs: Installs

    @property
    def install_url(self) -> str:
        return f"{self.url}{INSTALL_PATH}"

    def install(self, user_id: str) -> Reply:
        """The person installs the app to their workspace through the real flow; the page
        they land on (200 when installed)."""
        return self.driver.install(user_id, self.install_url)

    def save_installation(self, team_id: str | None = None, user_id: str | None = None) -> None:
        """An earlier install of the workspace (default: the sandbox's first), saved straight
        into the installation store with its current token."""
        save_installation(self.installs.store, self.slack, team_id, user_id)


def oauth_settings(slack: FakeSlack, database: Database, **overrides: Any) -> Settings:
    """Settings for OAuth mode against this sandbox: its client id and secret, no bot token."""
    return Settings(
        slack_bot_token="",
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=slack.api_url,
        database_url=database.url,
        slack_client_id=slack.client_id,
        slack_client_secret=slack.client_secret,
        **overrides,
    )


def save_installation(
    store: InstallationStore,
    slack: FakeSlack,
    team_id: str | None = None,
    user_id: str | None = None,
) -> None:
    """What a completed install stores, for a workspace of the sandbox, as slack_sdk saves it."""
    team = slack.team(team_id)
    store.save(
        Installation(
            app_id=slack.app_id,
            team_id=team["id"],
            team_name=team["name"],
            bot_token=slack.token_for(team["id"]),
            bot_id=team["bot_id"],
            bot_user_id=team["bot_user_id"],
            bot_scopes=SCOPES,
            user_id=user_id or team["bot_user_id"],
            token_type="bot",
        )
    )


@contextmanager
def running_oauth_bot(
    database: Database, clock: ManualClock, *, slack: FakeSlack | None = None, **overrides: Any
) -> Iterator[OAuthBot]:
    """The bot in OAuth mode serving HTTP on a free port; nothing is installed yet.

    Pass `slack` to share one sandbox between several bots (processes of one deployment)."""
    executor = TrackingExecutor(max_workers=4)
    own = slack is None
    sandbox = FakeSlack(SIGNING_SECRET).start() if slack is None else slack
    try:
        settings = oauth_settings(sandbox, database, **overrides)
        client = make_client(settings)
        installs = Installs(settings, database.engine, database.sessions, client, clock)
        app = create_app(
            settings,
            database.sessions,
            client,
            listener_executor=executor,
            clock=clock,
            installs=installs,
        )
        server = serve_http(app, database.engine, 0, host="127.0.0.1")
        url = f"http://127.0.0.1:{server.server_port}"
        driver = SlackDriver(
            sandbox, f"{url}/slack/events", SIGNING_SECRET, settle=executor.wait_idle
        )
        # Quiet hours are tested on their own; here they would only hide what a test sends.
        delivery_settings = replace(settings, quiet_hours=None, daily_nudge_limit=50)
        deliverer = Deliverer(
            delivery_settings,
            database.sessions,
            make_delivery_client(delivery_settings),
            clock,
            tokens=installs.tokens,
        )
        try:
            yield OAuthBot(sandbox, driver, database, clock, url, deliverer, installs)
        finally:
            server.shutdown()
            server.server_close()
            executor.shutdown(wait=True)
    finally:
        if own:
            sandbox.stop()
