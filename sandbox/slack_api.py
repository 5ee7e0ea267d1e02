"""A local stand-in for Slack's Web API and response_urls, with Slack's shapes and errors."""

from __future__ import annotations

import base64
import contextlib
import copy
import datetime as dt
import itertools
import json
import re
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlencode, urlsplit
from zoneinfo import ZoneInfo

from sandbox.block_kit import (
    MESSAGE_BLOCKS_TEXT_LIMIT,
    MODAL_STACK_LIMIT,
    blocks_text_length,
    message_problems,
    stateful_controls,
    view_problems,
    with_ids,
)
from sandbox.timeline import Seen, TimelineEntry

if TYPE_CHECKING:
    from sandbox.socket_mode import SocketModeServer

TRIGGER_TTL_SECONDS = 3.0


RESPONSE_URL_TTL_SECONDS = 30 * 60


RESPONSE_URL_MAX_USES = 5


MESSAGE_TEXT_LIMIT = 40_000


SCOPES = (
    "commands,chat:write,im:write,im:history,mpim:write,mpim:history,channels:history,"
    "groups:history,users:read,reactions:write,files:write,channels:read"
)


# fail_next(act=...): when a failing call takes effect, relative to its hang.
ACT_MODES = ("after", "before", "never")


HISTORY_PAGE_LIMIT = 999


APP_LEVEL_METHODS = frozenset({"apps.connections.open"})


INSTALL_CODE_TTL_SECONDS = 10 * 60


@dataclass(frozen=True)
class ApiCall:
    """One Web API (or response_url) request the app made, with Slack's answer."""

    method: str
    args: dict
    status: int
    response: dict
    at: float
    token: str | None = None  # the token the call carried
    team_id: str | None = None  # the workspace that token belongs to, when it is a live one


@dataclass
class TimelineMark:
    """A place in the story right after a person's action, where Slack's reply to it belongs."""

    timeline: int
    seen: dict[str, int]


@dataclass
class _Conversation:
    id: str
    kind: str  # im | mpim | channel
    name: str
    members: list[str]
    is_archived: bool = False
    messages: list[dict] = field(default_factory=list)
    team_id: str = ""


@dataclass
class _Team:
    """One workspace: its own bot user, and the bot tokens the app holds there."""

    id: str
    name: str
    domain: str
    bot_user_id: str
    bot_id: str
    tokens: list[str]  # live bot tokens, newest last
    generation: int = 1


@dataclass
class _InstallCode:
    team_id: str
    user_id: str
    redirect_uri: str | None
    issued: float


@dataclass
class _Failure:
    status: int
    error: str | None
    retry_after: int | None
    hang_seconds: float | None
    times: int
    act: str = "after"


_ONE_FAILURE = {
    "status": 200, "error": None, "retry_after": None, "hang_seconds": None, "times": 1
}  # fmt: skip


@dataclass
class _ResponseUrl:
    user_id: str
    channel_id: str
    original_ts: str | None
    created: float
    uses: int = 0


class _Refusal(Exception):
    """Slack's ok:false answer."""

    def __init__(self, error: str, *, status: int = 200, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.status = status
        self.extra = extra


class FakeSlack:
    """Slack's Web API on 127.0.0.1, plus the workspace state (people, conversations, views)."""

    def __init__(
        self,
        signing_secret: str,
        *,
        team_id: str = "T0MENTOR",
        team_name: str = "Mentor Coach Sandbox",
        bot_user_id: str = "U0BOT",
        bot_id: str = "B0BOT",
        app_id: str = "A0MENTOR",
        bot_token: str = "xoxb-sandbox-token",
    ) -> None:
        self.signing_secret = signing_secret
        self.app_id = app_id
        # The app-level token (connections:write) that apps.connections.open takes.
        self.app_token = f"xapp-1-{app_id}-1-sandbox"
        self._socket_mode: SocketModeServer | None = None
        # What oauth.v2.access checks; tests of the install flow give the app these.
        self.client_id = "1111111111.2222222222"
        self.client_secret = "sandbox-client-secret"
        self._teams: dict[str, _Team] = {}
        self._token_teams: dict[str, str] = {}  # every bot token ever issued -> its team
        self._codes: dict[str, _InstallCode] = {}
        self._default_team = team_id
        # The workspace a Web API call is answered for (its token's), per serving thread.
        self._acting_team = threading.local()
        self.app_name = "Mentor Coach"
        self.verification_token = "sandbox-verification-token"
        self.trigger_ttl = TRIGGER_TTL_SECONDS
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._ids = itertools.count(1)
        self._last_ts_micros = 0
        self._users: dict[str, dict] = {}
        self._conversations: dict[str, _Conversation] = {}
        self._ims: dict[str, str] = {}
        self._mpims: dict[frozenset[str], str] = {}
        # Random trouble (sandbox/chaos.py): asked about each call with no fail_next queued, it
        # answers None or fail_next's keyword arguments for that one call.
        self.chaos: Callable[[str], dict[str, Any] | None] | None = None
        # Unix seconds for message ts; a benchmark that runs the bot's time faster sets its own.
        self.ts_clock: Callable[[], float] = time.time
        self._methods: dict[str, Callable[[dict], dict]] = {
            "auth.test": self._auth_test,
            "users.info": self._users_info,
            "conversations.open": self._conversations_open,
            "conversations.history": self._conversations_history,
            "conversations.info": self._conversations_info,
            "chat.postMessage": self._chat_post_message,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.update": self._chat_update,
            "chat.delete": self._chat_delete,
            "views.open": self._views_open,
            "views.push": self._views_push,
            "views.update": self._views_update,
            "views.publish": self._views_publish,
            "reactions.add": self._reactions_add,
            "files.getUploadURLExternal": self._files_get_upload_url_external,
            "files.completeUploadExternal": self._files_complete_upload_external,
        }
        self._new_team(team_id, team_name, bot_user_id, bot_id, bot_token)
        self._forget_activity()

    # ----------------------------------------------------------------- lifecycle

    def start(self) -> FakeSlack:
        """Serve on a free loopback port in a background thread."""
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler, bind_and_activate=False)
        # Several bot processes call at once: a longer accept queue than the default 5, as
        # Slack never turns a connection away.
        server.request_queue_size = 128
        server.server_bind()
        server.server_activate()
        # select() may call a connection ready that is gone by accept(): on a blocking socket
        # that accept waits forever and stop() with it. With a timeout it gives up, serving goes on.
        server.socket.settimeout(1)
        server.daemon_threads = True
        server.slack = self  # type: ignore[attr-defined]
        self._server = server
        # A short poll interval keeps stop() quick; the default half second adds up in test suites.
        self._thread = threading.Thread(
            target=server.serve_forever, args=(0.05,), name="fake-slack", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._socket_mode is not None:
            self._socket_mode.stop()
            self._socket_mode = None
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def socket_mode(self) -> SocketModeServer:
        """Slack's Socket Mode service for the app (sandbox/socket_mode.py), started when used."""
        from sandbox.socket_mode import SocketModeServer

        with self._lock:
            if self._socket_mode is None:
                self._socket_mode = SocketModeServer(self.app_id).start()
            return self._socket_mode

    def _app_level(self, method: str, token: str) -> tuple[int, dict]:
        # Slack: an app-level token works only for app-level methods, which take no other token.
        if method not in APP_LEVEL_METHODS or not token.startswith("xapp-"):
            return 200, {"ok": False, "error": "not_allowed_token_type"}
        if token != self.app_token:
            return 200, {"ok": False, "error": "invalid_auth"}
        return 200, {"ok": True, "url": self.socket_mode.open_url()}

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("FakeSlack is not started; call start() first")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def api_url(self) -> str:
        """Web API base for slack_sdk's WebClient(base_url=...); ends with '/'."""
        return f"{self.base_url}/api/"

    def reset(self) -> None:
        """Forget calls, messages, views, seen things and failures; keep people and channels."""
        with self._lock:
            self._forget_activity()
            for conversation in self._conversations.values():
                conversation.messages.clear()

    def _forget_activity(self) -> None:
        self._calls: list[ApiCall] = []
        self._failures: dict[str, list[_Failure]] = {}
        self._seen: dict[str, list[Seen]] = {}
        self._timeline: list[TimelineEntry] = []
        self._ephemerals: dict[str, dict] = {}
        self._views: dict[str, dict] = {}
        self._view_errors: dict[str, dict] = {}
        self._external_ids: dict[str, str] = {}
        self._stacks: dict[str, list[str]] = {}
        self._homes: dict[str, str] = {}
        self._triggers: dict[str, tuple[str, float, bool]] = {}
        self._response_urls: dict[str, _ResponseUrl] = {}
        self._opened: set[str] = set()
        self._placing: TimelineMark | None = None
        self._uploads: dict[str, dict] = {}  # file id -> the upload, until it is completed

    # ----------------------------------------------------------------- workspace setup

    def add_user(
        self,
        name: str,
        *,
        real_name: str,
        tz: str,
        user_id: str | None = None,
        is_bot: bool = False,
        deleted: bool = False,
        team_id: str | None = None,
    ) -> str:
        """Add a person (display name `name`, IANA `tz`); returns their id, e.g. "U01AMARA".

        `team_id` (from add_team) puts them in another workspace than the default one."""
        zone = ZoneInfo(tz)
        now = dt.datetime.now(zone)
        offset = now.utcoffset() or dt.timedelta(0)
        with self._lock:
            team = self._teams[team_id or self._default_team]
            user_id = user_id or self._unique_id("U01" + _id_part(name), self._users)
            if user_id in self._users:
                raise ValueError(f"user {user_id} already exists")
            handle = re.sub(r"[^a-z0-9._-]+", ".", name.lower()).strip(".")
            self._users[user_id] = {
                "id": user_id,
                "team_id": team.id,
                "name": handle,
                "deleted": deleted,
                "color": "9f69e7",
                "real_name": real_name,
                "tz": tz,
                "tz_label": now.tzname() or tz,
                "tz_offset": int(offset.total_seconds()),
                "profile": {
                    "real_name": real_name,
                    "real_name_normalized": real_name,
                    "display_name": name,
                    "display_name_normalized": name,
                    "first_name": real_name.split(" ")[0],
                    "last_name": " ".join(real_name.split(" ")[1:]),
                    "team": team.id,
                    "image_48": f"https://avatars.example/{user_id}_48.png",
                },
                "is_admin": False,
                "is_owner": False,
                "is_bot": is_bot,
                "is_app_user": False,
                "updated": int(time.time()),
            }
            if not is_bot:
                im_id = self._unique_id("D" + user_id[1:], self._conversations)
                self._ims[user_id] = im_id
                self._conversations[im_id] = _Conversation(
                    im_id, "im", "directmessage", [user_id, team.bot_user_id], team_id=team.id
                )
            return user_id

    def add_channel(
        self,
        name: str,
        *,
        members: Iterable[str] = (),
        is_archived: bool = False,
        team_id: str | None = None,
    ) -> str:
        """Add a public channel; the bot is in it only if bot_user_id is among `members`."""
        name = name.lstrip("#")
        with self._lock:
            channel_id = self._unique_id("C01" + _id_part(name), self._conversations)
            self._conversations[channel_id] = _Conversation(
                channel_id,
                "channel",
                name,
                list(members),
                is_archived,
                team_id=team_id or self._default_team,
            )
            return channel_id

    # ----------------------------------------------------------------- workspaces

    def add_team(
        self, name: str, *, team_id: str | None = None, bot_token: str | None = None
    ) -> str:
        """Another workspace with the app installed: its own bot user and bot token.

        Returns its id (e.g. "T02ACME"); add people with add_user(..., team_id=it)."""
        with self._lock:
            team_id = team_id or self._unique_id(
                "T0" + str(len(self._teams) + 1) + _id_part(name), self._teams
            )
            if team_id in self._teams:
                raise ValueError(f"team {team_id} already exists")
            number = len(self._teams) + 1
            self._new_team(team_id, name, f"U0BOT{number}", f"B0BOT{number}", bot_token)
            return team_id

    @property
    def team_ids(self) -> list[str]:
        """Every workspace, the default one first."""
        with self._lock:
            return list(self._teams)

    def team(self, team_id: str | None = None) -> dict:
        """id, name, domain, bot_user_id, bot_id and live bot tokens of a workspace."""
        with self._lock:
            team = self._teams[team_id or self._default_team]
            return {
                "id": team.id,
                "name": team.name,
                "domain": team.domain,
                "bot_user_id": team.bot_user_id,
                "bot_id": team.bot_id,
                "tokens": list(team.tokens),
            }

    def team_of(self, user_id: str) -> str:
        """The workspace a person (or a bot user) belongs to."""
        with self._lock:
            if user_id not in self._users:
                raise KeyError(f"no such person: {user_id}")
            return self._users[user_id]["team_id"]

    def token_for(self, team_id: str | None = None) -> str:
        """The workspace's current bot token (what oauth.v2.access hands out)."""
        with self._lock:
            team = self._teams[team_id or self._default_team]
            if not team.tokens:
                raise KeyError(f"the app holds no live token in {team.id} (uninstalled?)")
            return team.tokens[-1]

    def install_code(
        self,
        team_id: str | None = None,
        user_id: str | None = None,
        *,
        redirect_uri: str | None = None,
    ) -> str:
        """A person of the workspace approved the install: the one-time code Slack sends to
        the app's redirect URL, good for ten minutes at oauth.v2.access."""
        with self._lock:
            team = self._teams[team_id or self._default_team]
            if user_id is None:
                user_id = next(
                    (
                        u["id"]
                        for u in self._users.values()
                        if u["team_id"] == team.id and not u["is_bot"]
                    ),
                    None,
                )
                if user_id is None:
                    raise ValueError(f"{team.id} has nobody to install the app; add_user first")
            elif self._users.get(user_id, {}).get("team_id") != team.id:
                raise ValueError(f"{user_id} is not in {team.id}")
            code = f"{next(self._ids)}.{secrets.token_hex(12)}"
            self._codes[code] = _InstallCode(team.id, user_id, redirect_uri, time.monotonic())
            return code

    def authorize(
        self, authorize_url: str, user_id: str, *, redirect_url: str | None = None
    ) -> str:
        """The person presses "Allow" on Slack's install page (the app's authorize URL): the
        URL Slack sends their browser back to, with `code` and the app's `state`.

        The app's redirect_uri comes from the authorize URL or else `redirect_url` (the one in
        the app's settings, as Slack would use)."""
        query = {k: v[-1] for k, v in parse_qs(urlsplit(authorize_url).query).items()}
        if query.get("client_id") != self.client_id:
            raise AssertionError(
                f"Slack shows an error page: unknown client_id {query.get('client_id')!r}"
            )
        target = query.get("redirect_uri") or redirect_url
        if not target:
            raise AssertionError("the app has no redirect URL: pass redirect_url=")
        code = self.install_code(
            self.team_of(user_id), user_id, redirect_uri=query.get("redirect_uri")
        )
        answer = {"code": code, "state": query.get("state", "")}
        separator = "&" if "?" in target else "?"
        return target + separator + urlencode(answer)

    def revoke_tokens(self, team_id: str | None = None) -> list[str]:
        """The workspace's bot tokens stop working (Slack answers token_revoked); returns them.

        Send the matching `tokens_revoked` or `app_uninstalled` event with the driver."""
        with self._lock:
            team = self._teams[team_id or self._default_team]
            revoked, team.tokens = team.tokens, []
            return revoked

    uninstall = revoke_tokens

    def _new_team(
        self, team_id: str, name: str, bot_user_id: str, bot_id: str, token: str | None
    ) -> None:
        domain = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
        token = token or f"xoxb-{team_id.lower()}-1"
        team = _Team(team_id, name, domain, bot_user_id, bot_id, [token])
        self._teams[team_id] = team
        self._token_teams[token] = team_id
        self._add_bot_user(team)

    def _mint_token(self, team: _Team) -> str:
        team.generation += 1
        token = f"xoxb-{team.id.lower()}-{team.generation}"
        team.tokens.append(token)
        self._token_teams[token] = team.id
        return token

    @property
    def _team(self) -> _Team:
        return self._teams[getattr(self._acting_team, "id", None) or self._default_team]

    # The workspace being answered (a call's token's), or the default one outside a call.
    team_id = property(lambda self: self._team.id)
    team_name = property(lambda self: self._team.name)
    team_domain = property(lambda self: self._team.domain)
    bot_user_id = property(lambda self: self._team.bot_user_id)
    bot_id = property(lambda self: self._team.bot_id)
    bot_token = property(lambda self: self.token_for(self._team.id))

    @contextlib.contextmanager
    def _acting(self, team_id: str | None) -> Iterator[None]:
        previous = getattr(self._acting_team, "id", None)
        self._acting_team.id = team_id
        try:
            yield
        finally:
            self._acting_team.id = previous

    def _acting_for(self, user_id: str) -> contextlib.AbstractContextManager[None]:
        user = self._users.get(user_id)
        return self._acting(user["team_id"] if user else None)

    def _team_user(self, user_id: str | None) -> dict:
        """A person of the workspace being answered; others are user_not_found, as in Slack."""
        user = self._users.get(user_id or "")
        if user is None or user["team_id"] != self.team_id:
            raise _Refusal("user_not_found")
        return user

    def _visible(self, conversation: _Conversation | None) -> _Conversation | None:
        if conversation is None or conversation.team_id not in ("", self.team_id):
            return None
        return conversation

    def set_admin(self, user_id: str, *, is_admin: bool = True, is_owner: bool = False) -> None:
        """Make the person a workspace admin (or owner), as users.info then reports them."""
        with self._lock:
            self._users[user_id]["is_admin"] = is_admin or is_owner
            self._users[user_id]["is_owner"] = is_owner

    def deactivate_user(self, user_id: str) -> None:
        """The person leaves the workspace: DMs to them are refused from now on."""
        with self._lock:
            self._users[user_id]["deleted"] = True

    def update_user(self, user_id: str, *, name: str | None = None, tz: str | None = None) -> None:
        """The person changes their display name or moves to another time zone."""
        with self._lock:
            user = self._users[user_id]
            if name is not None:
                user["profile"]["display_name"] = user["profile"]["display_name_normalized"] = name
            if tz is not None:
                offset = dt.datetime.now(ZoneInfo(tz)).utcoffset() or dt.timedelta(0)
                user.update(tz=tz, tz_label=tz, tz_offset=int(offset.total_seconds()))
            user["updated"] = int(time.time())

    def archive_channel(self, channel_id: str) -> None:
        """Someone archives the channel: posts to it are refused with is_archived."""
        with self._lock:
            self._conversation(channel_id).is_archived = True

    def im_channel(self, user_id: str) -> str:
        """The bot's DM id with that person (what conversations.open returns)."""
        with self._lock:
            if user_id not in self._ims:
                raise KeyError(f"no such person: {user_id}")
            return self._ims[user_id]

    def user(self, user_id: str) -> dict:
        """The person's Slack user object, as users.info returns it."""
        with self._lock:
            if user_id not in self._users:
                raise KeyError(f"no such person: {user_id}")
            return copy.deepcopy(self._users[user_id])

    def conversation_info(self, channel_id: str) -> dict:
        """id, name, kind (im/mpim/channel), members and is_archived of a conversation."""
        with self._lock:
            conversation = self._conversation(channel_id)
            return {
                "id": conversation.id,
                "name": conversation.name,
                "kind": conversation.kind,
                "members": list(conversation.members),
                "is_archived": conversation.is_archived,
            }

    def user_name(self, user_id: str) -> str:
        """The display name given to add_user (or the app's name for the bot)."""
        with self._lock:
            if user_id == self.bot_user_id:
                return self.app_name
            user = self._users.get(user_id)
            return user["profile"]["display_name"] if user else user_id

    def display_names(self) -> dict[str, str]:
        """Every known user id -> display name."""
        with self._lock:
            return {user_id: self.user_name(user_id) for user_id in self._users}

    # ----------------------------------------------------------------- inspection

    @property
    def calls(self) -> list[ApiCall]:
        """Every Web API and response_url call so far, in order."""
        with self._lock:
            return list(self._calls)

    def calls_to(self, method: str) -> list[ApiCall]:
        """The calls to one method, in order."""
        return [call for call in self.calls if call.method == method]

    def history(self, channel_id: str) -> list[dict]:
        """Messages in a conversation (a C/D/G id, or a user id for the bot's DM), oldest first."""
        with self._lock:
            return copy.deepcopy(self._conversation(channel_id).messages)

    def message(self, channel_id: str, ts: str) -> dict | None:
        """The current version of a message, or None when it is gone."""
        with self._lock:
            found = self._find_message(self._conversation(channel_id), ts)
            return copy.deepcopy(found) if found else None

    def ephemeral(self, ts: str) -> dict | None:
        """The current version of an ephemeral message, or None when it is gone."""
        with self._lock:
            found = self._ephemerals.get(ts)
            return copy.deepcopy(found) if found and not found["removed"] else None

    def seen(self, user_id: str) -> list[Seen]:
        """What that person has seen, in order."""
        with self._lock:
            return list(self._seen.get(user_id, []))

    @property
    def timeline(self) -> list[TimelineEntry]:
        """Everything people did and saw, in order, across people."""
        with self._lock:
            return list(self._timeline)

    def transcript(self) -> str:
        """The timeline as readable text."""
        from sandbox.transcript import render_timeline  # it imports this module's dataclasses

        with self._lock:
            zones = {user_id: user.get("tz") or "UTC" for user_id, user in self._users.items()}
        return render_timeline(
            self.timeline, names=self.display_names(), app_name=self.app_name, zones=zones
        )

    def files(self, channel_id: str | None = None) -> list[dict]:
        """Files the app shared (in one conversation, a C/D/G id or a user id for their DM).

        Each is {"id", "name", "title", "content" (bytes), "channels", "initial_comment"}.
        """
        with self._lock:
            shared = [f for f in self._uploads.values() if f["channels"]]
            if channel_id is not None:
                wanted = self._conversation(channel_id).id
                shared = [f for f in shared if wanted in f["channels"]]
            return copy.deepcopy(shared)

    def open_modal(self, user_id: str) -> dict | None:
        """The top view of the person's open modal stack (with any "errors" shown), or None."""
        with self._lock:
            stack = self._stacks.get(user_id)
            return self._shown_view(stack[-1]) if stack else None

    def modal_stack(self, user_id: str) -> list[dict]:
        """The person's open modal views, root first."""
        with self._lock:
            return [self._shown_view(v) for v in self._stacks.get(user_id, [])]

    def home(self, user_id: str) -> dict | None:
        """The last Home tab view published for that person."""
        with self._lock:
            view_id = self._homes.get(user_id)
            return self._shown_view(view_id) if view_id else None

    # ----------------------------------------------------------------- failure injection

    def fail_next(
        self,
        method: str,
        *,
        status: int = 200,
        error: str | None = None,
        retry_after: int | None = None,
        hang_seconds: float | None = None,
        times: int = 1,
        act: str = "after",
    ) -> None:
        """Make the next `times` calls to `method` fail: HTTP `status` (429 carries Retry-After),
        an ok:false `error`, and/or a delay of `hang_seconds` before answering.

        With `hang_seconds` alone Slack is slow; `act` says when the call takes effect:
        "after" the hang (a slow Slack: it still acts, even if the client gave up), "before" it
        (the message is posted, then the answer is late: a timeout that did post), or "never"
        (the request is lost before Slack acts; the answer, if anyone still waits, is a 504).
        """
        if status == 200 and error is None and hang_seconds is None:
            raise ValueError("fail_next needs a status other than 200, an error or hang_seconds")
        if act not in ACT_MODES:
            raise ValueError(f"act must be one of {ACT_MODES}")
        with self._lock:
            failure = _Failure(status, error, retry_after, hang_seconds, times, act)
            self._failures.setdefault(method, []).append(failure)

    def _take_failure(self, method: str) -> _Failure | None:
        with self._lock:
            queue = self._failures.get(method)
            if not queue:
                wanted = self.chaos(method) if self.chaos else None
                return _Failure(**{**_ONE_FAILURE, **wanted}) if wanted else None
            failure = queue[0]
            failure.times -= 1
            if failure.times <= 0:
                queue.pop(0)
            return failure

    # ----------------------------------------------------------------- driver side
    # What Slack's servers do when a person acts; SlackDriver calls these.

    def issue_trigger(self, user_id: str) -> str:
        """A fresh trigger_id for an interaction by that person, valid for 3 seconds, once."""
        with self._lock:
            trigger_id = f"{next(self._ids)}.{int(time.time())}.{secrets.token_hex(16)}"
            self._triggers[trigger_id] = (user_id, time.monotonic(), False)
            return trigger_id

    def new_response_url(
        self, user_id: str, channel_id: str, *, original_ts: str | None = None
    ) -> str:
        """A response_url for an interaction; `original_ts` is the message a click came from."""
        team_id = self._users.get(user_id, {}).get("team_id", self.team_id)
        token = f"{team_id}/{next(self._ids)}/{secrets.token_hex(12)}"
        with self._lock:
            self._response_urls[token] = _ResponseUrl(
                user_id, channel_id, original_ts, time.monotonic()
            )
        return f"{self.base_url}/response/{token}"

    def narrate(self, text: str) -> None:
        """A line in the story that nobody in Slack said, such as time passing."""
        with self._lock:
            self._timeline.append(TimelineEntry(time.time(), "", "", action=text))

    def record_action(self, user_id: str, action: str, *, view: dict | None = None) -> TimelineMark:
        """Add what a person did to the timeline (e.g. "typed: /mentor profile"); `view` is the
        modal they submitted, kept as it was so the transcript can show what they entered."""
        with self._lock:
            name = "Slack" if not user_id else self.user_name(user_id)
            kept = copy.deepcopy(view) if view is not None else None
            self._timeline.append(
                TimelineEntry(time.time(), user_id, name, action=action, view=kept)
            )
            return TimelineMark(
                len(self._timeline), {user: len(seen) for user, seen in self._seen.items()}
            )

    def show_slack_notice(
        self,
        user_id: str,
        text: str,
        *,
        channel: str | None = None,
        kind: str = "ephemeral",
        at: TimelineMark | None = None,
    ) -> None:
        """Something Slack itself shows the person (e.g. a slash command's timeout error)."""
        with self._lock, self._placed(at):
            view = self.open_modal(user_id) if kind == "modal" else None
            self._show(Seen(kind, user_id, channel, text, [], None, view, from_slack=True))

    def respond(
        self,
        user_id: str,
        channel_id: str,
        body: dict,
        *,
        original_ts: str | None = None,
        at: TimelineMark | None = None,
    ) -> str | None:
        """Apply a slash-command ack body as Slack would; returns Slack's error if unusable."""
        with self._lock, self._placed(at), self._acting_for(user_id):
            try:
                self._respond(user_id, channel_id, body, original_ts)
            except _Refusal as refusal:
                return refusal.error
            return None

    def add_user_message(self, user_id: str, channel_id: str, text: str) -> dict:
        """A message the person writes in a conversation; returns Slack's message dict."""
        with self._lock:
            conversation = self._conversation(channel_id)
            message = {
                "type": "message",
                "user": user_id,
                "text": text,
                "ts": self._next_ts(),
                "team": self._users[user_id]["team_id"],
                "client_msg_id": str(uuid.uuid4()),
                "blocks": [_rich_text_block(text)],
            }
            conversation.messages.append(message)
            for member in self._humans(conversation):
                if member != user_id:
                    self._show(self._message_seen(member, conversation, message))
            return copy.deepcopy(message)

    def edit_user_message(self, user_id: str, channel_id: str, ts: str, text: str) -> dict:
        """The person edits their message; returns {"message": new, "previous_message": old}."""
        with self._lock:
            message = self._user_message(user_id, channel_id, ts)
            previous = copy.deepcopy(message)
            message["text"] = text
            message["blocks"] = [_rich_text_block(text)]
            message["edited"] = {"user": user_id, "ts": self._next_ts()}
            return {"message": copy.deepcopy(message), "previous_message": previous}

    def delete_user_message(self, user_id: str, channel_id: str, ts: str) -> dict:
        """The person deletes their message; returns the deleted message."""
        with self._lock:
            message = self._user_message(user_id, channel_id, ts)
            self._conversation(channel_id).messages.remove(message)
            return message

    def set_view_state(self, view_id: str, values: dict) -> None:
        """What the person has entered in a view's inputs so far (Slack's client state)."""
        with self._lock:
            self._views[view_id]["state"] = {"values": copy.deepcopy(values)}

    def apply_submission_response(
        self, user_id: str, view_id: str, body: dict, *, at: TimelineMark | None = None
    ) -> str | None:
        """Act on a view_submission ack body; returns Slack's complaint if it was unusable."""
        with self._lock, self._placed(at), self._acting_for(user_id):
            stack = self._stacks.get(user_id, [])
            if not stack or stack[-1] != view_id:
                return "view_not_on_top"
            action = body.get("response_action")
            if action is None:
                self._close_views(user_id, 1)
            elif action == "clear":
                self._close_views(user_id, len(stack))
            elif action == "errors":
                return self._show_errors(user_id, view_id, body.get("errors"))
            elif action in ("update", "push"):
                problems = view_problems(body.get("view"), expected_type="modal")
                if problems:
                    return "invalid view: " + "; ".join(problems)
                if action == "push" and len(stack) >= MODAL_STACK_LIMIT:
                    return "push_limit_reached"
                if action == "update":
                    self._replace_view(view_id, body["view"])
                else:
                    self._push_view(user_id, body["view"])
            else:
                return f"unknown response_action {action!r}"
            return None

    def close_modal(self, user_id: str) -> dict | None:
        """The person closes the top modal view (the Cancel/close button); returns that view."""
        with self._lock:
            stack = self._stacks.get(user_id)
            if not stack:
                return None
            view = self._shown_view(stack[-1])
            self._close_views(user_id, 1)
            return view

    # ----------------------------------------------------------------- HTTP entry points

    def _handle_api(self, method: str, args: dict, token: str | None) -> tuple[int, dict, dict]:
        failure = self._take_failure(method)
        if failure and failure.act == "before":
            # Slack acted (and the call is on record) at once; only the answer is late.
            status, response = self._dispatch(method, args, token)
            with self._lock:
                team_id = self._call_team(token)
                self._calls.append(
                    ApiCall(method, args, status, response, time.time(), token, team_id)
                )
            time.sleep(failure.hang_seconds or 0)
            return status, {}, response
        if failure and failure.hang_seconds:
            time.sleep(failure.hang_seconds)
        headers: dict[str, str] = {}
        if failure and failure.act == "never":
            status, response = 504, {"ok": False, "error": "request_timeout"}
        elif failure and failure.status == 429:
            headers["Retry-After"] = str(failure.retry_after or 1)
            status, response = 429, {"ok": False, "error": "ratelimited"}
        elif failure and failure.status != 200:
            status, response = failure.status, {"ok": False, "error": "fatal_error"}
        elif failure and failure.error:
            status, response = 200, {"ok": False, "error": failure.error}
        else:
            status, response = self._dispatch(method, args, token)
        with self._lock:
            team_id = self._call_team(token)
            self._calls.append(ApiCall(method, args, status, response, time.time(), token, team_id))
        return status, headers, response

    def _dispatch(self, method: str, args: dict, token: str | None) -> tuple[int, dict]:
        if method == "oauth.v2.access":  # the app's client id and secret stand for a token
            try:
                with self._lock:
                    return 200, {"ok": True, **self._oauth_v2_access(args)}
            except _Refusal as refusal:
                return refusal.status, {"ok": False, "error": refusal.error, **refusal.extra}
        if not token:
            return 200, {"ok": False, "error": "not_authed"}
        if token.startswith("xapp-") or method in APP_LEVEL_METHODS:
            return self._app_level(method, token)
        with self._lock:
            team_id = self._token_teams.get(token)
            if team_id is None:
                return 200, {"ok": False, "error": "invalid_auth"}
            if token not in self._teams[team_id].tokens:
                return 200, {"ok": False, "error": "token_revoked"}
        handler = self._methods.get(method)
        if handler is None:
            return 200, {"ok": False, "error": "unknown_method", "req_method": method}
        try:
            with self._lock, self._acting(team_id):
                return 200, {"ok": True, **handler(args)}
        except _Refusal as refusal:
            return refusal.status, {"ok": False, "error": refusal.error, **refusal.extra}

    def _call_team(self, token: str | None) -> str | None:
        team_id = self._token_teams.get(token or "")
        return team_id if team_id and token in self._teams[team_id].tokens else None

    def _handle_response_url(self, token: str, body: dict) -> tuple[int, dict]:
        failure = self._take_failure("response_url")
        if failure and failure.hang_seconds:
            time.sleep(failure.hang_seconds)
        if failure and (failure.status != 200 or failure.error):
            status = failure.status
            answer = {"ok": False, "error": failure.error or "fatal_error"}
        else:
            status, answer = self._use_response_url(token, body)
        with self._lock:
            self._calls.append(ApiCall("response_url", body, status, answer, time.time()))
        return status, answer

    def _use_response_url(self, token: str, body: dict) -> tuple[int, dict]:
        with self._lock:
            url = self._response_urls.get(token)
            if url is None:
                return 404, {"ok": False, "error": "invalid_url"}
            if time.monotonic() - url.created > RESPONSE_URL_TTL_SECONDS:
                return 404, {"ok": False, "error": "expired_url"}
            if url.uses >= RESPONSE_URL_MAX_USES:
                return 404, {"ok": False, "error": "used_url"}
            url.uses += 1
            try:
                with self._acting_for(url.user_id):
                    self._respond(url.user_id, url.channel_id, body, url.original_ts)
            except _Refusal as refusal:
                status = 400 if refusal.status == 200 else refusal.status
                return status, {"ok": False, "error": refusal.error, **refusal.extra}
            return 200, {"ok": True}

    # ----------------------------------------------------------------- Web API methods

    def _auth_test(self, args: dict) -> dict:
        return {
            "url": f"https://{self.team_domain}.slack.com/",
            "team": self.team_name,
            "user": self._users[self.bot_user_id]["name"],
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _oauth_v2_access(self, args: dict) -> dict:
        """Exchange an install code for the workspace's bot token, as Slack answers it."""
        if str(args.get("client_id") or "") != self.client_id:
            raise _Refusal("invalid_client_id")
        if str(args.get("client_secret") or "") != self.client_secret:
            raise _Refusal("bad_client_secret")
        code = self._codes.pop(str(args.get("code") or ""), None)
        if code is None or time.monotonic() - code.issued > INSTALL_CODE_TTL_SECONDS:
            raise _Refusal("invalid_code")
        if code.redirect_uri and args.get("redirect_uri") != code.redirect_uri:
            raise _Refusal("bad_redirect_uri")
        team = self._teams[code.team_id]
        token = team.tokens[-1] if team.tokens else self._mint_token(team)
        return {
            "app_id": self.app_id,
            "authed_user": {"id": code.user_id},
            "scope": SCOPES,
            "token_type": "bot",
            "access_token": token,
            "bot_user_id": team.bot_user_id,
            "team": {"id": team.id, "name": team.name},
            "enterprise": None,
            "is_enterprise_install": False,
        }

    def _users_info(self, args: dict) -> dict:
        return {"user": copy.deepcopy(self._team_user(_required(args, "user")))}

    def _conversations_open(self, args: dict) -> dict:
        if args.get("channel"):
            conversation = self._visible(self._conversations.get(args["channel"]))
            if conversation is None or conversation.kind == "channel":
                raise _Refusal("channel_not_found")
            return self._opened_answer(conversation.id, args)
        users = args.get("users")
        if isinstance(users, str):
            users = [u.strip() for u in users.split(",") if u.strip()]
        if not users:
            raise _Refusal("users_list_not_supplied")
        users = list(dict.fromkeys(u for u in users if u != self.bot_user_id))
        if len(users) > 8:
            raise _Refusal("too_many_users")
        for user_id in users:
            user = self._team_user(user_id)
            if user["is_bot"]:
                raise _Refusal("cannot_dm_bot")
            if user["deleted"]:
                raise _Refusal("user_disabled")
        if len(users) == 1:
            return self._opened_answer(self._ims[users[0]], args)
        members = frozenset(users)
        if members not in self._mpims:
            group_id = self._unique_id(f"G01MPIM{len(self._mpims) + 1}", self._conversations)
            handles = [self._users[u]["name"] for u in sorted(users)]
            handles.append(self._users[self.bot_user_id]["name"])
            name = "mpdm-" + "--".join(handles) + "-1"
            self._mpims[members] = group_id
            self._conversations[group_id] = _Conversation(
                group_id, "mpim", name, [*sorted(users), self.bot_user_id], team_id=self.team_id
            )
        return self._opened_answer(self._mpims[members], args)

    def _opened_answer(self, channel_id: str, args: dict) -> dict:
        already = channel_id in self._opened
        self._opened.add(channel_id)
        channel: dict[str, Any] = {"id": channel_id}
        if _flag(args.get("return_im")):
            conversation = self._conversations[channel_id]
            channel.update(
                is_im=conversation.kind == "im",
                is_mpim=conversation.kind == "mpim",
                is_open=True,
                created=int(time.time()),
                user=conversation.members[0] if conversation.kind == "im" else None,
            )
        return {"no_op": already, "already_open": already, "channel": channel}

    def _chat_post_message(self, args: dict) -> dict:
        conversation = self._postable(_required(args, "channel", "channel_not_found"))
        text, blocks = self._content(args)
        message = self._bot_message(text, blocks)
        if args.get("thread_ts"):
            message["thread_ts"] = str(args["thread_ts"])
        metadata = args.get("metadata")
        if metadata is not None:
            if not (
                isinstance(metadata, dict)
                and isinstance(metadata.get("event_type"), str)
                and isinstance(metadata.get("event_payload"), dict)
            ):
                raise _Refusal("invalid_metadata_format")
            message["metadata"] = copy.deepcopy(metadata)
        self._post(conversation, message)
        return {"channel": conversation.id, "ts": message["ts"], "message": copy.deepcopy(message)}

    def _conversations_info(self, args: dict) -> dict:
        """A public channel's id and name (what a person reads as #name). Like Slack, ids only."""
        channel = _required(args, "channel", "channel_not_found")
        conversation = self._visible(self._conversations.get(channel))
        if conversation is None or conversation.kind != "channel":
            raise _Refusal("channel_not_found")
        return {
            "channel": {
                "id": conversation.id,
                "name": conversation.name,
                "is_channel": True,
                "is_archived": conversation.is_archived,
                "is_member": self.bot_user_id in conversation.members,
            }
        }

    def _conversations_history(self, args: dict) -> dict:
        """Newest first, between `oldest` and `latest`; metadata only with include_all_metadata.

        Like Slack, it takes only a conversation id: no user ids, no #names."""
        channel = _required(args, "channel", "channel_not_found")
        conversation = self._visible(self._conversations.get(channel))
        if conversation is None:
            raise _Refusal("channel_not_found")
        if conversation.kind == "channel" and self.bot_user_id not in conversation.members:
            raise _Refusal("not_in_channel")
        try:
            oldest = float(args.get("oldest") or 0)
            latest = float(args.get("latest") or "inf")
            limit = min(int(args.get("limit") or 100), HISTORY_PAGE_LIMIT)
            start = int(args.get("cursor") or 0)
        except ValueError:
            raise _Refusal("invalid_arguments") from None
        inclusive = _flag(args.get("inclusive"))
        found = [
            m
            for m in reversed(conversation.messages)
            if (oldest <= float(m["ts"]) if inclusive else oldest < float(m["ts"]))
            and (float(m["ts"]) <= latest if inclusive else float(m["ts"]) < latest)
        ]
        page = copy.deepcopy(found[start : start + max(limit, 1)])
        if not _flag(args.get("include_all_metadata")):
            for message in page:
                message.pop("metadata", None)
        more = start + len(page) < len(found)
        return {
            "messages": page,
            "has_more": more,
            "pin_count": 0,
            "response_metadata": {"next_cursor": str(start + len(page)) if more else ""},
        }

    def _chat_post_ephemeral(self, args: dict) -> dict:
        conversation = self._postable(_required(args, "channel", "channel_not_found"))
        user_id = self._team_user(_required(args, "user", "user_not_found"))["id"]
        if user_id not in conversation.members:
            raise _Refusal("user_not_in_channel")
        text, blocks = self._content(args)
        ts = self._show_ephemeral(user_id, conversation.id, text, blocks)
        return {"message_ts": ts}

    def _chat_update(self, args: dict) -> dict:
        conversation = self._existing(_required(args, "channel", "channel_not_found"))
        message = self._find_message(conversation, _required(args, "ts", "message_not_found"))
        if message is None:
            raise _Refusal("message_not_found")
        if message.get("bot_id") != self.bot_id:
            raise _Refusal("cant_update_message")
        text, blocks = self._content(args, updating=message)
        message["text"] = text
        if blocks is not None:
            message["blocks"] = blocks
        message["edited"] = {"user": self.bot_user_id, "ts": self._next_ts()}
        for member in self._humans(conversation):
            self._show(self._message_seen(member, conversation, message, updated=True))
        return {
            "channel": conversation.id,
            "ts": message["ts"],
            "text": text,
            "message": copy.deepcopy(message),
        }

    def _chat_delete(self, args: dict) -> dict:
        conversation = self._existing(_required(args, "channel", "channel_not_found"))
        message = self._find_message(conversation, _required(args, "ts", "message_not_found"))
        if message is None:
            raise _Refusal("message_not_found")
        if message.get("bot_id") != self.bot_id:
            raise _Refusal("cant_delete_message")
        self._remove_message(conversation, message)
        return {"channel": conversation.id, "ts": message["ts"]}

    def _views_open(self, args: dict) -> dict:
        view = self._view_arg(args, "modal")
        user_id = self._exchange_trigger(args.get("trigger_id"))
        self._check_external_id(view, None)
        self._close_views(user_id, len(self._stacks.get(user_id, [])), quietly=True)
        view_id = self._new_view_id()
        self._views[view_id] = self._stored_view(view, view_id, root=view_id, previous=None)
        self._stacks[user_id] = [view_id]
        self._show_view(user_id, view_id, "modal")
        return {"view": copy.deepcopy(self._views[view_id])}

    def _views_push(self, args: dict) -> dict:
        view = self._view_arg(args, "modal")
        user_id = self._exchange_trigger(args.get("trigger_id"))
        stack = self._stacks.get(user_id)
        if not stack:
            raise _Refusal(
                "invalid_arguments",
                response_metadata={"messages": ["[ERROR] no modal is open to push onto"]},
            )
        if len(stack) >= MODAL_STACK_LIMIT:
            raise _Refusal("push_limit_reached")
        self._check_external_id(view, None)
        view_id = self._push_view(user_id, view)
        return {"view": copy.deepcopy(self._views[view_id])}

    def _views_update(self, args: dict) -> dict:
        view_id = args.get("view_id") or self._external_ids.get(args.get("external_id") or "")
        if not args.get("view_id") and not args.get("external_id"):
            raise _Refusal(
                "invalid_arguments",
                response_metadata={"messages": ["[ERROR] view_id or external_id is required"]},
            )
        if not view_id or view_id not in self._views or not self._view_is_open(view_id):
            raise _Refusal("not_found")
        if self._views[view_id]["team_id"] != self.team_id:
            raise _Refusal("not_found")
        view = self._view_arg(args, self._views[view_id]["type"])
        if args.get("hash") and args["hash"] != self._views[view_id]["hash"]:
            raise _Refusal("hash_conflict")
        self._check_external_id(view, view_id)
        self._replace_view(view_id, view)
        return {"view": copy.deepcopy(self._views[view_id])}

    def _views_publish(self, args: dict) -> dict:
        user_id = self._team_user(_required(args, "user_id", "user_not_found"))["id"]
        view = self._view_arg(args, "home")
        view_id = self._homes.get(user_id)
        if view_id and args.get("hash") and args["hash"] != self._views[view_id]["hash"]:
            raise _Refusal("hash_conflict")
        self._check_external_id(view, view_id)
        if view_id is None:
            view_id = self._new_view_id()
            self._homes[user_id] = view_id
        self._views[view_id] = self._stored_view(view, view_id, root=view_id, previous=None)
        self._show_view(user_id, view_id, "home")
        return {"view": copy.deepcopy(self._views[view_id])}

    def _reactions_add(self, args: dict) -> dict:
        conversation = self._existing(_required(args, "channel", "channel_not_found"))
        message = self._find_message(
            conversation, _required(args, "timestamp", "message_not_found")
        )
        if message is None:
            raise _Refusal("message_not_found")
        name = str(args.get("name") or "")
        if not re.fullmatch(r"[a-z0-9_+'-]+(::skin-tone-\d)?", name):
            raise _Refusal("invalid_name")
        reactions = message.setdefault("reactions", [])
        reaction = next((r for r in reactions if r["name"] == name), None)
        if reaction is None:
            reaction = {"name": name, "users": [], "count": 0}
            reactions.append(reaction)
        if self.bot_user_id in reaction["users"]:
            raise _Refusal("already_reacted")
        reaction["users"].append(self.bot_user_id)
        reaction["count"] += 1
        return {}

    # ----------------------------------------------------------------- files (files_upload_v2)

    def _files_get_upload_url_external(self, args: dict) -> dict:
        filename = _required(args, "filename", "invalid_arguments")
        try:
            length = int(_required(args, "length", "invalid_arguments"))
        except ValueError:
            raise _Refusal("invalid_arguments") from None
        if length < 1:
            raise _Refusal("invalid_arguments")
        file_id = self._unique_id(f"F0{len(self._uploads) + 1:06d}", self._uploads)
        self._uploads[file_id] = {
            "id": file_id,
            "name": filename,
            "title": filename,
            "length": length,
            "content": None,
            "channels": [],
            "initial_comment": "",
        }
        return {"upload_url": f"{self.base_url}/upload/v1/{file_id}", "file_id": file_id}

    def _receive_upload(self, file_id: str, raw: bytes) -> tuple[int, str]:
        """The bytes POSTed to an upload_url; Slack answers 200 "OK - <length>" in plain text."""
        with self._lock:
            upload = self._uploads.get(file_id)
            if upload is None or upload["content"] is not None:
                return 404, "Not Found"
            upload["content"] = raw
            return 200, f"OK - {len(raw)}"

    def _files_complete_upload_external(self, args: dict) -> dict:
        files = args.get("files")
        if isinstance(files, str):
            files = _json_arg(files, "invalid_arguments")
        if not isinstance(files, list) or not files:
            raise _Refusal("invalid_arguments")
        uploads = []
        for item in files:
            upload = self._uploads.get(str((item or {}).get("id")))
            if upload is None or upload["content"] is None:
                raise _Refusal("file_not_found")
            uploads.append((upload, item))
        conversation = self._postable(args["channel_id"]) if args.get("channel_id") else None
        for upload, item in uploads:
            upload["title"] = item.get("title") or upload["name"]
        shown = [self._file_object(upload) for upload, _item in uploads]
        if conversation is not None:
            comment = str(args.get("initial_comment") or "")
            message = self._bot_message(comment, None)
            message.update(files=shown, upload=True)
            for upload, _item in uploads:
                upload["channels"].append(conversation.id)
                upload["initial_comment"] = comment
            self._post(conversation, message)
        return {"files": [{"id": f["id"], "title": f["title"]} for f in shown]}

    def _file_object(self, upload: dict) -> dict:
        return {
            "id": upload["id"],
            "name": upload["name"],
            "title": upload["title"],
            "size": len(upload["content"] or b""),
            "user": self.bot_user_id,
            "channels": list(upload["channels"]),
        }

    # ----------------------------------------------------------------- conversations

    def _conversation(self, channel_id: str) -> _Conversation:
        if channel_id in self._ims:
            channel_id = self._ims[channel_id]
        conversation = self._conversations.get(channel_id)
        if conversation is None:
            raise KeyError(f"no such conversation: {channel_id}")
        return conversation

    def _existing(self, channel: str) -> _Conversation:
        channel_id = self._ims.get(channel, channel)
        conversation = self._conversations.get(channel_id) or self._channel_named(channel)
        if self._visible(conversation) is None:
            raise _Refusal("channel_not_found")
        return conversation

    def _postable(self, channel: str) -> _Conversation:
        # Slack treats a user id as "the app's DM with that person", and accepts channel names.
        conversation = self._existing(channel)
        if conversation.kind == "im" and any(
            self._users.get(member, {}).get("deleted") for member in conversation.members
        ):
            raise _Refusal("account_inactive")
        if conversation.kind == "channel":
            if conversation.is_archived:
                raise _Refusal("is_archived")
            if self.bot_user_id not in conversation.members:
                raise _Refusal("not_in_channel")
        return conversation

    def _channel_named(self, channel: str) -> _Conversation | None:
        name = channel.lstrip("#")
        for conversation in self._conversations.values():
            if (
                conversation.kind == "channel"
                and conversation.name == name
                and self._visible(conversation)
            ):
                return conversation
        return None

    def _humans(self, conversation: _Conversation) -> list[str]:
        return [
            member
            for member in conversation.members
            if member != self.bot_user_id and not self._users.get(member, {}).get("is_bot")
        ]

    def _find_message(self, conversation: _Conversation, ts: str) -> dict | None:
        return next((m for m in conversation.messages if m["ts"] == str(ts)), None)

    def _user_message(self, user_id: str, channel_id: str, ts: str) -> dict:
        message = self._find_message(self._conversation(channel_id), ts)
        if message is None or message.get("user") != user_id:
            raise KeyError(f"{user_id} has no message {ts} in {channel_id}")
        return message

    # ----------------------------------------------------------------- messages

    def _content(self, args: dict, *, updating: dict | None = None) -> tuple[str, list | None]:
        text = args.get("text")
        blocks = args.get("blocks")
        if isinstance(blocks, str):
            blocks = _json_arg(blocks, "invalid_blocks_format")
        # chat.update may remove every block (blocks=[]) and keep the old text.
        removing_blocks = updating is not None and blocks is not None
        if not text and not blocks and not removing_blocks:
            raise _Refusal("no_text")
        if text is not None and len(str(text)) > MESSAGE_TEXT_LIMIT:
            raise _Refusal("msg_too_long")
        if blocks is not None:
            problems = message_problems(blocks)
            if problems:
                raise _Refusal(
                    "invalid_blocks",
                    errors=problems,
                    response_metadata={"messages": [f"[ERROR] {p}" for p in problems]},
                )
            if blocks_text_length(blocks) > MESSAGE_BLOCKS_TEXT_LIMIT:
                raise _Refusal("msg_blocks_too_long")
            blocks = with_ids(blocks)
        if text is None and updating is not None:
            text = updating.get("text", "")
        return str(text or ""), blocks

    def _bot_message(self, text: str, blocks: list | None) -> dict:
        message: dict[str, Any] = {
            "type": "message",
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "app_id": self.app_id,
            "text": text,
            "ts": self._next_ts(),
            "team": self.team_id,
            "bot_profile": {
                "id": self.bot_id,
                "app_id": self.app_id,
                "name": self.app_name,
                "team_id": self.team_id,
                "deleted": False,
            },
        }
        if blocks is not None:
            message["blocks"] = blocks
        return message

    def _post(self, conversation: _Conversation, message: dict) -> None:
        conversation.messages.append(message)
        for member in self._humans(conversation):
            self._show(self._message_seen(member, conversation, message))

    def _remove_message(self, conversation: _Conversation, message: dict) -> None:
        conversation.messages.remove(message)
        for member in self._humans(conversation):
            self._show(self._message_seen(member, conversation, message, removed=True))

    def _message_seen(
        self,
        user_id: str,
        conversation: _Conversation,
        message: dict,
        *,
        updated: bool = False,
        removed: bool = False,
    ) -> Seen:
        kind = {"im": "dm", "mpim": "group", "channel": "channel"}[conversation.kind]
        return Seen(
            kind,
            user_id,
            conversation.id,
            message.get("text", ""),
            copy.deepcopy(message.get("blocks") or []),
            message["ts"],
            None,
            updated=updated,
            removed=removed,
            channel_name=conversation.name,
        )

    def _show_ephemeral(self, user_id: str, channel_id: str, text: str, blocks: list | None) -> str:
        ts = self._next_ts()
        self._ephemerals[ts] = {
            "type": "message",
            "subtype": "bot_message",
            "user_id": user_id,
            "channel": channel_id,
            "text": text,
            "blocks": blocks or [],
            "ts": ts,
            "bot_id": self.bot_id,
            "removed": False,
        }
        self._show(
            Seen("ephemeral", user_id, channel_id, text, copy.deepcopy(blocks or []), ts, None)
        )
        return ts

    def _respond(self, user_id: str, channel_id: str, body: dict, original_ts: str | None) -> None:
        if not isinstance(body, dict):
            raise _Refusal("invalid_payload", status=400)
        replacing = _flag(body.get("replace_original"))
        deleting = _flag(body.get("delete_original"))
        if original_ts and (replacing or deleting):
            self._change_original(user_id, channel_id, original_ts, body, deleting)
            return
        if deleting:
            raise _Refusal("message_not_found", status=404)
        # replace_original without an original (a slash command's url) posts a new message.
        text, blocks = self._content(body)
        if body.get("response_type") == "in_channel":
            conversation = self._conversations.get(channel_id)
            if conversation is None:
                raise _Refusal("channel_not_found", status=404)
            self._post(conversation, self._bot_message(text, blocks))
        else:
            self._show_ephemeral(user_id, channel_id, text, blocks)

    def _change_original(
        self, user_id: str, channel_id: str, ts: str, body: dict, deleting: bool
    ) -> None:
        ephemeral = self._ephemerals.get(ts)
        if ephemeral is not None:
            if ephemeral["removed"]:
                raise _Refusal("message_not_found", status=404)
            if deleting:
                ephemeral["removed"] = True
            else:
                ephemeral["text"], blocks = self._content(body)
                ephemeral["blocks"] = blocks or []
            self._show(
                Seen(
                    "ephemeral",
                    user_id,
                    channel_id,
                    ephemeral["text"],
                    copy.deepcopy(ephemeral["blocks"]),
                    ts,
                    None,
                    updated=not deleting,
                    removed=deleting,
                )
            )
            return
        conversation = self._conversations.get(channel_id)
        message = self._find_message(conversation, ts) if conversation else None
        if conversation is None or message is None:
            raise _Refusal("message_not_found", status=404)
        if deleting:
            self._remove_message(conversation, message)
            return
        message["text"], blocks = self._content(body)
        if blocks is None:
            message.pop("blocks", None)
        else:
            message["blocks"] = blocks
        for member in self._humans(conversation):
            self._show(self._message_seen(member, conversation, message, updated=True))

    # ----------------------------------------------------------------- views

    def _view_arg(self, args: dict, expected_type: str) -> dict:
        view = args.get("view")
        if isinstance(view, str):
            view = _json_arg(view, "invalid_arguments")
        problems = view_problems(view, expected_type=expected_type)
        if problems:
            raise _Refusal(
                "invalid_arguments",
                response_metadata={"messages": [f"[ERROR] {p}" for p in problems]},
            )
        return view

    def _exchange_trigger(self, trigger_id: str | None) -> str:
        trigger = self._triggers.get(trigger_id or "")
        if trigger is None:
            raise _Refusal("invalid_trigger_id")
        user_id, issued, used = trigger
        if self._users[user_id]["team_id"] != self.team_id:
            raise _Refusal("invalid_trigger_id")
        if used:
            raise _Refusal("exchanged_trigger_id")
        if time.monotonic() - issued > self.trigger_ttl:
            raise _Refusal("expired_trigger_id")
        self._triggers[trigger_id] = (user_id, issued, True)
        return user_id

    def _check_external_id(self, view: dict, view_id: str | None) -> None:
        external_id = view.get("external_id")
        if external_id and self._external_ids.get(external_id, view_id) != view_id:
            raise _Refusal("duplicate_external_id")

    def _new_view_id(self) -> str:
        return f"V{next(self._ids):08d}"

    def _stored_view(
        self,
        view: dict,
        view_id: str,
        *,
        root: str,
        previous: str | None,
        state: dict | None = None,
    ) -> dict:
        external_id = view.get("external_id") or ""
        if external_id:
            self._external_ids[external_id] = view_id
        return {
            "id": view_id,
            "team_id": self.team_id,
            "type": view["type"],
            "title": copy.deepcopy(view.get("title")),
            "submit": copy.deepcopy(view.get("submit")),
            "close": copy.deepcopy(view.get("close")),
            "blocks": with_ids(view.get("blocks") or []),
            "private_metadata": view.get("private_metadata") or "",
            "callback_id": view.get("callback_id") or "",
            "state": {"values": state or {}},
            "hash": f"{int(time.time())}.{secrets.token_hex(4)}",
            "clear_on_close": bool(view.get("clear_on_close", False)),
            "notify_on_close": bool(view.get("notify_on_close", False)),
            "root_view_id": root,
            "previous_view_id": previous,
            "app_id": self.app_id,
            "app_installed_team_id": self.team_id,
            "external_id": external_id,
            "bot_id": self.bot_id,
            "submit_disabled": bool(view.get("submit_disabled", False)),
        }

    def _push_view(self, user_id: str, view: dict) -> str:
        stack = self._stacks[user_id]
        view_id = self._new_view_id()
        self._views[view_id] = self._stored_view(view, view_id, root=stack[0], previous=stack[-1])
        stack.append(view_id)
        self._show_view(user_id, view_id, "modal")
        return view_id

    def _replace_view(self, view_id: str, view: dict) -> None:
        old = self._views[view_id]
        # Slack keeps what the person typed in inputs whose block_id and action_id survive.
        kept = {}
        for control in stateful_controls(with_ids(view.get("blocks") or [])):
            value = old["state"]["values"].get(control.block_id, {}).get(control.action_id)
            if value is not None:
                kept.setdefault(control.block_id, {})[control.action_id] = value
        self._views[view_id] = self._stored_view(
            view, view_id, root=old["root_view_id"], previous=old["previous_view_id"], state=kept
        )
        self._view_errors.pop(view_id, None)
        owner = self._view_owner(view_id)
        if owner:
            kind = "home" if old["type"] == "home" else "modal"
            self._show_view(owner, view_id, kind, updated=True)

    def _show_errors(self, user_id: str, view_id: str, errors: Any) -> str | None:
        if not isinstance(errors, dict) or not errors:
            return "response_action errors needs a non-empty errors object"
        input_ids = {
            b["block_id"] for b in self._views[view_id]["blocks"] if b.get("type") == "input"
        }
        unknown = sorted(set(errors) - input_ids)
        if unknown:
            # Slack cannot place these, so the person just sees a generic failure.
            return f"errors name block_ids that are not input blocks in the view: {unknown}"
        self._view_errors[view_id] = dict(errors)
        self._show_view(user_id, view_id, "modal", updated=True)
        return None

    def _close_views(self, user_id: str, count: int, *, quietly: bool = False) -> None:
        stack = self._stacks.get(user_id, [])
        for _ in range(min(count, len(stack))):
            view_id = stack.pop()
            if not quietly:
                view = self._shown_view(view_id)
                self._show(
                    Seen("modal", user_id, None, "", view["blocks"], None, view, removed=True)
                )
        if not stack:
            self._stacks.pop(user_id, None)

    def _view_owner(self, view_id: str) -> str | None:
        for user_id, stack in self._stacks.items():
            if view_id in stack:
                return user_id
        return next((u for u, v in self._homes.items() if v == view_id), None)

    def _view_is_open(self, view_id: str) -> bool:
        return self._view_owner(view_id) is not None

    def _shown_view(self, view_id: str) -> dict:
        view = copy.deepcopy(self._views[view_id])
        if view_id in self._view_errors:
            view["errors"] = dict(self._view_errors[view_id])
        return view

    def _show_view(self, user_id: str, view_id: str, kind: str, *, updated: bool = False) -> None:
        view = self._shown_view(view_id)
        self._show(Seen(kind, user_id, None, "", view["blocks"], None, view, updated=updated))

    # ----------------------------------------------------------------- bookkeeping

    def _show(self, seen: Seen) -> None:
        entry = TimelineEntry(time.time(), seen.user_id, self.user_name(seen.user_id), seen=seen)
        seen_so_far = self._seen.setdefault(seen.user_id, [])
        place = self._placing
        if place is None:
            seen_so_far.append(seen)
            self._timeline.append(entry)
            return
        position = place.seen.get(seen.user_id, 0)
        seen_so_far.insert(position, seen)
        place.seen[seen.user_id] = position + 1
        self._timeline.insert(place.timeline, entry)
        place.timeline += 1

    @contextlib.contextmanager
    def _placed(self, at: TimelineMark | None) -> Iterator[None]:
        # An ack body is Slack's immediate answer to the action, so it goes right after it, even
        # when the bot's background work (after ack) reached the Web API before the ack arrived.
        self._placing = None if at is None else TimelineMark(at.timeline, dict(at.seen))
        try:
            yield
        finally:
            self._placing = None

    def _next_ts(self) -> str:
        # Slack's ts is "seconds.micros", unique and increasing within a conversation.
        micros = max(int(self.ts_clock() * 1_000_000), self._last_ts_micros + 1)
        self._last_ts_micros = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _unique_id(self, wanted: str, taken: dict) -> str:
        candidate, suffix = wanted, 2
        while candidate in taken:
            candidate, suffix = f"{wanted}{suffix}", suffix + 1
        return candidate

    def _add_bot_user(self, team: _Team) -> None:
        self._users[team.bot_user_id] = {
            "id": team.bot_user_id,
            "team_id": team.id,
            "name": "mentorcoach",
            "deleted": False,
            "real_name": self.app_name,
            "tz": "UTC",
            "tz_label": "UTC",
            "tz_offset": 0,
            "profile": {
                "real_name": self.app_name,
                "display_name": self.app_name,
                "bot_id": team.bot_id,
                "api_app_id": self.app_id,
                "team": team.id,
            },
            "is_bot": True,
            "is_app_user": False,
            "updated": int(time.time()),
        }


class _Handler(BaseHTTPRequestHandler):
    server: ThreadingHTTPServer

    def do_POST(self) -> None:
        self._answer()

    def do_GET(self) -> None:
        self._answer()

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _answer(self) -> None:
        slack: FakeSlack = self.server.slack  # type: ignore[attr-defined]
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        content_type = self.headers.get("Content-Type", "")
        if url.path.startswith("/api/"):
            try:
                args = _parse_args(content_type, raw, url.query)
            except _Refusal as refusal:
                self._send(200, {}, {"ok": False, "error": refusal.error})
                return
            token = args.pop("token", None)
            bearer = self.headers.get("Authorization", "")
            if bearer.startswith("Bearer "):
                token = bearer[len("Bearer ") :].strip()
            elif bearer.startswith("Basic "):  # oauth.v2.access: the app's id and secret
                with contextlib.suppress(ValueError):
                    pair = base64.b64decode(bearer[len("Basic ") :]).decode()
                    args["client_id"], _, args["client_secret"] = pair.partition(":")
            method = url.path[len("/api/") :]
            status, headers, body = slack._handle_api(method, args, token)
            self._send(status, headers, body)
        elif url.path.startswith("/response/"):
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                self._send(400, {}, {"ok": False, "error": "invalid_payload"})
                return
            status, answer = slack._handle_response_url(url.path[len("/response/") :], body)
            self._send(status, {}, answer)
        elif url.path.startswith("/upload/v1/"):
            status, said = slack._receive_upload(url.path[len("/upload/v1/") :], raw)
            self._send_plain(status, said)
        else:
            self._send(404, {}, {"ok": False, "error": "not_found"})

    def _send(self, status: int, headers: dict[str, str], body: dict) -> None:
        if status >= 500:
            payload = f"{status} {self.responses.get(status, ('Error',))[0]}".encode()
            content_type = "text/plain; charset=utf-8"
        else:
            payload = json.dumps(body).encode()
            content_type = "application/json; charset=utf-8"
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.send_header("X-OAuth-Scopes", SCOPES)
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting (a hang_seconds failure); Slack would not care either

    def _send_plain(self, status: int, said: str) -> None:
        payload = said.encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass


def _parse_args(content_type: str, raw: bytes, query: str) -> dict:
    args: dict[str, Any] = {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}
    if raw and content_type.startswith("application/json"):
        try:
            body = json.loads(raw)
        except ValueError:
            raise _Refusal("invalid_json") from None
        if not isinstance(body, dict):
            raise _Refusal("invalid_json")
        args.update(body)
    elif raw and content_type.startswith("multipart/"):
        raise _Refusal("invalid_form_data")
    elif raw:
        form = parse_qs(raw.decode("utf-8"), keep_blank_values=True)
        args.update({k: v[-1] for k, v in form.items()})
    # Form-encoded calls carry these as JSON strings; a string that does not parse is left for
    # the method to refuse with Slack's error for it.
    for name in ("blocks", "view", "attachments", "metadata"):
        if isinstance(args.get(name), str):
            with contextlib.suppress(ValueError):
                args[name] = json.loads(args[name])
    return args


def _json_arg(value: str, error: str) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        raise _Refusal(error) from None


def _required(args: dict, name: str, error: str | None = None) -> str:
    value = args.get(name)
    if not value:
        raise _Refusal(error or "invalid_arguments")
    return str(value)


def _flag(value: Any) -> bool:
    return value in (True, 1, "1", "true", "True")


def _id_part(name: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", name.upper()) or "X"


def _rich_text_block(text: str) -> dict:
    return {
        "type": "rich_text",
        "block_id": secrets.token_hex(3),
        "elements": [{"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}],
    }
