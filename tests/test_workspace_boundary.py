"""Two workspaces on one bot: someone in Alpha tries every command, click, form, event and Home
with what belongs to the other workspace, and sees nothing of it, changes nothing of it, and
makes the bot post nothing into it.

The other workspace is the hostile-input catalogue's world (benchmarks/hostile.py): a pair with
held, upcoming and cancelled sessions, pending and accepted requests, a success, a block; plus a
matching round and an agenda item written in a DM. Alpha has its own mentor, mentee and admin.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, or_, select

from benchmarks.harness import Database
from benchmarks.hostile import GENERIC_APOLOGY, World, build_world, expand, rendered, send
from benchmarks.installs import OAuthBot, running_oauth_bot
from bot.core import ids
from bot.core.database import make_session_factory
from bot.core.members import workspace_for
from bot.core.models import (
    AgendaItem,
    Base,
    MatchingRound,
    Meeting,
    Member,
    MentorRequest,
    OutboxMessage,
    OutboxStatus,
    Pairing,
    Workspace,
)
from bot.core.outbox import enqueue
from bot.program.controls import forget_me
from sandbox.clock import ManualClock

START = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
PROFILED = ("mentor", "mentor2", "mentee", "mentee2", "mallory")  # the other side's members

WHEN = {"type": "datetimepicker", "selected_date_time": 1796198400}
THEIRS = {"type": "static_select", "selected_option": {"value": "${mentor_member}"}}
DM_EVENT = {"type": "message", "channel_type": "im", "channel": "${mentee_dm}", "ts": "5.1"}
EDITED = {"type": "message", "user": "${ana}", "text": "Mine now", "ts": "${item}"}

# Alpha's person -> what they try. Values name the other workspace's rows as the hostile world
# does (${pairing}, #${meeting_next} for a JSON number, ...).
CASES: list[dict[str, Any]] = [
    # Commands: mentions of people over there, and everything that lists or counts people.
    *({"as": "ana", "command": word} for word in ("help", "profile", "pause 3", "resume")),
    {"as": "ana", "command": "find public speaking"},
    {"as": "ana", "command": "mentors"},
    {"as": "zoe", "command": "mentees"},
    {"as": "ana", "command": "thanks <@${mentor}> Thank you for everything"},
    {"as": "ana", "command": "thanks <@${mentor}>"},
    {"as": "ana", "command": "schedule <@${mentor}>"},
    {"as": "ana", "command": "block <@${mentor}>"},
    {"as": "ana", "command": "unblock <@${mallory}>"},
    {"as": "ana", "command": "end <@${mentor}> Thanks for all of it"},
    {"as": "ana", "command": "success We shipped it"},
    {"as": "ana", "command": "my-data"},
    {"as": "ada", "command": "admin"},
    {"as": "ada", "command": "admin export"},
    {"as": "ada", "command": "admin round"},
    {"as": "ada", "command": "admin forget <@${mentee}>"},
    # Buttons carrying the other workspace's ids.
    {"as": "zoe", "click": ids.ACCEPT_REQUEST_ACTION, "value": "${request_pending}"},
    {"as": "zoe", "click": ids.DECLINE_REQUEST_ACTION, "value": "${request_pending}"},
    {"as": "ana", "click": ids.WITHDRAW_REQUEST_ACTION, "value": "${request_pending}"},
    {"as": "ana", "click": ids.ASK_INTRO_ACTION, "value": '{"m": ${mentor_member}}'},
    {"as": "ana", "click": ids.FIND_MORE_ACTION, "value": '{"q": "public speaking", "p": 1}'},
    {"as": "ana", "click": ids.WISH_ACTION, "value": '{"q": "python"}'},
    {"as": "ana", "click": ids.SCHEDULE_SESSION_ACTION, "value": "${pairing}"},
    *(
        {"as": "ana", "click": action, "value": "${meeting_next}"}
        for action in (
            ids.RESCHEDULE_ACTION,
            ids.CANCEL_MEETING_ACTION,
            ids.ADD_TOPICS_ACTION,
            ids.NOTHING_THIS_TIME_ACTION,
        )
    ),
    *(
        {"as": "ana", "click": action, "value": "${meeting_held}"}
        for action in (
            ids.CHECKIN_HELD_ACTION,
            ids.CHECKIN_RESCHEDULED_ACTION,
            ids.CHECKIN_MISSED_ACTION,
            ids.OPEN_ADVICE_ACTION,
            ids.THANKS_ACTION,
            ids.FOLLOWUP_WORKED_ACTION,
            ids.FOLLOWUP_WORKING_ACTION,
            ids.FOLLOWUP_DIDNT_FIT_ACTION,
            ids.SHARE_SUCCESS_ACTION,
        )
    ),
    {"as": "zoe", "click": ids.MENTOR_NOTE_ACTION, "value": "${meeting_held}"},
    {"as": "ana", "click": ids.KEEP_GOING_ACTION, "value": "${pairing}"},
    {"as": "ana", "click": ids.END_PAIRING_ACTION, "value": "${pairing}"},
    {"as": "ana", "click": ids.REMOVE_SUCCESS_ACTION, "value": "${success}"},
    {"as": "ana", "click": ids.LAST_THANKS_ACTION, "value": "${mentor}"},
    {"as": "ada", "click": ids.ADMIN_NUDGE_ACTION, "value": "${pairing}"},
    {"as": "ada", "click": ids.ROUND_APPROVE_ACTION, "value": "${round}"},
    {"as": "ada", "click": ids.ROUND_DISCARD_ACTION, "value": "${round}"},
    {"as": "zoe", "click": ids.OPEN_PROFILE_ACTION, "value": ""},
    {"as": "ana", "click": ids.BECOME_MENTOR_ACTION, "value": ""},
    # Forms whose private_metadata (or a select) names the other workspace's rows.
    *(
        {"as": who, "submit": callback, "meta": meta, "fields": fields}
        for who, callback, meta, fields in (
            ("ana", "intro", {"m": "#${mentor_member}"}, {"intro_note.note": "Hi"}),
            ("zoe", "decline", {"id": "#${request_pending}"}, {}),
            ("ana", "schedule", {"p": "#${pairing}"}, {"meeting_when.when": WHEN}),
            ("ana", "schedule", {"m": "#${meeting_next}"}, {"meeting_when.when": WHEN}),
            ("ana", "cancel_meeting", {"m": "#${meeting_next}"}, {}),
            ("ana", "agenda", {"m": "#${meeting_next}"}, {"agenda_items.items": "Slides"}),
            ("ana", "advice", {"m": "#${meeting_held}"}, {"advice_items.items": "Breathe"}),
            ("ana", "thanks", {"to": "${mentor}"}, {"thanks_text.text": "Thanks!"}),
            ("ana", "thanks", {"m": "#${meeting_held}"}, {"thanks_text.text": "Thanks!"}),
            ("zoe", "mentor_note", {"m": "#${meeting_held}"}, {"mentor_note_text.text": "Yes"}),
            ("ana", "success", {}, {"success_text.text": "Done", "success_mentor.mentor": THEIRS}),
        )
    ),
    # Events: the other workspace's DM agenda item, edited and deleted; a DM; Home.
    {"as": "ana", "event": {**DM_EVENT, "subtype": "message_changed", "message": EDITED}},
    {"as": "ana", "event": {**DM_EVENT, "subtype": "message_deleted", "deleted_ts": "${item}"}},
    {"as": "ana", "dm": "What should I ask about public speaking?"},
    {"as": "ana", "event": {"type": "app_home_opened", "user": "${ana}", "tab": "home"}},
    {"as": "ada", "event": {"type": "app_home_opened", "user": "${ada}", "tab": "home"}},
    # Last, as it forgets the person who clicks: the other workspace's rows stay as they were.
    {"as": "ada", "command": "forget-me"},
    {"as": "ada", "click": ids.FORGET_ME_ACTION, "value": ""},
]  # fmt: skip


@dataclass
class Boundary:
    bot: OAuthBot
    alpha: str  # team id
    other: str  # the hostile world's team id
    world: World  # both sides' people and the other side's row ids
    wins: dict[str, str]  # team id -> its success channel


@pytest.fixture
def boundary(database: Database) -> Iterator[Boundary]:
    clock = ManualClock(START)
    with running_oauth_bot(database, clock, success_channel="#wins") as bot:
        slack, driver = bot.slack, bot.driver
        other = slack.team_id
        alpha = slack.add_team("Alpha Co")
        wins = {}
        for team in (other, alpha):
            bot.save_installation(team)
            bot_user = slack.team(team)["bot_user_id"]
            wins[team] = slack.add_channel("wins", members=[bot_user], team_id=team)
        world = build_world(bot)
        # An admin's round over there, and an agenda item typed in a DM after a prep prompt.
        slack.set_admin(world.people["mentor2"])
        driver.command(world.people["mentor2"], "admin round")
        world.values["round"] = str(_one(bot, select(MatchingRound.id)))
        world.values["item"] = driver.dm(world.people["mentee"], "How do I open strongly?")
        _one(bot, select(AgendaItem.id).where(AgendaItem.source_ts == world.values["item"]))

        people = {
            name: slack.add_user(
                name.title(), real_name=f"{name.title()} Alpha", tz=tz, team_id=alpha
            )
            for name, tz in (
                ("ana", "Europe/Paris"),
                ("zoe", "Europe/Paris"),
                ("yara", "UTC"),
                ("ada", "UTC"),
            )
        }
        slack.set_admin(people["ada"])
        for mentor, topics in (("zoe", "Public speaking"), ("yara", "Public speaking, Python")):
            _profile(bot, people[mentor], ids.ROLE_MENTOR, ids.PROFILE_OFFERED_ACTION, topics)
        _profile(bot, people["ana"], ids.ROLE_MENTEE, ids.PROFILE_SOUGHT_ACTION, "Public speaking")
        zoe = _one(bot, select(Member.id).where(Member.slack_user_id == people["zoe"]))
        driver.forged_click(people["ana"], ids.ASK_INTRO_ACTION, json.dumps({"m": zoe}))
        driver.submit(people["ana"], {ids.INTRO_NOTE_ACTION: "Could you help me?"})
        asked = _one(bot, select(MentorRequest.id).where(MentorRequest.mentor_id == zoe))
        driver.forged_click(people["zoe"], ids.ACCEPT_REQUEST_ACTION, str(asked))
        bot.deliver()
        world.people |= people
        world.values |= people | {f"{n}_dm": slack.im_channel(u) for n, u in people.items()}
        yield Boundary(bot, alpha, other, world, wins)


def _profile(bot: OAuthBot, user: str, role: str, field: str, topics: str) -> None:
    bot.driver.command(user, "profile")
    fields = {ids.PROFILE_ROLES_ACTION: [role], field: topics}
    bot.driver.submit(user, fields | {ids.PROFILE_GOALS_ACTION: "Speak at a conference."})


def _one(bot: OAuthBot, query: Any) -> Any:
    with bot.database.engine.connect() as connection:
        return connection.execute(query).scalar_one()


def _finds_and_shares_in_its_own_workspace(boundary: Boundary) -> None:
    bot, people, slack = boundary.bot, boundary.world.people, boundary.bot.slack
    ana, wins = people["ana"], boundary.wins
    bot.driver.command(people["mentee2"], "find python")  # the other side's own find
    theirs = slack.seen(people["mentee2"])[-1].text
    bot.driver.command(ana, "find public speaking")
    ours = slack.seen(ana)[-1].text
    assert "Yara" in ours and "Amara" not in ours, ours
    assert "Bruno" in theirs and "Yara" not in theirs, theirs

    bot.driver.command(ana, "success We shipped the talk")
    bot.driver.submit(ana, {ids.SUCCESS_SCOPE_ACTION: "public"})
    already = len(slack.history(wins[boundary.other]))
    bot.clock.advance(timedelta(minutes=5))
    bot.deliver()
    # The admin's numbers and export are this workspace's: Ana, Zoe and Yara, one pair.
    bot.driver.command(people["ada"], "admin")
    overview = slack.seen(people["ada"])[-1].text
    assert overview.startswith("Your program: 3 members, 1 active pairs"), overview
    bot.driver.command(people["ada"], "admin export")
    (export,) = slack.files(people["ada"])
    assert b"Zoe" in export["content"] and b"Amara" not in export["content"]
    shared = [m for m in slack.history(wins[boundary.alpha]) if "shipped" in json.dumps(m)]
    assert len(shared) == 1 and len(slack.history(wins[boundary.other])) == already
    posts = [c for c in slack.calls_to("chat.postMessage") if "shipped" in json.dumps(c.args)]
    assert {c.team_id for c in posts} == {boundary.alpha}


def test_one_workspace_sees_changes_and_gets_posted_nothing_of_the_other(boundary: Boundary):
    bot, world = boundary.bot, boundary.world
    _finds_and_shares_in_its_own_workspace(boundary)
    engine = bot.database.engine
    other_id = _one(bot, select(Workspace.id).where(Workspace.team_id == boundary.other))
    theirs_now = Rows(engine, other_id)
    before = theirs_now()
    secrets = _their_words(boundary)
    problems: list[str] = []
    for case in CASES:
        case = expand(case, world.values)
        actor = world.people[case["as"]]
        seen, calls = len(bot.slack.seen(actor)), len(bot.slack.calls)
        if "event" in case:  # from the actor's workspace, whoever the event names
            reply = bot.driver.send_event(case["event"], team_id=bot.slack.team_of(actor))
        else:
            reply = send(bot, world, actor, case)
        typed = json.dumps(case)
        what = typed[:120]
        said = [
            t for s in bot.slack.seen(actor)[seen:] for t in rendered([s.text, s.blocks, s.view])
        ]
        said += rendered(reply.json or reply.body)
        # Repeating what they typed (a mention, say) tells them nothing new.
        told = [
            word
            for word in secrets
            if any(re.search(word, text) for text in said) and not re.search(word, typed)
        ]
        if told:
            problems.append(f"{what}: {case['as']} was shown {told}")
        if any(GENERIC_APOLOGY in text for text in said) or reply.status != 200:
            problems.append(f"{what}: failed ({reply.status}) instead of answering")
        theirs = [c.method for c in bot.slack.calls[calls:] if c.team_id == boundary.other]
        if theirs:
            problems.append(f"{what}: called Slack in the other workspace: {theirs}")
        if (after := theirs_now()) != before:
            changed = [name for name in before if before[name] != after.get(name)]
            problems.append(f"{what}: changed the other workspace's {changed}")
            before = after
    calls = len(bot.slack.calls)
    bot.deliver()
    theirs = [c.method for c in bot.slack.calls[calls:] if c.team_id == boundary.other]
    assert not problems, "\n".join(problems)
    assert not theirs, f"delivery sent {theirs} into the other workspace"


def test_forgetting_someone_leaves_their_namesake_in_another_workspace_alone(database: Database):
    """In an Enterprise Grid org one Slack id is in several workspaces: forget-me in one must not
    cancel or rewrite the group DMs queued for the same id in another."""
    sessions = make_session_factory(database.engine)
    with sessions.begin() as session:
        for team in ("T0ONE", "T0TWO"):
            workspace = workspace_for(session, team, START)
            for user in ("W0SHARED", f"W0{team[-3:]}"):
                session.add(
                    Member(
                        workspace_id=workspace.id,
                        slack_user_id=user,
                        created_at=START,
                        updated_at=START,
                    )
                )
            session.flush()
            enqueue(
                session,
                workspace_id=workspace.id,
                kind="introduction",
                dedupe_key=f"intro:{team}",
                due_at=START,
                now=START,
                group=["W0SHARED", f"W0{team[-3:]}"],
            )
    with sessions.begin() as session:
        forget_me(session, "T0ONE", "W0SHARED", START)
    with sessions.begin() as session:
        rows = dict(
            session.execute(
                select(OutboxMessage.dedupe_key, OutboxMessage.status).order_by(OutboxMessage.id)
            ).all()
        )
        groups = set(session.scalars(select(OutboxMessage.recipient_group)))
    assert rows == {"intro:T0ONE": OutboxStatus.CANCELLED, "intro:T0TWO": OutboxStatus.PENDING}
    assert "W0SHARED,W0TWO" in groups


class Rows:
    """Every row of one workspace: its own, and any row pointing at its members, pairs,
    sessions, requests or rounds as they are now (a row of ours pointing there is a leak too)."""

    def __init__(self, engine: Engine, workspace_id: int) -> None:
        self.engine = engine
        with engine.connect() as connection:
            owned = {"workspace": {workspace_id}}
            for model in (Member, Pairing, MentorRequest, MatchingRound):
                query = select(model.id).where(model.workspace_id == workspace_id)
                owned[model.__tablename__] = set(connection.scalars(query))
            query = select(Meeting.id).where(Meeting.pairing_id.in_(owned["pairing"]))
            owned["meeting"] = set(connection.scalars(query))
        self.queries = {}
        for table in Base.metadata.sorted_tables:
            pointing = [
                key.parent.in_(owned[key.column.table.name])
                for key in table.foreign_keys
                if key.column.table.name in owned
            ]
            if table.name in owned:
                pointing.append(table.c.id.in_(owned[table.name]))
            if pointing:
                self.queries[table.name] = select(table).where(or_(*pointing))

    def __call__(self) -> dict[str, list]:
        with self.engine.connect() as connection:
            return {
                name: sorted((tuple(row) for row in connection.execute(query)), key=repr)
                for name, query in self.queries.items()
            }


def _their_words(boundary: Boundary) -> list[str]:
    """What would give the other workspace away: its members' names, Slack ids and DMs."""
    values, slack = boundary.world.values, boundary.bot.slack
    words = [rf"\b{re.escape(slack.user(values[role])['name'])}\b" for role in PROFILED]
    words += [
        re.escape(values[key])
        for key in values
        if key in PROFILED or (key.endswith("_dm") and key[: -len("_dm")] in PROFILED)
    ]
    return words
