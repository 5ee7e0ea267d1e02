"""The admin's matching round through the sandbox: a draft first, approval sends the requests once,
everyone left over hears why; blocks and past declines hold; nobody else can run or approve it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.core import ids
from bot.core.models import (
    MatchingRound,
    MentorRequest,
    OutboxMessage,
    RequestStatus,
    RoundProposal,
    RoundStatus,
    Wish,
)
from bot.program.admins import NOT_AN_ADMIN
from tests.test_admin import admin, readable
from tests.test_find import last, member, mentee, mentor, send, shown

GOAL = "Get confident writing production Python and reviewing other people's code."


def rows(bot, model, *where):
    with bot.database.sessions.begin() as session:
        return session.scalars(select(model).where(*where).order_by(model.id)).all()


def requests_to(bot, mentor_user):
    return [
        (request.mentee_id, request.status)
        for request in rows(
            bot, MentorRequest, MentorRequest.mentor_id == member(bot, mentor_user).id
        )
    ]


def draft(bot, admin_user):
    bot.driver.command(admin_user, "admin round")
    return last(bot, admin_user)


def test_a_round_with_more_mentees_than_places_matches_the_best_and_tells_the_rest(bot):
    priya = admin(bot)
    # Three places for python: Amara takes one, Ravi two.
    amara = mentor(bot, "Amara", "Europe/London", "python", capacity="1", background="Python")
    ravi = mentor(bot, "Ravi", "Asia/Kolkata", "python, code review", capacity="2")
    seekers = [
        mentee(bot, name, tz, goals=GOAL, topics="python")
        for name, tz in (
            ("Kenji", "Asia/Tokyo"),
            ("Lena", "Europe/Berlin"),
            ("Omar", "Africa/Cairo"),
            ("Sofia", "America/Sao_Paulo"),
            ("Tom", "America/New_York"),
        )
    ]
    nadia = mentee(bot, "Nadia", "UTC", goals=GOAL, topics="cobol")  # nobody offers it
    bot.deliver()

    seen = draft(bot, priya)
    text = readable(seen)
    assert "a draft, nothing sent yet" in text
    assert "6 people are waiting for a mentor; mentors have 3 free places." in text
    assert "*3 matched*, 3 not." in text
    assert "• 2 because every mentor for their topic is full" in text
    assert "• 1 because nobody offers their topic yet" in text
    assert "Match scores: lowest" in text and "median" in text and "highest" in text
    assert f"<@{amara}>" in text or f"<@{ravi}>" in text  # the sample names real pairs
    assert [b["action_id"] for b in seen.blocks[-1]["elements"]] == [
        ids.ROUND_APPROVE_ACTION,
        ids.ROUND_DISCARD_ACTION,
    ]
    # A draft sends nothing and asks nobody.
    assert rows(bot, MentorRequest) == []
    assert bot.deliver() == 0
    (matching_round,) = rows(bot, MatchingRound)
    assert matching_round.status == RoundStatus.DRAFT and matching_round.waiting == 6

    bot.driver.click(priya, action_id=ids.ROUND_APPROVE_ACTION)
    assert "Round sent: 3 intro requests went out" in last(bot, priya).text
    assert "3 people not matched will hear why" in last(bot, priya).text
    assert len(requests_to(bot, amara)) == 1 and len(requests_to(bot, ravi)) == 2
    assert all(
        r.note.startswith("This request comes from the program's matching round")
        for r in rows(bot, MentorRequest)
    )
    assert bot.deliver() == 3 + 3 + 3  # mentors' intro requests, matched and unmatched mentees

    # Mentors get the usual request, with Accept; matched mentees hear who was asked for them.
    assert any(
        b.get("elements", [{}])[0].get("action_id") == ids.ACCEPT_REQUEST_ACTION
        for b in last(bot, amara).blocks
    )
    matched = {r.mentee_id for r in rows(bot, MentorRequest)}
    for user in seekers:
        message = shown(last(bot, user))
        if member(bot, user).id in matched:
            assert "matching round paired you with" in message
        else:
            assert "every mentor who offers *python* is full right now" in message
            assert "next round" in message and ids.FIND_AGAIN_ACTION in message
    assert "nobody offers *cobol* yet" in shown(last(bot, nadia))
    assert [w.topic_name for w in rows(bot, Wish, Wish.member_id == member(bot, nadia).id)] == [
        "cobol"
    ]

    # The people matched have a request out, so a second round leaves them out.
    seen = draft(bot, priya)
    assert "3 people are waiting" in readable(seen) and "*0 matched*, 3 not." in readable(seen)


def test_blocks_and_past_declines_are_respected_and_the_assignment_is_the_best_whole(bot):
    priya = admin(bot)
    amara = mentor(bot, "Amara", "Europe/London", "python", capacity="1")
    ravi = mentor(bot, "Ravi", "Europe/London", "python", capacity="2")
    kenji = mentee(bot, "Kenji", "Europe/London", goals=GOAL, topics="python")
    sofia = mentee(bot, "Sofia", "Europe/London", goals=GOAL, topics="python")
    lena = mentee(bot, "Lena", "Pacific/Auckland", goals=GOAL, topics="python")
    omar = mentee(bot, "Omar", "Europe/London", goals=GOAL, topics="python")
    bot.driver.command(kenji, f"block <@{amara}>")  # Kenji never wants Amara
    bot.driver.command(sofia, f"block <@{ravi}>")  # Sofia never wants Ravi
    bot.driver.command(ravi, f"block <@{omar}>")  # Ravi and Omar rule each other out,
    bot.driver.command(omar, f"block <@{amara}>")  # and Omar and Amara too
    # Ravi said "not now" to Lena half a year ago: /mentor find would show him again by now,
    # but a round never proposes him to her.
    with bot.database.sessions.begin() as session:
        long_ago = bot.clock() - timedelta(days=180)
        session.add(
            MentorRequest(
                workspace_id=member(bot, lena).workspace_id,
                mentee_id=member(bot, lena).id,
                mentor_id=member(bot, ravi).id,
                note="Could you help me with Python?",
                status=RequestStatus.DECLINED,
                created_at=long_ago,
                expires_at=long_ago + timedelta(days=5),
                responded_at=long_ago,
            )
        )
    bot.deliver()

    text = readable(draft(bot, priya))
    # Kenji can only have Ravi; Sofia and Lena only Amara, who has one place: Sofia shares her
    # working day, Lena (in Auckland) hardly does. Omar can have nobody. Ravi's second place
    # stays free rather than go to Lena.
    assert "*2 matched*, 2 not." in text
    assert "• 1 because every mentor for their topic is full" in text
    assert "• 1 because only mentors ruled out by a block or an earlier “not now”" in text
    proposals = {
        (p.mentee_id, p.mentor_id) for p in rows(bot, RoundProposal) if p.mentor_id is not None
    }
    assert proposals == {
        (member(bot, kenji).id, member(bot, ravi).id),
        (member(bot, sofia).id, member(bot, amara).id),
    }
    bot.driver.click(priya, action_id=ids.ROUND_APPROVE_ACTION)
    assert requests_to(bot, amara) == [(member(bot, sofia).id, RequestStatus.PENDING)]
    assert requests_to(bot, ravi)[-1] == (member(bot, kenji).id, RequestStatus.PENDING)
    bot.deliver()
    assert "is full right now" in shown(last(bot, lena))
    # Omar is not told who blocked him, only that a round cannot place him.
    told = shown(last(bot, omar))
    assert "the mentors who offer *python* can't be matched with you through a round" in told
    assert ravi not in told and "block" not in last(bot, omar).text


def test_approving_twice_sends_one_set_of_requests(bot):
    priya = admin(bot)
    amara = mentor(bot, "Amara", "Europe/London", "python", capacity="2")
    mentee(bot, "Kenji", "Asia/Tokyo", goals=GOAL, topics="python")
    mentee(bot, "Lena", "Europe/Berlin", goals=GOAL, topics="python")
    draft(bot, priya)

    bot.driver.click(priya, action_id=ids.ROUND_APPROVE_ACTION, copies=2)  # a double click
    round_id = rows(bot, MatchingRound)[0].id
    send(bot, priya, ids.ROUND_APPROVE_ACTION, str(round_id))  # and once more, later
    assert "already approved" in last(bot, priya).text
    send(bot, priya, ids.ROUND_DISCARD_ACTION, str(round_id))
    assert "already approved" in last(bot, priya).text
    assert len(requests_to(bot, amara)) == 2
    assert bot.deliver() == 2 + 2
    sent = rows(bot, OutboxMessage, OutboxMessage.kind == "round_matched")
    assert len(sent) == 2


def test_discarding_a_draft_sends_nothing_and_a_new_draft_replaces_the_old(bot):
    priya = admin(bot)
    mentor(bot, "Amara", "Europe/London", "python")
    mentee(bot, "Kenji", "Asia/Tokyo", goals=GOAL, topics="python")
    draft(bot, priya)
    first = rows(bot, MatchingRound)[0].id
    draft(bot, priya)  # a fresh draft replaces the first
    send(bot, priya, ids.ROUND_APPROVE_ACTION, str(first))
    assert "replaced by a newer one" in last(bot, priya).text
    bot.driver.click(priya, action_id=ids.ROUND_DISCARD_ACTION)
    assert "Discarded: nothing was sent." in last(bot, priya).text
    assert [r.status for r in rows(bot, MatchingRound)] == [RoundStatus.DISCARDED] * 2
    assert rows(bot, MentorRequest) == [] and bot.deliver() == 0


def test_nobody_waiting_means_no_round(bot):
    priya = admin(bot)
    mentor(bot, "Amara", "Europe/London", "python")
    assert "Nobody is waiting for a mentor right now" in draft(bot, priya).text


def test_a_mentee_or_a_mentor_cannot_run_or_approve_a_round(bot):
    priya = admin(bot)
    amara = mentor(bot, "Amara", "Europe/London", "python")
    kenji = mentee(bot, "Kenji", "Asia/Tokyo", goals=GOAL, topics="python")
    for person in (kenji, amara):
        bot.driver.command(person, "admin round")
        assert last(bot, person).text == NOT_AN_ADMIN
    assert rows(bot, MatchingRound) == []

    draft(bot, priya)
    round_id = str(rows(bot, MatchingRound)[0].id)
    for person in (kenji, amara):
        for action in (ids.ROUND_APPROVE_ACTION, ids.ROUND_DISCARD_ACTION):
            send(bot, person, action, round_id)
            assert last(bot, person).text == NOT_AN_ADMIN
    assert [r.status for r in rows(bot, MatchingRound)] == [RoundStatus.DRAFT]
    assert rows(bot, MentorRequest) == [] and bot.deliver() == 0


@pytest.mark.settings(admin_user_ids=frozenset({"U0ADMIN"}))
def test_an_admin_named_in_admin_user_ids_runs_a_round(bot):
    ines = bot.slack.add_user("Ines", real_name="Ines Admin", tz="UTC", user_id="U0ADMIN")
    amara = mentor(bot, "Amara", "Europe/London", "python")
    mentee(bot, "Kenji", "Asia/Tokyo", goals=GOAL, topics="python")
    assert "*1 matched*, 0 not." in readable(draft(bot, ines))
    bot.driver.click(ines, action_id=ids.ROUND_APPROVE_ACTION)
    assert len(requests_to(bot, amara)) == 1
