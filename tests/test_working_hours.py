"""Each person's own working hours: set in the profile, and the bot keeps quiet outside them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta

from bot.core import ids
from bot.core.models import Member
from bot.core.quiet_hours import quiet_window
from bot.core.settings import QuietHours
from tests.test_find import member, shown
from tests.test_prepare import book, meetings, pair
from tests.test_respect import dms

PROGRAM = QuietHours(time(20), time(8))


def pickers(view):
    return {
        block["block_id"]: block
        for block in view["blocks"]
        if block.get("block_id") in (ids.PROFILE_WORK_START_BLOCK, ids.PROFILE_WORK_END_BLOCK)
    }


def saved_note(bot, user):
    return next(s.text for s in reversed(bot.slack.seen(user)) if s.kind == "ephemeral")


def test_an_early_bird_sets_their_hours_and_hears_nothing_after_them(bot):
    amara, kenji = pair(bot)  # 09:00 UTC: 18:00 for Kenji in Tokyo
    bot.driver.command(kenji, "profile")
    shown_pickers = pickers(bot.slack.open_modal(kenji))
    # The program's QUIET_HOURS (20:00-08:00) leave an 08:00-20:00 day, in his own zone.
    start, end = (shown_pickers[b]["element"] for b in sorted(shown_pickers, reverse=True))
    assert (start["type"], start["initial_time"], end["initial_time"]) == (
        "timepicker",
        "08:00",
        "20:00",
    )
    assert "Asia/Tokyo" in shown_pickers[ids.PROFILE_WORK_END_BLOCK]["hint"]["text"]

    # Mistakes are shown beside the field, and nothing is saved.
    for values, problem_block in (
        ({ids.PROFILE_WORK_START_ACTION: "09:00", ids.PROFILE_WORK_END_ACTION: "09:00"}, "end"),
        ({ids.PROFILE_WORK_START_ACTION: "25:00"}, "start"),
        ({ids.PROFILE_WORK_START_ACTION: None}, "start"),
    ):
        reply = bot.driver.submit(kenji, values)
        assert set(reply.json["errors"]) == {f"profile_work_{problem_block}"}, values
    assert member(bot, kenji).work_start is None

    bot.driver.submit(
        kenji, {ids.PROFILE_WORK_START_ACTION: "06:00", ids.PROFILE_WORK_END_ACTION: "14:00"}
    )
    saved = member(bot, kenji)
    assert (saved.work_start, saved.work_end) == (time(6), time(14))
    assert "Your working hours:* 06:00 to 14:00 your time" in saved_note(bot, kenji)
    assert quiet_window(saved, PROGRAM) == QuietHours(time(14), time(6))

    # 18:00 in Tokyo is inside the program's day but after his: Amara's thanks waits for 06:00.
    bot.driver.command(amara, f"thanks <@{kenji}|kenji> Great questions today.")
    bot.deliver()
    assert not any("Great questions" in shown(s) for s in dms(bot, kenji))
    six_in_tokyo = datetime(2026, 11, 25, 21, 0, tzinfo=UTC)
    bot.clock.advance(six_in_tokyo - timedelta(minutes=1) - bot.clock())
    bot.deliver()
    assert not any("Great questions" in shown(s) for s in dms(bot, kenji))
    bot.clock.advance(timedelta(minutes=1))
    bot.deliver()
    assert "Great questions" in shown(dms(bot, kenji)[-1])


def test_keeping_the_usual_hours_follows_the_program(bot):
    _amara, kenji = pair(bot)
    bot.driver.command(kenji, "profile")
    bot.driver.submit(kenji)  # the pickers as shown: the program's own day
    saved = member(bot, kenji)
    assert (saved.work_start, saved.work_end) == (None, None)
    assert quiet_window(saved, PROGRAM) is PROGRAM
    assert quiet_window(saved, None) is None  # an admin turning quiet hours off reaches him too
    assert "Profile saved" in saved_note(bot, kenji)
    assert "working hours" not in saved_note(bot, kenji)


def test_a_night_shift_is_a_working_day_too():
    nurse = Member(work_start=time(22), work_end=time(6))
    assert quiet_window(nurse, PROGRAM) == QuietHours(time(6), time(22))
    assert quiet_window(nurse, None) == QuietHours(time(6), time(22))


def test_booking_warns_when_a_time_falls_outside_the_partners_own_hours(bot):
    amara, kenji = pair(bot)
    bot.driver.command(kenji, "profile")
    bot.driver.submit(
        kenji, {ids.PROFILE_WORK_START_ACTION: "06:00", ids.PROFILE_WORK_END_ACTION: "14:00"}
    )
    # 17:00 in Tokyo: inside a usual 08:00-18:00 day, but Kenji stops at 14:00.
    book(bot, amara)
    warned = bot.slack.open_modal(amara)
    assert "17:00 for Kenji" in json.dumps(warned["blocks"])
    assert meetings(bot) == []
    bot.driver.close(amara)
    # 07:00 in Tokyo (22:00 UTC the day before): early for most, right for him.
    book(bot, amara, when=datetime(2026, 11, 25, 22, 0, tzinfo=UTC))
    (meeting,) = meetings(bot)
    assert meeting.starts_at == datetime(2026, 11, 25, 22, 0, tzinfo=UTC)
