"""Many workspaces: the sandbox's teams, the OAuth install flow, and each workspace's own token."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs
from wsgiref.util import setup_testing_defaults

import pytest
import yaml
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import MetaData, Table, func, select

from app import BotProcess, create_app
from benchmarks.harness import Bot, Database
from benchmarks.installs import OAuthBot, oauth_settings, running_oauth_bot
from bot.core.members import workspace_for
from bot.core.models import Base, Member, OutboxMessage, Workspace, slack_installations
from bot.core.outbox import enqueue
from bot.core.settings import ConfigError, load_settings
from handlers.installs import BOT_SCOPES
from sandbox import FakeSlack, SlackDriver
from sandbox.clock import ManualClock
from tests.outbox_worker import render_notes

ROOT = Path(__file__).resolve().parent.parent

SECRET = "workspaces-signing-secret"


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack(SECRET) as fake:
        yield fake


def refusal(call, **kwargs) -> str:
    with pytest.raises(SlackApiError) as error:
        call(**kwargs)
    return error.value.response["error"]


# --------------------------------------------------------------------------- the sandbox


def test_each_token_is_answered_for_its_own_workspace(slack: FakeSlack):
    acme = slack.add_team("Acme Corp")
    amara = slack.add_user("Amara", real_name="Amara Obi", tz="Africa/Lagos")
    wei = slack.add_user("Wei", real_name="Wei Zhang", tz="Asia/Shanghai", team_id=acme)
    home = WebClient(token=slack.token_for(), base_url=slack.api_url)
    other = WebClient(token=slack.token_for(acme), base_url=slack.api_url)

    assert home.auth_test()["team_id"] == "T0MENTOR"
    who = other.auth_test()
    assert (who["team_id"], who["team"]) == (acme, "Acme Corp")
    assert who["user_id"] == slack.team(acme)["bot_user_id"] != "U0BOT"
    assert other.users_info(user=wei)["user"]["team_id"] == acme
    # Nothing of one workspace is visible with the other's token.
    assert refusal(other.users_info, user=amara) == "user_not_found"
    assert refusal(other.conversations_open, users=amara) == "user_not_found"
    assert refusal(other.chat_postMessage, channel=amara, text="hi") == "channel_not_found"
    assert refusal(home.chat_postMessage, channel=slack.im_channel(wei), text="hi") == (
        "channel_not_found"
    )
    assert refusal(home.views_publish, user_id=wei, view={"type": "home", "blocks": []}) == (
        "user_not_found"
    )
    posted = other.chat_postMessage(channel=wei, text="Hello from Acme")
    assert posted["message"]["team"] == acme
    assert [s.text for s in slack.seen(wei)] == ["Hello from Acme"]
    assert slack.seen(amara) == []
    # Every call is on record with the token it carried and that token's workspace.
    last = slack.calls_to("chat.postMessage")[-1]
    assert (last.token, last.team_id) == (slack.token_for(acme), acme)

    bogus = WebClient(token="xoxb-nobody", base_url=slack.api_url)
    assert refusal(bogus.auth_test) == "invalid_auth"
    revoked = slack.revoke_tokens(acme)
    assert refusal(other.auth_test) == "token_revoked"
    assert home.auth_test()["ok"]
    assert slack.calls_to("auth.test")[-2].token == revoked[0]


def test_oauth_v2_access_exchanges_a_code_once_for_that_workspaces_token(slack: FakeSlack):
    acme = slack.add_team("Acme Corp")
    wei = slack.add_user("Wei", real_name="Wei Zhang", tz="Asia/Shanghai", team_id=acme)
    client = WebClient(base_url=slack.api_url)
    credentials = {"client_id": slack.client_id, "client_secret": slack.client_secret}

    code = slack.install_code(acme, wei)
    answer = client.oauth_v2_access(code=code, **credentials)
    assert answer.data == {
        "ok": True,
        "app_id": slack.app_id,
        "authed_user": {"id": wei},
        "scope": answer["scope"],
        "token_type": "bot",
        "access_token": slack.token_for(acme),
        "bot_user_id": slack.team(acme)["bot_user_id"],
        "team": {"id": acme, "name": "Acme Corp"},
        "enterprise": None,
        "is_enterprise_install": False,
    }
    assert "chat:write" in answer["scope"].split(",")
    assert refusal(client.oauth_v2_access, code=code, **credentials) == "invalid_code"
    assert refusal(client.oauth_v2_access, code="made-up", **credentials) == "invalid_code"
    wrong = {**credentials, "client_secret": "guess"}
    assert refusal(client.oauth_v2_access, code=slack.install_code(acme), **wrong) == (
        "bad_client_secret"
    )
    # Once uninstalled, the old token is dead and a new install hands out a new one.
    old = slack.uninstall(acme)[0]
    fresh = client.oauth_v2_access(code=slack.install_code(acme), **credentials)
    assert fresh["access_token"] == slack.token_for(acme) != old


def test_the_driver_sends_each_persons_workspace(slack: FakeSlack):
    acme = slack.add_team("Acme Corp")
    wei = slack.add_user("Wei", real_name="Wei Zhang", tz="Asia/Shanghai", team_id=acme)
    amara = slack.add_user("Amara", real_name="Amara Obi", tz="Africa/Lagos")
    received: list[bytes] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/slack/events"
        driver = SlackDriver(slack, url, SECRET)
        driver.command(wei, "help")
        driver.open_home(wei)
        driver.dm(wei, "hello")
        driver.forged_click(wei, "anything", "1")
        driver.command(amara, "help")
        driver.send_event({"type": "app_uninstalled"}, team_id=acme)
    finally:
        server.shutdown()
        server.server_close()
    command = {k: v[-1] for k, v in parse_qs(received[0].decode()).items()}
    assert (command["team_id"], command["team_domain"]) == (acme, "acme-corp")
    for body in received[1:3]:
        envelope = json.loads(body)
        assert envelope["team_id"] == envelope["context_team_id"] == acme
        assert envelope["authorizations"][0]["user_id"] == slack.team(acme)["bot_user_id"]
    assert json.loads(received[2])["event"]["team"] == acme
    click = json.loads(parse_qs(received[3].decode())["payload"][0])
    assert click["team"]["id"] == click["user"]["team_id"] == acme
    assert parse_qs(received[4].decode())["team_id"] == ["T0MENTOR"]
    assert json.loads(received[5])["team_id"] == acme


# --------------------------------------------------------------------------- the bot, OAuth mode

START = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


@pytest.fixture
def oauth_bot(database: Database) -> Iterator[OAuthBot]:
    """The bot in OAuth mode; the sandbox has a second workspace, Acme, with Wei in it."""
    with running_oauth_bot(database, ManualClock(START)) as bot:
        bot.slack.add_team("Acme Corp", team_id="T0ACME")
        yield bot


@pytest.fixture
def two_workspaces(oauth_bot: OAuthBot) -> OAuthBot:
    """Installed in both: the sandbox's own workspace saved in the store, Acme through the
    install flow by Wei. Amara is in the first, Wei in Acme."""
    slack = oauth_bot.slack
    slack.add_user("Amara", real_name="Amara Obi", tz="Africa/Lagos", user_id="U01AMARA")
    slack.add_user("Wei", real_name="Wei Zhang", tz="Asia/Shanghai", user_id="U01WEI", team_id=ACME)
    oauth_bot.save_installation()
    assert oauth_bot.install("U01WEI").status == 200
    return oauth_bot


ACME = "T0ACME"


def get(url: str, cookie: str | None = None) -> tuple[int, str, dict[str, str]]:
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            status, body, headers = answer.status, answer.read().decode(), answer.headers
    except urllib.error.HTTPError as error:
        with error:
            status, body, headers = error.code, error.read().decode(), error.headers
    return status, body, {name.lower(): value for name, value in headers.items()}


def note_for(bot: OAuthBot, team_id: str, user_id: str, key: str) -> int:
    """An outbox row for that person: "note <key>", due now."""
    now = bot.clock()
    with bot.database.sessions.begin() as session:
        workspace = workspace_for(session, team_id, now)
        member = Member(
            workspace_id=workspace.id,
            slack_user_id=user_id,
            display_name=user_id,
            created_at=now,
            updated_at=now,
        )
        session.add(member)
        session.flush()
        enqueue(
            session,
            workspace_id=workspace.id,
            kind="note",
            dedupe_key=key,
            due_at=now,
            now=now,
            member_id=member.id,
        )
        return session.scalars(
            select(OutboxMessage.id).where(OutboxMessage.dedupe_key == key)
        ).one()


def status_of(bot: OAuthBot, row_id: int) -> tuple[str, int]:
    with bot.database.sessions.begin() as session:
        row = session.get(OutboxMessage, row_id)
        return row.status, row.attempts


def posts(bot: OAuthBot) -> list[tuple[str, str | None]]:
    """(text, token's workspace) of every message Slack accepted."""
    return [
        (call.args["text"], call.team_id)
        for call in bot.slack.calls_to("chat.postMessage")
        if call.response.get("ok")
    ]


def test_install_flow_stores_the_workspace_and_its_commands_use_its_token(oauth_bot: OAuthBot):
    slack, store = oauth_bot.slack, oauth_bot.installs.store
    wei = slack.add_user("Wei", real_name="Wei Zhang", tz="Asia/Shanghai", team_id=ACME)
    oauth_bot.driver.command(wei, "help")
    assert "Mentor Coach isn't installed in this workspace" in slack.seen(wei)[-1].text
    page = oauth_bot.install(wei)

    assert page.status == 200
    assert "Mentor Coach is installed" in page.body and "Acme Corp" in page.body
    assert "/mentor profile" in page.body
    (exchange,) = slack.calls_to("oauth.v2.access")
    assert exchange.status == 200 and exchange.response["team"]["id"] == ACME
    bot = store.find_bot(enterprise_id=None, team_id=ACME)
    assert (bot.bot_token, bot.bot_user_id) == (
        slack.token_for(ACME),
        slack.team(ACME)["bot_user_id"],
    )
    installation = store.find_installation(enterprise_id=None, team_id=ACME)
    assert (installation.user_id, installation.team_name) == (wei, "Acme Corp")
    with oauth_bot.database.sessions.begin() as session:
        assert session.scalars(select(Workspace.name).where(Workspace.team_id == ACME)).one() == (
            "Acme Corp"
        )

    reply = oauth_bot.driver.command(wei, "help")
    assert reply.status == 200 and "`/mentor profile`" in reply.json["text"]
    lookups = slack.calls_to("users.info")
    assert [(c.args["user"], c.token) for c in lookups] == [(wei, slack.token_for(ACME))]
    # The gate still wants Slack's signature on POST /slack/events.
    unsigned = urllib.request.Request(
        f"{oauth_bot.url}/slack/events", data=b"command=/mentor", method="POST"
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(unsigned, timeout=5)
    with refused.value as answer:
        assert answer.code == 401


def test_a_bad_or_missing_state_is_refused_kindly_and_installs_nothing(oauth_bot: OAuthBot):
    redirect = f"{oauth_bot.url}/slack/oauth_redirect"
    code = oauth_bot.slack.install_code(
        ACME, oauth_bot.slack.add_user("Wei", real_name="Wei", tz="UTC", team_id=ACME)
    )
    made_up = str(uuid.uuid4())
    answers = [
        get(f"{redirect}?code={code}"),  # no state at all
        get(f"{redirect}?code={code}&state={made_up}"),  # no cookie: another browser
        get(f"{redirect}?code={code}&state={made_up}", f"slack-app-oauth-state={made_up}"),
    ]
    for status, body, headers in answers:
        assert status in (400, 401)
        assert headers["content-type"].startswith("text/html")
        assert "This install link has expired" in body
        assert "Start the install again" in body and "href='/slack/install'" in body
    status, body, _ = get(f"{redirect}?error=access_denied&state={made_up}")
    assert status == 200 and "nothing was installed" in body
    assert oauth_bot.slack.calls_to("oauth.v2.access") == []
    assert oauth_bot.installs.store.find_bot(enterprise_id=None, team_id=ACME) is None
    # The code was never spent: the refusal happened before anything reached Slack.
    status, _, headers = get(f"{oauth_bot.url}/slack/install")
    assert status == 200 and "slack-app-oauth-state=" in headers["set-cookie"]


def test_each_workspaces_deliveries_go_out_with_its_own_token(two_workspaces: OAuthBot):
    bot = two_workspaces
    bot.deliverer.renderers = {**bot.deliverer.renderers, "note": render_notes}
    note_for(bot, "T0MENTOR", "U01AMARA", "amara")
    note_for(bot, ACME, "U01WEI", "wei")
    assert bot.deliver() == 2

    assert sorted(posts(bot)) == [("note amara", "T0MENTOR"), ("note wei", ACME)]
    tokens = {c.args["text"]: c.token for c in bot.slack.calls_to("chat.postMessage")}
    assert tokens == {"note amara": bot.slack.token_for(), "note wei": bot.slack.token_for(ACME)}
    assert [s.text for s in bot.slack.seen("U01WEI")] == ["note wei"]
    assert [s.text for s in bot.slack.seen("U01AMARA")] == ["note amara"]


def test_uninstall_and_revoked_tokens_hold_deliveries_until_a_new_install(
    two_workspaces: OAuthBot,
):
    bot, slack, store = two_workspaces, two_workspaces.slack, two_workspaces.installs.store
    bot.deliverer.renderers = {**bot.deliverer.renderers, "note": render_notes}
    dead = slack.uninstall(ACME)
    assert bot.driver.send_event({"type": "app_uninstalled"}, team_id=ACME).status == 200
    uninstalled = len(slack.calls)
    assert store.find_bot(enterprise_id=None, team_id=ACME) is None
    assert store.find_installation(enterprise_id=None, team_id=ACME) is None
    to_wei = note_for(bot, ACME, "U01WEI", "wei")
    to_amara = note_for(bot, "T0MENTOR", "U01AMARA", "amara")
    assert bot.deliver() == 1
    assert status_of(bot, to_wei) == ("pending", 0)
    assert not [c for c in slack.calls[uninstalled:] if c.token in dead]  # not even tried

    # Slack revokes the other workspace's token before its event arrives: Slack refuses the
    # post, the tick carries on, and the message waits instead of failing.
    dead += slack.revoke_tokens()
    again = note_for(bot, "T0MENTOR", "U01AMARA2", "amara again")
    assert bot.deliver() == 0
    assert status_of(bot, again) == ("pending", 0)
    revoked = {"type": "tokens_revoked", "tokens": {"bot": [slack.team()["bot_user_id"]]}}
    assert bot.driver.send_event(revoked, team_id="T0MENTOR").status == 200
    assert store.find_bot(enterprise_id=None, team_id="T0MENTOR") is None
    told = len(slack.calls)
    bot.clock.advance(timedelta(hours=1))
    assert bot.deliver() == 0
    assert status_of(bot, again) == ("pending", 0)
    assert not [c for c in slack.calls[told:] if c.token in dead]

    # Installed again: what waited goes out at once, with the new token.
    assert bot.install("U01WEI").status == 200
    assert bot.deliver() == 1
    assert posts(bot)[-1] == ("note wei", ACME)
    assert slack.calls_to("chat.postMessage")[-1].token == slack.token_for(ACME) not in dead
    assert status_of(bot, to_wei)[0] == "sent" and status_of(bot, to_amara)[0] == "sent"
    assert status_of(bot, again) == ("pending", 0)


def test_one_token_mode_serves_no_install_pages_and_stores_nothing(bot: Bot, caplog):
    assert not bot.deliverer.tokens
    status, _, _ = get(f"{bot.url}/slack/install")
    assert status == 404
    kenji = bot.slack.add_user("Kenji", real_name="Kenji Watanabe", tz="Asia/Tokyo")
    assert "`/mentor profile`" in bot.driver.command(kenji, "help").json["text"]
    assert {c.token for c in bot.slack.calls} == {bot.slack.bot_token}
    with bot.database.sessions.begin() as session:
        assert session.scalar(select(func.count()).select_from(slack_installations)) == 0
    # Losing the one token is said plainly (and acked, so Slack does not retry it).
    assert bot.driver.send_event({"type": "app_uninstalled"}).status == 200
    assert "put its new token in SLACK_BOT_TOKEN" in caplog.text


# --------------------------------------------------------------------------- configuration


def test_settings_need_both_client_id_and_secret_and_then_no_bot_token():
    oauth = {
        "SLACK_CLIENT_ID": "1234.5678",
        "SLACK_CLIENT_SECRET": "s",
        "SLACK_SIGNING_SECRET": "x",
    }
    settings = load_settings(oauth)
    assert settings.oauth and settings.slack_bot_token == ""
    assert not load_settings({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "x"}).oauth
    for broken, variable in [
        ({**oauth, "SLACK_CLIENT_SECRET": ""}, "SLACK_CLIENT_SECRET"),
        ({**oauth, "SLACK_CLIENT_ID": ""}, "SLACK_CLIENT_ID"),
        ({**oauth, "SLACK_CLIENT_ID": "my-app"}, "SLACK_CLIENT_ID"),
        ({**oauth, "SLACK_APP_TOKEN": "xapp-1"}, "SLACK_APP_TOKEN"),
        ({**oauth, "SLACK_REDIRECT_URI": "example.com/back"}, "SLACK_REDIRECT_URI"),
    ]:
        with pytest.raises(ConfigError) as error:
            load_settings(broken)
        assert error.value.variable == variable
        assert "\n" not in str(error.value)


def test_blank_client_lines_from_env_example_keep_one_token_mode(
    monkeypatch, database: Database, slack: FakeSlack
):
    # python-dotenv sets `SLACK_CLIENT_ID=` to "": Bolt, reading the environment itself, took
    # that for OAuth, ignored the bot token and answered every command with an empty 200.
    for name, value in {
        "SLACK_BOT_TOKEN": slack.bot_token,
        "SLACK_SIGNING_SECRET": "x",
        "SLACK_API_URL": slack.api_url,
        "SLACK_CLIENT_ID": "",
        "SLACK_CLIENT_SECRET": " ",
    }.items():
        monkeypatch.setenv(name, value)
    settings = load_settings()
    app = create_app(settings, database.sessions)
    assert not settings.oauth and app.oauth_flow is None and app.installation_store is None
    assert app.client.token == slack.bot_token


def test_the_install_asks_for_the_manifests_scopes():
    for name in ("manifest.yml", "manifest.distribution.yml"):
        manifest = yaml.safe_load((ROOT / name).read_text())
        assert manifest["oauth_config"]["scopes"]["bot"] == list(BOT_SCOPES)
        assert {"app_uninstalled", "tokens_revoked"} <= set(
            manifest["settings"]["event_subscriptions"]["bot_events"]
        )


def test_our_tables_are_slack_sdks_tables():
    """Migration 0013 and models.py declare what slack_sdk 3.47.0 reads and writes."""
    theirs = MetaData()
    SQLAlchemyInstallationStore.build_installations_table(theirs, "slack_installations")
    SQLAlchemyInstallationStore.build_bots_table(theirs, "slack_bots")
    SQLAlchemyOAuthStateStore.build_oauth_states_table(theirs, "slack_oauth_states")

    def shape(table: Table) -> tuple:
        columns = [
            (
                c.name,
                type(c.type).__name__,
                getattr(c.type, "length", None),
                c.nullable,
                c.primary_key,
            )
            for c in table.columns
        ]
        indexes = sorted((i.name, tuple(c.name for c in i.columns)) for i in table.indexes)
        return columns, indexes

    for name, table in theirs.tables.items():
        assert shape(Base.metadata.tables[name]) == shape(table), name


def test_the_production_process_serves_the_install_flow(database: Database):
    """BotProcess is what gunicorn (wsgi.py and `python app.py`) runs in each worker."""

    def call(wsgi, path: str, method: str = "GET") -> tuple[str, dict[str, str], str]:
        environ: dict = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": ""}
        setup_testing_defaults(environ)
        said: dict = {}

        def start_response(status: str, headers: list) -> None:
            said.update(status=status, headers={k.lower(): v for k, v in headers})

        body = b"".join(wsgi(environ, start_response)).decode()
        return said["status"], said["headers"], body

    with FakeSlack(SECRET) as slack:
        process = BotProcess(oauth_settings(slack, database))
        try:
            status, headers, body = call(process.wsgi, "/slack/install")
            assert status.startswith("200") and "slack-app-oauth-state=" in headers["set-cookie"]
            assert f"client_id={slack.client_id}" in body and "chat:write" in body
            status, _, body = call(process.wsgi, "/slack/oauth_redirect")
            assert status.startswith("400") and "Start the install again" in body
            status, _, _ = call(process.wsgi, "/slack/events", "POST")
            assert status.startswith("401")
        finally:
            process.close()
