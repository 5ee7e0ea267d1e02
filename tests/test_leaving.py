"""People who leave the workspace: hidden from find, requests closed, partners told once."""

from __future__ import annotations

import json

from sqlalchemy import select

from bot.core import ids
from bot.core.models import (
    Meeting,
    MeetingStatus,
    OutboxMessage,
    OutboxStatus,
    PairingStatus,
    RequestStatus,
)
from tests.test_accepting import pending_to, status_of
from tests.test_find import ask, last, member, mentee, mentor, pairings, shown
from tests.test_prepare import book, pair
from tests.test_respect import dms


def meetings(bot):
    with bot.database.sessions.begin() as session:
        return session.scalars(select(Meeting)).all()


def test_a_mentor_whose_account_is_deactivated_drops_out_kindly(bot):
    amara, kenji = pair(bot)  # Amara mentors Kenji
    book(bot, amara)
    lucia = mentor(bot, "Lucia", "Europe/Madrid", "Public speaking")
    lin = mentee(bot, "Lin")
    bot.driver.command(lin, "find")
    ask(bot, lin, amara)
    bot.deliver()
    before = len(bot.slack.history(amara))

    reply = bot.driver.leave(amara)  # Slack sends user_change with deleted: true
    assert reply.status == 200
    assert member(bot, amara).is_active is False
    assert status_of(bot, lin, amara) == RequestStatus.EXPIRED
    assert [p.status for p in pairings(bot)] == [PairingStatus.ENDED]
    assert {m.status for m in meetings(bot)} == {MeetingStatus.CANCELLED}
    assert pending_to(bot, amara) == []  # nothing more is queued for her

    bot.deliver()
    told = last(bot, lin)
    assert told.kind == "dm" and "*Amara* is no longer in this workspace" in shown(told)
    bot.driver.click(lin, text="Find another mentor")
    results = json.dumps(last(bot, lin).blocks)
    assert "Lucia" in results and "Amara" not in results
    ended = [shown(dm) for dm in dms(bot, kenji) if "no longer in this workspace" in shown(dm)]
    assert len(ended) == 1 and "come to a close" in ended[0] and "Find another mentor" in ended[0]
    assert len(bot.slack.history(amara)) == before
    with bot.database.sessions.begin() as session:
        failed = session.scalars(
            select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.FAILED)
        ).all()
    assert failed == []  # nothing was even tried: no bounced DMs, no notices about them

    # Slack retries the event, and later sends another change for her: still told once.
    bot.driver.redeliver(reply)
    bot.driver.user_changed(amara)
    assert bot.deliver() == 0
    bot.driver.command(lucia, "find")  # someone who is not a member yet changes nothing
    bot.driver.user_changed(bot.slack.add_user("Zed", real_name="Zed", tz="UTC"))
    assert member(bot, lucia).is_active is True


def test_a_mentee_found_gone_when_a_message_bounces(bot):
    amara, kenji = pair(bot)
    lucia = mentor(bot, "Lucia", "Europe/Madrid", "Storytelling")
    bot.driver.command(kenji, "find storytelling")
    if (modal := bot.slack.open_modal(kenji)) and modal["callback_id"] == ids.GOALS_CALLBACK:
        bot.driver.submit(kenji, {ids.GOALS_ACTION: "Tell better stories in talks."})
    ask(bot, kenji, lucia)
    bot.deliver()
    # Kenji's account is deactivated and Slack's event never reached us; the next DM to him
    # (Lucia's "not now") bounces, and that is how we learn.
    bot.slack.deactivate_user(kenji)
    bot.driver.click(lucia, text="Not now")
    bot.driver.submit(lucia, {ids.DECLINE_REASON_ACTION: ""})
    bot.deliver()

    assert member(bot, kenji).is_active is False
    assert [p.status for p in pairings(bot)] == [PairingStatus.ENDED]
    told = [shown(dm) for dm in dms(bot, amara) if "*Kenji* is no longer" in shown(dm)]
    assert len(told) == 1 and "come to a close" in told[0] and "cancelled any sessions" in told[0]
    assert "Find another mentor" not in told[0]  # that button is for mentees
    assert pending_to(bot, kenji) == []
    # Amara has a free slot again; anything later for Kenji is never sent.
    bot.driver.command(amara, "mentees")
    assert f"<@{kenji}>" not in last(bot, amara).text


def test_a_waiting_request_from_someone_who_left_is_closed_for_the_mentor(bot):
    amara = mentor(bot, "Amara", "Africa/Lagos", "Public speaking")
    kenji = mentee(bot)
    bot.driver.command(kenji, "find")
    ask(bot, kenji, amara)
    bot.deliver()
    bot.driver.leave(kenji)
    assert status_of(bot, kenji, amara) == RequestStatus.WITHDRAWN
    assert pending_to(bot, amara) == ["request_mentee_left"]  # and no day-3 reminder
    bot.deliver()
    assert "*Kenji* is no longer in this workspace" in shown(last(bot, amara))
    bot.driver.click(amara, text="Accept")
    assert pairings(bot) == [] and "Kenji has left the workspace" in last(bot, amara).text
