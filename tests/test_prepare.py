"""Prepare, end to end through the sandbox: sessions, prep prompts, DM answers, the agenda."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.core import ids
from bot.core.models import AgendaItem, Meeting, MeetingStatus, OutboxMessage, OutboxStatus, Pairing
from tests.test_find import ask, last, mentee, mentor, send, shown

# The bot's clock starts Wednesday 2026-11-25 09:00 UTC: 10:00 in Lagos, 18:00 in Tokyo.
GOOD_TIME = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)  # Thu 09:00 Lagos, 17:00 Tokyo


def pair(bot):
    """Amara (mentor, Lagos) and Kenji (mentee, Tokyo), accepted and introduced."""
    amara = mentor(
        bot,
        "Amara",
        "Africa/Lagos",
        "Public speaking, storytelling",
        background="Product lead and conference speaker.",
        experience="Coached thirty first-time speakers.",
    )
    kenji = mentee(bot)
    bot.driver.command(kenji, "find")
    ask(bot, kenji, amara)
    bot.deliver()
    bot.driver.click(amara, text="Accept")
    bot.deliver()
    return amara, kenji


def book(bot, who, when=GOOD_TIME, **values):
    bot.driver.click(who, text="Schedule our first session")
    return bot.driver.submit(who, {ids.WHEN_ACTION: int(when.timestamp()), **values})


def meetings(bot):
    with bot.database.sessions.begin() as session:
        return session.scalars(select(Meeting).order_by(Meeting.starts_at)).all()


def agenda(bot):
    with bot.database.sessions.begin() as session:
        return [i.text for i in session.scalars(select(AgendaItem).order_by(AgendaItem.id))]


def outbox_rows(bot, kind):
    with bot.database.sessions.begin() as session:
        return session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == kind).order_by(OutboxMessage.id)
        ).all()


def test_booking_warns_outside_the_partners_hours_and_confirms_to_both(bot):
    amara, kenji = pair(bot)
    bot.driver.click(kenji, text="Schedule our first session")
    modal = bot.slack.open_modal(kenji)
    when = next(b for b in modal["blocks"] if b.get("block_id") == ids.WHEN_BLOCK)
    # Next weekday, 10:00 in Tokyo (where Kenji is): Thursday 01:00 UTC.
    assert when["element"]["initial_date_time"] == int(
        datetime(2026, 11, 26, 1, 0, tzinfo=UTC).timestamp()
    )
    reply = bot.driver.submit(kenji)
    assert reply.json["response_action"] == "update"
    warned = bot.slack.open_modal(kenji)
    assert "02:00 for Amara" in json.dumps(warned["blocks"])
    assert warned["submit"]["text"] == "Book it anyway"
    assert meetings(bot) == []
    bot.driver.submit(kenji)  # same time again: booked despite the warning
    (meeting,) = meetings(bot)
    assert meeting.starts_at == datetime(2026, 11, 26, 1, 0, tzinfo=UTC)
    assert (meeting.duration_minutes, meeting.status) == (30, MeetingStatus.SCHEDULED)
    assert "Booked for <!date^" in last(bot, kenji).text

    bot.deliver()
    for person in (amara, kenji):
        seen = [s for s in bot.slack.seen(person) if s.kind == "group"][-1]
        assert f"<!date^{int(meeting.starts_at.timestamp())}^" in shown(seen)
        assert "Reschedule" in shown(seen) and "Cancel" in shown(seen)


def test_a_good_time_books_without_a_warning(bot):
    amara, _kenji = pair(bot)
    book(bot, amara, duration="45", topic="Structuring my talk")
    (meeting,) = meetings(bot)
    assert (meeting.starts_at, meeting.duration_minutes, meeting.topic) == (
        GOOD_TIME,
        45,
        "Structuring my talk",
    )


@pytest.mark.parametrize(
    ("values", "block"),
    [
        (
            {ids.WHEN_ACTION: int(datetime(2026, 11, 25, 8, 0, tzinfo=UTC).timestamp())},
            ids.WHEN_BLOCK,
        ),
        (
            {ids.WHEN_ACTION: int(datetime(2027, 6, 1, 8, 0, tzinfo=UTC).timestamp())},
            ids.WHEN_BLOCK,
        ),
        ({ids.WHEN_ACTION: None}, ids.WHEN_BLOCK),
        ({ids.MEETING_TOPIC_ACTION: "t" * 201}, ids.MEETING_TOPIC_BLOCK),
    ],
)
def test_bad_times_and_topics_are_refused_inline(bot, values, block):
    amara, _kenji = pair(bot)
    bot.driver.click(amara, text="Schedule our first session")
    reply = bot.driver.submit(amara, {ids.WHEN_ACTION: int(GOOD_TIME.timestamp()), **values})
    assert set(reply.json["errors"]) == {block}
    assert meetings(bot) == []


def test_forged_duration_and_cadence_are_refused(bot):
    amara, _ = pair(bot)
    bot.driver.click(amara, text="Schedule our first session")
    modal = bot.slack.open_modal(amara)
    # Slack only submits offered options; a forged payload could carry anything.
    values = {
        ids.WHEN_BLOCK: {
            ids.WHEN_ACTION: {
                "type": "datetimepicker",
                "selected_date_time": int(GOOD_TIME.timestamp()),
            }
        },
        ids.DURATION_BLOCK: {
            ids.DURATION_ACTION: {"type": "static_select", "selected_option": {"value": "7"}}
        },
        ids.CADENCE_BLOCK: {
            ids.CADENCE_ACTION: {"type": "static_select", "selected_option": {"value": "3"}}
        },
    }
    reply = submit_raw(bot, amara, modal, values)
    assert set(json.loads(reply.body)["errors"]) == {ids.DURATION_BLOCK, ids.CADENCE_BLOCK}
    assert meetings(bot) == []


def submit_raw(bot, user, modal, values):
    import urllib.parse

    payload = {
        "type": "view_submission",
        "team": {"id": bot.slack.team_id},
        "user": {"id": user, "team_id": bot.slack.team_id},
        "api_app_id": bot.slack.app_id,
        "view": {**modal, "state": {"values": values}},
    }
    body = "payload=" + urllib.parse.quote(json.dumps(payload))
    return bot.driver.send_raw(body.encode(), content_type="application/x-www-form-urlencoded")


def test_prep_prompts_show_each_the_other_and_dm_answers_become_the_agenda(bot):
    amara, kenji = pair(bot)
    start = GOOD_TIME + timedelta(days=2)
    book(bot, amara, when=start)
    bot.deliver()
    assert not [s for s in bot.slack.seen(kenji) if "Getting ready" in shown(s)]
    bot.clock.advance(start - timedelta(days=1) - bot.clock())  # PREP_LEAD_MINUTES before
    bot.deliver()
    to_kenji = last(bot, kenji)
    assert to_kenji.kind == "dm" and "Getting ready for your session with Amara" in shown(to_kenji)
    assert "Public speaking, storytelling" in shown(to_kenji)  # the mentor's topics
    assert "Coached thirty first-time speakers." in shown(to_kenji)
    to_amara = last(bot, amara)
    assert "Give my first conference talk" in shown(to_amara)  # the mentee's goals, as written
    assert "Add topics" in shown(to_amara) and "Nothing this time" in shown(to_amara)

    first = bot.driver.dm(kenji, "How do I open a talk <!channel>?")
    second = bot.driver.dm(kenji, "How do I handle nerves?")
    assert agenda(bot) == ["How do I open a talk <!channel>?", "How do I handle nerves?"]
    assert bot.slack.calls_to("reactions.add")[-1].args["timestamp"] == second
    assert "You have 2 items so far" in last(bot, kenji).text
    bot.driver.edit_dm(kenji, second, "How do I calm my nerves before going on stage?")
    bot.driver.dm(kenji, "What slides tool do you use?")
    bot.driver.delete_dm(kenji, first)
    assert agenda(bot) == [
        "How do I calm my nerves before going on stage?",
        "What slides tool do you use?",
    ]
    bot.driver.click(amara, text="Add topics")
    bot.driver.submit(amara, {ids.AGENDA_ITEMS_ACTION: "- Story arc\n\n- Rehearsal plan"})
    assert "Added 2 to the agenda" in last(bot, amara).text

    bot.clock.advance(start - timedelta(minutes=60) - bot.clock())
    assert bot.deliver() == 1
    posted = last(bot, kenji)
    assert posted.kind == "group" and last(bot, amara).ts == posted.ts
    body = shown(posted)
    assert body.index("From Kenji") < body.index("calm my nerves") < body.index("From Amara")
    assert "Story arc" in body and "Rehearsal plan" in body
    assert "<!channel>" not in body

    bot.clock.advance(timedelta(minutes=61))
    bot.driver.dm(kenji, "One more thing!")
    assert "has already started" in last(bot, kenji).text
    assert "One more thing!" not in agenda(bot)


def test_an_empty_agenda_gets_three_starter_questions(bot):
    amara, kenji = pair(bot)
    book(bot, amara)
    bot.deliver()
    bot.clock.advance(GOOD_TIME - timedelta(minutes=60) - bot.clock())
    bot.deliver()
    body = shown(last(bot, kenji))
    assert "Nobody has added anything yet" in body
    assert "Give my first conference talk next spring without freezing up" in body
    assert body.lower().count("with public speaking") == 1
    assert body.lower().count("on public speaking") == 1


def test_nothing_this_time_is_answered_kindly(bot):
    amara, kenji = pair(bot)
    book(bot, amara)
    bot.deliver()
    bot.driver.click(kenji, text="Nothing this time")
    assert "No problem" in last(bot, kenji).text


def test_a_dm_with_no_open_prompt_gets_a_helpful_answer(bot):
    loner = bot.slack.add_user("Sam", real_name="Sam", tz="UTC")
    bot.driver.dm(loner, "hello?")
    assert "/mentor help" in shown(last(bot, loner))
    assert agenda(bot) == []


def test_two_upcoming_sessions_the_nearest_gets_the_answer(bot):
    amara, kenji = pair(bot)
    # Both within a day, so both prep prompts are out: 17:00 and 09:00 Thursday in Tokyo.
    book(bot, amara, when=GOOD_TIME)
    book(bot, amara, when=datetime(2026, 11, 26, 0, 0, tzinfo=UTC))
    bot.deliver()
    bot.driver.dm(kenji, "Question for the first one")
    nearest = meetings(bot)[0]
    with bot.database.sessions.begin() as session:
        item = session.scalars(select(AgendaItem)).one()
    assert item.meeting_id == nearest.id
    reply = last(bot, kenji).text
    assert f"<!date^{int(nearest.starts_at.timestamp())}^" in reply and "nearest" in reply


def ts(when):
    return int(when.timestamp())


def block(view, block_id):
    return next(b for b in view["blocks"] if b.get("block_id") == block_id)


def group_notes(bot, user):
    return [s for s in bot.slack.seen(user) if s.kind == "group"]


def test_a_series_has_an_end_and_each_change_says_exactly_what_changed(bot):
    amara, kenji = pair(bot)
    bot.driver.click(amara, text="Schedule our first session")
    modal = bot.slack.open_modal(amara)
    assert block(modal, ids.SESSIONS_BLOCK)["element"]["initial_value"] == "6"
    assert block(modal, ids.UNTIL_BLOCK)["optional"]
    bot.driver.submit(amara, {ids.WHEN_ACTION: ts(GOOD_TIME), ids.CADENCE_ACTION: "1"})
    series = meetings(bot)
    assert [m.starts_at for m in series] == [GOOD_TIME + timedelta(weeks=n) for n in range(6)]
    assert last(bot, amara).text == (
        f"Booked for <!date^{ts(GOOD_TIME)}^{{date_short_pretty}} at {{time}}|Thu 26 Nov, 09:00> "
        f"(30 min), every week, 6 sessions until <!date^{ts(series[-1].starts_at)}"
        "^{date_short_pretty}|Thu 31 Dec>. I've told you both."
    )
    assert len(outbox_rows(bot, "prep_prompt")) == 12 and len(outbox_rows(bot, "agenda")) == 6
    bot.deliver()
    booked = group_notes(bot, kenji)[-1]
    assert "every week, 6 sessions until" in shown(booked)
    assert booked.text == (
        "Session booked: Thu 26 Nov, 09:00 for Amara, 17:00 for Kenji. "
        "Then every week, 6 sessions in all."
    )

    # Kenji moves the third session from Thursday to Friday; nothing else moves.
    third, friday = series[2], series[2].starts_at + timedelta(days=1, hours=1)
    bot.clock.advance(timedelta(minutes=5))
    send(bot, kenji, ids.RESCHEDULE_ACTION, third.id)
    bot.driver.submit(kenji, {ids.WHEN_ACTION: ts(friday)})
    assert last(bot, kenji).text == (
        f"The session on <!date^{ts(third.starts_at)}^{{date_short_pretty}} at {{time}}"
        f"|Thu 10 Dec, 17:00> moved to <!date^{ts(friday)}^{{date_short_pretty}} at {{time}}"
        "|Fri 11 Dec, 18:00> (30 min). The rest of the series stays as it was. "
        "I've told you both."
    )
    starts = [m.starts_at for m in meetings(bot)]
    assert starts == [
        *[m.starts_at for m in series[:2]],
        friday,
        *[m.starts_at for m in series[3:]],
    ]
    bot.deliver()
    moved = shown(group_notes(bot, amara)[-1])
    assert f"The session on <!date^{ts(third.starts_at)}^" in moved
    assert f"moved to <!date^{ts(friday)}^" in moved and "|Fri 11 Dec, 10:00 for Amara" in moved
    assert "The rest of the series stays as it was." in moved

    # Kenji cancels just the second one.
    bot.clock.advance(timedelta(minutes=5))
    send(bot, kenji, ids.CANCEL_MEETING_ACTION, series[1].id)
    bot.driver.submit(kenji, {ids.CANCEL_SCOPE_ACTION: "one"})
    assert last(bot, kenji).text.endswith(
        "|Thu 3 Dec, 17:00> is cancelled. The rest of the series stays as it was. "
        "I've told you both."
    )
    cancelled = {
        r.subject_id for r in outbox_rows(bot, "prep_prompt") if r.status == OutboxStatus.CANCELLED
    }
    assert cancelled == {series[1].id}
    bot.deliver()
    assert "The rest of the series stays as it was." in shown(group_notes(bot, kenji)[-1])

    # Amara cancels the fourth and everything after it: three sessions, said as three.
    bot.clock.advance(timedelta(minutes=5))
    send(bot, amara, ids.CANCEL_MEETING_ACTION, series[3].id)
    bot.driver.submit(amara, {ids.CANCEL_SCOPE_ACTION: "series"})
    on, off = MeetingStatus.SCHEDULED, MeetingStatus.CANCELLED
    assert [m.status for m in meetings(bot)] == [on, off, on, off, off, off]
    assert last(bot, amara).text == (
        f"The 3 remaining sessions, from <!date^{ts(series[3].starts_at)}^{{date_short_pretty}}"
        f"|Thu 17 Dec> to <!date^{ts(series[5].starts_at)}^{{date_short_pretty}}|Thu 31 Dec>, "
        "are cancelled. I've told you both."
    )
    bot.deliver()
    note = group_notes(bot, kenji)[-1]
    assert "The 3 remaining sessions" in shown(note)
    assert note.text == "3 sessions cancelled, from Thu 17 Dec, 09:00 for Amara, 17:00 for Kenji."


def test_a_series_can_run_until_a_day(bot):
    amara, kenji = pair(bot)
    book(bot, amara, cadence="2", until=date(2027, 1, 7))  # a Thursday, in Amara's calendar
    assert [m.starts_at for m in meetings(bot)] == [
        GOOD_TIME + timedelta(weeks=n) for n in (0, 2, 4, 6)
    ]
    assert "every 2 weeks, 4 sessions until" in last(bot, amara).text
    assert "|Thu 7 Jan>" in last(bot, amara).text
    bot.deliver()
    assert "every 2 weeks, 4 sessions until" in shown(group_notes(bot, kenji)[-1])


@pytest.mark.parametrize(
    ("values", "block_id", "says"),
    [
        ({ids.CADENCE_ACTION: "4", ids.SESSIONS_ACTION: "10"}, ids.SESSIONS_BLOCK, "1 and 7"),
        (
            {ids.CADENCE_ACTION: "1", ids.UNTIL_ACTION: date(2026, 11, 20)},
            ids.UNTIL_BLOCK,
            "before",
        ),
        ({ids.CADENCE_ACTION: "1", ids.UNTIL_ACTION: date(2027, 12, 1)}, ids.UNTIL_BLOCK, "six"),
    ],
)
def test_a_series_past_six_months_or_ending_before_it_starts_is_refused(
    bot, values, block_id, says
):
    amara, _kenji = pair(bot)
    reply = book(bot, amara, **values)
    assert set(reply.json["errors"]) == {block_id} and says in reply.json["errors"][block_id]
    assert meetings(bot) == []


def test_rescheduling_moves_the_prompts_and_tells_the_other_person(bot):
    amara, kenji = pair(bot)
    later = GOOD_TIME + timedelta(days=3)
    book(bot, amara, when=later)
    bot.deliver()
    (meeting,) = meetings(bot)
    send(bot, kenji, ids.RESCHEDULE_ACTION, meeting.id)
    moved_to = later + timedelta(days=2)
    bot.driver.submit(kenji, {ids.WHEN_ACTION: int(moved_to.timestamp())})
    (meeting,) = meetings(bot)
    assert meeting.starts_at == moved_to
    prep = outbox_rows(bot, "prep_prompt")
    assert {r.due_at for r in prep} == {moved_to - timedelta(days=1)}
    assert outbox_rows(bot, "agenda")[0].due_at == moved_to - timedelta(minutes=60)
    bot.deliver()
    note = [s for s in bot.slack.seen(amara) if s.kind == "group"][-1]
    assert "moved to" in shown(note) and f"<!date^{int(moved_to.timestamp())}^" in shown(note)


@pytest.mark.parametrize(
    "action",
    [
        ids.RESCHEDULE_ACTION,
        ids.CANCEL_MEETING_ACTION,
        ids.ADD_TOPICS_ACTION,
        ids.NOTHING_THIS_TIME_ACTION,
    ],
)
def test_forged_buttons_for_another_pairs_meeting_are_refused(bot, action):
    amara, _kenji = pair(bot)
    book(bot, amara)
    (meeting,) = meetings(bot)
    mallory = bot.slack.add_user("Mallory", real_name="Mallory", tz="UTC")
    send(bot, mallory, action, meeting.id)
    assert "isn't yours" in last(bot, mallory).text
    assert bot.slack.open_modal(mallory) is None
    assert meetings(bot)[0].status == MeetingStatus.SCHEDULED and agenda(bot) == []


def test_forged_schedule_button_for_another_pair_is_refused(bot):
    pair(bot)
    mallory = bot.slack.add_user("Mallory", real_name="Mallory", tz="UTC")
    with bot.database.sessions.begin() as session:
        pairing_id = session.scalars(select(Pairing.id)).one()
    send(bot, mallory, ids.SCHEDULE_SESSION_ACTION, pairing_id)
    assert "isn't yours" in last(bot, mallory).text and bot.slack.open_modal(mallory) is None


def test_schedule_command(bot):
    amara, kenji = pair(bot)
    bot.driver.command(kenji, f"schedule <@{amara}|amara>")
    assert bot.slack.open_modal(kenji)["callback_id"] == ids.SCHEDULE_CALLBACK
    bot.driver.command(amara, "schedule")  # one partner: no need to name them
    assert bot.slack.open_modal(amara)["callback_id"] == ids.SCHEDULE_CALLBACK
    stranger = bot.slack.add_user("Sam", real_name="Sam", tz="UTC")
    bot.driver.command(stranger, "schedule")
    assert "You don't have a mentor or mentee yet" in last(bot, stranger).text
    bot.driver.command(stranger, f"schedule <@{amara}|amara>")
    assert "aren't a mentoring pair" in last(bot, stranger).text


def test_home_lists_the_next_sessions(bot):
    amara, kenji = pair(bot)
    book(bot, amara)
    bot.driver.open_home(kenji)
    home = json.dumps(bot.slack.home(kenji))
    assert "Your next sessions" in home and f"<!date^{int(GOOD_TIME.timestamp())}^" in home


@pytest.mark.parametrize("text", ["", "   \n  \n", "\n".join(["ok", "x" * 501]), "- \n* \n•"])
def test_garbage_in_the_add_topics_form_is_refused(bot, text):
    amara, kenji = pair(bot)
    book(bot, amara)
    bot.deliver()
    bot.driver.click(kenji, text="Add topics")
    reply = bot.driver.submit(kenji, {ids.AGENDA_ITEMS_ACTION: text})
    assert set(reply.json["errors"]) == {ids.AGENDA_ITEMS_BLOCK}
    assert agenda(bot) == []


def test_every_time_reads_in_the_readers_own_zone_even_in_notifications(bot):
    amara, kenji = pair(bot)  # Lagos (UTC+1) and Tokyo (UTC+9)
    book(bot, amara)
    assert "|Thu 26 Nov, 09:00> (30 min)" in last(bot, amara).text
    bot.deliver()  # the booking, then both prep notes (the session is within a day)
    booked = group_notes(bot, kenji)[-1]
    assert booked.text == "Session booked: Thu 26 Nov, 09:00 for Amara, 17:00 for Kenji."
    prep = {s.text for s in bot.slack.seen(kenji) if "Getting ready" in s.text}
    assert prep == {
        "Getting ready for your session with Amara on Thu 26 Nov, 17:00: what do you want to cover?"
    }
    assert any(
        "with Kenji on Thu 26 Nov, 09:00:" in s.text
        for s in bot.slack.seen(amara)
        if s.kind == "dm"
    )
    bot.driver.dm(kenji, "How do I open a talk?")
    assert "|Thu 26 Nov, 17:00>" in last(bot, kenji).text
    bot.driver.open_home(kenji)
    assert "|Thu 26 Nov, 17:00>" in json.dumps(bot.slack.home(kenji))
    send(bot, kenji, ids.CANCEL_MEETING_ACTION, meetings(bot)[0].id)
    assert "|Thu 26 Nov, 17:00>?" in json.dumps(bot.slack.open_modal(kenji))

    bot.clock.advance(GOOD_TIME - timedelta(minutes=60) - bot.clock())
    bot.deliver()
    assert "|Thu 26 Nov, 09:00 for Amara, 17:00 for Kenji>" in shown(last(bot, kenji))
    bot.clock.advance(timedelta(hours=3))
    bot.deliver()
    assert "|Thu 26 Nov, 17:00>" in shown(last(bot, kenji))  # did it happen?
    assert "|Thu 26 Nov, 09:00>" in shown(last(bot, amara))

    seen = bot.slack.seen(amara) + bot.slack.seen(kenji)
    assert [shown(s) for s in seen if "UTC" in shown(s)] == []


def prep_notes(bot, user):
    return [s for s in bot.slack.seen(user) if "Getting ready" in s.text]


def test_the_prep_note_coaches_each_person_for_their_role_a_new_line_each_session(bot):
    amara, kenji = pair(bot)
    book(bot, amara, cadence="1", sessions="2")
    bot.deliver()
    to_kenji, to_amara = (shown(prep_notes(bot, person)[-1]) for person in (kenji, amara))
    assert "Coached thirty first-time speakers." in to_kenji  # the partner's background stays
    assert "Amara's time is precious: come with your top question" in to_kenji
    assert "Listen for one thing you'll apply this week" in to_kenji
    assert "Start by asking Kenji what they want from this session" in to_amara
    assert "help Kenji name one thing to apply this week" in to_amara
    assert "come with your top question" not in to_amara

    second = meetings(bot)[1]
    bot.clock.advance(second.starts_at - timedelta(days=1) - bot.clock())
    bot.deliver()
    prep = prep_notes(bot, kenji)
    assert len(prep) == 2
    assert "Open with what you tried since last time" in shown(prep[-1])
    assert "Listen for one thing you'll apply this week" in shown(prep[-1])
