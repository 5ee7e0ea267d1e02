"""Plays people against the bot's HTTP endpoint, shaping and signing requests as Slack does."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import html
import json
import re
import secrets
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urljoin

from sandbox.block_kit import Control, buttons
from sandbox.forms import fill_state, unsubmittable
from sandbox.slack_api import FakeSlack
from sandbox.timeline import Seen

ACK_TIMEOUT_SECONDS = 3.0
TRANSPORTS = ("http", "socket_mode")
MODAL_TROUBLE = "We had some trouble connecting. Try again?"


@dataclass(frozen=True)
class Reply:
    """The bot's HTTP answer to one request, and what Slack made of it."""

    status: int
    body: str
    json: dict | None
    elapsed: float = 0.0
    event_id: str | None = None
    slack_error: str | None = None  # what Slack would report (timeout, dispatch_failed, ...)


@dataclass
class _Surface:
    """Somewhere a person can click: their modal, a message or ephemeral, or their Home tab."""

    where: str  # modal | message | home
    blocks: list
    view: dict | None = None
    message: dict | None = None
    channel: str | None = None
    ts: str | None = None
    ephemeral: bool = False
    label: str = ""


class SlackDriver:
    """Acts as Slack towards the bot: slash commands, clicks, submissions and DM events."""

    def __init__(
        self,
        slack: FakeSlack,
        events_url: str,
        signing_secret: str,
        *,
        settle: Callable[[], None] | None = None,
        request_timeout: float = 10.0,
        transport: str = "http",
    ) -> None:
        if transport not in TRANSPORTS:
            raise ValueError(f"transport must be one of {TRANSPORTS}")
        self.slack = slack
        # "http": signed POSTs to events_url; "socket_mode": envelopes on the app's WebSocket.
        self.transport = transport
        self.events_url = events_url
        self.signing_secret = signing_secret
        self.settle = settle
        self.request_timeout = request_timeout
        self.ack_timeout = ACK_TIMEOUT_SECONDS
        self.last_event_id: str | None = None
        self.last_reply: Reply | None = None
        # Every answer to the last click or submission; more than one when sent with `copies`.
        self.last_replies: list[Reply] = []
        self._last_payload: bytes | None = None
        self._event_bodies: dict[str, bytes] = {}

    # ----------------------------------------------------------------- people acting

    def command(
        self,
        user_id: str,
        text: str = "",
        *,
        command: str = "/mentor",
        channel_id: str | None = None,
    ) -> Reply:
        """The person types `command text` in a conversation (default: their DM with the bot)."""
        channel_id = channel_id or self.slack.im_channel(user_id)
        channel = self.slack.conversation_info(channel_id)
        user = self.slack.user(user_id)
        team = self.slack.team(user["team_id"])
        mark = self.slack.record_action(user_id, f"typed: {command} {text}".rstrip())
        form = {
            "token": self.slack.verification_token,
            "team_id": team["id"],
            "team_domain": team["domain"],
            "channel_id": channel["id"],
            "channel_name": channel["name"],
            "user_id": user_id,
            "user_name": user["name"],
            "command": command,
            "text": text,
            "api_app_id": self.slack.app_id,
            "is_enterprise_install": "false",
            "response_url": self.slack.new_response_url(user_id, channel["id"]),
            "trigger_id": self.slack.issue_trigger(user_id),
        }
        reply = self._post(urlencode(form).encode(), "application/x-www-form-urlencoded")
        failure = self._ack_failure(reply)
        if failure is None:
            body = reply.json if reply.json is not None else {"text": reply.body.strip()}
            if body.get("text") or body.get("blocks"):
                failure = self.slack.respond(user_id, channel["id"], body, at=mark)
        if failure:
            reply = _with_error(reply, failure)
            notice = f'{command} failed with the error "{failure}"'
            self.slack.show_slack_notice(user_id, notice, channel=channel["id"], at=mark)
        return self._settled(reply)

    def click(
        self,
        user_id: str,
        *,
        action_id: str | None = None,
        text: str | None = None,
        value: str | None = None,
        copies: int = 1,
    ) -> Reply:
        """The person clicks a button they can see: in their modal, newest messages, or Home tab.

        `copies` delivers the very same payload that many times at once (a double click, a
        retried request); the first answer is returned, all of them are in `last_replies`.
        """
        surface, control = self._find_button(user_id, action_id, text, value)
        self.slack.record_action(user_id, f"clicked [{control.label}]")
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": self._payload_user(user_id),
            "api_app_id": self.slack.app_id,
            "token": self.slack.verification_token,
            "trigger_id": self.slack.issue_trigger(user_id),
            "team": self._payload_team(user_id),
            "enterprise": None,
            "is_enterprise_install": False,
        }
        if surface.view is not None:
            payload["container"] = {"type": "view", "view_id": surface.view["id"]}
            payload["view"] = _as_sent(surface.view)
        else:
            assert surface.channel is not None and surface.ts is not None
            channel = self.slack.conversation_info(surface.channel)
            payload["container"] = {
                "type": "message",
                "message_ts": surface.ts,
                "channel_id": surface.channel,
                "is_ephemeral": surface.ephemeral,
            }
            payload["channel"] = {"id": channel["id"], "name": channel["name"]}
            if not surface.ephemeral:
                payload["message"] = surface.message
            payload["state"] = {"values": fill_state(surface.blocks, {}, {})}
            payload["response_url"] = self.slack.new_response_url(
                user_id, surface.channel, original_ts=surface.ts
            )
        action = {
            "action_id": control.action_id,
            "block_id": control.block_id,
            "text": control.element.get("text"),
            "value": control.element.get("value"),
            "type": "button",
            "action_ts": f"{time.time():.6f}",
        }
        if control.element.get("style"):
            action["style"] = control.element["style"]
        payload["actions"] = [action]
        reply = self._post_payload(payload, copies)
        failure = self._ack_failure(reply)
        return self._settled(_with_error(reply, failure) if failure else reply)

    def submit(
        self,
        user_id: str,
        values: dict[str, Any] | None = None,
        *,
        client_checks: bool = False,
        copies: int = 1,
    ) -> Reply:
        """The person fills in their open (top) modal and presses its submit button.

        `values` maps an input's action_id (or block_id) to what they enter: text, a number,
        an option's value or visible text (a list for multi-selects), a date/time, a user id...
        With `client_checks`, refuse (AssertionError) what Slack's own client would not send:
        empty required inputs, text outside min/max_length, numbers outside min/max_value.
        Without it the values go to the bot as given, to exercise its server-side validation.
        `copies` works as for `click`; the first answer is the one applied to the modal.
        """
        view = self.slack.open_modal(user_id)
        if view is None:
            raise AssertionError(f"{self.slack.user_name(user_id)} has no open modal to submit")
        state = fill_state(view["blocks"], values or {}, view["state"]["values"])
        reasons = unsubmittable(view["blocks"], state) if client_checks else []
        if reasons:
            raise AssertionError("Slack would not submit this modal: " + "; ".join(reasons))
        self.slack.set_view_state(view["id"], state)
        view["state"] = {"values": state}
        mark = self.slack.record_action(user_id, f'submitted "{_title(view)}"', view=view)
        reply = self._post_payload(self._submission(user_id, _as_sent(view)), copies)
        failure = self._ack_failure(reply)
        if failure is None:
            body = reply.json if reply.json is not None else {}
            if reply.json is None and reply.body.strip():
                failure = "the ack body was not JSON"
            else:
                failure = self.slack.apply_submission_response(user_id, view["id"], body, at=mark)
        if failure:
            reply = _with_error(reply, failure)
            self.slack.show_slack_notice(user_id, MODAL_TROUBLE, kind="modal", at=mark)
        return self._settled(reply)

    def close(self, user_id: str) -> Reply | None:
        """The person closes their top modal; sends view_closed if the view asked for it."""
        view = self.slack.open_modal(user_id)
        if view is None:
            raise AssertionError(f"{self.slack.user_name(user_id)} has no open modal to close")
        self.slack.record_action(user_id, f'closed "{_title(view)}"')
        self.slack.close_modal(user_id)
        if not view.get("notify_on_close"):
            return None
        payload = {
            "type": "view_closed",
            "team": self._payload_team(user_id),
            "user": self._payload_user(user_id),
            "api_app_id": self.slack.app_id,
            "token": self.slack.verification_token,
            "view": _as_sent(view),
            "is_cleared": False,
            "is_enterprise_install": False,
            "enterprise": None,
        }
        return self._settled(self._post_payload(payload))

    def dm(self, user_id: str, text: str) -> str:
        """The person writes `text` in their DM with the bot; returns the message ts."""
        channel_id = self.slack.im_channel(user_id)
        self.slack.record_action(user_id, f"wrote: {text}")
        # Slack delivers typed text with &, < and > as HTML entities.
        message = self.slack.add_user_message(user_id, channel_id, _escape(text))
        event = {
            "type": "message",
            "channel": channel_id,
            "user": user_id,
            "text": message["text"],
            "ts": message["ts"],
            "event_ts": message["ts"],
            "channel_type": "im",
            "client_msg_id": message["client_msg_id"],
            "team": message["team"],
            "blocks": message["blocks"],
        }
        self._send_event(event)
        return message["ts"]

    def edit_dm(self, user_id: str, ts: str, text: str) -> Reply:
        """The person edits a message they wrote in their DM with the bot."""
        channel_id = self.slack.im_channel(user_id)
        self.slack.record_action(user_id, f"edited a message to: {text}")
        change = self.slack.edit_user_message(user_id, channel_id, ts, _escape(text))
        event_ts = _event_ts()
        event = {
            "type": "message",
            "subtype": "message_changed",
            "hidden": True,
            "channel": channel_id,
            "channel_type": "im",
            "message": change["message"],
            "previous_message": change["previous_message"],
            "ts": event_ts,
            "event_ts": event_ts,
        }
        return self._send_event(event)

    def delete_dm(self, user_id: str, ts: str) -> Reply:
        """The person deletes a message they wrote in their DM with the bot."""
        channel_id = self.slack.im_channel(user_id)
        self.slack.record_action(user_id, "deleted a message")
        previous = self.slack.delete_user_message(user_id, channel_id, ts)
        event_ts = _event_ts()
        event = {
            "type": "message",
            "subtype": "message_deleted",
            "hidden": True,
            "channel": channel_id,
            "channel_type": "im",
            "deleted_ts": ts,
            "previous_message": previous,
            "ts": event_ts,
            "event_ts": event_ts,
        }
        return self._send_event(event)

    def open_home(self, user_id: str) -> Reply:
        """The person opens the app's Home tab (app_home_opened)."""
        self.slack.record_action(user_id, "opened the Home tab")
        event: dict[str, Any] = {
            "type": "app_home_opened",
            "user": user_id,
            "channel": self.slack.im_channel(user_id),
            "tab": "home",
            "event_ts": _event_ts(),
        }
        home = self.slack.home(user_id)
        if home is not None:
            event["view"] = _as_sent(home)
        return self._send_event(event)

    def leave(self, user_id: str) -> Reply:
        """An admin deactivates the person's account: Slack refuses DMs to them from now on and
        tells the app with `user_change` (the user object, now `deleted: true`)."""
        self.slack.deactivate_user(user_id)
        self.slack.record_action(user_id, "left the workspace (account deactivated)")
        return self.user_changed(user_id)

    def user_changed(self, user_id: str) -> Reply:
        """Slack's `user_change` event, carrying the person's user object as it is now."""
        event = {
            "type": "user_change",
            "user": self.slack.user(user_id),
            "cache_ts": int(time.time()),
            "event_ts": _event_ts(),
        }
        return self._send_event(event)

    def redeliver(self, reply_or_event_id: Reply | str | None = None, retry_num: int = 1) -> Reply:
        """Slack's retry of an event (default: the last one), freshly signed."""
        event_id = reply_or_event_id
        if isinstance(event_id, Reply):
            event_id = event_id.event_id
        event_id = event_id or self.last_event_id
        if event_id not in self._event_bodies:
            raise AssertionError(f"no event {event_id!r} was sent by this driver")
        self.slack.record_action("", f"retried event {event_id} (retry {retry_num}, http_timeout)")
        headers = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"}
        reply = self._post(self._event_bodies[event_id], "application/json", headers=headers)
        reply = _event_reply(reply, event_id, self.ack_timeout)
        self.last_reply = reply
        return self._settled(reply)

    def forged_click(self, user_id: str, action_id: str, value: str) -> Reply:
        """A click on a button the person was never shown: any action id, any value."""
        channel_id = self.slack.im_channel(user_id)
        self.slack.record_action(user_id, f"forged a click on {action_id} with {value!r}")
        payload = {
            "type": "block_actions",
            "user": self._payload_user(user_id),
            "team": self._payload_team(user_id),
            "api_app_id": self.slack.app_id,
            "token": self.slack.verification_token,
            "trigger_id": self.slack.issue_trigger(user_id),
            "container": {"type": "message", "channel_id": channel_id, "is_ephemeral": False},
            "channel": {"id": channel_id, "name": "directmessage"},
            "response_url": self.slack.new_response_url(user_id, channel_id),
            "actions": [
                {"action_id": action_id, "block_id": "forged", "type": "button", "value": value}
            ],
        }
        reply = self._post_payload(payload)
        failure = self._ack_failure(reply)
        return self._settled(_with_error(reply, failure) if failure else reply)

    def forged_submission(self, user_id: str, view: dict[str, Any]) -> Reply:
        """A view_submission for a modal the person was never shown; the ack comes back as is."""
        self.slack.record_action(user_id, f"forged a submission of {view.get('callback_id')!r}")
        payload = self._submission(user_id, {"id": "VFORGED", "type": "modal", **view})
        reply = self._post_payload(payload)
        failure = self._ack_failure(reply)
        return self._settled(_with_error(reply, failure) if failure else reply)

    def install(self, user_id: str, install_url: str, *, redirect_url: str | None = None) -> Reply:
        """The person installs the app to their workspace with a browser: opens the app's
        install page, follows its "Add to Slack" link, presses Allow, and lands on the app's
        redirect URL with the code and state (and the state cookie the install page set).

        `redirect_url` is the app's Redirect URL when its authorize link names none (default:
        `oauth_redirect` next to the install page, Bolt's path). Returns the final page."""
        self.slack.record_action(user_id, "opened the app's install page")
        page = self._get(install_url)
        found = re.search(r'href="([^"]*/oauth/v2/authorize\?[^"]*)"', page.body)
        location = page.headers.get("location", "")
        authorize_url = html.unescape(found.group(1)) if found else location
        if not authorize_url:
            raise AssertionError(f"the install page has no Add to Slack link: {page.body[:300]}")
        # A browser sends the state cookie back to the same site (Secure: HTTPS in real life).
        cookie = page.headers.get("set-cookie", "").split(";", 1)[0]
        self.slack.record_action(user_id, "pressed Allow on Slack's install screen")
        back = self.slack.authorize(
            authorize_url,
            user_id,
            redirect_url=redirect_url or urljoin(install_url, "oauth_redirect"),
        )
        landed = self._get(back, headers={"Cookie": cookie} if cookie else {})
        return Reply(landed.status, landed.body, None, landed.elapsed)

    def send_event(self, event: dict[str, Any], *, team_id: str | None = None) -> Reply:
        """Any event, wrapped and signed as Slack does: for shapes nobody can type by hand.

        It comes from the workspace of the event's user, or `team_id` (e.g. app_uninstalled)."""
        return self._send_event(event, team_id)

    def again(self) -> Reply:
        """The last click or submission delivered once more, byte for byte (a retried request)."""
        if self._last_payload is None:
            raise AssertionError("nothing was clicked or submitted yet")
        self.slack.record_action("", "the same click or submission arrived again")
        self.last_replies = [self._post(self._last_payload, "application/x-www-form-urlencoded")]
        return self._settled(self.last_replies[0])

    def send_raw(
        self,
        body: bytes,
        *,
        content_type: str,
        timestamp: int | None = None,
        signature: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        """POST any body; signed correctly unless `signature` (or an old `timestamp`) is given."""
        reply = self._post(
            body, content_type, timestamp=timestamp, signature=signature, headers=headers
        )
        return self._settled(reply)

    def seen(self, user_id: str) -> list[Seen]:
        """What that person has seen, in order."""
        return self.slack.seen(user_id)

    def sign(self, body: bytes, timestamp: int) -> str:
        """Slack's v0 request signature for this body and timestamp."""
        base = b"v0:" + str(timestamp).encode() + b":" + body
        digest = hmac.new(self.signing_secret.encode(), base, hashlib.sha256).hexdigest()
        return f"v0={digest}"

    # ----------------------------------------------------------------- finding buttons

    def _find_button(
        self, user_id: str, action_id: str | None, text: str | None, value: str | None
    ) -> tuple[_Surface, Control]:
        if action_id is None and text is None:
            raise ValueError("click needs action_id or text")

        def wanted(control: Control) -> bool:
            return (
                (action_id is None or control.action_id == action_id)
                and (text is None or _button_words(control.label) == _button_words(text))
                and (value is None or control.element.get("value") == value)
            )

        looked_at = []
        for surface in self._surfaces(user_id):
            looked_at.append(surface)
            matches = [c for c in buttons(surface.blocks) if wanted(c)]
            distinct = {(c.block_id, c.action_id, c.element.get("value")) for c in matches}
            if len(distinct) > 1:
                raise AssertionError(
                    f"{len(distinct)} buttons match in {surface.label}: "
                    + ", ".join(_describe(c) for c in matches)
                    + "; pass value= (or action_id=) to pick one"
                )
            if matches:
                return surface, matches[0]
        wanted_text = ", ".join(
            f"{k}={v!r}"
            for k, v in (("action_id", action_id), ("text", text), ("value", value))
            if v is not None
        )
        available = [
            f"{s.label}: " + " ".join(_describe(c) for c in buttons(s.blocks))
            for s in looked_at
            if buttons(s.blocks)
        ]
        raise AssertionError(
            f"{self.slack.user_name(user_id)} sees no button with {wanted_text}. "
            f"Buttons they can see: {'; '.join(available) or 'none'}"
        )

    def _surfaces(self, user_id: str) -> Iterator[_Surface]:
        modal = self.slack.open_modal(user_id)
        if modal is not None:
            yield _Surface("modal", modal["blocks"], view=modal, label=f'modal "{_title(modal)}"')
        visited = set()
        for seen in reversed(self.slack.seen(user_id)):
            if seen.ts is None or seen.kind not in ("ephemeral", "dm", "group", "channel"):
                continue
            if (seen.channel, seen.ts) in visited:
                continue
            visited.add((seen.channel, seen.ts))
            ephemeral = seen.kind == "ephemeral"
            assert seen.channel is not None
            current = (
                self.slack.ephemeral(seen.ts)
                if ephemeral
                else self.slack.message(seen.channel, seen.ts)
            )
            if current is None:
                continue
            yield _Surface(
                "message",
                current.get("blocks") or [],
                message=current,
                channel=seen.channel,
                ts=seen.ts,
                ephemeral=ephemeral,
                label=f"{seen.kind} message {seen.ts}",
            )
        home = self.slack.home(user_id)
        if home is not None:
            yield _Surface("home", home["blocks"], view=home, label="Home tab")

    # ----------------------------------------------------------------- HTTP

    def _payload_user(self, user_id: str) -> dict:
        user = self.slack.user(user_id)
        return {
            "id": user_id,
            "username": user["name"],
            "name": user["name"],
            "team_id": user["team_id"],
        }

    def _payload_team(self, user_id: str) -> dict:
        team = self.slack.team(self.slack.team_of(user_id))
        return {"id": team["id"], "domain": team["domain"]}

    def _submission(self, user_id: str, view: dict) -> dict:
        return {
            "type": "view_submission",
            "team": self._payload_team(user_id),
            "user": self._payload_user(user_id),
            "api_app_id": self.slack.app_id,
            "token": self.slack.verification_token,
            "trigger_id": self.slack.issue_trigger(user_id),
            "view": view,
            "response_urls": [],
            "is_enterprise_install": False,
            "enterprise": None,
        }

    def _send_event(self, event: dict, team_id: str | None = None) -> Reply:
        event_id = "Ev" + secrets.token_hex(5).upper()
        user = event.get("user")
        user_id = user.get("id") if isinstance(user, dict) else user
        if team_id is None and isinstance(user_id, str):
            with contextlib.suppress(KeyError):
                team_id = self.slack.team_of(user_id)
        team = self.slack.team(team_id)
        envelope = {
            "token": self.slack.verification_token,
            "team_id": team["id"],
            "context_team_id": team["id"],
            "context_enterprise_id": None,
            "api_app_id": self.slack.app_id,
            "event": event,
            "type": "event_callback",
            "event_id": event_id,
            "event_time": int(time.time()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": team["id"],
                    "user_id": team["bot_user_id"],
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
            "event_context": "4-" + uuid.uuid4().hex,
        }
        body = json.dumps(envelope).encode()
        self._event_bodies[event_id] = body
        self.last_event_id = event_id
        reply = _event_reply(self._post(body, "application/json"), event_id, self.ack_timeout)
        self.last_reply = reply
        return self._settled(reply)

    def _post_payload(self, payload: dict, copies: int = 1) -> Reply:
        body = urlencode({"payload": json.dumps(payload)}).encode()
        self._last_payload = body
        if copies == 1:
            self.last_replies = [self._post(body, "application/x-www-form-urlencoded")]
            return self.last_replies[0]
        # All copies wait at a barrier, then go out together: the race a double click makes.
        barrier = threading.Barrier(copies)

        def post(_: int) -> Reply:
            barrier.wait(timeout=self.request_timeout)
            return self._post(body, "application/x-www-form-urlencoded")

        with ThreadPoolExecutor(max_workers=copies) as pool:
            self.last_replies = list(pool.map(post, range(copies)))
        return self.last_replies[0]

    def _post(
        self,
        body: bytes,
        content_type: str,
        *,
        timestamp: int | None = None,
        signature: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        if self.transport == "socket_mode":
            sent = self.slack.socket_mode.deliver_request(body, content_type, headers or {})
            return Reply(sent.status, sent.body, sent.json, sent.elapsed, None, sent.slack_error)
        timestamp = int(time.time()) if timestamp is None else timestamp
        request = urllib.request.Request(
            self.events_url,
            data=body,
            method="POST",
            headers={
                "Content-Type": content_type,
                "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
                "X-Slack-Request-Timestamp": str(timestamp),
                "X-Slack-Signature": signature or self.sign(body, timestamp),
                **(headers or {}),
            },
        )
        started = time.monotonic()
        try:
            with urllib.request.urlopen(request, timeout=self.request_timeout) as response:
                status, raw = response.status, response.read()
                answer_type = response.headers.get("Content-Type", "")
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read()
            answer_type = error.headers.get("Content-Type", "")
        except (TimeoutError, urllib.error.URLError) as error:
            reason = getattr(error, "reason", error)
            if not isinstance(reason, TimeoutError):
                raise
            elapsed = time.monotonic() - started
            return Reply(0, "", None, elapsed, slack_error="operation_timeout")
        elapsed = time.monotonic() - started
        text = raw.decode("utf-8", "replace")
        parsed = None
        if "json" in answer_type and text.strip():
            try:
                parsed = json.loads(text)
            except ValueError:
                parsed = None
        return Reply(status, text, parsed if isinstance(parsed, dict) else None, elapsed)

    def _get(self, url: str, *, headers: dict[str, str] | None = None) -> _Page:
        # No redirects followed: a 302's Location (and its Set-Cookie) are what the caller wants.
        opener = urllib.request.build_opener(_NoRedirects)
        request = urllib.request.Request(url, headers={"User-Agent": "Browser", **(headers or {})})
        started = time.monotonic()
        try:
            with opener.open(request, timeout=self.request_timeout) as response:
                status, raw, answer_headers = response.status, response.read(), response.headers
        except urllib.error.HTTPError as error:
            with error:
                status, raw, answer_headers = error.code, error.read(), error.headers
        headers = {name.lower(): value for name, value in answer_headers.items()}
        return _Page(status, raw.decode("utf-8", "replace"), headers, time.monotonic() - started)

    def _ack_failure(self, reply: Reply) -> str | None:
        if reply.slack_error:
            return reply.slack_error
        if reply.elapsed > self.ack_timeout:
            return "operation_timeout"
        if reply.status != 200:
            return "dispatch_failed"
        return None

    def _settled(self, reply: Reply) -> Reply:
        if self.settle is not None:
            self.settle()
        return reply


@dataclass(frozen=True)
class _Page:
    status: int
    body: str
    headers: dict[str, str]  # names in lower case
    elapsed: float


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _event_reply(reply: Reply, event_id: str, ack_timeout: float) -> Reply:
    error = reply.slack_error
    if error is None and reply.elapsed > ack_timeout:
        error = "http_timeout"
    elif error is None and reply.status != 200:
        error = "http_error"
    return Reply(reply.status, reply.body, reply.json, reply.elapsed, event_id, error)


def _with_error(reply: Reply, error: str | None) -> Reply:
    return Reply(reply.status, reply.body, reply.json, reply.elapsed, reply.event_id, error)


def _as_sent(view: dict) -> dict:
    # "errors" is the sandbox's note of what the modal shows; Slack's view object has no such field.
    return {k: v for k, v in view.items() if k != "errors"}


def _title(view: dict) -> str:
    return (view.get("title") or {}).get("text", "")


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _event_ts() -> str:
    return f"{time.time():.6f}"


def _button_words(label: str) -> str:
    # People read ":white_check_mark: Accept" as "Accept"; match on the words.
    return " ".join(re.sub(r":[a-z0-9_+'-]+:", " ", label).split()).casefold()


def _describe(control: Control) -> str:
    value = control.element.get("value")
    extra = f", value {value!r}" if value is not None else ""
    return f"[{control.label}] (action_id {control.action_id!r}{extra})"
