"""When a mentor says yes: the mentee's other asks on that topic, and a full waiting list, close."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select

from bot.core import ids
from bot.core.models import OutboxMessage, OutboxStatus, RequestStatus
from tests.test_find import ask, last, member, mentee, mentor, requests, send, shown
from tests.test_respect import dms


def find(bot, user, query):
    """`/mentor find <query>`; a first search on a topic may ask what they want from it first."""
    bot.driver.command(user, f"find {query}")
    modal = bot.slack.open_modal(user)
    if modal is not None and modal["callback_id"] == ids.GOALS_CALLBACK:
        bot.driver.submit(user, {ids.GOALS_ACTION: f"Get confident with {query} at work."})


def status_of(bot, mentee_user, mentor_user):
    mentee_id, mentor_id = member(bot, mentee_user).id, member(bot, mentor_user).id
    (request,) = [r for r in requests(bot) if (r.mentee_id, r.mentor_id) == (mentee_id, mentor_id)]
    return request.status


def pending_to(bot, user):
    with bot.database.sessions.begin() as session:
        return session.scalars(
            select(OutboxMessage.kind).where(
                OutboxMessage.recipient_member_id == member(bot, user).id,
                OutboxMessage.status == OutboxStatus.PENDING,
            )
        ).all()


def test_accepting_withdraws_the_mentees_other_requests_on_that_topic(bot):
    amara = mentor(bot, "Amara", "Africa/Lagos", "Public speaking")
    lucia = mentor(bot, "Lucia", "Europe/Madrid", "Public speaking")
    bo = mentor(bot, "Bo", "Europe/Berlin", "Public speaking")
    ravi = mentor(bot, "Ravi", "Asia/Kolkata", "Python")
    kenji = mentee(bot, topics="public speaking, python")
    find(bot, kenji, "public speaking")
    ask(bot, kenji, amara)
    ask(bot, kenji, lucia)
    find(bot, kenji, "python")
    ask(bot, kenji, ravi)
    bot.deliver()  # Amara, Lucia and Ravi have the request in their DMs
    find(bot, kenji, "public speaking")
    with bot.database.sessions.begin() as session:
        pending = session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "intro_request")
        )
        assert len(pending.all()) == 3
    bot.driver.click(amara, text="Accept")

    assert status_of(bot, kenji, lucia) == RequestStatus.WITHDRAWN
    assert status_of(bot, kenji, ravi) == RequestStatus.PENDING  # python: another topic
    bot.deliver()
    note = last(bot, lucia)
    assert note.kind == "dm" and "*Kenji* has found a mentor" in shown(note)
    assert "withdrawn their request to you" in shown(note)
    told = [shown(dm) for dm in dms(bot, kenji)]
    assert any("Since *Amara* is now your mentor" in t and "*Lucia*" in t for t in told)
    assert not any("*Ravi*" in t for t in told)
    assert not [s for s in bot.slack.seen(bo) if s.kind == "dm"]  # never asked, never told
    # Lucia's old buttons say what happened; her day-3 reminder never comes, Ravi's does.
    bot.driver.click(lucia, text="Accept")
    assert "Kenji withdrew this request" in last(bot, lucia).text
    bot.clock.advance(timedelta(days=3))
    bot.deliver()
    assert "gentle reminder" in shown(last(bot, ravi))
    assert "gentle reminder" not in shown(dms(bot, lucia)[-1])


def test_a_request_the_mentor_never_saw_is_withdrawn_without_a_note(bot):
    amara = mentor(bot, "Amara", "Africa/Lagos", "Public speaking")
    lucia = mentor(bot, "Lucia", "Europe/Madrid", "Public speaking")
    kenji = mentee(bot)
    bot.driver.command(kenji, "find")
    ask(bot, kenji, amara)
    bot.deliver()
    ask(bot, kenji, lucia)  # not delivered yet when Amara accepts
    bot.driver.click(amara, text="Accept")
    bot.deliver()
    assert status_of(bot, kenji, lucia) == RequestStatus.WITHDRAWN
    assert [s for s in bot.slack.seen(lucia) if s.kind == "dm"] == []


def test_a_mentor_who_fills_up_closes_the_waiting_list_at_once(bot):
    amara = mentor(bot, "Amara", "Africa/Lagos", "Public speaking", capacity="2")
    mentor(bot, "Lucia", "Europe/Madrid", "Public speaking")
    kenji, lin, mo = mentee(bot, "Kenji"), mentee(bot, "Lin"), mentee(bot, "Mo")
    for seeker in (kenji, lin, mo):
        bot.driver.command(seeker, "find")
        ask(bot, seeker, amara)
    bot.deliver()
    first, second, third = requests(bot)
    send(bot, amara, ids.ACCEPT_REQUEST_ACTION, first.id)
    # One slot left: nobody else is turned away yet (the negative case).
    assert status_of(bot, mo, amara) == RequestStatus.PENDING
    send(bot, amara, ids.ACCEPT_REQUEST_ACTION, second.id)
    assert status_of(bot, mo, amara) == RequestStatus.EXPIRED  # closed now, not on day 5
    assert pending_to(bot, amara) == []  # her day-3 reminder about Mo is cancelled

    bot.deliver()
    told = last(bot, mo)
    assert told.kind == "dm" and "*Amara* is full now" in shown(told)
    assert "Find another mentor" in shown(told)
    bot.driver.click(mo, text="Find another mentor")
    results = json.dumps(last(bot, mo).blocks)
    assert "Lucia" in results and "Amara" not in results  # full mentors are not offered
    send(bot, amara, ids.ACCEPT_REQUEST_ACTION, third.id)
    assert "closed this request when your mentee slots filled up" in last(bot, amara).text
    bot.clock.advance(timedelta(days=5))
    bot.housekeeping()
    assert bot.deliver() == 0  # no reminder, no "expired" later: Mo heard once
    assert sum("Amara" in shown(dm) for dm in dms(bot, mo)) == 1
