"""Socket Mode for real: slack_bolt's own SocketModeHandler on the sandbox's WebSocket.

The sandbox answers apps.connections.open (app-level tokens only) with the URL of a loopback
WebSocket that speaks Slack's Socket Mode: a hello, envelopes to acknowledge, a retry for an
event whose ack never came, a refresh request. The driver delivers what people do as envelopes
instead of signed POSTs; everything else is the same bot, database and sandbox as over HTTP.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import select
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from app import check_app_token
from benchmarks.harness import SIGNING_SECRET, Bot, running_bot
from bot.core import ids
from bot.core.database import make_engine, make_session_factory
from bot.core.models import MeetingStatus, MentorRequest, Pairing, PairingStatus, RequestStatus
from bot.core.settings import ConfigError, Settings
from sandbox import FakeSlack, SlackDriver
from sandbox.clock import ManualClock
from tests.conftest import START
from tests.test_find import ask, last, mentee, mentor, pairings, requests, shown
from tests.test_prepare import GOOD_TIME, agenda, meetings
from tests.test_respect import CHECKIN_AT, dms

ROOT = Path(__file__).resolve().parent.parent
# The sandbox's patience for an ack before it sends an event again (Slack's is about 3 s).
ACK_TIMEOUT = 1.0


@pytest.fixture
def socket_bot(database) -> Iterator[Bot]:
    """The bot connected to the sandbox by slack_bolt's SocketModeHandler; people act over it."""
    apps = []
    with running_bot(database, ManualClock(START), extra_listeners=apps.append) as bot:
        server = bot.slack.socket_mode
        server.ack_timeout = ACK_TIMEOUT
        handler = SocketModeHandler(apps[0], bot.slack.app_token)
        handler.connect()
        try:
            server.wait_for_connections(1)
            settle = bot.driver.settle
            bot.driver = SlackDriver(bot.slack, "", "", settle=settle, transport="socket_mode")
            yield bot
        finally:
            # Closing from Slack's side first wakes the client's reader (a 3 s socket timeout).
            server.drop_connections()
            _eventually(lambda: not handler.client.is_connected(), "the client to let go")
            # slack_sdk's message loop looks at its queue once a second: wake it to stop now.
            handler.client.closed = True
            handler.client.message_queue.put(None)
            handler.close()


def envelope_key(envelope) -> str:
    """What makes one delivery of a person's action unique: an event id, or a trigger id."""
    return envelope.payload.get("event_id") or envelope.payload["trigger_id"]


def test_a_whole_mentoring_cycle_over_socket_mode(socket_bot):
    bot, server = socket_bot, socket_bot.slack.socket_mode
    (first,) = server.connections
    assert first.hello["type"] == "hello" and first.hello["num_connections"] == 1
    assert first.hello["connection_info"] == {"app_id": bot.slack.app_id}

    # Find: profiles, a search, an intro request with a note (commands, clicks, submissions).
    amara = mentor(
        bot,
        "Amara",
        "Africa/Lagos",
        "Public speaking, storytelling",
        background="Product lead and conference speaker.",
        experience="Coached thirty first-time speakers.",
    )
    kenji = mentee(bot)
    bot.driver.command(kenji, "find")
    assert "Mentors for Public speaking: Amara" in shown(last(bot, kenji))
    ask(bot, kenji, amara)
    assert bot.deliver() == 1
    assert "would like you as a mentor" in shown(dms(bot, amara)[-1])

    # Slack asks for a refresh; the very next click waits for the new connection.
    server.refresh(grace=0.1)
    reply = bot.driver.click(amara, text="Accept")
    assert reply.slack_error is None
    bot.deliver()
    intro = last(bot, kenji)
    assert intro.kind == "group" and "meet" in shown(intro) and last(bot, amara).ts == intro.ts

    # Schedule: a time in the past comes back as response_action errors in the ack's payload,
    # shown in the modal as over HTTP; then a good time books the session.
    bot.driver.click(amara, text="Schedule our first session")
    past = int((START - timedelta(hours=1)).timestamp())
    refused = bot.driver.submit(amara, {ids.WHEN_ACTION: past})
    assert refused.json["response_action"] == "errors" and ids.WHEN_BLOCK in refused.json["errors"]
    assert ids.WHEN_BLOCK in bot.slack.open_modal(amara)["errors"]
    bot.driver.submit(amara, {ids.WHEN_ACTION: int(GOOD_TIME.timestamp())})
    assert bot.slack.open_modal(amara) is None
    (meeting,) = meetings(bot)
    assert meeting.starts_at == GOOD_TIME

    # Prepare: the prep prompt, and Kenji's answer, whose ack Slack never hears: the event
    # comes again with retry_attempt 1, and the bot acts on it once.
    bot.deliver()
    assert _shown_to(bot.slack, kenji, "Getting ready for your session with Amara")
    server.lose_next("ack")
    ts = bot.driver.dm(kenji, "How do I open a talk so people care?")
    assert agenda(bot) == ["How do I open a talk so people care?"]
    added = [s for s in bot.slack.seen(kenji) if "Added to the agenda" in s.text]
    assert len(added) == 1 and "You have 1 item so far" in added[0].text
    assert [c.args["timestamp"] for c in bot.slack.calls_to("reactions.add")] == [ts]

    # Respect: after the session, the check-in reaches both; Kenji says it happened.
    bot.clock.advance(CHECKIN_AT - bot.clock())
    bot.deliver()
    for person in (amara, kenji):
        assert "Did it happen?" in shown(dms(bot, person)[-1])
    bot.driver.click(kenji, text="Yes")
    assert bot.slack.open_modal(kenji)["callback_id"] == ids.ADVICE_CALLBACK
    bot.driver.open_home(amara)
    assert f"*Your mentees:* <@{kenji}>" in json.dumps(bot.slack.home(amara)["blocks"])

    (request,) = requests(bot)
    (pairing,) = pairings(bot)
    assert (request.status, pairing.status) == (RequestStatus.ACCEPTED, PairingStatus.ACTIVE)
    assert meetings(bot)[0].status == MeetingStatus.HELD

    # The wire: two connections, each opened through apps.connections.open with the app token;
    # the first left when asked. Every action went once, and was acknowledged once, except the
    # DM whose ack was lost: it went twice, and the retry was acknowledged.
    assert [c.response["ok"] for c in bot.slack.calls_to("apps.connections.open")] == [True, True]
    old, new = server.connections
    assert old.disconnect_reason == "refresh_requested" and old.closed_at is not None
    assert new.live and new.hello["connection_info"] == {"app_id": bot.slack.app_id}
    envelopes = server.envelopes
    assert {e.type for e in envelopes} == {"slash_commands", "interactive", "events_api"}
    carried_by = [e.connection_id for e in envelopes if e.connection_id is not None]
    assert carried_by == sorted(carried_by) and set(carried_by) == {old.id, new.id}
    (again,) = [key for key, n in Counter(map(envelope_key, envelopes)).items() if n > 1]
    lost, *retries = [e for e in envelopes if envelope_key(e) == again]
    assert lost.payload["event"]["ts"] == ts
    assert (lost.lost, lost.acks, lost.retry_attempt) == ("ack", 0, 0)
    # One retry, unless a loaded machine made even that ack late: then another, and so on.
    assert [e.retry_attempt for e in retries] == list(range(1, len(retries) + 1))
    assert retries[0].retry_reason == "timeout" and retries[-1].acks == 1
    assert all(e.acks == 1 for e in envelopes if envelope_key(e) != again)
    assert all(e.acks <= 1 for e in envelopes) and server.stray_acks == []


def test_apps_connections_open_takes_only_the_app_level_token():
    with FakeSlack("secret") as slack:
        anonymous = WebClient(base_url=slack.api_url)
        for token, error in (
            (slack.bot_token, "not_allowed_token_type"),
            ("xapp-1-x", "invalid_auth"),
        ):
            with pytest.raises(SlackApiError) as refused:
                anonymous.apps_connections_open(app_token=token)
            assert refused.value.response["error"] == error
        with pytest.raises(SlackApiError) as refused:
            WebClient(token=slack.app_token, base_url=slack.api_url).auth_test()
        assert refused.value.response["error"] == "not_allowed_token_type"

        url = anonymous.apps_connections_open(app_token=slack.app_token)["url"]
        assert url.startswith("ws://127.0.0.1:") and "ticket=" in url
        with connect(url) as websocket:
            hello = json.loads(websocket.recv(timeout=5))
            assert (hello["type"], hello["num_connections"]) == ("hello", 1)
        with pytest.raises(InvalidStatus):  # a URL is good for one connection
            connect(url)


def test_a_refused_app_token_is_named_in_one_line():
    with FakeSlack("secret") as slack:
        settings = Settings(
            slack_bot_token=slack.bot_token,
            slack_signing_secret="secret",
            slack_app_token="xapp-1-revoked",
            slack_api_url=slack.api_url,
        )
        with pytest.raises(ConfigError) as refused:
            check_app_token(settings)
        check_app_token(replace(settings, slack_app_token=slack.app_token))
    assert str(refused.value).startswith(
        "SLACK_APP_TOKEN was refused by Slack (invalid_auth). Create an app-level token"
    )


# ------------------------------------------------------------------------ python app.py


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _health(port: int) -> tuple[int, dict | None]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=3) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())
    except OSError:
        return 0, None  # not listening yet


def _eventually(check, what: str, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while not (result := check()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
    return result


def _quiet(slack: FakeSlack, still: float = 0.1, within: float = 5.0):
    """Settle for a bot in another process: wait until it has made no Web API call for `still`."""

    def settle() -> None:
        deadline, count = time.monotonic() + within, -1
        while count != len(slack.calls) and time.monotonic() < deadline:
            count = len(slack.calls)
            time.sleep(still)

    return settle


def test_python_app_py_in_socket_mode_serves_people_and_answers_health(tmp_path):
    """The real process, configured by its environment alone: Find over Socket Mode with its
    own delivery tick, a refresh on the way, and /healthz on PORT. (The whole cycle, whose
    later steps wait for days, runs above with the same handler and a clock moved by hand.)"""
    port, database_url = _free_port(), f"sqlite:///{tmp_path / 'bot.db'}"
    with FakeSlack(SIGNING_SECRET) as slack:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_"))}
        env.update(
            SLACK_BOT_TOKEN=slack.bot_token,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SLACK_APP_TOKEN=slack.app_token,
            SLACK_API_URL=slack.api_url,
            DATABASE_URL=database_url,
            PORT=str(port),
            QUIET_HOURS="",
            DELIVERY_TICK_SECONDS="1",
            DAILY_NUDGE_LIMIT="50",
        )
        server = slack.socket_mode
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "app.py")],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            _eventually(lambda: _alive(process) and _health(port)[0] == 200, "a healthy bot", 30)
            assert _health(port) == (200, {"ok": True}) and len(server.live_connections()) == 1
            with pytest.raises(urllib.error.HTTPError) as no_http_mode:  # PORT serves health only
                urllib.request.urlopen(f"http://127.0.0.1:{port}/slack/events", data=b"{}")
            assert no_http_mode.value.code == 404
            driver = SlackDriver(slack, "", "", settle=_quiet(slack), transport="socket_mode")
            people = SimpleNamespace(slack=slack, driver=driver)  # all tests.test_find needs
            amara = mentor(people, "Amara", "Africa/Lagos", "Public speaking")
            kenji = mentee(people)
            driver.command(kenji, "find")
            driver.click(kenji, text="Ask for an intro")
            driver.submit(
                kenji, {ids.INTRO_NOTE_ACTION: "I loved your talk; may I learn from you?"}
            )
            _eventually(lambda: _shown_to(slack, amara, "would like you as a mentor"), "the ask")

            server.refresh(grace=0.1)
            assert driver.click(amara, text="Accept").slack_error is None
            _eventually(lambda: [s for s in slack.seen(kenji) if s.kind == "group"], "the intro")
            driver.dm(kenji, "Thanks!")
            _eventually(lambda: _shown_to(slack, kenji, "I collect your questions"), "an answer")

            server.drop_connections()  # Slack goes away and refuses new connections for now
            down = _eventually(lambda: (h := _health(port))[0] == 503 and h, "an unhealthy bot")
        finally:
            process.send_signal(signal.SIGTERM)
            _, stderr = process.communicate(timeout=20)
    assert down == (503, {"ok": False, "socket": "disconnected"})
    assert process.returncode == 0, stderr
    assert f"Socket Mode (GET /healthz on port {port})" in stderr
    assert "Mentor Coach has stopped" in stderr
    assert slack.app_token not in stderr and slack.bot_token not in stderr
    # The token check at start, the connection, and the reconnection after the refresh.
    assert [c.response["ok"] for c in slack.calls_to("apps.connections.open")] == [True] * 3
    assert all(e.acks == 1 for e in server.envelopes)

    engine = make_engine(database_url)
    try:
        with make_session_factory(engine).begin() as session:
            (request,) = session.scalars(select(MentorRequest)).all()
            (pairing,) = session.scalars(select(Pairing)).all()
            assert (request.status, pairing.status) == (
                RequestStatus.ACCEPTED,
                PairingStatus.ACTIVE,
            )
    finally:
        engine.dispose()


def _alive(process: subprocess.Popen) -> bool:
    if process.poll() is not None:
        raise AssertionError(process.communicate()[1])
    return True


def _shown_to(slack: FakeSlack, user: str, words: str) -> bool:
    return any(words in shown(seen) for seen in slack.seen(user))
