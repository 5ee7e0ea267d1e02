"""Everyone's controls through the sandbox: end a pair, see my data, forget me (and admins)."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.core import ids
from bot.core.models import (
    Advice,
    AgendaItem,
    GratitudeNote,
    Meeting,
    MeetingStatus,
    Member,
    MemberTopic,
    OutboxMessage,
    OutboxStatus,
    Pairing,
    PairingStatus,
    Success,
    Wish,
)
from handlers.commands import ROUTES
from tests.test_find import last, member, mentee, shown
from tests.test_prepare import GOOD_TIME, book, pair
from tests.test_respect import CHECKIN_AT, dms

APOLOGY = "something went wrong on my side"


def rows(bot, query):
    with bot.database.sessions.begin() as session:
        return session.scalars(query).all()


def count(bot, model, *where):
    with bot.database.sessions.begin() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def pairing_status(bot):
    return rows(bot, select(Pairing.status))


def pending_about_pair(bot):
    """Queued, unsent messages about the pair or its sessions."""
    pairing_ids = rows(bot, select(Pairing.id))
    meeting_ids = rows(bot, select(Meeting.id))
    return rows(
        bot,
        select(OutboxMessage.kind).where(
            OutboxMessage.status == OutboxStatus.PENDING,
            ((OutboxMessage.subject_type == "pairing") & OutboxMessage.subject_id.in_(pairing_ids))
            | (
                (OutboxMessage.subject_type == "meeting")
                & OutboxMessage.subject_id.in_(meeting_ids)
            ),
        ),
    )


def buttons(seen):
    return [
        e["text"]["text"]
        for b in seen.blocks
        if b.get("type") == "actions"
        for e in b["elements"]
        if e.get("type") == "button"
    ]


# ---------------------------------------------------------------- /mentor end


def test_the_mentee_ends_with_a_last_thank_you_and_the_mentor_hears_once(bot):
    amara, kenji = pair(bot)
    book(bot, kenji)
    bot.deliver()
    assert pending_about_pair(bot)  # prep notes, agenda and check-in are queued
    seen_before = len(bot.slack.seen(amara))

    bot.driver.command(kenji, f"end <@{amara}> Thank you <!channel> for every single session!")

    reply = last(bot, kenji)
    assert f"your mentoring with <@{amara}> has ended" in reply.text
    assert "Your last thank-you goes with my message" in reply.text
    assert buttons(reply) == ["Find another mentor"]
    assert pairing_status(bot) == [PairingStatus.ENDED]
    assert rows(bot, select(Meeting.status)) == [MeetingStatus.CANCELLED]
    assert pending_about_pair(bot) == ["pairing_ended"]
    (note,) = rows(bot, select(GratitudeNote))
    assert note.text == "Thank you <!channel> for every single session!"

    bot.deliver()
    told = bot.slack.seen(amara)[seen_before:]
    # The session leaves her calendar (the file she had is cancelled), and then:
    (calendar,) = [s for s in told if "Take it out of your calendar" in s.text]
    told = [s for s in told if s is not calendar]
    assert len(told) == 1  # one message: the goodbye, with the thank-you inside it
    assert told[0].kind == "dm"
    assert "Your mentoring with Kenji has come to a close" in shown(told[0])
    assert "your mentee slot is free again" in shown(told[0])
    assert "every single session" in shown(told[0]) and "<!channel>" not in shown(told[0])
    # Capacity is free: Amara shows up in find again with room.
    bot.driver.command(kenji, "find public speaking")
    assert "Amara" in shown(last(bot, kenji))


def test_the_mentor_ends_it_and_the_mentee_is_offered_the_next_matches(bot):
    amara, kenji = pair(bot)
    bot.driver.command(amara, f"end <@{kenji}>")
    reply = last(bot, amara)
    assert buttons(reply) == ["Send a last thank-you"]
    bot.driver.click(amara, text="Send a last thank-you")
    assert bot.slack.open_modal(amara)["callback_id"] == ids.THANKS_CALLBACK
    bot.driver.submit(amara, {ids.THANKS_ACTION_ID: "It was a joy. Go give that talk!"})

    bot.deliver()
    goodbye = next(s for s in dms(bot, kenji) if "come to a close" in s.text)
    assert "Your mentoring with Amara has come to a close" in shown(goodbye)
    assert buttons(goodbye) == ["Find another mentor"]
    assert "It was a joy" in shown(dms(bot, kenji)[-1])
    bot.driver.click(kenji, text="Find another mentor")
    assert "Amara" in shown(last(bot, kenji))  # the freed slot makes her findable again


def test_ending_a_pair_you_are_not_in_changes_nothing(bot):
    amara, kenji = pair(bot)
    mallory = mentee(bot, "Mallory", "UTC")
    bot.driver.command(mallory, f"end <@{amara}>")
    assert "aren't a mentoring pair" in last(bot, mallory).text
    bot.driver.command(kenji, "end")
    assert "Mention who" in last(bot, kenji).text
    bot.driver.command(kenji, f"end <@{amara}> {'x' * 1200}")
    assert "under 1000 characters" in last(bot, kenji).text
    assert pairing_status(bot) == [PairingStatus.ACTIVE]
    assert count(bot, GratitudeNote) == 0


def test_ending_after_missed_sessions_uses_the_same_goodbye(bot):
    amara, kenji = pair(bot)
    for day in (0, 1):
        book(bot, kenji, GOOD_TIME + timedelta(days=day))
    bot.clock.advance(CHECKIN_AT + timedelta(days=1) - bot.clock())
    bot.deliver()
    for meeting_id in rows(bot, select(Meeting.id).order_by(Meeting.starts_at)):
        bot.driver.forged_click(kenji, ids.CHECKIN_MISSED_ACTION, str(meeting_id))
    bot.deliver()
    seen_before = len(bot.slack.seen(amara))
    bot.driver.click(kenji, text="End our mentoring")
    bot.deliver()
    # The one ending path: the same single goodbye DM as `/mentor end` (the button's own
    # message in the pair's group DM is updated in place).
    told = [s for s in bot.slack.seen(amara)[seen_before:] if s.kind == "dm"]
    assert len(told) == 1 and "Your mentoring with Kenji has come to a close" in shown(told[0])
    assert pairing_status(bot) == [PairingStatus.ENDED]


# ---------------------------------------------------------------- /mentor my-data


def test_my_data_is_a_readable_dm_and_a_json_file(bot):
    amara, kenji = pair(bot)
    book(bot, kenji)
    bot.driver.command(kenji, f"thanks <@{amara}> Thanks for making time & for the <tips>!")
    bot.driver.command(kenji, "my-data")
    assert "Sent to our DM" in last(bot, kenji).text

    summary = next(s for s in reversed(dms(bot, kenji)) if "Everything I store" in s.text)
    text = shown(summary)
    assert "Mentor requests* (1)" in text and "Sessions* (1)" in text
    assert "Thank-you notes you sent* (1)" in text
    assert "&amp; for the &lt;tips&gt;" in text  # what they typed, escaped
    (file,) = bot.slack.files(kenji)
    data = json.loads(file["content"])
    assert data["profile"]["goals"].startswith("Give my first conference talk")
    assert data["profile"]["topics_sought"] == ["Public speaking"]
    assert [r["mentor"] for r in data["requests"]] == ["Amara"]
    assert [(p["role"], p["partner"]) for p in data["pairs"]] == [("mentee", "Amara")]
    assert [s["status"] for s in data["sessions"]] == ["scheduled"]
    assert data["thanks_sent"][0]["text"] == "Thanks for making time & for the <tips>!"
    assert data["thanks_received"] == [] and data["successes"] == []


def test_my_data_for_someone_with_a_lot_stays_within_slacks_limits(bot):
    kenji = mentee(bot, goals="Speak well. " * 80)
    bot.driver.command(kenji, "find underwater basket weaving")
    for topic in range(60):
        value = json.dumps({"q": f"craft & <skill> number {topic} of many, many more"})
        bot.driver.forged_click(kenji, ids.WISH_ACTION, value)
    bot.driver.command(kenji, "my-data")
    summary = next(s for s in reversed(dms(bot, kenji)) if "Everything I store" in s.text)
    assert "more (in the file)" in shown(summary)
    (file,) = bot.slack.files(kenji)
    assert len(json.loads(file["content"])["waiting_for_topics"]) >= 50


def test_my_data_for_a_newcomer_says_there_is_nothing(bot):
    nadia = bot.slack.add_user("Nadia", real_name="Nadia Example", tz="Asia/Kolkata")
    bot.driver.command(nadia, "my-data")
    assert "I don't hold anything about you yet" in shown(dms(bot, nadia)[-1])
    assert bot.slack.files(nadia) == []


# ---------------------------------------------------------------- /mentor forget-me


def full_history(bot, channel):
    """Amara mentors Kenji: a held session with an agenda question, advice, thanks both ways,
    a success shared in the channel, a wish, and a next session booked."""
    amara, kenji = pair(bot)
    book(bot, kenji)
    bot.deliver()
    bot.driver.dm(kenji, "How do I open a talk?")
    bot.clock.advance(CHECKIN_AT - bot.clock())
    bot.deliver()
    bot.driver.click(kenji, text="Yes")
    bot.driver.submit(kenji, {ids.ADVICE_ACTION: "Open with a story"})
    bot.driver.command(kenji, f"thanks <@{amara}> Thank you!")
    bot.driver.command(amara, f"thanks <@{kenji}> You were great.")
    bot.driver.command(kenji, "success I gave my first talk!")
    bot.driver.submit(kenji, {ids.SUCCESS_SCOPE_ACTION: "public"})
    bot.deliver()
    bot.clock.advance(timedelta(minutes=1))
    bot.deliver()
    assert len(bot.slack.history(channel)) == 1
    bot.driver.command(kenji, "find underwater basket weaving")
    bot.driver.click(kenji, text="Tell me when someone offers this")
    book(bot, kenji, bot.clock() + timedelta(days=2))
    return amara, kenji


@pytest.mark.settings(success_channel="#wins")
def test_forget_me_deletes_their_things_and_keeps_the_partners_history(bot):
    channel = bot.slack.add_channel("wins", members=[bot.slack.bot_user_id])
    amara, kenji = full_history(bot, channel)
    kenji_id = member(bot, kenji).id
    assert count(bot, AgendaItem) and count(bot, Advice) and count(bot, Wish)

    bot.driver.command(kenji, "forget-me")
    confirm = last(bot, kenji)
    assert "This can't be undone" in shown(confirm)
    assert count(bot, Success) == 1  # asking first changes nothing
    seen_before = len(bot.slack.seen(amara))
    bot.driver.click(kenji, text="Forget me")

    assert "I've forgotten you" in last(bot, kenji).text
    assert bot.slack.history(channel) == []  # the success post is taken down
    for model in (AgendaItem, Advice, Success, Wish):
        assert count(bot, model) == 0, model
    assert count(bot, MemberTopic, MemberTopic.member_id == kenji_id) == 0
    # Amara's thank-you to them stays in her history; theirs to her is deleted.
    assert rows(bot, select(GratitudeNote.text)) == ["You were great."]
    with bot.database.sessions.begin() as session:
        former = session.get(Member, kenji_id)
        assert (former.name, former.goals, former.is_active) == ("a former member", "", False)
        assert former.slack_user_id != kenji and former.forgotten_at is not None
        assert session.scalar(select(Pairing.status)) == PairingStatus.ENDED
    assert count(bot, Meeting, Meeting.status == MeetingStatus.SCHEDULED) == 0
    pending = rows(bot, select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.PENDING))
    assert [(r.kind, r.recipient_member_id) for r in pending] == [
        ("pairing_ended", member(bot, amara).id)
    ]

    query = select(OutboxMessage.recipient_group).where(OutboxMessage.recipient_group.is_not(None))
    groups = rows(bot, query)
    assert groups and not any(kenji in group for group in groups)

    bot.deliver()
    told = [s for s in bot.slack.seen(amara)[seen_before:] if not s.from_slack]
    assert len(told) == 1
    assert "Your mentoring with a former member has come to a close" in shown(told[0])


@pytest.mark.settings(success_channel="#wins")
def test_after_forget_me_every_command_still_works_for_the_former_partner(bot, caplog):
    channel = bot.slack.add_channel("wins", members=[bot.slack.bot_user_id])
    amara, kenji = full_history(bot, channel)
    bot.driver.command(kenji, "forget-me")
    bot.driver.click(kenji, text="Forget me")
    bot.deliver()

    commands = {
        "": "",
        "find": "find public speaking",
        "schedule": f"schedule <@{kenji}>",
        "success": "success Mentoring went well",
        "thanks": f"thanks <@{kenji}> thank you",
        "pause": "pause 3",
        "block": f"block <@{kenji}>",
        "unblock": f"unblock <@{kenji}>",
        "end": f"end <@{kenji}>",
        "admin": "admin",
    }
    for word in sorted(ROUTES):
        typed = commands.get(word, word)
        reply = bot.driver.command(amara, typed)
        assert reply.status == 200, typed
        assert all(APOLOGY not in s.text for s in bot.slack.seen(amara)[-3:]), typed
        while bot.slack.open_modal(amara) is not None:
            bot.driver.close(amara)
    assert bot.driver.open_home(amara).status == 200
    assert "Kenji" not in json.dumps(bot.slack.home(amara))
    (file,) = [f for f in bot.slack.files(amara) if f["name"].endswith(".json")]
    data = json.loads(file["content"])
    assert {p["partner"] for p in data["pairs"]} == {"a former member"}
    bot.deliver()
    assert all(APOLOGY not in s.text for s in bot.slack.seen(amara))
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


def test_someone_forgotten_who_comes_back_starts_fresh(bot):
    _amara, kenji = pair(bot)
    bot.driver.command(kenji, "forget-me")
    bot.driver.click(kenji, text="Forget me")
    bot.driver.command(kenji, "help")
    bot.driver.command(kenji, "my-data")
    data = json.loads(bot.slack.files(kenji)[-1]["content"])
    assert data["requests"] == [] and data["pairs"] == []
    assert data["profile"]["goals"] == "" and data["profile"]["topics_sought"] == []
    assert count(bot, Member, Member.slack_user_id == kenji) == 1


# ---------------------------------------------------------------- admins


@pytest.mark.settings(admin_user_ids=frozenset({"U0ADMIN"}))
def test_an_admin_forgets_someone_who_left_but_not_someone_still_here(bot):
    admin = bot.slack.add_user("Ines", real_name="Ines Admin", tz="UTC", user_id="U0ADMIN")
    _amara, kenji = pair(bot)
    bot.driver.command(admin, f"admin forget <@{kenji}>")
    assert "still in this workspace" in last(bot, admin).text
    assert member(bot, kenji).goals

    bot.slack.deactivate_user(kenji)
    bot.driver.command(admin, f"admin forget <@{kenji}>")
    assert f"<@{kenji}> is forgotten" in last(bot, admin).text
    assert count(bot, Member, Member.slack_user_id == kenji) == 0
    assert pairing_status(bot) == [PairingStatus.ENDED]
    bot.driver.command(admin, "admin forget <@U0NOBODY>")
    assert "nothing to do" in last(bot, admin).text


def test_a_mentee_or_mentor_cannot_forget_someone_else(bot):
    amara, kenji = pair(bot)
    bot.slack.deactivate_user(kenji)
    for who in (amara, kenji):
        bot.driver.command(who, f"admin forget <@{kenji}>")
        assert "program admins" in last(bot, who).text
    with bot.database.sessions.begin() as session:
        assert session.scalar(select(func.count()).where(Member.slack_user_id == kenji)) == 1
    assert pairing_status(bot) == [PairingStatus.ACTIVE]
