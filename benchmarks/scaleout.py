"""Scale-out: bot processes sharing one database and one Slack of several workspaces.

    python -m benchmarks.scaleout                       # 3 processes, 1,000 members, PostgreSQL
    python -m benchmarks.scaleout --members 60 --processes 2 --database sqlite

Each bot process is a real `python app.py` (HTTP under gunicorn, OAuth mode with the app
installed in every workspace through the install flow) and runs its own delivery scheduler; all
share a fresh, uniquely named database (dropped afterwards) and one Slack sandbox. People of
every workspace act through the driver, each request sent to the next process in turn: mentors
save their profiles, then every mentee saves one, finds mentors for their topic, asks one for an
intro, is accepted, books a session, says thanks, lists their mentors and opens Home. Every
workspace offers the same topic names, so an answer that crossed a boundary would show.

What is checked comes from what the sandbox holds, not from the bot's database: each expected
message (the intro request, the pair's introduction, the booking, the thank-you) arrived exactly
once, in the right conversation, posted with its own workspace's token; no two posts in a
conversation are the same; Slack refused no call; every answer was right (find named exactly the
topic's mentors of the person's own workspace, the accept named the mentee, `/mentor mentors`
and Home named the one mentor), and nobody saw a name or a mention from another workspace.
Exit status 1 on anything else.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from datetime import time as clock_time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO, Any, TypeVar
from zoneinfo import ZoneInfo

from benchmarks.harness import Database, fresh_database, postgres_reachable
from bot.core import ids
from sandbox import FakeSlack, Seen, SlackDriver
from sandbox.driver import Reply

SECRET = "scaleout-signing-secret"
ROOT = Path(__file__).resolve().parent.parent
ZONES = ("Europe/Berlin", "America/New_York", "Asia/Tokyo", "Africa/Lagos", "Australia/Sydney")
TOPICS = (
    "Python", "Public speaking", "Leadership", "Product design", "Data science", "Negotiation",
    "Career change", "Writing", "Hiring", "Security", "Cloud", "Testing", "Mobile", "Databases",
    "Machine learning", "Sales", "Marketing", "Finance", "Management", "Open source",
    "Accessibility", "Research", "Mentoring", "Frontend", "Networking", "Operations", "Design",
    "Strategy", "Analytics", "Coaching", "Product management", "Go", "Rust", "Kubernetes",
    "Statistics", "Storytelling", "Time management", "Feedback", "Pricing", "Support",
)  # fmt: skip
PER_TOPIC = 3  # mentors per topic: one page of find results, so the answer is the whole set
CAPACITY = 10
TICK_SECONDS = 1
ACK_LIMIT = 3.0
PERSON = re.compile(r"\b(?:Mentor|Mentee) ([A-Z])\d{4}\b")
MENTION = re.compile(r"<@([UW][A-Z0-9]+)")
T = TypeVar("T")


@dataclass
class Options:
    processes: int = 3
    members: int = 1000
    workspaces: int = 3
    database: str = "postgresql"
    # People acting at the same time (threads in this process); each waits for its answers.
    concurrency: int = 24
    wait_seconds: float = 30.0  # longest wait for any one answer or delivery


# ----------------------------------------------------------------------------- the world


@dataclass(frozen=True)
class Person:
    user_id: str
    name: str
    team_id: str
    topic: str


@dataclass(frozen=True)
class Journey:
    """One mentee's way from a profile to a thank-you, with the mentor they will ask."""

    ref: int
    mentee: Person
    mentor: Person
    offering: tuple[str, ...]  # names of the mentors of the mentee's topic in their workspace
    tz: str


@dataclass
class World:
    teams: list[str]
    mentors: list[Person]
    journeys: list[Journey]
    letters: dict[str, str]  # team id -> the letter in its people's names


def build_world(slack: FakeSlack, options: Options) -> World:
    """People in each workspace: a third mentors (three to a topic), the rest mentees, each
    assigned the topic's mentors in turn so that nobody is asked beyond their capacity."""
    teams = [slack.team_id]
    teams += [slack.add_team(f"Scale Team {n + 1}") for n in range(1, options.workspaces)]
    world = World(teams, [], [], {})
    ref = itertools.count(1)
    for index, team in enumerate(teams):
        world.letters[team] = chr(ord("A") + index)
        hire = _Hiring(slack, team, world.letters[team], ZONES[index % len(ZONES)])
        size = options.members // len(teams) + (index < options.members % len(teams))
        mentor_count = max(PER_TOPIC, size // 3)
        topics = [_topic(n) for n in range((mentor_count + PER_TOPIC - 1) // PER_TOPIC)]
        mentors = [hire("Mentor", topics[n // PER_TOPIC]) for n in range(mentor_count)]
        by_topic = {t: [m for m in mentors if m.topic == t] for t in topics}
        world.mentors += mentors
        for n in range(max(1, size - mentor_count)):
            topic = topics[n % len(topics)]
            group = by_topic[topic]
            mentor = group[(n // len(topics)) % len(group)]
            offering = tuple(m.name for m in group)
            world.journeys.append(
                Journey(next(ref), hire("Mentee", topic), mentor, offering, hire.tz)
            )
    load = Counter(j.mentor.user_id for j in world.journeys)
    if max(load.values()) > CAPACITY:
        raise ValueError("too many mentees for the mentors: raise the members or the capacity")
    return world


class _Hiring:
    """Adds one workspace's people to the sandbox, named by role, workspace letter and number."""

    def __init__(self, slack: FakeSlack, team: str, letter: str, tz: str) -> None:
        self.slack, self.team, self.letter, self.tz = slack, team, letter, tz
        self.numbers = itertools.count(1)

    def __call__(self, role: str, topic: str) -> Person:
        name = f"{role} {self.letter}{next(self.numbers):04d}"
        user_id = self.slack.add_user(name, real_name=name, tz=self.tz, team_id=self.team)
        return Person(user_id, name, self.team, topic)


def _topic(n: int) -> str:
    return TOPICS[n % len(TOPICS)] + (f" {n // len(TOPICS) + 1}" if n >= len(TOPICS) else "")


# ----------------------------------------------------------------------------- bot processes


class ApiRelay:
    """A bot process's SLACK_API_URL: passes each Web API call on to the sandbox and counts it,
    so the figures can say which process delivered what."""

    def __init__(self, target: str) -> None:
        self.target = target.rstrip("/")
        self.calls: Counter[str] = Counter()
        relay = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                relay.calls[self.path.rsplit("/", 1)[-1].split("?")[0]] += 1
                headers = {
                    k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")
                }
                request = urllib.request.Request(
                    relay.target + self.path, data=body, headers=headers, method="POST"
                )
                try:
                    with urllib.request.urlopen(request, timeout=30) as answer:
                        status, said, kept = answer.status, answer.read(), answer.headers
                except urllib.error.HTTPError as error:
                    status, said, kept = error.code, error.read(), error.headers
                self.send_response(status)
                for name in ("Content-Type", "Retry-After"):
                    if kept.get(name):
                        self.send_header(name, kept[name])
                self.send_header("Content-Length", str(len(said)))
                self.end_headers()
                self.wfile.write(said)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler, bind_and_activate=False)
        self.server.request_queue_size = 128  # a process's delivery and its 8 threads at once
        self.server.server_bind()
        self.server.server_activate()
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/api/"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class BotProcesses:
    urls: list[str]
    relays: list[ApiRelay]
    running: list[subprocess.Popen[bytes]]
    logs: list[Path]

    def last_words(self) -> str:
        return "\n".join(
            f"--- process {n + 1}:\n{log.read_text(errors='replace')[-2000:]}"
            for n, log in enumerate(self.logs)
        )


@contextlib.contextmanager
def bot_processes(
    options: Options, slack: FakeSlack, database_url: str, folder: Path
) -> Iterator[BotProcesses]:
    """`python app.py` N times, each on its own port and API relay, all on one database."""
    ports = [_free_port() for _ in range(options.processes)]
    relays = [ApiRelay(slack.base_url) for _ in ports]
    bots = BotProcesses([f"http://127.0.0.1:{p}" for p in ports], relays, [], [])
    # Empty, not unset: a stray .env must not fill them in (python-dotenv never overrides).
    unset = ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_REDIRECT_URI", "SUCCESS_CHANNEL")
    unset += ("ADMIN_USER_IDS",)
    # One workspace runs as most installs do, on its bot token; more install through OAuth.
    # (Not even empty client credentials in one-token mode: Bolt would read them as OAuth.)
    slack_env = (
        {"SLACK_BOT_TOKEN": slack.bot_token}
        if options.workspaces == 1
        else {"SLACK_CLIENT_ID": slack.client_id, "SLACK_CLIENT_SECRET": slack.client_secret}
    )
    base = {
        **{
            k: v
            for k, v in os.environ.items()
            if k not in ("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET")
        },
        **dict.fromkeys(unset, ""),
        **slack_env,
        "PYTHONUNBUFFERED": "1",
        "SLACK_SIGNING_SECRET": SECRET,
        "DATABASE_URL": database_url,
        "DELIVERY_TICK_SECONDS": str(TICK_SECONDS),
        "QUIET_HOURS": "",
        "DAILY_NUDGE_LIMIT": "50",
        "WEB_CONCURRENCY": "1",
        "LOG_LEVEL": "WARNING",
    }
    try:
        for n, (port, relay) in enumerate(zip(ports, relays, strict=True)):
            log = folder / f"bot-{n + 1}.log"
            env = {
                **base,
                "PORT": str(port),
                "SLACK_API_URL": relay.api_url,
            }
            with log.open("wb") as output:
                bots.running.append(
                    subprocess.Popen(
                        [sys.executable, "app.py"],
                        cwd=ROOT,
                        env=env,
                        stdin=subprocess.DEVNULL,
                        stdout=output,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                )
            bots.logs.append(log)
        for url, process in zip(bots.urls, bots.running, strict=True):
            _wait_healthy(url, process, bots)
        yield bots
    finally:
        for process in bots.running:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in bots.running:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        for relay in relays:
            relay.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_healthy(url: str, process: subprocess.Popen[bytes], bots: BotProcesses) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"a bot process exited at start:\n{bots.last_words()}")
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(f"{url}/healthz", timeout=2) as answer,
        ):
            if answer.status == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"a bot process did not answer /healthz in 60 s:\n{bots.last_words()}")


def install_everywhere(slack: FakeSlack, world: World, bots: BotProcesses) -> None:
    """Someone in each workspace installs the app through its install page, as people do."""
    if len(world.teams) == 1:
        return  # installed by hand: its token is SLACK_BOT_TOKEN
    for n, team in enumerate(world.teams):
        url = bots.urls[n % len(bots.urls)]  # the installation store is shared: any one will do
        installer = next(m for m in world.mentors if m.team_id == team)
        page = SlackDriver(slack, f"{url}/slack/events", SECRET).install(
            installer.user_id, f"{url}/slack/install"
        )
        if page.status != 200:
            raise RuntimeError(f"installing to {team} failed: {page.status} {page.body[:300]}")


# ----------------------------------------------------------------------------- the run


@dataclass
class Report:
    lines: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    requests: int = 0
    late_acks: int = 0
    answers: int = 0
    answers_right: int = 0
    expected: int = 0
    delivered: int = 0
    duplicated: int = 0
    lost: int = 0
    wrong_token: int = 0
    refused: int = 0
    crossed: int = 0  # people who saw someone of another workspace

    @property
    def ok(self) -> bool:
        troubles = (self.late_acks, self.duplicated, self.lost, self.wrong_token, self.refused)
        return (
            not self.problems
            and not any(troubles)
            and not self.crossed
            and self.answers_right == self.answers
            and self.delivered == self.expected
        )


class People:
    """The driver, one per bot process, used in turn; and the timings of every request."""

    def __init__(self, slack: FakeSlack, urls: list[str], wait_seconds: float) -> None:
        self.slack = slack
        self.drivers = [SlackDriver(slack, f"{url}/slack/events", SECRET) for url in urls]
        self.wait_seconds = wait_seconds
        self._turn = itertools.count()
        self._lock = threading.Lock()
        self.served: Counter[int] = Counter()
        self.acks: list[float] = []
        self.answer_times: list[float] = []
        self.late = 0

    def send(self, act: Callable[[SlackDriver], Reply]) -> Reply:
        with self._lock:
            n = next(self._turn) % len(self.drivers)
        reply = act(self.drivers[n])
        with self._lock:
            if reply.status == 200 and not reply.slack_error:
                self.served[n] += 1
            self.acks.append(reply.elapsed)
            self.late += reply.elapsed > ACK_LIMIT
        if reply.status != 200 or reply.slack_error:
            raise Problem(f"HTTP {reply.status} {reply.slack_error or ''} {reply.body[:200]!r}")
        return reply

    def until(self, what: str, check: Callable[[], T | None], since: float | None = None) -> T:
        """Wait for something to show in the sandbox; the time since `since` is an answer time."""
        deadline = time.monotonic() + self.wait_seconds
        while (found := check()) is None:
            if time.monotonic() > deadline:
                raise Problem(f"waited {self.wait_seconds:g} s for {what}")
            time.sleep(0.01)
        if since is not None:
            self.answered(time.monotonic() - since)
        return found

    def answered(self, seconds: float) -> None:
        with self._lock:
            self.answer_times.append(seconds)

    def new_seen(
        self, user_id: str, after: int, kind: str, words: str
    ) -> Callable[[], Seen | None]:
        def check() -> Seen | None:
            return next(
                (s for s in self.slack.seen(user_id)[after:] if s.kind == kind and words in s.text),
                None,
            )

        return check

    def modal(self, user_id: str, title: str) -> Callable[[], dict | None]:
        def check() -> dict | None:
            view = self.slack.open_modal(user_id)
            return view if view and (view.get("title") or {}).get("text") == title else None

        return check


class Problem(Exception):
    """Something a person did not get as expected: one line for the report."""


@dataclass
class Outcome:
    answers: int = 0
    right: int = 0
    wrongs: list[str] = field(default_factory=list)
    mpim: str | None = None

    def answer(self, right: bool, what: str) -> None:
        self.answers += 1
        self.right += right
        if not right:
            self.wrongs.append(what)


def save_profile(people: People, who: Person, fields: dict[str, Any]) -> Outcome:
    """The profile form, filled in and saved; the answer must show their topic."""
    slack, outcome = people.slack, Outcome()
    people.send(lambda d: d.command(who.user_id, "profile"))
    people.until("the profile form", people.modal(who.user_id, "Your mentoring profile"))
    after = len(slack.seen(who.user_id))
    started = time.monotonic()
    people.send(lambda d: d.submit(who.user_id, fields))
    saved = people.until(
        "Profile saved", people.new_seen(who.user_id, after, "ephemeral", "Profile saved"), started
    )
    outcome.answer(who.topic in saved.text, f"{who.name}'s profile answer: {saved.text!r}")
    return outcome


def mentor_profile(people: People, mentor: Person) -> Outcome:
    return save_profile(
        people,
        mentor,
        {
            ids.PROFILE_ROLES_ACTION: [ids.ROLE_MENTOR],
            ids.PROFILE_OFFERED_ACTION: mentor.topic,
            ids.PROFILE_BACKGROUND_ACTION: "Ten years of doing this and teaching it.",
            ids.PROFILE_CAPACITY_ACTION: str(CAPACITY),
        },
    )


def mentee_journey(people: People, journey: Journey) -> Outcome:
    slack = people.slack
    mentee, mentor, ref = journey.mentee, journey.mentor, journey.ref
    outcome = save_profile(
        people,
        mentee,
        {
            ids.PROFILE_ROLES_ACTION: [ids.ROLE_MENTEE],
            ids.PROFILE_SOUGHT_ACTION: mentee.topic,
            ids.PROFILE_GOALS_ACTION: f"Get good at {mentee.topic} this year.",
        },
    )

    # Find: exactly the topic's mentors of their own workspace.
    after, started = len(slack.seen(mentee.user_id)), time.monotonic()
    people.send(lambda d: d.command(mentee.user_id, f"find {mentee.topic}"))
    found = people.until(
        "the find answer",
        people.new_seen(mentee.user_id, after, "ephemeral", "Mentors for"),
        started,
    )
    named = set(PERSON_NAME.findall(_words(found)))
    outcome.answer(named == set(journey.offering), f"find for {mentee.name}: {sorted(named)}")
    ask = _button(found.blocks, ids.ASK_INTRO_ACTION, mentor.name)
    if ask is None:
        raise Problem(f"{mentee.name} sees no Ask button for {mentor.name}")

    # Ask for the intro, with a note the mentor will read.
    people.send(lambda d: d.click(mentee.user_id, action_id=ids.ASK_INTRO_ACTION, value=ask))
    people.until("the intro form", people.modal(mentee.user_id, "Ask for an intro"))
    after, started = len(slack.seen(mentee.user_id)), time.monotonic()
    note = f"I'd love your help with {mentee.topic} {marker('intro', ref)}"
    people.send(lambda d: d.submit(mentee.user_id, {ids.INTRO_NOTE_ACTION: note}))
    sent = people.until(
        "the request answer",
        people.new_seen(mentee.user_id, after, "ephemeral", "on its way"),
        started,
    )
    outcome.answer(mentor.name in sent.text, f"request answer for {mentee.name}: {sent.text!r}")

    # The mentor accepts from the DM the outbox delivered.
    request = people.until(
        "the intro request DM", _message_with(slack, mentor.user_id, marker("intro", ref))
    )
    accept = _button(request.blocks, ids.ACCEPT_REQUEST_ACTION)
    if accept is None:
        raise Problem(f"{mentor.name} sees no Accept button for {mentee.name}")
    after, started = len(slack.seen(mentor.user_id)), time.monotonic()
    people.send(
        lambda d: d.click(mentor.user_id, action_id=ids.ACCEPT_REQUEST_ACTION, value=accept)
    )
    accepted = people.until(
        "the accept answer", _changed(slack, mentor.user_id, after, request), started
    )
    outcome.answer(mentee.name in accepted.text, f"accept answer: {accepted.text!r}")
    intro = people.until(
        "the introduction", people.new_seen(mentee.user_id, 0, "group", f"{mentor.name}, meet")
    )
    outcome.mpim = intro.channel

    # Book a session in working hours, three days on.
    people.send(lambda d: d.command(mentee.user_id, "schedule"))
    people.until("the booking form", people.modal(mentee.user_id, "Schedule a session"))
    after, started = len(slack.seen(mentee.user_id)), time.monotonic()
    fields = {
        ids.WHEN_ACTION: _working_hour(journey.tz),
        ids.MEETING_TOPIC_ACTION: f"Practice run {marker('session', ref)}",
    }
    people.send(lambda d: d.submit(mentee.user_id, fields))
    people.until(
        "the booking answer", people.new_seen(mentee.user_id, after, "ephemeral", "Booked"), started
    )
    people.until(
        "the booking", _message_with(slack, mentee.user_id, marker("session", ref), "group")
    )

    # Thanks, by mention.
    after, started = len(slack.seen(mentee.user_id)), time.monotonic()
    thanks = f"thanks <@{mentor.user_id}> Thank you for the intro call {marker('thanks', ref)}"
    people.send(lambda d: d.command(mentee.user_id, thanks))
    people.until(
        "the thanks answer", people.new_seen(mentee.user_id, after, "ephemeral", "Sent."), started
    )
    people.until("the thank-you DM", _message_with(slack, mentor.user_id, marker("thanks", ref)))

    # Their mentors (answered in the ack itself), and Home.
    listed = people.send(lambda d: d.command(mentee.user_id, "mentors"))
    people.answered(listed.elapsed)
    mentions = MENTION.findall(listed.body)
    outcome.answer(mentions == [mentor.user_id], f"{mentee.name}'s mentors: {mentions}")
    started = time.monotonic()
    people.send(lambda d: d.open_home(mentee.user_id))
    home = people.until("Home", _home_naming(slack, mentee.user_id, mentor), started)
    others = {m for m in MENTION.findall(home) + PERSON_NAME.findall(home)} - {
        mentor.user_id,
        mentor.name,
        mentee.user_id,
        mentee.name,
    }
    outcome.answer(not others, f"{mentee.name}'s Home also names {sorted(others)}")
    return outcome


def marker(step: str, ref: int) -> str:
    """What a person types into a step of journey `ref`, to find its message again."""
    return f"({step} ref {ref})"


PERSON_NAME = re.compile(r"\b(?:Mentor|Mentee) [A-Z]\d{4}\b")


def _words(seen: Seen) -> str:
    return seen.text + json.dumps(seen.blocks)


def _button(blocks: list, action_id: str, near: str | None = None) -> str | None:
    """The value of the button with this action id (in the section naming `near`, if given)."""
    for block in blocks:
        candidates = [block.get("accessory") or {}, *(block.get("elements") or [])]
        text = json.dumps(block.get("text") or "")
        for element in candidates:
            if element.get("action_id") == action_id and (near is None or near in text):
                return element.get("value")
    return None


def _message_with(
    slack: FakeSlack, user_id: str, marker: str, kind: str = "dm"
) -> Callable[[], Seen | None]:
    def check() -> Seen | None:
        return next(
            (s for s in slack.seen(user_id) if s.kind == kind and marker in _words(s)), None
        )

    return check


def _changed(
    slack: FakeSlack, user_id: str, after: int, message: Seen
) -> Callable[[], Seen | None]:
    """The message as it reads after its first change since `after`."""

    def check() -> Seen | None:
        return next(
            (s for s in slack.seen(user_id)[after:] if s.ts == message.ts and s.updated), None
        )

    return check


def _home_naming(slack: FakeSlack, user_id: str, mentor: Person) -> Callable[[], str | None]:
    def check() -> str | None:
        home = json.dumps(slack.home(user_id) or {})
        return home if mentor.user_id in home or mentor.name in home else None

    return check


def _working_hour(tz: str) -> int:
    """10:00 on the third weekday from now, in the pair's zone."""
    day = datetime.now(ZoneInfo(tz)).date()
    for _ in range(3):
        day += timedelta(days=1)
        while day.weekday() >= 5:
            day += timedelta(days=1)
    return int(datetime.combine(day, clock_time(10), tzinfo=ZoneInfo(tz)).timestamp())


# ----------------------------------------------------------------------------- counting


def count(slack: FakeSlack, world: World, mpims: dict[int, str], report: Report) -> None:
    """From the sandbox: each expected post once, nothing twice, every call in its workspace."""
    team_of = {p.user_id: p.team_id for p in world.mentors}
    team_of |= {j.mentee.user_id: j.mentee.team_id for j in world.journeys}
    conversations = {slack.im_channel(user): team for user, team in team_of.items()}
    for journey in world.journeys:
        if journey.ref in mpims:
            conversations[mpims[journey.ref]] = journey.mentee.team_id
    history = {channel: _bot_posts(slack, channel) for channel in conversations}
    for journey in world.journeys:
        mentor_dm = history[slack.im_channel(journey.mentor.user_id)]
        group = history.get(mpims.get(journey.ref, ""), [])
        found = [
            # Accepting replaces the request's words with the answer, in the same message.
            sum(
                marker("intro", journey.ref) in post
                or f"accepted {journey.mentee.name}'s request" in post
                for post in mentor_dm
            ),
            sum(f"{journey.mentor.name}, meet" in post for post in group),
            sum(marker("session", journey.ref) in post for post in group),
            sum(marker("thanks", journey.ref) in post for post in mentor_dm),
        ]
        report.expected += len(found)
        report.delivered += sum(1 for n in found if n)
        report.lost += sum(1 for n in found if not n)
    report.duplicated = sum(
        n - 1 for posts in history.values() for n in Counter(posts).values() if n > 1
    )
    posting = ("chat.postMessage", "files.completeUploadExternal", "chat.update")
    for call in slack.calls:
        if call.method == "response_url":
            continue
        if not call.response.get("ok", call.status == 200):
            report.refused += 1
            report.problems.append(f"Slack refused {call.method}: {call.response.get('error')}")
            continue
        channel = call.args.get("channel") or call.args.get("channel_id")
        if call.method in posting and conversations.get(channel) != call.team_id:
            report.wrong_token += 1
    for user_id, team in team_of.items():
        seen = " ".join(_words(s) for s in slack.seen(user_id))
        letters = set(PERSON.findall(seen))
        strangers = {u for u in MENTION.findall(seen) if team_of.get(u, team) != team}
        if letters - {world.letters[team]} or strangers:
            report.crossed += 1


def _bot_posts(slack: FakeSlack, channel: str) -> list[str]:
    return [
        m.get("text", "") + json.dumps(m.get("blocks") or [])
        for m in slack.history(channel)
        if m.get("bot_id")
    ]


# ----------------------------------------------------------------------------- putting it together


def run(options: Options, out: IO[str] = sys.stdout, database: Database | None = None) -> Report:
    """Run it all, print the figures to `out`, return them. On `database` (migrated and empty)
    if given, else on a fresh one of `options.database`, dropped afterwards."""
    report = Report()
    started = time.monotonic()
    if database is None and options.database == "postgresql" and not postgres_reachable():
        raise SystemExit("PostgreSQL is not reachable at TEST_POSTGRES_URL; use --database sqlite")
    with (
        tempfile.TemporaryDirectory(prefix="mentor-coach-scaleout-") as folder,
        contextlib.nullcontext(database)
        if database
        else fresh_database(options.database, Path(folder)) as database,
        FakeSlack(SECRET) as slack,
    ):
        world = build_world(slack, options)
        with bot_processes(options, slack, database.url, Path(folder)) as bots:
            install_everywhere(slack, world, bots)
            people = People(slack, bots.urls, options.wait_seconds)
            warm_up(people, world, report)
            acting = time.monotonic()
            mpims = _act(options, people, world, report)
            acted = time.monotonic() - acting
            time.sleep(1.5 * TICK_SECONDS)  # a second send of any row would have landed by now
            posts = [relay.calls["chat.postMessage"] for relay in bots.relays]
        count(slack, world, mpims, report)
        report.requests, report.late_acks = len(people.acks), people.late
        _figures(options, world, people, posts, acted, report)
    report.lines.append(
        f"run: {database.backend}, {options.processes} bot processes, "
        f"{options.concurrency} people at a time, {time.monotonic() - started:.0f} s"
    )
    verdict = "OK" if report.ok else "FAILED"
    report.lines.append(
        f"scale-out {verdict}: {report.requests} requests over {options.processes} processes, "
        f"{report.answers_right}/{report.answers} answers right, {report.delivered}/"
        f"{report.expected} messages once, {report.duplicated} duplicated, {report.lost} lost"
    )
    out.write("".join(line + "\n" for line in report.lines))
    for problem in report.problems[:20]:
        print(f"problem: {problem}", file=sys.stderr)
    out.flush()
    return report


def warm_up(people: People, world: World, report: Report) -> None:
    """As a deploy's first traffic would: each process answers `/mentor help` in each workspace
    once (its first connections, its first look at each install) before the clock starts."""
    for driver in people.drivers:
        for team in world.teams:
            someone = next(m for m in world.mentors if m.team_id == team)
            reply = driver.command(someone.user_id, "help")
            if reply.status != 200 or "/mentor" not in reply.body:
                report.problems.append(f"warm-up in {team}: {reply.status} {reply.body[:200]!r}")
    report.lines.append(
        f"warm-up: `/mentor help` once per process and workspace ({len(people.drivers)} x "
        f"{len(world.teams)}), not counted below"
    )


def _act(options: Options, people: People, world: World, report: Report) -> dict[int, str]:
    """Mentors' profiles first, then every mentee's journey; returns each pair's group DM."""
    mpims: dict[int, str] = {}
    with ThreadPoolExecutor(max_workers=options.concurrency) as pool:
        for phase, items in (
            (mentor_profile, world.mentors),
            (mentee_journey, world.journeys),
        ):
            futures = [(item, pool.submit(phase, people, item)) for item in items]
            for item, future in futures:
                try:
                    outcome = future.result()
                except (Problem, AssertionError) as problem:  # the driver asserts, too
                    report.problems.append(f"{_who(item)}: {problem}")
                    continue
                report.answers += outcome.answers
                report.answers_right += outcome.right
                report.problems += outcome.wrongs
                if outcome.mpim and isinstance(item, Journey):
                    mpims[item.ref] = outcome.mpim
    return mpims


def _who(item: Person | Journey) -> str:
    return item.name if isinstance(item, Person) else f"journey {item.ref} ({item.mentee.name})"


def _figures(
    options: Options, world: World, people: People, posts: list[int], acted: float, report: Report
) -> None:
    members = len(world.mentors) + len(world.journeys)
    report.lines.insert(
        0,
        f"world: {len(world.teams)} workspaces, {members} members "
        f"({len(world.mentors)} mentors, {len(world.journeys)} mentees)",
    )
    served = " / ".join(str(people.served[n]) for n in range(options.processes))
    report.lines.append(
        f"requests: {report.requests} sent round-robin, answered per process {served}, "
        f"{report.late_acks} acked after {ACK_LIMIT:g} s"
    )
    report.lines.append(f"answers: {report.answers} checked, {report.answers_right} correct")
    report.lines.append(
        f"messages: {report.expected} expected, {report.delivered} delivered, "
        f"{report.duplicated} duplicated, {report.lost} lost"
    )
    report.lines.append(
        f"posts per process: {' / '.join(map(str, posts))}; {report.wrong_token} with another "
        f"workspace's token, {report.refused} Slack calls refused"
    )
    report.lines.append(f"privacy: {report.crossed} people saw someone of another workspace")
    acks = sorted(people.acks) or [0.0]
    answers = sorted(people.answer_times) or [0.0]
    report.lines.append(
        f"time: {acted:.1f} s of acting, {report.requests / max(acted, 0.001):.0f} requests/s; "
        f"ack p50 {_ms(acks, 50)}, p95 {_ms(acks, 95)}; "
        f"answer p50 {_ms(answers, 50)}, p95 {_ms(answers, 95)}"
    )


def _ms(values: list[float], percent: int) -> str:
    if len(values) == 1:
        return f"{values[0] * 1000:.0f} ms"
    return f"{statistics.quantiles(values, n=100)[percent - 1] * 1000:.0f} ms"


def main(argv: list[str] | None = None) -> int:
    defaults = Options()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=defaults.processes)
    parser.add_argument("--members", type=int, default=defaults.members)
    parser.add_argument("--workspaces", type=int, default=defaults.workspaces)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default=defaults.database)
    parser.add_argument("--concurrency", type=int, default=defaults.concurrency)
    args = parser.parse_args(argv)
    report = run(Options(**vars(args)))
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
