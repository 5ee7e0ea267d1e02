"""The playground's world: the real bot on a local Slack, three people, and a clock to move.

Every action a visitor takes goes to the bot as Slack would send it, signed, through the
sandbox driver; the world holds no bot logic of its own.
"""

from __future__ import annotations

import bisect
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from types import ModuleType
from typing import Any

from sandbox.block_kit import stateful_controls
from sandbox.clock import ManualClock
from sandbox.demo import DEMO_START
from sandbox.driver import Reply, SlackDriver, _Surface
from sandbox.forms import entered_value, fill_state
from sandbox.playground.render import state_from_form
from sandbox.settle import TrackingExecutor
from sandbox.slack_api import FakeSlack

logger = logging.getLogger(__name__)
SIGNING_SECRET = "playground-signing-secret"
SUCCESS_CHANNEL = "wins"
COMMAND = "/mentor"
# What each scheduled message means to the people who get it, for the clock control.
MOMENTS = {
    "prep_prompt": "prep prompt",
    "agenda": "agenda",
    "checkin": "check-in",
    "followup": "follow-up",
    "continue_check": "keep-going check",
    "pair_nudge": "nudge",
}


@dataclass(frozen=True)
class Person:
    """One of the people a visitor plays."""

    key: str
    name: str
    real_name: str
    tz: str
    role: str
    about: str
    user_id: str = ""


PEOPLE = (
    Person(
        "kenji",
        "Kenji",
        "Kenji Watanabe",
        "Asia/Tokyo",
        "mentee",
        "An engineer preparing his first conference talk",
    ),
    Person(
        "amara",
        "Amara",
        "Amara Okafor",
        "Africa/Lagos",
        "mentor",
        "A product lead and conference speaker",
    ),
    Person(
        "lucia",
        "Lucía",
        "Lucía Fernández",
        "America/Sao_Paulo",
        "admin",
        "Runs the mentoring program; also mentors on presenting",
    ),
)


@dataclass(frozen=True)
class Moment:
    """The next time something is due to reach someone."""

    at: datetime
    what: str


class PinnedDriver(SlackDriver):
    """The sandbox driver, but a click lands on the very surface the visitor clicked in."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pin: tuple[str, str | None, str | None] | None = None

    def click_in(
        self,
        user_id: str,
        where: str,
        *,
        channel: str | None,
        ts: str | None,
        action_id: str,
        value: str | None,
    ) -> Reply:
        self._pin = (where, channel, ts)
        try:
            return self.click(user_id, action_id=action_id, value=value)
        finally:
            self._pin = None

    def _surfaces(self, user_id: str) -> Iterator[_Surface]:
        for surface in super()._surfaces(user_id):
            if self._pin is None or (surface.where, surface.channel, surface.ts) == self._pin:
                yield surface


class Playground:
    """Start with `with Playground(app_module, database_url) as world:`."""

    def __init__(
        self,
        wiring: ModuleType,
        database_url: str,
        *,
        seed: bool = True,
        start: datetime = DEMO_START,
        tick_seconds: int = 1,
    ) -> None:
        self.wiring = wiring
        self.database_url = database_url
        self.seed = seed
        self.start_at = start
        self.tick_seconds = tick_seconds
        self.people: list[Person] = []
        self.clock = ManualClock(start)
        # (wall-clock time, story time) at each jump: a message's ts tells when it came.
        self._jumps: list[tuple[float, datetime]] = [(time.time(), start)]
        self._acting = threading.RLock()
        self._closers: list[Any] = []

    # ----------------------------------------------------------------- lifecycle

    def __enter__(self) -> Playground:
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _start(self) -> None:
        from scheduler import start_scheduler
        from scheduler.delivery import Deliverer, make_delivery_client

        wiring = self.wiring
        self.slack = FakeSlack(SIGNING_SECRET).start()
        self._closers.append(self.slack.stop)
        self.people = [
            replace(p, user_id=self.slack.add_user(p.name, real_name=p.real_name, tz=p.tz))
            for p in PEOPLE
        ]
        humans = [p.user_id for p in self.people]
        self.channel_id = self.slack.add_channel(
            SUCCESS_CHANNEL, members=[self.slack.bot_user_id, *humans]
        )
        admins = frozenset(p.user_id for p in self.people if p.role == "admin")
        self.settings = wiring.Settings(
            slack_bot_token=self.slack.bot_token,
            slack_signing_secret=SIGNING_SECRET,
            slack_api_url=self.slack.api_url,
            database_url=self.database_url,
            success_channel=f"#{SUCCESS_CHANNEL}",
            admin_user_ids=admins,
            delivery_tick_seconds=self.tick_seconds,
        )
        self.engine, self.sessions = wiring.open_database(self.settings)
        self._closers.append(self.engine.dispose)
        self.executor = TrackingExecutor(max_workers=4)
        self._closers.append(lambda: self.executor.shutdown(wait=True))
        app = wiring.create_app(
            self.settings, self.sessions, listener_executor=self.executor, clock=self.clock
        )
        server = wiring.serve_http(app, self.engine, 0, host="127.0.0.1")
        self._closers.append(server.server_close)
        self._closers.append(server.shutdown)
        events_url = f"http://127.0.0.1:{server.server_port}{wiring.EVENTS_PATH}"
        self.driver = PinnedDriver(
            self.slack, events_url, SIGNING_SECRET, settle=self.executor.wait_idle
        )
        self.deliverer = Deliverer(
            self.settings, self.sessions, make_delivery_client(self.settings), self.clock
        )
        # The bot's own scheduler, on the playground's clock: it delivers whatever falls due.
        scheduler = start_scheduler(self.deliverer, self.sessions, self.clock)
        self._closers.append(lambda: scheduler.shutdown(wait=False))
        if self.seed:
            self._seed_mentors()

    def close(self) -> None:
        while self._closers:
            closer = self._closers.pop()
            try:
                closer()
            except Exception:  # closing what is left matters more than one failure
                logger.exception("playground: could not close %s", closer)

    def _seed_mentors(self) -> None:
        """Amara and Lucía fill in their mentor profiles (real submissions), then a clean slate."""
        for person, topics, background, capacity in (
            (
                self.person("amara"),
                "Public speaking, storytelling, career growth",
                "Product lead; twelve years from support to product, and a regular speaker.",
                "3",
            ),
            (
                self.person("lucia"),
                "Presentations, design critique",
                "Design lead in São Paulo; teaches a workshop on presenting design work.",
                "2",
            ),
        ):
            self.driver.command(person.user_id, "profile")
            self.driver.submit(
                person.user_id,
                {
                    "What are you here for?": ["I'd like to mentor others"],
                    "Topics you can help with (mentors)": topics,
                    "Your background": background,
                    "How many mentees can you take at once? (mentors)": capacity,
                },
            )
        self._deliver()
        # Profiles stay in the database; the conversations start empty for the visitor.
        self.slack.reset()

    # ----------------------------------------------------------------- who and when

    def person(self, key_or_id: str) -> Person:
        for person in self.people:
            if key_or_id in (person.key, person.user_id):
                return person
        raise KeyError(f"no such person: {key_or_id}")

    def story_time(self, wall: float) -> datetime:
        """The story's time when the wall clock read `wall` (a message's ts)."""
        walls = [at for at, _ in self._jumps]
        index = bisect.bisect_right(walls, wall) - 1
        return self._jumps[max(index, 0)][1]

    def next_moment(self) -> Moment | None:
        """The next moment a scheduled message falls due (after quiet hours and retries)."""
        from scheduler import next_delivery

        at, kinds = next_delivery(self.sessions, self.clock())
        if not kinds:
            return None
        return Moment(at, ", ".join(MOMENTS.get(k, k.replace("_", " ")) for k in kinds))

    def jump(self) -> str:
        """Move the clock to the next moment that matters and let the scheduler deliver."""
        with self._acting:
            moment = self.next_moment()
            if moment is None:
                return "Nothing is scheduled yet."
            self.clock.advance(moment.at - self.clock())
            self._jumps.append((time.time(), moment.at))
            from scheduler import housekeeping

            housekeeping(self.sessions, self.clock())
            self._deliver()
            return f"It is now {moment.at:%a %d %b %H:%M} UTC: time for the {moment.what}."

    def _deliver(self) -> None:
        # The scheduler's delivery job, run now rather than on its next tick, so the page
        # shows the outcome of an action at once.
        self.deliverer.run_due()
        self.executor.wait_idle()

    # ----------------------------------------------------------------- acting

    def act(self, user_id: str, action: dict[str, Any]) -> str | None:
        """Do what the visitor did as that person; returns a notice to show them, if any."""
        self.person(user_id)  # only the people of the playground
        kind = action.get("kind")
        with self._acting:
            try:
                reply = self._act(user_id, kind, action)
            except AssertionError as refusal:
                # What Slack's own client would refuse, or a button that is no longer there.
                return str(refusal)
            self._deliver()
        if isinstance(reply, str):
            return reply
        if reply is not None and reply.slack_error:
            return f"Slack reported: {reply.slack_error}"
        return None

    def _act(self, user_id: str, kind: Any, action: dict[str, Any]) -> Reply | str | None:
        driver = self.driver
        if kind == "say":
            text = str(action.get("text") or "").strip()
            if not text:
                return None
            if text.startswith("/"):
                command, _, rest = text.partition(" ")
                if command != COMMAND:
                    return f"{command} is not a valid command. In this workspace: {COMMAND}"
                return driver.command(user_id, rest.strip())
            driver.dm(user_id, text)
            return driver.last_reply
        if kind == "click":
            where = str(action.get("where") or "")
            if where not in ("modal", "home", "message"):
                raise AssertionError("Click on a message, the Home tab or a modal")
            return driver.click_in(
                user_id,
                where,
                channel=action.get("channel") or None,
                ts=action.get("ts") or None,
                action_id=str(action.get("action_id") or ""),
                value=action.get("value") if action.get("value") not in (None, "") else None,
            )
        if kind == "submit":
            view = self.slack.open_modal(user_id)
            if view is None or view["id"] != action.get("view_id"):
                raise AssertionError("That form is no longer open.")
            entered = action.get("values")
            if not isinstance(entered, dict):
                raise AssertionError("Nothing was entered.")
            self._enter(user_id, view, entered)
            reply = driver.submit(user_id, client_checks=True)
            return reply
        if kind == "close":
            view = self.slack.open_modal(user_id)
            if view is None or view["id"] != action.get("view_id"):
                return None
            return driver.close(user_id)
        if kind == "home":
            return driver.open_home(user_id)
        raise AssertionError(f"Unknown action {kind!r}")

    def _enter(self, user_id: str, view: dict, entered: dict[str, Any]) -> None:
        """Put what the visitor entered in the view's state, as Slack's client keeps it."""
        person = self.person(user_id)
        typed = state_from_form(view["blocks"], entered, person.tz)
        state = fill_state(view["blocks"], {}, view["state"]["values"])
        for control in stateful_controls(view["blocks"]):
            if control.action_id in typed.get(control.block_id, {}):
                value = typed[control.block_id][control.action_id]
                state[control.block_id][control.action_id] = entered_value(control, value)
        self.slack.set_view_state(view["id"], state)
