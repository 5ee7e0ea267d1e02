"""The same click or submission arriving twice acts once: one row, one message each, a sane answer.

Each flow is sent twice "one after the other" (a retried request) and "at the same moment" (a
double click: two copies of the very same signed payload racing on two threads). Concurrency is
where check-then-insert breaks, so both run on SQLite and PostgreSQL.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.core import ids
from bot.core.errors import AlreadyDone
from bot.core.inbox import ALREADY_DONE, act_once
from bot.core.members import member_for
from bot.core.models import (
    Advice,
    Block,
    GratitudeNote,
    Meeting,
    MemberTopic,
    MentorNote,
    MentorRequest,
    OutboxMessage,
    Pairing,
    RequestStatus,
    Success,
    TopicKind,
    Wish,
)
from bot.find.matching import topic_key
from bot.find.topics import TopicName, resolve_topics
from bot.find.wishes import fulfil_wishes
from tests.conftest import START
from tests.test_find import ask, last, member, mentee, mentor, shown
from tests.test_prepare import GOOD_TIME, agenda, book, pair
from tests.test_respect import session_done

APOLOGY = "something went wrong"


@pytest.fixture(params=["one after the other", "at the same moment"])
def how(request: pytest.FixtureRequest) -> str:
    return request.param


def twice(bot, how, act):
    """Deliver one click or submission twice; `act(**kw)` sends it, passing kw to the driver."""
    if how == "at the same moment":
        act(copies=2)
        replies = list(bot.driver.last_replies)
    else:
        act()
        replies = [*bot.driver.last_replies, bot.driver.again()]
    assert len(replies) == 2
    for reply in replies:
        assert (reply.status, reply.slack_error) == (200, None), reply
        assert APOLOGY not in reply.body
    return replies


def count(bot, model, *where):
    with bot.database.sessions.begin() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def rows(bot, kind):
    return count(bot, OutboxMessage, OutboxMessage.kind == kind)


def heard(bot, user, phrase):
    """How many messages the bot posted that this person can read containing `phrase`."""
    return sum(
        1
        for seen in bot.slack.seen(user)
        if seen.kind in ("dm", "group", "channel") and phrase in shown(seen)
    )


def answers(bot, user):
    """Everything the person was told in answer to what they did (ephemerals and modals)."""
    return [shown(seen) for seen in bot.slack.seen(user)]


def calm(bot, *users):
    """Nobody got the generic apology; a repeat, if answered, was answered as already done."""
    for user in users:
        told = answers(bot, user)
        assert not [text for text in told if APOLOGY in text], told
        assert sum(ALREADY_DONE in text for text in told) <= 1


def test_an_intro_request_sent_twice_reaches_the_mentor_once(bot, how):
    amara = mentor(bot, "Amara", "Africa/Lagos", "Public speaking")
    kenji = mentee(bot)
    bot.driver.command(kenji, "find")
    twice(bot, how, lambda **kw: ask(bot, kenji, amara, **kw))
    assert count(bot, MentorRequest) == 1
    assert (rows(bot, "intro_request"), rows(bot, "request_reminder")) == (1, 1)
    bot.deliver()
    assert heard(bot, amara, "would like you as a mentor") == 1
    assert sum("Your request is on its way" in text for text in answers(bot, kenji)) == 1
    assert sum(ALREADY_DONE in text for text in answers(bot, kenji)) == 1
    calm(bot, kenji, amara)


def test_a_series_booked_twice_is_one_series_and_one_notice(bot, how):
    amara, kenji = pair(bot)
    bot.driver.click(amara, text="Schedule our first session")
    weekly = {ids.WHEN_ACTION: int(GOOD_TIME.timestamp()), ids.CADENCE_ACTION: "2"}
    twice(bot, how, submitting(bot, amara, weekly))
    assert count(bot, Meeting) == 6  # every 2 weeks, 6 sessions (the default), once
    with bot.database.sessions.begin() as session:
        assert len(set(session.scalars(select(Meeting.series_id)))) == 1
    assert rows(bot, "meeting_booked") == 1 and rows(bot, "agenda") == 6
    bot.deliver()
    for person in (amara, kenji):
        assert heard(bot, person, "Your session is booked") == 1
    calm(bot, amara, kenji)


def test_topics_added_twice_are_on_the_agenda_once(bot, how):
    amara, kenji = pair(bot)
    book(bot, amara)
    bot.deliver()  # the prep prompts, with "Add topics"
    bot.driver.click(kenji, text="Add topics")
    twice(
        bot,
        how,
        submitting(bot, kenji, {ids.AGENDA_ITEMS_ACTION: "How do I open?\nHow long should it be?"}),
    )
    assert agenda(bot) == ["How do I open?", "How long should it be?"]
    calm(bot, kenji)


def test_advice_saved_twice_is_kept_and_followed_up_once(bot, how):
    _amara, kenji = session_done(bot)
    bot.driver.click(kenji, text="Yes")  # opens the advice form
    twice(bot, how, submitting(bot, kenji, {ids.ADVICE_ACTION: "Rehearse aloud\nBreathe first"}))
    assert count(bot, Advice) == 2 and rows(bot, "followup") == 1
    calm(bot, kenji)


def thanks_after_session(bot):
    amara, kenji = session_done(bot)
    bot.driver.click(kenji, text="Yes")
    bot.driver.close(kenji)
    bot.driver.click(kenji, text="Thank Amara")
    return kenji, amara, GratitudeNote, {ids.THANKS_ACTION_ID: "Thank you!"}


def thanks_from_the_command(bot):
    amara, kenji = pair(bot)
    bot.driver.command(kenji, f"thanks <@{amara}|amara>")
    return kenji, amara, GratitudeNote, {ids.THANKS_ACTION_ID: "For the intro!"}


def note_from_the_mentor(bot):
    amara, kenji = session_done(bot)
    bot.driver.click(amara, text="Yes")
    bot.driver.click(amara, text="Leave a note for Kenji")
    return amara, kenji, MentorNote, {ids.MENTOR_NOTE_ACTION_ID: "Try the 10-20-30 rule."}


@pytest.mark.parametrize(
    ("open_form", "phrase"),
    [
        (thanks_after_session, "sent you a thank-you note"),
        (thanks_from_the_command, "sent you a thank-you note"),
        (note_from_the_mentor, "A note from your mentor"),
    ],
)
def test_a_note_sent_twice_arrives_once(bot, how, open_form, phrase):
    writer, reader, model, values = open_form(bot)
    twice(bot, how, submitting(bot, writer, values))
    assert count(bot, model) == 1
    bot.deliver()
    assert heard(bot, reader, phrase) == 1
    calm(bot, writer, reader)


def submitting(bot, user, values):
    """Submit the person's open form with these values; the driver's options pass through."""
    return lambda **kw: bot.driver.submit(user, values, **kw)


def clicking(bot, user, button):
    """Click the button with this text; the driver's options pass through."""
    return lambda **kw: bot.driver.click(user, text=button, **kw)


@pytest.mark.settings(success_channel="#wins")
def test_a_success_shared_twice_is_one_success_one_dm_and_one_post(bot, how):
    amara, kenji = pair(bot)
    channel = bot.slack.add_channel("wins", members=[bot.slack.bot_user_id, kenji])
    bot.driver.command(kenji, "success I gave the talk!")
    twice(bot, how, submitting(bot, kenji, {ids.SUCCESS_SCOPE_ACTION: "public"}))
    assert count(bot, Success) == 1
    assert (rows(bot, "success_to_mentor"), rows(bot, "success_post")) == (1, 1)
    bot.deliver()
    bot.clock.advance(timedelta(minutes=1))
    bot.deliver()
    assert heard(bot, amara, "had a win, and credits you") == 1
    assert len(bot.slack.history(channel)) == 1
    calm(bot, kenji, amara)


@pytest.mark.settings(success_channel="#wins")
def test_remove_clicked_twice_takes_the_post_down_once(bot, how):
    amara, kenji = pair(bot)
    channel = bot.slack.add_channel("wins", members=[bot.slack.bot_user_id, kenji])
    bot.driver.command(kenji, "success I gave the talk!")
    bot.driver.submit(kenji, {ids.SUCCESS_SCOPE_ACTION: "public"})
    bot.deliver()
    bot.clock.advance(timedelta(minutes=1))
    bot.deliver()
    assert len(bot.slack.history(channel)) == 1
    twice(bot, how, clicking(bot, kenji, "Remove (author only)"))
    assert bot.slack.history(channel) == []
    assert len([c for c in bot.slack.calls_to("chat.delete") if c.response["ok"]]) == 1
    assert len(bot.slack.calls_to("chat.delete")) == 1  # the second click had nothing to delete
    with bot.database.sessions.begin() as session:
        assert session.scalars(select(Success.deleted_at)).one() == bot.clock()
    assert heard(bot, amara, "had a win, and credits you") == 1  # the mentor keeps theirs
    calm(bot, kenji)


def test_not_now_sent_twice_tells_the_mentee_once(bot, how):
    amara, kenji = asked(bot)
    bot.driver.click(amara, text="Not now")
    twice(bot, how, submitting(bot, amara, {ids.DECLINE_REASON_ACTION: "Busy month"}))
    assert count(bot, MentorRequest, MentorRequest.status == RequestStatus.DECLINED) == 1
    assert rows(bot, "request_declined") == 1
    bot.deliver()
    assert heard(bot, kenji, "can't take you on right now") == 1
    calm(bot, amara, kenji)


def asked(bot):
    """Kenji has asked Amara for an intro, and she has the request in her DM."""
    amara = mentor(bot, "Amara", "Africa/Lagos", "Public speaking")
    kenji = mentee(bot)
    bot.driver.command(kenji, "find")
    ask(bot, kenji, amara)
    bot.deliver()
    return amara, kenji


def test_accept_clicked_twice_introduces_the_pair_once(bot, how):
    amara, kenji = asked(bot)
    twice(bot, how, clicking(bot, amara, "Accept"))
    assert count(bot, Pairing) == 1 and rows(bot, "introduction") == 1
    bot.deliver()
    for person in (amara, kenji):
        assert heard(bot, person, "has agreed to mentor") == 1
    calm(bot, amara)


def test_a_wish_clicked_twice_is_one_wish(bot, how):
    mentor(bot, "Amara", "Africa/Lagos", "Public speaking")
    kenji = mentee(bot)
    bot.driver.command(kenji, "find public relations")
    twice(bot, how, clicking(bot, kenji, "Tell me when someone offers this"))
    assert count(bot, Wish) == 1
    assert "I'll message you when a mentor" in last(bot, kenji).text
    calm(bot, kenji)


def test_a_profile_saved_twice_keeps_its_topics_once(bot, how):
    amara = bot.slack.add_user("Amara", real_name="Amara Example", tz="Africa/Lagos")
    bot.driver.command(amara, "profile")
    values = {
        ids.PROFILE_ROLES_ACTION: [ids.ROLE_MENTOR],
        ids.PROFILE_OFFERED_ACTION: "Public speaking, storytelling, hiring",
    }
    twice(bot, how, submitting(bot, amara, values))
    assert count(bot, MemberTopic) == 3
    assert member(bot, amara).is_mentor
    calm(bot, amara)


def test_a_block_typed_twice_at_once_is_one_block(bot):
    amara = mentor(bot, "Amara", "Africa/Lagos", "Public speaking")
    kenji = mentee(bot)
    threads = [
        threading.Thread(target=bot.driver.command, args=(amara, f"block <@{kenji}|kenji>"))
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert count(bot, Block) == 1
    told = answers(bot, amara)
    assert sum("won't be matched" in text for text in told) == 1
    assert sum("already blocked" in text for text in told) == 1
    calm(bot, amara)


def test_a_refused_submission_sent_again_once_things_change_goes_through(bot):
    """A refusal rolls its key back with everything else: the very same payload, sent again
    after the reason has gone, is acted on."""
    amara = mentor(bot, "Amara", "Africa/Lagos", "Public speaking")
    kenji = mentee(bot)
    bot.driver.command(kenji, "find")
    bot.driver.command(amara, "pause 7")
    refused = ask(bot, kenji, amara)
    assert set(refused.json["errors"]) == {ids.INTRO_NOTE_BLOCK}
    assert count(bot, MentorRequest) == 0
    bot.driver.command(amara, "resume")
    bot.driver.again()
    assert count(bot, MentorRequest) == 1
    bot.driver.again()
    assert count(bot, MentorRequest) == 1


@pytest.mark.parametrize("first_commits", [True, False])
def test_a_copy_waits_for_the_first_then_finds_its_key(database, first_commits):
    """The race itself: the copy's insert waits on the first's uncommitted key, whatever the
    backend, and only a first that commits makes the copy a repeat."""
    now = START
    outcome: list[str] = []
    first_has_key = threading.Event()

    def first() -> None:
        session = database.sessions()
        try:
            with session.begin():
                act_once(session, "view:V1", now)
                first_has_key.set()
                time.sleep(0.5)  # the copy arrives now, while this is not committed
                if not first_commits:
                    raise RuntimeError("the work failed")
        except RuntimeError:
            pass
        finally:
            session.close()

    def copy() -> None:
        first_has_key.wait(timeout=10)
        try:
            with database.sessions.begin() as session:
                act_once(session, "view:V1", now)
            outcome.append("acted")
        except AlreadyDone:
            outcome.append("already done")

    threads = [threading.Thread(target=first), threading.Thread(target=copy)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert outcome == (["already done"] if first_commits else ["acted"])


def test_two_mentors_at_once_tell_a_waiting_person_once(database):
    """Wishes are locked while being fulfilled: two saves racing cannot both send the news."""
    now = START
    with database.sessions.begin() as session:
        seeker = member_for(session, "T1", "USEEK", now)
        session.add(
            Wish(
                workspace_id=seeker.workspace_id,
                member_id=seeker.id,
                topic_key=topic_key("hiring"),
                topic_name="hiring",
                created_at=now,
            )
        )
        for user in ("UMEN1", "UMEN2"):
            offer(session, member_for(session, "T1", user, now), "hiring")
    first_done = threading.Event()

    def fulfil(user: str, later: int) -> None:
        if later:
            first_done.wait(timeout=10)
        session = database.sessions()
        with session.begin():
            fulfil_wishes(session, member_for(session, "T1", user, now), now + timedelta(later))
            if not later:
                first_done.set()
                time.sleep(0.5)  # the second mentor's save runs now
        session.close()

    threads = [threading.Thread(target=fulfil, args=args) for args in (("UMEN1", 0), ("UMEN2", 1))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    with database.sessions.begin() as session:
        kinds = session.scalars(select(OutboxMessage.kind)).all()
    assert kinds == ["wish_fulfilled"]


def offer(session, someone, topic):
    someone.is_mentor = True
    (found,) = resolve_topics(session, someone.workspace_id, [TopicName(topic, topic)])
    session.add(MemberTopic(member_id=someone.id, topic_id=found.id, kind=TopicKind.OFFERED))
    session.flush()
    session.refresh(someone, ["topics"])
