"""Respect and Re-frame through the sandbox: check-ins, advice, thanks, successes, giving back."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.core import ids
from bot.core.models import (
    Advice,
    AdviceOutcome,
    GratitudeNote,
    MeetingStatus,
    Member,
    MentorNote,
    Pairing,
    PairingStatus,
    Success,
    TopicKind,
)
from bot.reframe.invitations import queue_digests
from tests.test_find import last, member, send, shown
from tests.test_prepare import GOOD_TIME, book, meetings, pair, submit_raw

CHECKIN_AT = GOOD_TIME + timedelta(minutes=30 + 60)  # 60 minutes after the session ends
NASTY = "Got the job <!channel> <!here> thanks to <@U123|boss> see <https://evil.example|this>"


def session_done(bot):
    """A pair with one session that has ended; both have their check-in DMs."""
    amara, kenji = pair(bot)
    book(bot, amara)
    bot.deliver()
    bot.clock.advance(CHECKIN_AT - bot.clock())
    bot.deliver()
    return amara, kenji


def count(bot, model):
    with bot.database.sessions.begin() as session:
        return session.scalar(select(func.count()).select_from(model))


def dms(bot, user):
    return [s for s in bot.slack.seen(user) if s.kind == "dm"]


def test_check_in_arrives_after_the_meeting_ends_not_before(bot):
    amara, kenji = pair(bot)
    book(bot, amara)
    bot.deliver()
    bot.clock.advance(CHECKIN_AT - timedelta(minutes=1) - bot.clock())
    bot.deliver()
    assert not any("Did it happen?" in shown(s) for s in dms(bot, kenji))
    bot.clock.advance(timedelta(minutes=1))
    bot.deliver()
    for person in (amara, kenji):
        checkin = dms(bot, person)[-1]
        assert "Did it happen?" in shown(checkin)
        assert all(b in shown(checkin) for b in ("Yes", "We rescheduled", "It didn't happen"))


def test_yes_asks_the_mentee_for_advice_then_follows_up_a_week_later(bot):
    _amara, kenji = session_done(bot)
    bot.driver.click(kenji, text="Yes")
    assert meetings(bot)[0].status == MeetingStatus.HELD
    assert bot.slack.open_modal(kenji)["callback_id"] == ids.ADVICE_CALLBACK
    reply = bot.driver.submit(kenji, {ids.ADVICE_ACTION: "  \n "})
    assert set(reply.json["errors"]) == {ids.ADVICE_BLOCK}
    bot.driver.submit(
        kenji, {ids.ADVICE_ACTION: "Rehearse the opening aloud\n- Breathe before slides"}
    )
    with bot.database.sessions.begin() as session:
        assert [a.text for a in session.scalars(select(Advice).order_by(Advice.id))] == [
            "Rehearse the opening aloud",
            "Breathe before slides",
        ]
    assert "I'll ask you in a week" in last(bot, kenji).text

    bot.clock.advance(timedelta(days=7) - timedelta(minutes=1))
    bot.deliver()
    assert not any("How did it go?" in shown(s) for s in dms(bot, kenji))
    bot.clock.advance(timedelta(minutes=1))
    bot.deliver()
    followup = dms(bot, kenji)[-1]
    assert "Rehearse the opening aloud" in shown(followup) and "It worked" in shown(followup)
    bot.driver.click(kenji, text="Still working on it")
    with bot.database.sessions.begin() as session:
        assert set(session.scalars(select(Advice.outcome))) == {AdviceOutcome.WORKING}
    assert "Keep at it" in last(bot, kenji).text


def test_thank_you_from_the_check_in_reaches_the_mentor(bot):
    amara, kenji = session_done(bot)
    bot.driver.click(kenji, text="Yes")
    bot.driver.close(kenji)  # the advice form can wait
    bot.driver.click(kenji, text="Thank Amara")
    reply = bot.driver.submit(kenji, {ids.THANKS_ACTION_ID: ""})
    assert set(reply.json["errors"]) == {ids.THANKS_BLOCK}
    bot.driver.submit(kenji, {ids.THANKS_ACTION_ID: "Thank you! <!here> The nerves tip worked."})
    assert bot.deliver() == 1
    note = dms(bot, amara)[-1]
    assert f"<@{kenji}> sent you a thank-you note" in shown(note)
    assert "&lt;!here&gt;" in shown(note) and "<!here>" not in shown(note)
    meeting_id = meetings(bot)[0].id
    with bot.database.sessions.begin() as session:
        assert session.scalars(select(GratitudeNote.meeting_id)).one() == meeting_id


def test_the_mentor_can_leave_a_note_for_the_mentee(bot):
    amara, kenji = session_done(bot)
    bot.driver.click(amara, text="Yes")
    assert bot.slack.open_modal(amara) is None  # advice is the mentee's to choose
    bot.driver.click(amara, text="Leave a note for Kenji")
    bot.driver.submit(amara, {ids.MENTOR_NOTE_ACTION_ID: "Try the 10-20-30 rule for slides."})
    bot.deliver()
    assert "A note from your mentor" in shown(dms(bot, kenji)[-1])
    assert count(bot, MentorNote) == 1


def test_a_third_person_cannot_answer_another_pairs_check_in(bot):
    session_done(bot)
    mallory = bot.slack.add_user("Mallory", real_name="Mallory", tz="UTC")
    meeting_id = meetings(bot)[0].id
    for action in (ids.CHECKIN_HELD_ACTION, ids.CHECKIN_MISSED_ACTION, ids.OPEN_ADVICE_ACTION):
        send(bot, mallory, action, meeting_id)
        assert "isn't yours" in last(bot, mallory).text
    assert meetings(bot)[0].status == MeetingStatus.SCHEDULED
    assert bot.slack.open_modal(mallory) is None


def test_contradicting_answers_are_refused(bot):
    amara, kenji = session_done(bot)
    bot.driver.click(amara, text="Yes")
    bot.driver.click(kenji, text="It didn't happen")
    assert "already said this session happened" in last(bot, kenji).text
    assert meetings(bot)[0].status == MeetingStatus.HELD


def test_a_check_in_before_the_session_is_refused(bot):
    amara, kenji = pair(bot)
    book(bot, amara)
    send(bot, kenji, ids.CHECKIN_HELD_ACTION, meetings(bot)[0].id)
    assert "hasn't happened yet" in last(bot, kenji).text
    assert meetings(bot)[0].status == MeetingStatus.SCHEDULED


def test_we_rescheduled_opens_scheduling(bot):
    _amara, kenji = session_done(bot)
    bot.driver.click(kenji, text="We rescheduled")
    assert bot.slack.open_modal(kenji)["callback_id"] == ids.SCHEDULE_CALLBACK
    assert meetings(bot)[0].status == MeetingStatus.CANCELLED


def test_two_misses_in_a_row_ask_whether_to_continue(bot):
    amara, kenji = session_done(bot)
    bot.driver.click(kenji, text="It didn't happen")
    assert meetings(bot)[0].status == MeetingStatus.MISSED
    assert "find another time" in last(bot, kenji).text
    bot.deliver()
    assert not any("Keep going" in shown(s) for s in bot.slack.seen(kenji))  # one miss: no ask
    second = GOOD_TIME + timedelta(days=7)
    send(bot, amara, ids.SCHEDULE_SESSION_ACTION, pairing_id(bot))
    bot.driver.submit(amara, {ids.WHEN_ACTION: int(second.timestamp())})
    bot.clock.advance(second + timedelta(minutes=90) - bot.clock())
    bot.deliver()
    bot.driver.click(amara, text="It didn't happen")
    bot.deliver()
    ask = [s for s in bot.slack.seen(kenji) if s.kind == "group"][-1]
    assert "last two sessions didn't happen" in shown(ask)
    before = {person: len(bot.slack.seen(person)) for person in (amara, kenji)}
    bot.driver.click(kenji, text="End our mentoring")
    with bot.database.sessions.begin() as session:
        pairing = session.scalars(select(Pairing)).one()
        assert (pairing.status, pairing.ended_at) == (PairingStatus.ENDED, bot.clock())
    bot.deliver()
    # Each person gets one clear message: Kenji his own answer, Amara one DM. The question is
    # taken away in their group DM for both, so nobody can answer it again.
    news = {
        person: [s for s in bot.slack.seen(person)[before[person] :] if not s.removed]
        for person in (amara, kenji)
    }
    (kenji_news,) = news[kenji]
    assert kenji_news.kind == "ephemeral"
    assert "your mentoring with Amara has ended" in kenji_news.text
    assert "let them know" in kenji_news.text and "/mentor find" in kenji_news.text
    (amara_news,) = news[amara]
    assert amara_news.kind == "dm" and "Kenji" in shown(amara_news)
    assert "let you both know" not in shown(amara_news)
    for person in (amara, kenji):
        assert [s.text for s in bot.slack.seen(person)[before[person] :] if s.removed] == [
            "Your last two sessions didn't happen. Keep going?"
        ]
    bot.driver.command(kenji, "mentors")
    assert "no mentors right now" in last(bot, kenji).text


def pairing_id(bot):
    with bot.database.sessions.begin() as session:
        return session.scalars(select(Pairing.id)).one()


@pytest.mark.settings(success_channel="#wins")
def test_a_shared_success_reaches_the_mentor_first_then_the_channel(bot):
    channel = bot.slack.add_channel("wins", members=[bot.slack.bot_user_id])
    amara, kenji = session_done(bot)
    bot.driver.click(kenji, text="Yes")
    bot.driver.submit(kenji, {ids.ADVICE_ACTION: "Open with a story"})
    bot.clock.advance(timedelta(days=7))
    bot.deliver()
    bot.driver.click(kenji, text="It worked")
    bot.driver.click(kenji, text="Share a success")
    modal = json.dumps(bot.slack.open_modal(kenji))
    assert "Amara" in modal and "#wins" in modal
    bot.driver.submit(kenji, {ids.SUCCESS_TEXT_ACTION: NASTY, ids.SUCCESS_SCOPE_ACTION: "public"})
    assert "Shared with Amara" in last(bot, kenji).text
    (success,) = successes(bot)
    assert (success.text, success.share_publicly) == (NASTY, True)
    bot.deliver()  # the mentor's DM (and Kenji's invitation to mentor); the post waits a minute
    mentor_dm = dms(bot, amara)[-1]
    assert f"<@{kenji}> had a win, and credits you" in shown(mentor_dm)
    assert bot.slack.history(channel) == []
    bot.clock.advance(timedelta(minutes=1))
    bot.deliver()
    (post,) = bot.slack.history(channel)
    body = json.dumps(post["blocks"])
    assert f"<@{amara}>" in body and f"<@{kenji}>" in body
    for forged in ("<!channel>", "<!here>", "<@U123|boss>", "<https://evil.example|this>"):
        assert forged not in body
    assert "&lt;!channel&gt;" in body and "&lt;@U123|boss&gt;" in body

    mallory = bot.slack.add_user("Mallory", real_name="Mallory", tz="UTC")
    send(bot, mallory, ids.REMOVE_SUCCESS_ACTION, success.id)
    assert "Only the person who shared" in last(bot, mallory).text
    assert len(bot.slack.history(channel)) == 1
    send(bot, kenji, ids.REMOVE_SUCCESS_ACTION, success.id)
    assert bot.slack.history(channel) == []
    assert successes(bot)[0].deleted_at == bot.clock()


@pytest.mark.settings(success_channel="C01WINS")
def test_the_success_channel_is_shown_by_its_name_never_its_id(bot):
    channel = bot.slack.add_channel("wins", members=[bot.slack.bot_user_id])
    assert channel == "C01WINS"
    _amara, kenji = pair(bot)
    bot.driver.command(kenji, "success Shipped my first talk")
    modal = json.dumps(bot.slack.open_modal(kenji))
    assert "My mentor, then #wins" in modal and "C01WINS" not in modal
    bot.driver.submit(kenji, {ids.SUCCESS_SCOPE_ACTION: "public"})
    told = last(bot, kenji)
    assert "It'll appear in #wins" in told.text and "C01WINS" not in shown(told)


@pytest.mark.settings(success_channel="C0GONE")
def test_a_channel_slack_cannot_name_is_called_the_success_channel(bot):
    _amara, kenji = pair(bot)
    bot.driver.command(kenji, "success Shipped my first talk")
    modal = json.dumps(bot.slack.open_modal(kenji))
    assert "My mentor, then the success channel" in modal and "C0GONE" not in modal


def successes(bot):
    with bot.database.sessions.begin() as session:
        return session.scalars(select(Success)).all()


@pytest.mark.parametrize(
    ("text", "mentor", "errors"),
    [
        ("   ", None, {ids.SUCCESS_TEXT_BLOCK}),
        ("x" * 5000, None, {ids.SUCCESS_TEXT_BLOCK}),
        ("A real win", "999999", {ids.SUCCESS_MENTOR_BLOCK}),
    ],
)
def test_bad_successes_are_refused_and_nothing_is_saved(bot, text, mentor, errors):
    _amara, kenji = pair(bot)
    bot.driver.command(kenji, "success")
    if mentor is None:
        reply = json.loads(bot.driver.submit(kenji, {ids.SUCCESS_TEXT_ACTION: text}).body)
    else:  # Slack only submits offered options: this is a forged payload
        values = {
            ids.SUCCESS_TEXT_BLOCK: {
                ids.SUCCESS_TEXT_ACTION: {"type": "plain_text_input", "value": text}
            },
            ids.SUCCESS_MENTOR_BLOCK: {
                ids.SUCCESS_MENTOR_ACTION: {
                    "type": "static_select",
                    "selected_option": {"value": mentor},
                }
            },
        }
        reply = json.loads(submit_raw(bot, kenji, bot.slack.open_modal(kenji), values).body)
    assert set(reply["errors"]) == errors
    assert successes(bot) == []


def test_without_a_success_channel_the_author_is_told_and_the_mentor_still_hears(bot):
    amara, kenji = pair(bot)
    bot.driver.command(kenji, "success I gave the talk!")
    modal = json.dumps(bot.slack.open_modal(kenji))
    assert "I gave the talk!" in modal and "No success channel is set up" in modal
    bot.driver.submit(kenji)
    assert "No success channel is set up" in last(bot, kenji).text
    assert len(successes(bot)) == 1
    bot.deliver()
    assert "had a win" in shown(dms(bot, amara)[-1])


@pytest.mark.settings(success_channel="#wins")
def test_when_the_bot_cannot_post_the_author_is_told_why(bot):
    bot.slack.add_channel("wins", members=[])  # the bot was never invited
    amara, kenji = pair(bot)
    bot.driver.command(kenji, "success Promoted!")
    bot.driver.submit(kenji, {ids.SUCCESS_SCOPE_ACTION: "public"})
    bot.deliver()
    bot.clock.advance(timedelta(minutes=1))
    bot.deliver()
    told = dms(bot, kenji)[-1]
    assert "couldn't post your success in the channel" in shown(told)
    assert "/invite" in shown(told) and "Amara has it" in shown(told)
    assert "had a win" in shown(dms(bot, amara)[-1])
    assert len(successes(bot)) == 1


def test_success_needs_a_mentor(bot):
    loner = bot.slack.add_user("Sam", real_name="Sam", tz="UTC")
    bot.driver.command(loner, "success did a thing")
    assert "you don't have one yet" in last(bot, loner).text
    assert bot.slack.open_modal(loner) is None


def test_thanks_command(bot):
    amara, kenji = pair(bot)
    for text, expected in (
        ("thanks", "Mention who to thank"),
        (f"thanks <@{kenji}|kenji> me", "can't deliver it"),
    ):
        bot.driver.command(kenji, text)
        assert expected in last(bot, kenji).text
    bot.driver.command(kenji, f"thanks <@{amara}|amara> You were brilliant &amp; kind")
    assert "will get your note by DM" in last(bot, kenji).text
    bot.driver.command(amara, f"thanks <@{kenji}|kenji>")
    assert bot.slack.open_modal(amara)["callback_id"] == ids.THANKS_CALLBACK
    bot.driver.submit(amara, {ids.THANKS_ACTION_ID: "Thanks for the great questions."})
    bot.deliver()
    assert "You were brilliant &amp;amp; kind" not in shown(dms(bot, amara)[-1])
    assert "You were brilliant &amp; kind" in shown(dms(bot, amara)[-1])
    assert "great questions" in shown(dms(bot, kenji)[-1])
    assert count(bot, GratitudeNote) == 2


def test_third_held_session_invites_the_mentee_to_mentor_once(bot):
    amara, kenji = pair(bot)
    for week in range(4):
        start = GOOD_TIME + timedelta(weeks=week)
        send(bot, amara, ids.SCHEDULE_SESSION_ACTION, pairing_id(bot))
        bot.driver.submit(amara, {ids.WHEN_ACTION: int(start.timestamp())})
        bot.clock.advance(start + timedelta(minutes=90) - bot.clock())
        meeting_id = next(m.id for m in meetings(bot) if m.starts_at == start)
        send(bot, kenji, ids.CHECKIN_HELD_ACTION, meeting_id)
        bot.driver.close(kenji)
        bot.deliver()
        invites = [s for s in dms(bot, kenji) if "mentor someone else" in shown(s)]
        assert len(invites) == (1 if week >= 2 else 0), week
    # Kenji is still learning public speaking and told us nothing else he knows: so it asks.
    assert "public speaking" not in shown(invites[0]).lower() and "Veterati" in shown(invites[0])
    assert "What do you know well" in shown(invites[0])
    bot.driver.click(kenji, text="Become a mentor")
    modal = bot.slack.open_modal(kenji)
    assert modal["callback_id"] == ids.PROFILE_CALLBACK
    assert ticked_roles(modal) == {ids.ROLE_MENTEE, ids.ROLE_MENTOR}
    assert "Public speaking" not in json.dumps(field(modal, ids.PROFILE_OFFERED_BLOCK))


def ticked_roles(modal):
    roles = field(modal, ids.PROFILE_ROLES_BLOCK)["element"].get("initial_options", [])
    return {option["value"] for option in roles}


def field(modal, block_id):
    return next(block for block in modal["blocks"] if block.get("block_id") == block_id)


def test_become_a_mentor_then_cancel_leaves_the_person_as_they_were(bot):
    _amara, kenji = pair(bot)
    before = member(bot, kenji)
    send(bot, kenji, ids.BECOME_MENTOR_ACTION, "")
    assert ticked_roles(bot.slack.open_modal(kenji)) == {ids.ROLE_MENTEE, ids.ROLE_MENTOR}
    bot.driver.close(kenji)
    after = member(bot, kenji)
    assert (after.is_mentor, after.is_mentee) == (False, True)
    assert after.topic_names(TopicKind.OFFERED) == before.topic_names(TopicKind.OFFERED) == []
    assert after.updated_at == before.updated_at
    # Saving is what makes them a mentor, with the topics they chose.
    send(bot, kenji, ids.BECOME_MENTOR_ACTION, "")
    reply = bot.driver.submit(kenji)
    assert set(reply.json["errors"]) == {ids.PROFILE_OFFERED_BLOCK}  # what can they help with?
    bot.driver.submit(kenji, {ids.PROFILE_OFFERED_ACTION: "Japanese, hiring"})
    assert member(bot, kenji).is_mentor
    assert member(bot, kenji).topic_names(TopicKind.OFFERED) == ["hiring", "Japanese"]


def test_a_new_profile_from_a_mentor_invitation_does_not_tick_i_would_like_a_mentor(bot):
    sam = bot.slack.add_user("Sam", real_name="Sam", tz="UTC")
    send(bot, sam, ids.BECOME_MENTOR_ACTION, "")
    assert ticked_roles(bot.slack.open_modal(sam)) == {ids.ROLE_MENTOR}
    bot.driver.close(sam)
    # Opened any other way, a new profile still starts as someone looking for a mentor.
    bot.driver.command(sam, "profile")
    assert ticked_roles(bot.slack.open_modal(sam)) == {ids.ROLE_MENTEE}


def test_the_invitation_after_a_first_win_suggests_what_they_know(bot):
    _amara, kenji = pair(bot)
    bot.driver.command(kenji, "profile")
    bot.driver.submit(
        kenji,
        {
            ids.PROFILE_OFFERED_ACTION: "Public speaking, Python",
            ids.PROFILE_BACKGROUND_ACTION: "Backend engineer at a bank for eight years.",
        },
    )
    bot.driver.command(kenji, "success First talk done")
    bot.driver.submit(kenji)
    bot.deliver()
    (invite,) = [s for s in dms(bot, kenji) if "Congratulations on your win" in shown(s)]
    assert "You already know *Python*" in shown(invite)
    assert "public speaking" not in shown(invite).lower()  # he is still learning it


def test_with_no_topics_offered_the_invitation_points_to_their_background(bot):
    _amara, kenji = pair(bot)
    bot.driver.command(kenji, "profile")
    bot.driver.submit(
        kenji, {ids.PROFILE_BACKGROUND_ACTION: "Ten years in customer support. Then product."}
    )
    bot.driver.command(kenji, "success First talk done")
    bot.driver.submit(kenji)
    bot.deliver()
    (invite,) = [s for s in dms(bot, kenji) if "Congratulations on your win" in shown(s)]
    assert "Your path (Ten years in customer support)" in shown(invite)
    assert "public speaking" not in shown(invite).lower()


def test_first_success_invites_but_not_within_60_days_of_another_invitation(bot):
    _amara, kenji = pair(bot)
    bot.driver.command(kenji, "success First win")
    bot.driver.submit(kenji)
    bot.deliver()
    assert any("Congratulations on your win" in shown(s) for s in dms(bot, kenji))
    bot.driver.command(kenji, "success Second win")
    bot.driver.submit(kenji)
    bot.deliver()
    assert sum("Congratulations on your win" in shown(s) for s in dms(bot, kenji)) == 1


def test_monthly_digest_on_the_first_weekday_for_mentors_with_activity(bot):
    amara, kenji = session_done(bot)
    bot.driver.click(kenji, text="Yes")
    bot.driver.close(kenji)
    bot.driver.command(kenji, f"thanks <@{amara}|amara> Thank you!")
    bot.driver.command(kenji, "success A win")
    bot.driver.submit(kenji)
    bot.deliver()
    with bot.database.sessions.begin() as session:
        # Tuesday 1 December 2026 is the first weekday; Wednesday the 2nd is not.
        assert queue_digests(session, datetime(2026, 12, 2, 0, 5, tzinfo=UTC)) == 0
        assert queue_digests(session, datetime(2026, 12, 1, 0, 5, tzinfo=UTC)) == 1
        assert queue_digests(session, datetime(2026, 12, 1, 0, 6, tzinfo=UTC)) == 1
    bot.clock.advance(datetime(2026, 12, 1, 9, 0, tzinfo=UTC) - bot.clock())
    assert bot.deliver() == 1  # once, even though it was queued twice
    digest = dms(bot, amara)[-1]
    assert "Your mentoring in November" in shown(digest)
    assert "1 session held, 1 thank-you note, 1 success credited to you" in shown(digest)
    assert not any("Your mentoring in" in shown(s) for s in dms(bot, kenji))


def test_help_points_to_mentoring_outside_work(bot):
    kenji = bot.slack.add_user("Kenji", real_name="Kenji", tz="Asia/Tokyo")
    reply = bot.driver.command(kenji, "help")
    body = json.dumps(reply.json)
    assert "Veterati" in body and "Big Brothers Big Sisters" in body
    assert "`/mentor success" in body and "`/mentor thanks" in body


def test_the_invitation_to_mentor_comes_again_only_after_60_days(bot):
    from bot.reframe.invitations import invite_after_success

    kenji = bot.slack.add_user("Kenji", real_name="Kenji", tz="Asia/Tokyo")
    bot.driver.command(kenji, "help")
    start = bot.clock()
    with bot.database.sessions.begin() as session:
        member_row = session.scalars(select(Member)).one()
        session.add(
            Success(
                workspace_id=member_row.workspace_id,
                author_id=member_row.id,
                text="w",
                created_at=start,
            )
        )
        session.flush()
        assert invite_after_success(session, member_row, start) is True
        assert invite_after_success(session, member_row, start + timedelta(days=59)) is False
        assert invite_after_success(session, member_row, start + timedelta(days=60)) is True
        member_row.is_mentor = True
        assert invite_after_success(session, member_row, start + timedelta(days=200)) is False


@pytest.mark.settings(success_channel="#wins", quiet_hours=None)
def test_removing_a_success_before_it_is_posted_still_lets_the_mentor_hear(bot):
    channel = bot.slack.add_channel("wins", members=[bot.slack.bot_user_id])
    amara, kenji = pair(bot)
    bot.driver.command(kenji, "success Promoted!")
    bot.driver.submit(kenji, {ids.SUCCESS_SCOPE_ACTION: "public"})
    send(bot, kenji, ids.REMOVE_SUCCESS_ACTION, successes(bot)[0].id)
    assert "Removed" in last(bot, kenji).text
    bot.clock.advance(timedelta(minutes=5))
    bot.deliver()
    assert "had a win" in shown(dms(bot, amara)[-1])
    assert bot.slack.history(channel) == []
