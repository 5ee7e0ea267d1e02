"""Find at scale: statements per find and per Home open do not grow with the workspace, the
index follows profile changes, and its top three equal the full ranking's."""

from __future__ import annotations

import random
from contextlib import contextmanager

from sqlalchemy import event, select

from benchmarks.harness import find_user, seed_find_workspace
from bot.core import ids
from bot.core.models import Topic
from bot.core.quiet_hours import quiet_window
from bot.find.candidates import awake_hours, forget_indexes
from bot.find.finding import (
    NeedsGoals,
    exclusions_for,
    find_mentors,
    goal_for,
    load_candidates,
    seeker_with_topics,
    wanted_topics,
)
from bot.find.matching import Seeker, rank_mentors, topic_key
from tests.conftest import START

FIND_LIMIT = 8
# Home stays below find's limit: the calendar links may need a statement of their own.
HOME_LIMIT = 7


@contextmanager
def counting(engine):
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        # Queries and writes; SQLite's explicit BEGIN IMMEDIATE is transaction control.
        if not statement.startswith("BEGIN"):
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def seeded(bot, first, count):
    seed = seed_find_workspace(bot.database.sessions, bot.slack.team_id, first, count, START)
    forget_indexes(bot.database.engine)  # bulk inserts bypass the change log
    return seed


def test_find_and_home_take_few_statements_whatever_the_size(bot):
    seeker = bot.slack.add_user(
        "Seeker", real_name="Seeker", tz="Europe/Berlin", user_id=find_user(1)
    )
    found, homes = [], []
    for first, count in ((0, 60), (60, 540)):
        seeded(bot, first, count)
        bot.driver.command(seeker, "find public speaking")  # builds this process's index
        with counting(bot.database.engine) as statements:
            bot.driver.command(seeker, "find public speaking")
        assert "Ask for an intro" in str(bot.slack.seen(seeker)[-1].blocks)
        found.append(len(statements))
        with counting(bot.database.engine) as statements:
            bot.driver.open_home(seeker)
        assert bot.slack.home(seeker) is not None
        homes.append(len(statements))
    assert found[0] == found[1] <= FIND_LIMIT, found
    assert homes[0] == homes[1] <= HOME_LIMIT, homes


def test_the_index_follows_profile_changes(bot):
    seeker = bot.slack.add_user(
        "Seeker", real_name="Seeker", tz="Europe/Berlin", user_id=find_user(1)
    )
    seeded(bot, 0, 60)
    bot.driver.command(seeker, "find public speaking")
    assert "Nadia" not in str(bot.slack.seen(seeker)[-1].blocks)
    # A new mentor whose story is the seeker's goal, in the seeker's zone: first from now on.
    with bot.database.sessions.begin() as session:
        goals = seeker_with_topics(session, bot.slack.team_id, seeker, START).goals
    nadia = bot.slack.add_user("Nadia", real_name="Nadia Example", tz="Europe/Berlin")
    bot.driver.command(nadia, "profile")
    bot.driver.submit(
        nadia,
        {
            ids.PROFILE_ROLES_ACTION: [ids.ROLE_MENTOR],
            ids.PROFILE_OFFERED_ACTION: "Public speaking",
            ids.PROFILE_BACKGROUND_ACTION: goals,
            ids.PROFILE_CAPACITY_ACTION: "5",
        },
    )
    bot.driver.command(seeker, "find public speaking")
    blocks = bot.slack.seen(seeker)[-1].blocks
    assert "Nadia" in blocks[1]["text"]["text"], blocks
    bot.driver.command(nadia, "pause")
    bot.driver.command(seeker, "find public speaking")
    assert "Nadia" not in str(bot.slack.seen(seeker)[-1].blocks)


def test_the_index_ranks_like_the_full_ranking(bot):
    seed = seeded(bot, 0, 400)
    rng = random.Random(3)
    compared = 0
    with bot.database.sessions.begin() as session:
        topic_ids = session.execute(select(Topic.id, Topic.name)).all()
    for user, _tz, sought in rng.sample(seed.mentees, 30):
        query = ", ".join(rng.sample(sought, rng.randint(1, len(sought))))
        for page in (0, 1):
            with bot.database.sessions.begin() as session:
                try:
                    result = find_mentors(
                        session, bot.slack.team_id, user, query, START, page, quiet_hours=None
                    )
                except NeedsGoals:
                    break
                member = seeker_with_topics(session, bot.slack.team_id, user, START)
                wanted = wanted_topics(member, query)
                keys = {topic_key(name) for name in wanted}
                person = Seeker(
                    member.id,
                    member.tz,
                    goal_for(member, wanted) or "",
                    wanted,
                    awake_hours(quiet_window(member, None)),
                )
                candidates = load_candidates(
                    session,
                    seed.workspace_id,
                    [i for i, name in topic_ids if topic_key(name) in keys],
                )
                reference = rank_mentors(
                    person, candidates, exclusions_for(session, member.id, START), START
                )
                reference.sort(key=lambda m: m.mentor.member_id in result.pending_mentor_ids)
            assert result.total == len(reference)
            assert [m.mentor.member_id for m in result.shown] == [
                m.mentor.member_id for m in reference[page * 3 : page * 3 + 3]
            ]
            compared += 1
    assert compared > 25
