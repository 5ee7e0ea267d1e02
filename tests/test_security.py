"""Requests that fail verification, are too big or are malformed: refused at the door, nothing done.

Every refused request carries a response_url of the sandbox and a real person's id, so anything
the bot did with them would show as a recorded call, a database row or a log line.
"""

from __future__ import annotations

import http.client
import json
import logging
import socket
import time
from urllib.parse import urlencode, urlsplit

import pytest
from slack_bolt import BoltRequest
from slack_sdk import WebClient
from sqlalchemy import select

from app import MAX_BODY_BYTES, create_app
from bot.core import ids
from bot.core.models import Base
from bot.core.settings import Settings

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


def bodies(bot, user_id: str) -> dict[str, tuple[bytes, str]]:
    """A slash command, a button click and an event, each naming a person and a response_url."""
    slack = bot.slack
    channel = slack.im_channel(user_id)
    command = {
        "command": "/mentor",
        "text": "help",
        "user_id": user_id,
        "team_id": slack.team_id,
        "channel_id": channel,
        "trigger_id": slack.issue_trigger(user_id),
        "response_url": slack.new_response_url(user_id, channel),
    }
    click = {
        "type": "block_actions",
        "user": {"id": user_id, "team_id": slack.team_id},
        "team": {"id": slack.team_id},
        "trigger_id": slack.issue_trigger(user_id),
        "response_url": slack.new_response_url(user_id, channel),
        "container": {"type": "message", "channel_id": channel},
        "actions": [{"action_id": ids.OPEN_PROFILE_ACTION, "block_id": "b", "value": "v"}],
    }
    event = {
        "type": "event_callback",
        "team_id": slack.team_id,
        "event_id": "EvFORGED1",
        "response_url": slack.new_response_url(user_id, channel),
        "user": {"id": user_id},
        "event": {
            "type": "message",
            "channel": channel,
            "channel_type": "im",
            "user": user_id,
            "text": "hello",
            "ts": "1700000000.000100",
        },
    }
    return {
        "slash command": (urlencode(command).encode(), FORM),
        "payload": (urlencode({"payload": json.dumps(click)}).encode(), FORM),
        "event": (json.dumps(event).encode(), JSON),
    }


def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    """POST exactly these headers (http.client adds only Host and Content-Length)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        connection.request("POST", "/slack/events", body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def outbound(bot) -> list:
    """Every Web API and response_url call, but the auth.test Bolt makes when it starts."""
    return [call for call in bot.slack.calls if call.method != "auth.test"]


def snapshot(database) -> dict[str, list]:
    with database.engine.connect() as connection:
        return {
            table.name: sorted(map(tuple, connection.execute(select(table))), key=repr)
            for table in Base.metadata.sorted_tables
        }


def signed_headers(bot, body: bytes, content_type: str) -> dict[str, str]:
    timestamp = int(time.time())
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": str(timestamp),
        "X-Slack-Signature": bot.driver.sign(body, timestamp),
    }


def odd_headers(bot, body: bytes) -> dict[str, dict[str, str]]:
    """Every way a timestamp or signature can be wrong, each with a signature that fits it."""
    now = int(time.time())

    def signed(timestamp: str) -> dict[str, bytes]:
        sign = bot.driver.sign(body, timestamp)  # type: ignore[arg-type]
        return {"X-Slack-Request-Timestamp": timestamp.encode(), "X-Slack-Signature": sign.encode()}

    return {
        "timestamp abc": signed("abc"),
        "empty timestamp": signed(""),
        "timestamp 1e9": signed("1e9"),
        "timestamp with spaces": signed(f" {now} "),
        "arabic-indic digits": signed("".join(chr(0x0660 + int(d)) for d in str(now))),
        "4,301 digits": signed("9" * 4301),
        "negative timestamp": signed(str(-now)),
        "missing timestamp": {"X-Slack-Signature": bot.driver.sign(body, now)},
        "missing signature": {"X-Slack-Request-Timestamp": str(now)},
        "no headers at all": {},
        "stale": signed(str(now - 6 * 60)),
        "from the future": signed(str(now + 6 * 60)),
        "wrong signature": {"X-Slack-Request-Timestamp": str(now), "X-Slack-Signature": "v0=00"},
        "non-ascii signature": {
            "X-Slack-Request-Timestamp": str(now),
            "X-Slack-Signature": "v0=\u00e9\u00e9",
        },
        "signed with another secret": {
            "X-Slack-Request-Timestamp": str(now),
            "X-Slack-Signature": bot.driver.sign(body + b" ", now),
        },
    }


def test_requests_failing_verification_get_401_and_cause_nothing(bot, caplog):
    kenji = bot.slack.add_user("Kenji", real_name="Kenji Watanabe", tz="Asia/Tokyo")
    before = snapshot(bot.database)
    tried = 0
    with caplog.at_level(logging.DEBUG):
        for kind, (body, content_type) in bodies(bot, kenji).items():
            for case, headers in odd_headers(bot, body).items():
                status, answer = post(bot.url, body, {"Content-Type": content_type, **headers})
                bot.driver.settle()
                assert status == 401, (kind, case, answer)
                tried += 1
    assert tried == 45
    assert outbound(bot) == [], "a refused request made the bot call Slack"
    assert snapshot(bot.database) == before
    assert kenji not in caplog.text
    assert "response/" not in caplog.text and "EvFORGED1" not in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_the_same_requests_correctly_signed_are_served(bot):
    kenji = bot.slack.add_user("Kenji", real_name="Kenji Watanabe", tz="Asia/Tokyo")
    for kind, (body, content_type) in bodies(bot, kenji).items():
        status, _ = post(bot.url, body, signed_headers(bot, body, content_type))
        bot.driver.settle()
        assert status == 200, kind
    assert outbound(bot), "the correctly signed requests did reach the bot"


def test_bolt_itself_never_acts_on_a_request_it_could_not_verify(bot, caplog):
    """Behind the gate: Bolt's own check crashes on a timestamp like "abc" and calls the error
    handler with the unverified body. The handler must refuse it, whatever the body says."""
    kenji = bot.slack.add_user("Kenji", real_name="Kenji Watanabe", tz="Asia/Tokyo")
    settings = Settings(
        slack_bot_token=bot.slack.bot_token,
        slack_signing_secret="sandbox-signing-secret",
        slack_api_url=bot.slack.api_url,
    )
    client = WebClient(token=bot.slack.bot_token, base_url=bot.slack.api_url)
    app = create_app(settings, bot.database.sessions, client)
    before = snapshot(bot.database)
    with caplog.at_level(logging.DEBUG):
        for kind, (body, content_type) in bodies(bot, kenji).items():
            for timestamp in ("abc", "", "1e9", "v0=\u00e9"):
                headers = {
                    "content-type": content_type,
                    "x-slack-request-timestamp": timestamp,
                    "x-slack-signature": "v0=\u00e9" if timestamp.startswith("v0") else "v0=00",
                }
                response = app.dispatch(BoltRequest(body=body.decode(), headers=headers))
                assert response.status == 401, (kind, timestamp, response.body)
    time.sleep(0.2)  # an apology would be on its way by now
    assert outbound(bot) == []
    assert snapshot(bot.database) == before
    assert kenji not in caplog.text and "response/" not in caplog.text


@pytest.mark.parametrize(
    "body, content_type",
    [
        (b"{not json", JSON),
        (b'{"type": "event_callback", ', JSON),
        (b"[]", JSON),
        (b'"just a string"', JSON),
        (b'{"no": "type"}', JSON),
        (b'{"type": 5}', JSON),
        (b"payload=not-json", FORM),
        (b"payload=%5B1%2C2%5D", FORM),
        (b"payload=%7B%22user%22%3A1%7D", FORM),
        (b"command=%2Fmentor&text=\xff\xfe", FORM),
        (b"\xc3\x28", JSON),
        (b"foo=bar&baz=1", FORM),
        (b"", FORM),
        (b"\x00\x00\x00", FORM),
    ],
    ids=[
        "bad json",
        "truncated json",
        "json list",
        "json string",
        "json without type",
        "type not a string",
        "payload not json",
        "payload a list",
        "payload without type",
        "invalid utf-8 form",
        "invalid utf-8 json",
        "form without the fields",
        "empty body",
        "nul bytes",
    ],
)
def test_signed_but_malformed_bodies_get_400_without_a_traceback(bot, caplog, body, content_type):
    before = snapshot(bot.database)
    with caplog.at_level(logging.DEBUG):
        status, answer = post(bot.url, body, signed_headers(bot, body, content_type))
        bot.driver.settle()
    assert status == 400, answer
    assert json.loads(answer)["error"]
    assert "Traceback" not in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert outbound(bot) == []
    assert snapshot(bot.database) == before


def raw_exchange(url: str, head: bytes, body: bytes, *, close_write: bool = False) -> bytes:
    """Send bytes on a socket and read the whole answer: for requests http.client won't make."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=5) as sock:
        sock.sendall(head + body)
        if close_write:
            sock.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def test_a_declared_huge_body_is_refused_before_it_is_read(bot):
    head = (
        b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 50000000\r\n\r\n"
    )
    started = time.monotonic()
    # Only 10 bytes follow the 50 MB promise: reading it whole would wait for the rest.
    answer = raw_exchange(bot.url, head, b'{"type": 1')
    assert answer.startswith(b"HTTP/1.0 413"), answer[:100]
    assert time.monotonic() - started < 2


def test_a_body_without_a_length_is_read_only_up_to_the_limit(bot):
    head = b"POST /slack/events HTTP/1.0\r\nHost: x\r\nContent-Type: application/json\r\n\r\n"
    answer = raw_exchange(bot.url, head, b"x" * (MAX_BODY_BYTES + 10), close_write=True)
    assert answer.startswith(b"HTTP/1.0 413"), answer[:100]


def test_a_length_that_is_not_a_number_is_refused(bot):
    head = b"POST /slack/events HTTP/1.0\r\nHost: x\r\nContent-Length: 12abc\r\n\r\n"
    assert raw_exchange(bot.url, head, b"command=x").startswith(b"HTTP/1.0 400")
    assert outbound(bot) == []


def test_a_signed_body_just_under_the_limit_is_still_served(bot):
    kenji = bot.slack.add_user("Kenji", real_name="Kenji Watanabe", tz="Asia/Tokyo")
    body, _ = bodies(bot, kenji)["slash command"]
    body += b"&padding=" + b"x" * (MAX_BODY_BYTES - len(body) - 9)
    assert len(body) == MAX_BODY_BYTES
    status, answer = post(bot.url, body, signed_headers(bot, body, FORM))
    assert status == 200
    assert "/mentor help" in json.loads(answer)["text"]


def test_a_slash_command_mentioning_payload_is_still_a_slash_command(bot):
    kenji = bot.slack.add_user("Kenji", real_name="Kenji Watanabe", tz="Asia/Tokyo")
    reply = bot.driver.command(kenji, "payload")
    assert reply.status == 200
    assert "I don't know `/mentor payload`" in reply.json["text"]
