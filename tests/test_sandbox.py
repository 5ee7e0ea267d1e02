"""The Slack sandbox itself, checked with the real slack_sdk client and signature verifier."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.error import URLError
from urllib.parse import parse_qs, urlencode

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier

from sandbox import (
    FakeSlack,
    Seen,
    SlackDriver,
    TrackingExecutor,
    render_timeline,
    render_view,
    render_view_or_message,
)

SECRET = "test-signing-secret"


# --------------------------------------------------------------------------- fixtures


@dataclass
class Received:
    """One request the stand-in bot endpoint got from the driver."""

    headers: dict[str, str]
    body: bytes
    signature_valid: bool

    @property
    def form(self) -> dict[str, str]:
        return {k: v[-1] for k, v in parse_qs(self.body.decode(), keep_blank_values=True).items()}

    @property
    def payload(self) -> dict:
        return json.loads(self.form["payload"])

    @property
    def json(self) -> dict:
        return json.loads(self.body)


Answer = tuple[int, str, str]  # status, content type, body


class Receiver:
    """A tiny stdlib bot endpoint: checks Slack's signature, records requests, answers."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.answer: Callable[[Received], Answer] = lambda request: (200, "text/plain", "")
        verifier = SignatureVerifier(SECRET)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                valid = verifier.is_valid(
                    body=body.decode(),
                    timestamp=self.headers.get("X-Slack-Request-Timestamp", ""),
                    signature=self.headers.get("X-Slack-Signature", ""),
                )
                request = Received(dict(self.headers.items()), body, valid)
                receiver.requests.append(request)
                status, content_type, text = (
                    receiver.answer(request) if valid else (401, "text/plain", "")
                )
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(text.encode())))
                self.end_headers()
                self.wfile.write(text.encode())

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/slack/events"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def last(self) -> Received:
        return self.requests[-1]


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack(SECRET) as fake:
        yield fake


@pytest.fixture
def client(slack: FakeSlack) -> WebClient:
    return WebClient(token=slack.bot_token, base_url=slack.api_url)


@pytest.fixture
def kenji(slack: FakeSlack) -> str:
    return slack.add_user("Kenji", real_name="Kenji Watanabe", tz="Asia/Tokyo")


@pytest.fixture
def amara(slack: FakeSlack) -> str:
    return slack.add_user("Amara", real_name="Amara Okafor", tz="Africa/Lagos")


@pytest.fixture
def executor() -> Iterator[TrackingExecutor]:
    pool = TrackingExecutor(max_workers=2)
    yield pool
    pool.shutdown(wait=True)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    endpoint = Receiver()
    yield endpoint
    endpoint.close()


@pytest.fixture
def driver(slack: FakeSlack, receiver: Receiver, executor: TrackingExecutor) -> SlackDriver:
    return SlackDriver(slack, receiver.url, SECRET, settle=executor.wait_idle)


def plain(text: str) -> dict:
    return {"type": "plain_text", "text": text}


def section(text: str, **extra: object) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}, **extra}


def button(text: str, action_id: str, value: str | None = None) -> dict:
    element = {"type": "button", "text": plain(text), "action_id": action_id}
    if value is not None:
        element["value"] = value
    return element


def text_input(block_id: str, action_id: str, label: str, **element: object) -> dict:
    return {
        "type": "input",
        "block_id": block_id,
        "label": plain(label),
        "element": {"type": "plain_text_input", "action_id": action_id, **element},
    }


def profile_modal(**extra: object) -> dict:
    return {
        "type": "modal",
        "callback_id": "profile",
        "title": plain("Your profile"),
        "submit": plain("Save"),
        "blocks": [
            text_input("goals_block", "goals", "Goals", placeholder=plain("What do you want?")),
            {"type": "actions", "elements": [button("Add a topic", "add_topic")]},
        ],
        **extra,
    }


def json_answer(body: dict) -> Answer:
    return 200, "application/json;charset=utf-8", json.dumps(body)


# --------------------------------------------------------------------------- Web API basics


def test_auth_test_has_slacks_shape_and_scopes_header(slack: FakeSlack, client: WebClient):
    response = client.auth_test()
    assert response.data == {
        "ok": True,
        "url": "https://mentor-coach-sandbox.slack.com/",
        "team": "Mentor Coach Sandbox",
        "user": "mentorcoach",
        "team_id": "T0MENTOR",
        "user_id": "U0BOT",
        "bot_id": "B0BOT",
        "is_enterprise_install": False,
    }
    assert "chat:write" in response.headers["X-OAuth-Scopes"]
    assert [(c.method, c.status) for c in slack.calls] == [("auth.test", 200)]


def test_every_method_checks_the_token(slack: FakeSlack):
    with pytest.raises(SlackApiError) as missing:
        WebClient(base_url=slack.api_url).auth_test()
    assert missing.value.response["error"] == "not_authed"
    with pytest.raises(SlackApiError) as wrong:
        WebClient(token="xoxb-wrong", base_url=slack.api_url).chat_postMessage(
            channel="D1", text="hi"
        )
    assert wrong.value.response["error"] == "invalid_auth"
    form = urlencode({"token": slack.bot_token}).encode()
    with urllib.request.urlopen(f"{slack.api_url}auth.test", data=form) as answer:
        assert json.loads(answer.read())["ok"] is True  # a token form field works too


def test_unknown_method_is_refused(client: WebClient):
    with pytest.raises(SlackApiError) as error:
        client.api_call("chat.postMessages")
    assert error.value.response["error"] == "unknown_method"


def test_users_info_has_timezone_and_profile(client: WebClient, kenji: str):
    user = client.users_info(user=kenji)["user"]
    assert kenji == "U01KENJI"
    assert (user["id"], user["team_id"], user["name"], user["deleted"]) == (
        kenji,
        "T0MENTOR",
        "kenji",
        False,
    )
    assert (user["tz"], user["tz_offset"], user["tz_label"]) == ("Asia/Tokyo", 9 * 3600, "JST")
    assert user["profile"]["display_name"] == "Kenji"
    assert user["profile"]["real_name"] == user["real_name"] == "Kenji Watanabe"
    assert user["is_bot"] is False
    with pytest.raises(SlackApiError) as error:
        client.users_info(user="U404")
    assert error.value.response["error"] == "user_not_found"


def test_conversations_open_one_person_is_the_bots_dm(
    slack: FakeSlack, client: WebClient, kenji: str
):
    first = client.conversations_open(users=kenji)
    assert first["channel"]["id"] == slack.im_channel(kenji) == "D01KENJI"
    assert (first["no_op"], first["already_open"]) == (False, False)
    again = client.conversations_open(users=kenji)
    assert again["channel"]["id"] == "D01KENJI" and again["already_open"] is True
    with pytest.raises(SlackApiError) as error:
        client.conversations_open(users="U404")
    assert error.value.response["error"] == "user_not_found"


def test_conversations_open_several_people_is_one_group_dm(
    slack: FakeSlack, client: WebClient, kenji: str, amara: str
):
    group = client.conversations_open(users=[kenji, amara])["channel"]["id"]
    assert group.startswith("G")
    assert client.conversations_open(users=f"{amara},{kenji}")["channel"]["id"] == group
    assert set(slack.conversation_info(group)["members"]) == {kenji, amara, "U0BOT"}
    client.chat_postMessage(channel=group, text="You two should meet")
    assert [s.kind for s in slack.seen(kenji)] == ["group"]
    assert [s.kind for s in slack.seen(amara)] == ["group"]
    assert "Mentor Coach -> Amara, Kenji (group DM):" in slack.transcript()


# --------------------------------------------------------------------------- messages


def test_post_message_to_a_user_id_lands_in_their_dm(
    slack: FakeSlack, client: WebClient, kenji: str
):
    blocks = [section("Hello *Kenji*", accessory=button("Open", "open"))]
    response = client.chat_postMessage(channel=kenji, text="Hello Kenji", blocks=blocks)
    assert response["channel"] == "D01KENJI"
    message = response["message"]
    assert message["ts"] == response["ts"]
    assert (message["user"], message["bot_id"], message["text"]) == (
        "U0BOT",
        "B0BOT",
        "Hello Kenji",
    )
    assert message["blocks"][0]["block_id"]  # Slack fills in missing block ids
    assert slack.history("D01KENJI") == [message]
    [seen] = slack.seen(kenji)
    assert (seen.kind, seen.channel, seen.ts, seen.text) == (
        "dm",
        "D01KENJI",
        response["ts"],
        "Hello Kenji",
    )


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
def test_post_message_validates_like_slack(slack: FakeSlack, client: WebClient, kenji: str):
    def refused(**kwargs: object) -> dict:
        with pytest.raises(SlackApiError) as error:
            client.chat_postMessage(**{"channel": kenji, **kwargs})
        return error.value.response.data

    assert refused(text="")["error"] == "no_text"
    assert refused(channel="C404", text="hi")["error"] == "channel_not_found"
    too_many = refused(text="x", blocks=[{"type": "divider"}] * 51)
    assert too_many["error"] == "invalid_blocks"
    assert "no more than 50 items" in too_many["response_metadata"]["messages"][0]
    too_long = refused(text="x", blocks=[section("a" * 3001)])
    assert "[json-pointer:/blocks/0/text/text]" in too_long["errors"][0]
    assert refused(text="x", blocks=["not a block"])["error"] == "invalid_blocks"
    assert refused(text="x", blocks=[{"text": "no type"}])["error"] == "invalid_blocks"
    assert slack.history(kenji) == []
    assert [c.response["error"] for c in slack.calls_to("chat.postMessage")][:2] == [
        "no_text",
        "channel_not_found",
    ]


def test_form_encoded_blocks_arrive_as_json_strings_and_are_decoded(
    slack: FakeSlack, client: WebClient, kenji: str
):
    blocks = [section("from a form")]
    client.api_call(
        "chat.postMessage", params={"channel": kenji, "text": "t", "blocks": json.dumps(blocks)}
    )
    assert slack.history(kenji)[0]["blocks"][0]["text"]["text"] == "from a form"
    assert isinstance(slack.calls_to("chat.postMessage")[0].args["blocks"], list)


def test_channels_need_the_bot_as_member_and_not_archived(
    slack: FakeSlack, client: WebClient, kenji: str, amara: str
):
    wins = slack.add_channel("mentoring-wins", members=[kenji, amara, slack.bot_user_id])
    quiet = slack.add_channel("quiet", members=[kenji])
    old = slack.add_channel("old", members=[kenji, slack.bot_user_id], is_archived=True)
    assert wins == "C01MENTORINGWINS"
    client.chat_postMessage(channel=wins, text="Amara helped Kenji give his first talk")
    client.chat_postMessage(channel="#mentoring-wins", text="by name too")
    assert [s.kind for s in slack.seen(amara)] == ["channel", "channel"]
    assert slack.seen(kenji)[0].channel_name == "mentoring-wins"
    for channel, error in ((quiet, "not_in_channel"), (old, "is_archived")):
        with pytest.raises(SlackApiError) as refused:
            client.chat_postMessage(channel=channel, text="hi")
        assert refused.value.response["error"] == error


def test_ephemeral_is_seen_only_by_that_person(
    slack: FakeSlack, client: WebClient, kenji: str, amara: str
):
    group = client.conversations_open(users=[kenji, amara])["channel"]["id"]
    response = client.chat_postEphemeral(channel=group, user=kenji, text="just for you")
    assert response["message_ts"]
    assert [(s.kind, s.text) for s in slack.seen(kenji)] == [("ephemeral", "just for you")]
    assert slack.seen(amara) == [] and slack.history(group) == []
    outsider = slack.add_user("Lucia", real_name="Lucia F", tz="UTC")
    with pytest.raises(SlackApiError) as error:
        client.chat_postEphemeral(channel=group, user=outsider, text="x")
    assert error.value.response["error"] == "user_not_in_channel"


def test_update_and_delete_change_what_members_see(slack: FakeSlack, client: WebClient, kenji: str):
    ts = client.chat_postMessage(channel=kenji, text="v1", blocks=[section("v1")])["ts"]
    updated = client.chat_update(channel="D01KENJI", ts=ts, text="v2")
    assert (updated["ts"], updated["text"], updated["message"]["text"]) == (ts, "v2", "v2")
    assert updated["message"]["blocks"][0]["text"]["text"] == "v1"  # blocks kept unless given
    assert [(s.text, s.updated) for s in slack.seen(kenji)] == [("v1", False), ("v2", True)]
    with pytest.raises(SlackApiError) as error:
        client.chat_update(channel="D01KENJI", ts="1.000001", text="x")
    assert error.value.response["error"] == "message_not_found"
    deleted = client.chat_delete(channel="D01KENJI", ts=ts)
    assert (deleted["channel"], deleted["ts"]) == ("D01KENJI", ts)
    assert slack.history(kenji) == [] and slack.seen(kenji)[-1].removed


def test_reactions_add_once(slack: FakeSlack, client: WebClient, kenji: str):
    ts = client.chat_postMessage(channel=kenji, text="Thanks!")["ts"]
    client.reactions_add(channel="D01KENJI", timestamp=ts, name="tada")
    with pytest.raises(SlackApiError) as error:
        client.reactions_add(channel="D01KENJI", timestamp=ts, name="tada")
    assert error.value.response["error"] == "already_reacted"
    assert slack.history(kenji)[0]["reactions"] == [
        {"name": "tada", "users": ["U0BOT"], "count": 1}
    ]


# --------------------------------------------------------------------------- failures


def test_fail_next_429_carries_retry_after(slack: FakeSlack, client: WebClient, kenji: str):
    slack.fail_next("chat.postMessage", status=429, retry_after=7)
    with pytest.raises(SlackApiError) as error:
        client.chat_postMessage(channel=kenji, text="hi")
    assert error.value.response.status_code == 429
    assert error.value.response.headers["Retry-After"] == "7"
    assert error.value.response["error"] == "ratelimited"
    client.chat_postMessage(channel=kenji, text="hi")  # only the next call failed
    assert [c.status for c in slack.calls_to("chat.postMessage")] == [429, 200]
    assert len(slack.history(kenji)) == 1


def test_fail_next_500_and_error_times(slack: FakeSlack, client: WebClient, kenji: str):
    slack.fail_next("users.info", status=503)
    with pytest.raises(SlackApiError) as server_error:
        client.users_info(user=kenji)
    assert server_error.value.response.status_code == 503
    slack.fail_next("users.info", error="user_not_found", times=2)
    for _ in range(2):
        with pytest.raises(SlackApiError) as refused:
            client.users_info(user=kenji)
        assert refused.value.response["error"] == "user_not_found"
    assert client.users_info(user=kenji)["ok"] is True


def test_fail_next_hang_times_out_the_client_but_slack_still_acts(slack: FakeSlack, kenji: str):
    impatient = WebClient(
        token=slack.bot_token, base_url=slack.api_url, timeout=1, retry_handlers=[]
    )
    slack.fail_next("chat.postMessage", hang_seconds=1.2)
    started = time.monotonic()
    with pytest.raises((TimeoutError, URLError)):
        impatient.chat_postMessage(channel=kenji, text="slow")
    assert time.monotonic() - started < 1.2
    deadline = time.monotonic() + 2
    while not slack.history(kenji) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert [m["text"] for m in slack.history(kenji)] == ["slow"]  # a retry would duplicate it


# --------------------------------------------------------------------------- views


def test_trigger_ids_expire_and_are_single_use(slack: FakeSlack, client: WebClient, kenji: str):
    trigger = slack.issue_trigger(kenji)
    view = client.views_open(trigger_id=trigger, view=profile_modal())["view"]
    assert view["id"].startswith("V") and view["root_view_id"] == view["id"]
    assert (view["type"], view["callback_id"], view["state"]) == (
        "modal",
        "profile",
        {"values": {}},
    )
    assert view["app_id"] == "A0MENTOR" and view["hash"] and view["previous_view_id"] is None
    assert slack.open_modal(kenji)["id"] == view["id"]

    def error_for(trigger_id: str) -> str:
        with pytest.raises(SlackApiError) as error:
            client.views_open(trigger_id=trigger_id, view=profile_modal())
        return error.value.response["error"]

    assert error_for(trigger) == "exchanged_trigger_id"
    assert error_for("1.2.nope") == "invalid_trigger_id"
    slack.trigger_ttl = 0.05
    stale = slack.issue_trigger(kenji)
    time.sleep(0.1)
    assert error_for(stale) == "expired_trigger_id"


def test_modals_are_validated_like_slack(slack: FakeSlack, client: WebClient, kenji: str):
    def messages(view: dict) -> list[str]:
        with pytest.raises(SlackApiError) as error:
            client.views_open(trigger_id=slack.issue_trigger(kenji), view=view)
        assert error.value.response["error"] == "invalid_arguments"
        return error.value.response["response_metadata"]["messages"]

    long_title = messages(profile_modal(title=plain("A title that is far too long")))
    assert long_title == ["[ERROR] must be less than 25 characters [json-pointer:/view/title/text]"]
    no_submit = {k: v for k, v in profile_modal().items() if k != "submit"}
    assert "submit" in messages(no_submit)[0]
    assert "no more than 100" in messages(profile_modal(blocks=[{"type": "divider"}] * 101))[0]
    assert "must be one of: modal" in messages({**profile_modal(), "type": "home"})[0]
    assert slack.open_modal(kenji) is None


def test_views_push_stack_and_limit(slack: FakeSlack, client: WebClient, kenji: str):
    root = client.views_open(trigger_id=slack.issue_trigger(kenji), view=profile_modal())["view"]
    second = client.views_push(trigger_id=slack.issue_trigger(kenji), view=profile_modal())["view"]
    assert (second["root_view_id"], second["previous_view_id"]) == (root["id"], root["id"])
    client.views_push(trigger_id=slack.issue_trigger(kenji), view=profile_modal())
    assert [v["id"] for v in slack.modal_stack(kenji)][:2] == [root["id"], second["id"]]
    with pytest.raises(SlackApiError) as error:
        client.views_push(trigger_id=slack.issue_trigger(kenji), view=profile_modal())
    assert error.value.response["error"] == "push_limit_reached"


def test_views_update_by_id_or_external_id_with_hash(
    slack: FakeSlack, client: WebClient, kenji: str
):
    opened = client.views_open(
        trigger_id=slack.issue_trigger(kenji), view=profile_modal(external_id="profile-kenji")
    )["view"]
    slack.set_view_state(
        opened["id"], {"goals_block": {"goals": {"type": "plain_text_input", "value": "talk"}}}
    )
    updated = client.views_update(
        view_id=opened["id"], hash=opened["hash"], view=profile_modal(title=plain("Step 2"))
    )["view"]
    assert updated["id"] == opened["id"] and updated["hash"] != opened["hash"]
    assert updated["state"]["values"]["goals_block"]["goals"]["value"] == "talk"  # kept
    with pytest.raises(SlackApiError) as stale:
        client.views_update(view_id=opened["id"], hash=opened["hash"], view=profile_modal())
    assert stale.value.response["error"] == "hash_conflict"
    by_external = client.views_update(external_id="profile-kenji", view=profile_modal())["view"]
    assert by_external["id"] == opened["id"]
    assert slack.seen(kenji)[-1].updated and slack.seen(kenji)[-1].kind == "modal"
    with pytest.raises(SlackApiError) as missing:
        client.views_update(view_id="V404", view=profile_modal())
    assert missing.value.response["error"] == "not_found"


def test_views_publish_stores_the_home_tab(slack: FakeSlack, client: WebClient, kenji: str):
    home = {"type": "home", "blocks": [section("Hi Kenji!", accessory=button("Set up", "setup"))]}
    first = client.views_publish(user_id=kenji, view=home)["view"]
    assert slack.home(kenji)["blocks"][0]["text"]["text"] == "Hi Kenji!"
    again = client.views_publish(user_id=kenji, view=home, hash=first["hash"])["view"]
    assert again["id"] == first["id"]
    with pytest.raises(SlackApiError) as stale:
        client.views_publish(user_id=kenji, view=home, hash=first["hash"])
    assert stale.value.response["error"] == "hash_conflict"
    with pytest.raises(SlackApiError) as wrong_type:
        client.views_publish(user_id=kenji, view=profile_modal())
    assert wrong_type.value.response["error"] == "invalid_arguments"
    assert [s.kind for s in slack.seen(kenji)] == ["home", "home"]


# --------------------------------------------------------------------------- response_url


def post_json(url: str, body: dict) -> tuple[int, dict]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_response_url_ephemeral_vs_in_channel(slack: FakeSlack, kenji: str, amara: str):
    wins = slack.add_channel("wins", members=[kenji, amara])
    url = slack.new_response_url(kenji, wins)
    assert post_json(url, {"text": "only Kenji"}) == (200, {"ok": True})
    assert post_json(url, {"text": "everyone", "response_type": "in_channel"})[0] == 200
    assert [(s.kind, s.text) for s in slack.seen(kenji)] == [
        ("ephemeral", "only Kenji"),
        ("channel", "everyone"),
    ]
    assert [(s.kind, s.text) for s in slack.seen(amara)] == [("channel", "everyone")]
    assert [m["text"] for m in slack.history(wins)] == ["everyone"]
    assert [c.method for c in slack.calls] == ["response_url", "response_url"]
    for _ in range(3):
        post_json(url, {"text": "again"})
    assert post_json(url, {"text": "sixth"}) == (404, {"ok": False, "error": "used_url"})


def test_response_url_replaces_or_deletes_the_original(
    slack: FakeSlack, client: WebClient, kenji: str
):
    ts = client.chat_postMessage(channel=kenji, text="Request from Kenji")["ts"]
    url = slack.new_response_url(kenji, "D01KENJI", original_ts=ts)
    post_json(url, {"text": "Accepted", "replace_original": True})
    assert [m["text"] for m in slack.history(kenji)] == ["Accepted"]
    assert slack.seen(kenji)[-1].updated
    post_json(url, {"delete_original": True})
    assert slack.history(kenji) == []
    assert post_json(url, {"delete_original": True})[1]["error"] == "message_not_found"


# --------------------------------------------------------------------------- the driver


def test_command_is_a_signed_slash_command_form(
    slack: FakeSlack, driver: SlackDriver, receiver: Receiver, kenji: str
):
    reply = driver.command(kenji, "profile")
    request = receiver.last
    assert request.signature_valid and reply.status == 200
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    form = request.form
    assert {k: form[k] for k in ("command", "text", "user_id", "channel_id", "team_id")} == {
        "command": "/mentor",
        "text": "profile",
        "user_id": kenji,
        "channel_id": "D01KENJI",
        "team_id": "T0MENTOR",
    }
    assert (form["channel_name"], form["user_name"], form["api_app_id"]) == (
        "directmessage",
        "kenji",
        "A0MENTOR",
    )
    assert form["is_enterprise_install"] == "false"
    assert form["response_url"].startswith(slack.base_url + "/response/")
    assert form["trigger_id"] and form["token"] == slack.verification_token


def test_command_ack_bodies_are_what_the_person_sees(
    slack: FakeSlack, driver: SlackDriver, receiver: Receiver, kenji: str
):
    receiver.answer = lambda r: json_answer({"text": "Here's help", "response_type": "ephemeral"})
    assert driver.command(kenji).json == {"text": "Here's help", "response_type": "ephemeral"}
    receiver.answer = lambda r: (200, "text/plain;charset=utf-8", "plain words")
    driver.command(kenji, "x")
    receiver.answer = lambda r: (200, "text/plain", "")
    driver.command(kenji, "quiet")
    receiver.answer = lambda r: json_answer({"text": "Shared", "response_type": "in_channel"})
    driver.command(kenji, "share")
    assert [(s.kind, s.text) for s in slack.seen(kenji)] == [
        ("ephemeral", "Here's help"),
        ("ephemeral", "plain words"),
        ("dm", "Shared"),
    ]
    assert [m["text"] for m in slack.history(kenji)] == ["Shared"]


def test_the_ack_reply_comes_right_after_the_action_even_if_the_bot_raced_it(
    slack: FakeSlack, client: WebClient, driver: SlackDriver, receiver: Receiver, kenji: str
):
    def bot(request: Received) -> Answer:
        # Background work after ack() can reach the Web API before the ack reaches Slack.
        client.chat_postMessage(channel=kenji, text="from the background")
        return json_answer({"text": "Got it"})

    receiver.answer = bot
    driver.command(kenji, "go")
    assert [s.text for s in slack.seen(kenji)] == ["Got it", "from the background"]
    assert [e.action or e.seen.text for e in slack.timeline] == [
        "typed: /mentor go",
        "Got it",
        "from the background",
    ]


def test_slow_or_failing_commands_show_slacks_error(
    slack: FakeSlack, driver: SlackDriver, receiver: Receiver, kenji: str
):
    driver.ack_timeout = 0.1

    def slow(request: Received) -> Answer:
        time.sleep(0.15)
        return json_answer({"text": "too late"})

    receiver.answer = slow
    assert driver.command(kenji, "slow").slack_error == "operation_timeout"
    receiver.answer = lambda r: (500, "text/plain", "boom")
    assert driver.command(kenji, "boom").slack_error == "dispatch_failed"
    seen = slack.seen(kenji)
    assert [s.text for s in seen] == [
        '/mentor failed with the error "operation_timeout"',
        '/mentor failed with the error "dispatch_failed"',
    ]
    assert all(s.from_slack for s in seen)


def test_click_finds_buttons_by_action_id_or_text_newest_first(
    slack: FakeSlack, client: WebClient, driver: SlackDriver, receiver: Receiver, kenji: str
):
    old = client.chat_postMessage(
        channel=kenji,
        text="old",
        blocks=[{"type": "actions", "elements": [button("Accept", "accept", "req-1")]}],
    )
    new = client.chat_postMessage(
        channel=kenji,
        text="new",
        blocks=[
            section("Amara asks", accessory=button(":white_check_mark: Accept", "accept", "req-2"))
        ],
    )
    driver.click(kenji, text="Accept")
    payload = receiver.last.payload
    assert payload["actions"][0]["value"] == "req-2"  # the newest message wins
    assert payload["type"] == "block_actions" and payload["user"]["id"] == kenji
    assert payload["container"] == {
        "type": "message",
        "message_ts": new["ts"],
        "channel_id": "D01KENJI",
        "is_ephemeral": False,
    }
    assert payload["channel"] == {"id": "D01KENJI", "name": "directmessage"}
    assert payload["message"]["ts"] == new["ts"] and payload["trigger_id"]
    assert payload["response_url"].startswith(slack.base_url)
    assert payload["team"] == {"id": "T0MENTOR", "domain": "mentor-coach-sandbox"}
    action = payload["actions"][0]
    assert (action["action_id"], action["type"], action["block_id"]) == (
        "accept",
        "button",
        new["message"]["blocks"][0]["block_id"],
    )
    driver.click(kenji, action_id="accept", value="req-1")
    assert receiver.last.payload["container"]["message_ts"] == old["ts"]
    with pytest.raises(AssertionError, match=r"no button with text='Decline'.*\[Accept\]"):
        driver.click(kenji, text="Decline")


def test_click_prefers_the_open_modal_and_sends_its_state(
    slack: FakeSlack, client: WebClient, driver: SlackDriver, receiver: Receiver, kenji: str
):
    client.chat_postMessage(
        channel=kenji,
        text="m",
        blocks=[{"type": "actions", "elements": [button("Add a topic", "add_topic")]}],
    )
    view = client.views_open(trigger_id=slack.issue_trigger(kenji), view=profile_modal())["view"]
    driver.click(kenji, text="add a topic")
    payload = receiver.last.payload
    assert payload["container"] == {"type": "view", "view_id": view["id"]}
    assert payload["view"]["state"] == {"values": {}}
    assert "response_url" not in payload and "message" not in payload


def test_click_on_an_ephemeral_then_respond_replaces_it(
    slack: FakeSlack, client: WebClient, driver: SlackDriver, receiver: Receiver, kenji: str
):
    client.chat_postEphemeral(
        channel="D01KENJI",
        user=kenji,
        text="Pick one",
        blocks=[{"type": "actions", "elements": [button("Yes", "yes"), button("No", "no")]}],
    )

    def respond(request: Received) -> Answer:
        post_json(
            request.payload["response_url"], {"text": "You said yes", "replace_original": True}
        )
        return 200, "text/plain", ""

    receiver.answer = respond
    driver.click(kenji, action_id="yes")
    payload = receiver.last.payload
    assert payload["container"]["is_ephemeral"] is True and "message" not in payload
    last = slack.seen(kenji)[-1]
    assert (last.kind, last.text, last.updated) == ("ephemeral", "You said yes", True)
    with pytest.raises(AssertionError, match="sees no button"):
        driver.click(kenji, action_id="no")  # the original is gone


def test_click_with_two_matching_buttons_asks_for_more(
    client: WebClient, driver: SlackDriver, kenji: str
):
    client.chat_postMessage(
        channel=kenji,
        text="mentors",
        blocks=[
            section("Amara", accessory=button("Request", "request", "U01AMARA")),
            section("Lucia", accessory=button("Request", "request", "U01LUCIA")),
        ],
    )
    with pytest.raises(AssertionError, match="2 buttons match"):
        driver.click(kenji, text="Request")
    driver.click(kenji, text="Request", value="U01LUCIA")


ALL_INPUTS = [
    text_input("name_block", "name", "Name", initial_value="Kenji"),
    {**text_input("bio_block", "bio", "Bio", multiline=True), "optional": True},
    {
        "type": "input",
        "block_id": "capacity_block",
        "label": plain("Capacity"),
        "element": {"type": "number_input", "action_id": "capacity", "is_decimal_allowed": False},
    },
    {
        "type": "input",
        "block_id": "level_block",
        "label": plain("Level"),
        "element": {
            "type": "radio_buttons",
            "action_id": "level",
            "options": [
                {"text": plain("Junior"), "value": "junior"},
                {"text": plain("Senior"), "value": "senior"},
            ],
        },
    },
    {
        "type": "input",
        "block_id": "topics_block",
        "label": plain("Topics"),
        "element": {
            "type": "checkboxes",
            "action_id": "topics",
            "options": [
                {"text": plain("Python"), "value": "python"},
                {"text": plain("Public speaking"), "value": "speaking"},
                {"text": plain("Design"), "value": "design"},
            ],
        },
    },
    {
        "type": "input",
        "block_id": "team_block",
        "label": plain("Team"),
        "element": {
            "type": "static_select",
            "action_id": "team",
            "options": [
                {"text": plain("Platform"), "value": "platform"},
                {"text": plain("Product"), "value": "product"},
            ],
            "initial_option": {"text": plain("Product"), "value": "product"},
        },
    },
    {
        "type": "input",
        "block_id": "tags_block",
        "label": plain("Tags"),
        "element": {
            "type": "multi_static_select",
            "action_id": "tags",
            "options": [{"text": plain("A"), "value": "a"}, {"text": plain("B"), "value": "b"}],
        },
    },
    {
        "type": "input",
        "block_id": "day_block",
        "label": plain("Day"),
        "element": {"type": "datepicker", "action_id": "day"},
    },
    {
        "type": "input",
        "block_id": "time_block",
        "label": plain("Time"),
        "element": {"type": "timepicker", "action_id": "time"},
    },
    {
        "type": "input",
        "block_id": "when_block",
        "label": plain("When"),
        "element": {"type": "datetimepicker", "action_id": "when"},
    },
    {
        "type": "input",
        "block_id": "buddy_block",
        "label": plain("Buddy"),
        "element": {"type": "users_select", "action_id": "buddy"},
    },
    {
        "type": "input",
        "block_id": "where_block",
        "label": plain("Where"),
        "element": {"type": "conversations_select", "action_id": "where"},
    },
]


def test_submit_builds_slacks_state_for_every_input_type(
    slack: FakeSlack, client: WebClient, driver: SlackDriver, receiver: Receiver, kenji: str
):
    view = client.views_open(
        trigger_id=slack.issue_trigger(kenji),
        view=profile_modal(blocks=ALL_INPUTS, private_metadata="req-9"),
    )["view"]
    reply = driver.submit(
        kenji,
        {
            "capacity": 3,
            "level": "Senior",  # by visible text
            "topics_block": ["python", "Public speaking"],  # by block_id; value or text
            "tags": "b",
            "day": dt.date(2026, 12, 1),
            "time": dt.time(9, 30),
            "when": dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC),
            "buddy": "U01AMARA",
            "where": "C01WINS",
        },
    )
    assert reply.status == 200 and receiver.last.signature_valid
    payload = receiver.last.payload
    assert payload["type"] == "view_submission" and payload["response_urls"] == []
    assert payload["view"]["id"] == view["id"] and payload["view"]["private_metadata"] == "req-9"
    assert payload["view"]["callback_id"] == "profile" and payload["trigger_id"]
    values = payload["view"]["state"]["values"]
    assert values["name_block"]["name"] == {"type": "plain_text_input", "value": "Kenji"}
    assert values["bio_block"]["bio"] == {"type": "plain_text_input", "value": None}
    assert values["capacity_block"]["capacity"] == {"type": "number_input", "value": "3"}
    assert values["level_block"]["level"]["selected_option"]["value"] == "senior"
    assert [o["value"] for o in values["topics_block"]["topics"]["selected_options"]] == [
        "python",
        "speaking",
    ]
    assert values["team_block"]["team"]["selected_option"]["value"] == "product"  # initial
    assert values["tags_block"]["tags"]["selected_options"][0]["text"]["text"] == "B"
    assert values["day_block"]["day"] == {"type": "datepicker", "selected_date": "2026-12-01"}
    assert values["time_block"]["time"] == {"type": "timepicker", "selected_time": "09:30"}
    assert values["when_block"]["when"]["selected_date_time"] == 1796115600
    assert values["buddy_block"]["buddy"]["selected_user"] == "U01AMARA"
    assert values["where_block"]["where"]["selected_conversation"] == "C01WINS"
    assert slack.open_modal(kenji) is None  # an empty ack closes the modal


def test_submit_refuses_inputs_and_options_that_do_not_exist(
    slack: FakeSlack, client: WebClient, driver: SlackDriver, kenji: str
):
    client.views_open(trigger_id=slack.issue_trigger(kenji), view=profile_modal(blocks=ALL_INPUTS))
    with pytest.raises(AssertionError, match="no input named"):
        driver.submit(kenji, {"nickname": "K"})
    with pytest.raises(AssertionError, match=r"no option 'Staff'.*'Junior'"):
        driver.submit(kenji, {"level": "Staff"})
    with pytest.raises(AssertionError, match="'Capacity' is required"):
        driver.submit(kenji, {"level": "junior"}, client_checks=True)
    with pytest.raises(AssertionError, match="no open modal"):
        driver.submit("U01AMARA")


def test_submit_ack_errors_keep_the_modal_open_with_the_entries(
    slack: FakeSlack, client: WebClient, driver: SlackDriver, receiver: Receiver, kenji: str
):
    client.views_open(trigger_id=slack.issue_trigger(kenji), view=profile_modal())
    receiver.answer = lambda r: json_answer(
        {"response_action": "errors", "errors": {"goals_block": "Say a bit more"}}
    )
    reply = driver.submit(kenji, {"goals": "x"})
    assert reply.slack_error is None
    modal = slack.open_modal(kenji)
    assert modal["errors"] == {"goals_block": "Say a bit more"}
    assert modal["state"]["values"]["goals_block"]["goals"]["value"] == "x"
    assert slack.seen(kenji)[-1].view["errors"] == {"goals_block": "Say a bit more"}
    receiver.answer = lambda r: (200, "text/plain", "")
    driver.submit(kenji)  # the person's earlier entry is still there
    assert receiver.last.payload["view"]["state"]["values"]["goals_block"]["goals"]["value"] == "x"
    assert slack.open_modal(kenji) is None


def test_submit_ack_update_push_and_clear(
    slack: FakeSlack, client: WebClient, driver: SlackDriver, receiver: Receiver, kenji: str
):
    client.views_open(trigger_id=slack.issue_trigger(kenji), view=profile_modal())
    receiver.answer = lambda r: json_answer(
        {"response_action": "update", "view": profile_modal(title=plain("Step 2"))}
    )
    driver.submit(kenji, {"goals": "a"})
    assert slack.open_modal(kenji)["title"]["text"] == "Step 2"
    receiver.answer = lambda r: json_answer(
        {"response_action": "push", "view": profile_modal(title=plain("Step 3"))}
    )
    driver.submit(kenji, {"goals": "b"})
    assert [v["title"]["text"] for v in slack.modal_stack(kenji)] == ["Step 2", "Step 3"]
    receiver.answer = lambda r: json_answer({"response_action": "clear"})
    driver.submit(kenji, {"goals": "c"})
    assert slack.open_modal(kenji) is None


def test_submit_ack_slack_cannot_use_shows_a_generic_failure(
    slack: FakeSlack, client: WebClient, driver: SlackDriver, receiver: Receiver, kenji: str
):
    client.views_open(trigger_id=slack.issue_trigger(kenji), view=profile_modal())
    receiver.answer = lambda r: json_answer(
        {"response_action": "errors", "errors": {"no_such_block": "?"}}
    )
    reply = driver.submit(kenji, {"goals": "a"})
    assert "no_such_block" in reply.slack_error
    assert slack.seen(kenji)[-1].text == "We had some trouble connecting. Try again?"
    assert slack.open_modal(kenji) is not None


def test_dm_edit_and_delete_send_message_events(
    slack: FakeSlack, driver: SlackDriver, receiver: Receiver, kenji: str
):
    ts = driver.dm(kenji, "Can we talk about <b> & stuff?")
    envelope = receiver.last.json
    assert receiver.last.signature_valid and envelope["type"] == "event_callback"
    assert envelope["event_id"] == driver.last_event_id and envelope["event_id"].startswith("Ev")
    assert envelope["authorizations"][0]["user_id"] == "U0BOT"
    event = envelope["event"]
    assert (event["type"], event["channel_type"], event["channel"], event["user"], event["ts"]) == (
        "message",
        "im",
        "D01KENJI",
        kenji,
        ts,
    )
    assert event["text"] == "Can we talk about &lt;b&gt; &amp; stuff?"  # Slack escapes typed text
    assert slack.history(kenji)[0]["user"] == kenji and slack.seen(kenji) == []

    driver.edit_dm(kenji, ts, "Never mind")
    changed = receiver.last.json["event"]
    assert changed["subtype"] == "message_changed"
    assert (changed["message"]["text"], changed["previous_message"]["text"]) == (
        "Never mind",
        event["text"],
    )
    driver.delete_dm(kenji, ts)
    deleted = receiver.last.json["event"]
    assert (deleted["subtype"], deleted["deleted_ts"]) == ("message_deleted", ts)
    assert slack.history(kenji) == []
    assert len({r.json["event_id"] for r in receiver.requests}) == 3


def test_open_home_and_redeliver(
    slack: FakeSlack, client: WebClient, driver: SlackDriver, receiver: Receiver, kenji: str
):
    client.views_publish(user_id=kenji, view={"type": "home", "blocks": [section("Hi")]})
    reply = driver.open_home(kenji)
    event = receiver.last.json["event"]
    assert (event["type"], event["tab"], event["channel"]) == (
        "app_home_opened",
        "home",
        "D01KENJI",
    )
    assert event["view"]["id"] == slack.home(kenji)["id"]
    retry = driver.redeliver(reply, retry_num=2)
    assert retry.event_id == reply.event_id
    again = receiver.last
    assert again.signature_valid and again.body == receiver.requests[-2].body
    assert (again.headers["X-Slack-Retry-Num"], again.headers["X-Slack-Retry-Reason"]) == (
        "2",
        "http_timeout",
    )


def test_send_raw_can_forge_signatures_and_timestamps(driver: SlackDriver, receiver: Receiver):
    body = b"command=%2Fmentor&text=help"
    kind = "application/x-www-form-urlencoded"
    assert driver.send_raw(body, content_type=kind, signature="v0=deadbeef").status == 401
    old = int(time.time()) - 6 * 60
    assert driver.send_raw(body, content_type=kind, timestamp=old).status == 401
    assert driver.send_raw(body, content_type=kind).status == 200
    assert [r.signature_valid for r in receiver.requests] == [False, False, True]


def test_settle_runs_after_each_request(slack: FakeSlack, receiver: Receiver, kenji: str):
    settled = []
    driver = SlackDriver(slack, receiver.url, SECRET, settle=lambda: settled.append(1))
    driver.command(kenji)
    driver.dm(kenji, "hi")
    driver.open_home(kenji)
    assert len(settled) == 3


# --------------------------------------------------------------------------- settle


def test_tracking_executor_waits_for_nested_work():
    done = []
    with TrackingExecutor(max_workers=2) as pool:

        def outer() -> None:
            time.sleep(0.05)
            pool.submit(lambda: (time.sleep(0.05), done.append("inner")))
            done.append("outer")

        pool.submit(outer)
        pool.wait_idle(timeout=2)
        assert done == ["outer", "inner"] and pool.busy == 0


def test_tracking_executor_names_busy_tasks_on_timeout():
    release = threading.Event()
    with TrackingExecutor(max_workers=1) as pool:
        pool.submit(release.wait)
        with pytest.raises(TimeoutError, match="1 task"):
            pool.wait_idle(timeout=0.05)
        release.set()
        pool.wait_idle()


# --------------------------------------------------------------------------- transcripts


def test_render_view_or_message_reads_like_slack():
    blocks = [
        {"type": "header", "text": plain("Your mentors")},
        section("*Amara* &amp; <@U01KENJI> meet <!date^1796115600^{date_short_pretty}|Dec 1>"),
        {
            "type": "section",
            "fields": [{"type": "mrkdwn", "text": "*Tz:*\nAfrica/Lagos"}],
            "accessory": button("Request", "request"),
        },
        {"type": "divider"},
        {"type": "image", "image_url": "https://x/y.png", "alt_text": "a chart"},
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": "Sent by <https://x|the bot>"}],
        },
        {"type": "actions", "elements": [button("Accept", "a"), button("Decline", "d")]},
    ]
    assert render_view_or_message(blocks, names={"U01KENJI": "Kenji"}) == [
        "# Your mentors",
        "*Amara* & @Kenji meet Dec 1",
        "*Tz:* Africa/Lagos [Request]",
        "---",
        "(image: a chart)",
        "Sent by the bot (https://x)",
        "[Accept] [Decline]",
    ]
    assert render_view_or_message([], "fallback &lt;text&gt;") == ["fallback <text>"]


def test_render_view_shows_inputs_errors_and_buttons():
    view = {
        **profile_modal(blocks=ALL_INPUTS[:6]),
        "state": {
            "values": {"capacity_block": {"capacity": {"type": "number_input", "value": "0"}}}
        },
        "errors": {"capacity_block": "At least 1, please"},
    }
    assert render_view(view) == [
        "== Your profile ==",
        "Name: Kenji",
        "Bio: ____ (optional)",
        "Capacity: 0",
        "  ! At least 1, please",
        "Level: ( ) Junior  ( ) Senior",
        "Topics: [ ] Python  [ ] Public speaking  [ ] Design",
        "Team: Product",
        "[Cancel] [Save]",
    ]


def test_render_timeline_tells_the_story(
    slack: FakeSlack,
    client: WebClient,
    driver: SlackDriver,
    receiver: Receiver,
    executor: TrackingExecutor,
    kenji: str,
):
    def bot(request: Received) -> Answer:
        if "command" in request.form:
            trigger = request.form["trigger_id"]
            executor.submit(client.views_open, trigger_id=trigger, view=profile_modal())
        else:
            executor.submit(
                client.chat_postEphemeral,
                channel="D01KENJI",
                user=kenji,
                text="Saved!",
                blocks=[
                    section("Saved! We'll find you a mentor."),
                    {"type": "actions", "elements": [button("Edit profile", "edit")]},
                ],
            )
        return 200, "text/plain", ""

    receiver.answer = bot
    driver.command(kenji, "profile")
    driver.submit(kenji, {"goals": "Give a talk"})
    assert slack.transcript() == (
        "Kenji typed: /mentor profile\n"
        '  Mentor Coach -> Kenji (modal "Your profile"):\n'
        "    Goals: <What do you want?>\n"
        "    [Add a topic]\n"
        "    [Cancel] [Save]\n"
        'Kenji submitted "Your profile":\n'
        "    Goals: Give a talk\n"
        '  Kenji\'s modal "Your profile" closed\n'
        "  Mentor Coach -> Kenji (only visible to you):\n"
        "    Saved! We'll find you a mentor.\n"
        "    [Edit profile]\n"
    )
    assert render_timeline(slack.timeline) == slack.transcript()
    assert isinstance(slack.timeline[1].seen, Seen)


def test_reset_keeps_people_and_forgets_activity(slack: FakeSlack, client: WebClient, kenji: str):
    client.chat_postMessage(channel=kenji, text="hi")
    slack.fail_next("auth.test", status=500)
    slack.reset()
    assert slack.calls == [] and slack.seen(kenji) == [] and slack.history(kenji) == []
    assert slack.timeline == []
    assert client.auth_test()["ok"] and client.users_info(user=kenji)["ok"]
