"""The hostile-input catalogue (hostile_inputs.json), played through the sandbox against the bot.

Every case is one thing a person (or a forger) can send: a /mentor command, a modal submission,
a button click with any value, a DM or a raw event. Each must get a clear answer (not the generic
apology, not a Slack error), leave the database as it was unless the case is valid, and never make
the bot post anything that pings a channel or someone the bot did not mean to mention.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Engine, insert, select

from bot.core import ids
from bot.core.blocks import build_error_reply
from bot.core.models import Base, Meeting, MeetingStatus, Member, MentorRequest, Pairing, Success
from sandbox import FakeSlack, SlackDriver
from sandbox.driver import Reply

CATALOGUE = Path(__file__).with_name("hostile_inputs.json")
GENERIC_APOLOGY = build_error_reply()["text"]
# A user id no workspace has: hostile text mentions it, and it must never come out as a mention.
CANARY = "U0CANARY"
PINGS = ("<!channel", "<!here", "<!everyone", "<!subteam^")
MENTIONS = (f"<@{CANARY}", "<@W0CANARY")
SHARED = {"chat.postMessage", "chat.update", "chat.scheduleMessage"}
# Event bookkeeping (ids of events already handled) changes with every event by design.
UNWATCHED_TABLES = {"processed_event"}
FIRST_SESSION_HOUR = 8  # UTC on the day after the sandbox clock starts: good for Lagos and Tokyo
PLACEHOLDER = re.compile(r"\$\{(.+?)(?:\*(\d+))?\}", re.DOTALL)
ID_PLACEHOLDER = re.compile(r"#\$\{(\w+)\}")


class Bot(Protocol):
    """What the runner needs: tests/conftest.Bot and benchmarks.harness.Bot both have it."""

    slack: FakeSlack
    driver: SlackDriver
    database: Any
    clock: Any

    def deliver(self) -> int: ...


@dataclass
class CatalogueReport:
    tried: int = 0
    handled: int = 0
    problems: list[str] = field(default_factory=list)
    answers: dict[str, str] = field(default_factory=dict)  # case -> what the person was told

    def __str__(self) -> str:
        return f"hostile inputs: {self.tried} tried, {self.handled} handled"


def load_catalogue(path: Path = CATALOGUE) -> list[dict[str, Any]]:
    return json.loads(path.read_text(encoding="utf-8"))["cases"]


def run_catalogue(bot: Bot, cases: list[dict[str, Any]] | None = None) -> CatalogueReport:
    """Build a small world, then play every case against it, restoring it after valid ones.

    Adds its own people to the sandbox and moves the clock on a day; other rows may exist."""
    cases = load_catalogue() if cases is None else cases
    world = build_world(bot)
    baseline = snapshot(bot.database.engine)
    report = CatalogueReport()
    with _ErrorLog() as errors:
        for case in cases:
            report.tried += 1
            played = play(bot, world, case, baseline, errors)
            report.answers[case["name"]] = played.said
            if played.problems:
                report.problems.append(f"{case['name']}: {'; '.join(played.problems)}")
            else:
                report.handled += 1
            if played.changed:
                restore(bot.database.engine, baseline)
            for person in world.people.values():
                while bot.slack.open_modal(person) is not None:
                    bot.slack.close_modal(person)
    return report


# ----------------------------------------------------------------- the world


@dataclass
class World:
    people: dict[str, str]  # role in the catalogue -> Slack user id
    values: dict[str, str]  # every ${placeholder}


def build_world(bot: Bot) -> World:
    """Two mentors, three mentees, a pair with past, next and cancelled sessions, a pending and a
    withdrawn request, a success, a block, today's thank-you; and people who are not members."""
    slack, driver = bot.slack, bot.driver
    people = {
        "mentor": _profile(bot, "Amara", "Africa/Lagos", ids.ROLE_MENTOR, "Public speaking"),
        "mentor2": _profile(bot, "Bruno", "America/Sao_Paulo", ids.ROLE_MENTOR, "Python"),
        "mentee": _profile(bot, "Kenji", "Asia/Tokyo", ids.ROLE_MENTEE, "Public speaking"),
        "mentee2": _profile(bot, "Lina", "Europe/Berlin", ids.ROLE_MENTEE, "Python"),
        "mallory": _profile(bot, "Mallory", "UTC", ids.ROLE_MENTEE, "Python"),
        "stranger": slack.add_user("Nadia", real_name="Nadia Example", tz="Asia/Kolkata"),
        "bot_user": slack.add_user("Helperbot", real_name="Helper Bot", tz="UTC", is_bot=True),
        "gone": slack.add_user("Gone", real_name="Gone Away", tz="UTC", deleted=True),
    }
    mentor, mentor2, mentee = people["mentor"], people["mentor2"], people["mentee"]
    mentee2, mallory = people["mentee2"], people["mallory"]
    member = _members(bot)

    accepted = _ask(bot, mentee, member[mentor], "public speaking")
    _expect(driver.forged_click(mentor, ids.ACCEPT_REQUEST_ACTION, str(accepted)), "accept")
    pending = _ask(bot, mentee2, member[mentor2], "python")
    withdrawn = _ask(bot, mallory, member[mentor2], "python")
    _expect(driver.forged_click(mallory, ids.WITHDRAW_REQUEST_ACTION, str(withdrawn)), "withdraw")
    _expect(driver.command(mentor, f"block <@{mallory}>"), "block")
    bot.deliver()

    pairing = _one(bot, select(Pairing.id).where(Pairing.mentee_id == member[mentee]))
    first = bot.clock().replace(hour=FIRST_SESSION_HOUR, minute=0) + timedelta(days=1)
    for day in range(3):
        _expect(driver.forged_click(mentee, ids.SCHEDULE_SESSION_ACTION, str(pairing)), "book")
        when = int((first + timedelta(days=day)).timestamp())
        _expect(driver.submit(mentee, {ids.WHEN_ACTION: when}), "book")
    meetings = bot_rows(
        bot, select(Meeting.id).where(Meeting.pairing_id == pairing).order_by(Meeting.starts_at)
    )
    held, upcoming, cancelled = meetings
    _expect(driver.forged_click(mentee, ids.CANCEL_MEETING_ACTION, str(cancelled)), "cancel")
    _expect(driver.submit(mentee, {}), "cancel")
    bot.deliver()

    bot.clock.advance(first + timedelta(minutes=90) - bot.clock())
    bot.deliver()  # the check-in for the first session, and the prep prompt for the next
    _expect(driver.forged_click(mentee, ids.CHECKIN_HELD_ACTION, str(held)), "check-in")
    _expect(driver.submit(mentee, {ids.ADVICE_ACTION: "Practise the opening aloud"}), "advice")
    _expect(driver.command(mentee, "success I gave my first talk!"), "success")
    _expect(driver.submit(mentee, {}), "success")
    _expect(driver.command(mentee2, f"thanks <@{mentor2}> Thanks for the pointers!"), "thanks")
    for user in (mentor, mentor2, mentee, mentee2, mallory):
        # A day has passed: each person's next touch would refresh them from users.info.
        _expect(driver.command(user, "help"), "refresh")
    bot.deliver()

    status = dict(bot_rows(bot, select(Meeting.id, Meeting.status).where(Meeting.id.in_(meetings))))
    wanted = {held: MeetingStatus.HELD, upcoming: MeetingStatus.SCHEDULED}
    if status != {**wanted, cancelled: MeetingStatus.CANCELLED}:
        raise RuntimeError(f"setting up the hostile-input world left meetings at {status}")
    values = {
        **people,
        **{
            f"{role}_dm": slack.im_channel(user)
            for role, user in people.items()
            if role != "bot_user"
        },
        **{f"{role}_member": str(member[user]) for role, user in people.items() if user in member},
        "canary": CANARY,
        "request_accepted": str(accepted),
        "request_pending": str(pending),
        "request_withdrawn": str(withdrawn),
        "pairing": str(pairing),
        "meeting_held": str(held),
        "meeting_next": str(upcoming),
        "meeting_cancelled": str(cancelled),
        "success": str(_one(bot, select(Success.id).where(Success.author_id == member[mentee]))),
        "huge": "9" * 30,
    }
    return World(people, values)


def _profile(bot: Bot, name: str, tz: str, role: str, topics: str) -> str:
    user = bot.slack.add_user(name, real_name=f"{name} Example", tz=tz)
    _expect(bot.driver.command(user, "profile"), "profile")
    fields: dict[str, Any] = {ids.PROFILE_ROLES_ACTION: [role]}
    if role == ids.ROLE_MENTOR:
        fields |= {ids.PROFILE_OFFERED_ACTION: topics, ids.PROFILE_BACKGROUND_ACTION: "Speaker."}
    else:
        fields |= {
            ids.PROFILE_SOUGHT_ACTION: topics,
            ids.PROFILE_GOALS_ACTION: f"Get good at {topics}.",
        }
    _expect(bot.driver.submit(user, fields), "profile")
    return user


def _ask(bot: Bot, mentee: str, mentor_member: int, topic: str) -> int:
    value = json.dumps({"m": mentor_member, "q": topic})
    _expect(bot.driver.forged_click(mentee, ids.ASK_INTRO_ACTION, value), "ask")
    _expect(
        bot.driver.submit(mentee, {ids.INTRO_NOTE_ACTION: "I'd love your help with this."}), "ask"
    )
    return max(bot_rows(bot, select(MentorRequest.id)))


def _members(bot: Bot) -> dict[str, int]:
    return dict(bot_rows(bot, select(Member.slack_user_id, Member.id)))


def _one(bot: Bot, query: Any) -> Any:
    (value,) = bot_rows(bot, query)
    return value


def bot_rows(bot: Bot, query: Any) -> list[Any]:
    with bot.database.engine.connect() as connection:
        return [row[0] if len(row) == 1 else tuple(row) for row in connection.execute(query)]


def _expect(reply: Reply, step: str) -> None:
    if reply.status != 200 or reply.slack_error:
        raise RuntimeError(f"setting up the hostile-input world failed at {step}: {reply}")


# ----------------------------------------------------------------- one case


@dataclass(frozen=True)
class Played:
    problems: list[str]
    said: str  # the first thing the person was told
    changed: bool  # the database differs from the world's


def play(
    bot: Bot, world: World, case: dict[str, Any], baseline: dict[str, list], errors: _ErrorLog
) -> Played:
    """Play one case and check what the person was told, what the bot posted, what it stored."""
    case = expand(case, world.values)
    actor = world.people[case.get("as", "mentee")]
    seen_before = len(bot.slack.seen(actor))
    calls_before = len(bot.slack.calls)
    errors.clear()
    reply = send(bot, world, actor, case)
    expect = case["expect"]
    if expect == "accepted":
        bot.deliver()
    calls = bot.slack.calls[calls_before:]
    posted = [text for call in calls for text in rendered(call.args)]
    posted += rendered(reply.json or reply.body)
    # A mention only notifies in a real message; in the actor's own ephemeral or modal it can't.
    shared = [text for call in calls if call.method in SHARED for text in rendered(call.args)]
    answer = [s for s in bot.slack.seen(actor)[seen_before:] if not s.from_slack]
    problems = []
    if errors.records:
        problems.append(f"error logged: {errors.records[0]}")
    if reply.status != 200 or reply.slack_error:
        problems.append(f"HTTP {reply.status} {reply.slack_error or ''} {reply.body[:200]!r}")
    if any(GENERIC_APOLOGY in text for text in posted):
        problems.append("got the generic apology")
    pings = [p for p in PINGS if any(p in text for text in posted)]
    pings += [p for p in MENTIONS if any(p in text for text in shared)]
    if pings:
        problems.append(f"the bot posted {pings}")
    said = _ack_said(reply) or (answer[0].text or f"({answer[0].kind})" if answer else "")
    if expect == "ignored" and answer:
        problems.append(f"expected silence, {actor} saw {said[:100]!r}")
    if expect != "ignored" and not said:
        problems.append("no answer")
    changed = _changed_tables(baseline, snapshot(bot.database.engine))
    if changed and expect != "accepted":
        problems.append(f"database changed: {', '.join(changed)}")
    return Played(problems, said, bool(changed))


def send(bot: Bot, world: World, actor: str, case: dict[str, Any]) -> Reply:
    driver = bot.driver
    if "command" in case:
        return driver.command(actor, case["command"])
    if "click" in case:
        return driver.forged_click(actor, case["click"], case.get("value", ""))
    if "submit" in case:
        meta = case.get("meta", {})
        if isinstance(meta, dict):
            response_url = bot.slack.new_response_url(actor, bot.slack.im_channel(actor))
            meta = json.dumps({"r": response_url, **meta})
        view = {
            "callback_id": case["submit"],
            "private_metadata": meta,
            "state": {"values": _state(case.get("fields", {}))},
        }
        return driver.forged_submission(actor, view)
    if "dm" in case:
        driver.dm(actor, case["dm"])
        return driver.last_reply or Reply(200, "", None)
    if "event" in case:
        return driver.send_event(
            {"channel": world.values[f"{_role(world, actor)}_dm"], **case["event"]}
        )
    raise ValueError(f"case {case['name']!r} sends nothing")


def _role(world: World, user: str) -> str:
    return next(role for role, person in world.people.items() if person == user)


def _state(fields: dict[str, Any]) -> dict[str, Any]:
    """Fields given as "block.action": text, or a whole element state, as Slack submits them."""
    values: dict[str, Any] = {}
    for key, value in fields.items():
        block, _, action = key.partition(".")
        state = value if isinstance(value, dict) else {"type": "plain_text_input", "value": value}
        values.setdefault(block, {})[action] = state
    return values


def rendered(value: Any, key: str = "") -> list[str]:
    """Every text Slack would show from a call's arguments; button values and private_metadata
    are data nobody reads, so a ping hiding there pings nobody."""
    if isinstance(value, str) and value[:1] in "{[" and key not in ("text", "value"):
        try:
            return rendered(json.loads(value), key)
        except ValueError:
            pass
    if isinstance(value, str):
        return [value] if key in ("text", "fallback") or key == "" else []
    if isinstance(value, list):
        return [text for item in value for text in rendered(item, key)]
    if isinstance(value, dict):
        return [text for k, item in value.items() for text in rendered(item, k)]
    return []


def _ack_said(reply: Reply) -> str:
    """What a submission's ack said: inline errors, or the text of a new view."""
    body = reply.json or {}
    if isinstance(body.get("errors"), dict):
        return " ".join(str(error) for error in body["errors"].values())
    if body.get("response_action") == "update":
        return " ".join(rendered(body.get("view"))) or "(a new view)"
    return ""


def expand(value: Any, values: dict[str, str]) -> Any:
    """${name} is a world value; ${text*N} is that text N times; "#${name}" alone is that id as a
    JSON number, as the bot itself writes ids into private_metadata and button values."""
    if isinstance(value, str):
        whole_id = ID_PLACEHOLDER.fullmatch(value)
        if whole_id:
            return int(values[whole_id.group(1)])
        return PLACEHOLDER.sub(
            lambda m: m.group(1) * int(m.group(2)) if m.group(2) else values[m.group(1)], value
        )
    if isinstance(value, list):
        return [expand(item, values) for item in value]
    if isinstance(value, dict):
        return {key: expand(item, values) for key, item in value.items()}
    return value


# ----------------------------------------------------------------- the database, before and after


def snapshot(engine: Engine) -> dict[str, list]:
    with engine.connect() as connection:
        return {
            table.name: sorted((tuple(row) for row in connection.execute(select(table))), key=repr)
            for table in Base.metadata.sorted_tables
            if table.name not in UNWATCHED_TABLES
        }


def restore(engine: Engine, baseline: dict[str, list]) -> None:
    """Put every table back as it was: cheaper than building the world again."""
    tables = [t for t in Base.metadata.sorted_tables if t.name not in UNWATCHED_TABLES]
    with engine.begin() as connection:
        for table in reversed(tables):
            connection.execute(table.delete())
        for table in tables:
            rows = [
                dict(zip(table.columns.keys(), row, strict=True)) for row in baseline[table.name]
            ]
            if rows:
                connection.execute(insert(table), rows)


def _changed_tables(before: dict[str, list], after: dict[str, list]) -> list[str]:
    return [name for name in before if before[name] != after.get(name)]


class _ErrorLog(logging.Handler):
    """Collects error log lines (the one error handler logs every unhandled exception)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record.getMessage()[:300])

    def clear(self) -> None:
        self.records = []

    def __enter__(self) -> _ErrorLog:
        root = logging.getLogger()
        self._level = root.level
        root.setLevel(min(root.level, logging.ERROR))
        root.addHandler(self)
        return self

    def __exit__(self, *exc_info: object) -> None:
        root = logging.getLogger()
        root.removeHandler(self)
        root.setLevel(self._level)
