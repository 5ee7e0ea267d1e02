"""Examples in the forms fit whatever the person is working on, not one person's conference talk."""

from __future__ import annotations

from bot.core import ids
from tests.test_find import ask, mentor
from tests.test_prepare import book, pair
from tests.test_respect import CHECKIN_AT, pairing_id, send

SOMEONE_ELSES_EXAMPLE = ("conference", "talk", "slides", "spring, but good luck")


def placeholders(view):
    """Every placeholder a person sees in a modal, by block id."""
    found = {}
    for block in view["blocks"]:
        element = block.get("element") or {}
        if isinstance(element.get("placeholder"), dict):
            found[block["block_id"]] = element["placeholder"]["text"]
    return found


def test_a_python_learner_sees_python_examples_and_nobody_elses_talk(bot):
    ravi = mentor(bot, "Ravi", "Asia/Kolkata", "python")
    seen: dict[str, str] = {}

    # A first find about python: the goal example is about python.
    lena = bot.slack.add_user("Lena", real_name="Lena Berg", tz="Europe/Berlin")
    bot.driver.command(lena, "find python")
    goals = placeholders(bot.slack.open_modal(lena))
    assert "python" in goals[ids.GOALS_BLOCK]
    seen.update(goals)
    bot.driver.submit(lena, {ids.GOALS_ACTION: "Write tools my team relies on."})
    ask(bot, lena, ravi, note="I'd love help structuring my first Python project.")
    bot.deliver()
    bot.driver.click(ravi, text="Not now")
    seen.update(placeholders(bot.slack.open_modal(ravi)))
    bot.driver.close(ravi)

    # The forms a pair meets after that: profile, session, advice, thanks, success.
    amara, kenji = pair(bot)
    bot.driver.command(kenji, "profile")
    seen.update(placeholders(bot.slack.open_modal(kenji)))
    bot.driver.close(kenji)
    send(bot, amara, ids.SCHEDULE_SESSION_ACTION, pairing_id(bot))
    seen.update(placeholders(bot.slack.open_modal(amara)))
    bot.driver.close(amara)
    book(bot, amara)
    bot.deliver()
    bot.clock.advance(CHECKIN_AT - bot.clock())
    bot.deliver()
    bot.driver.click(kenji, text="Yes")
    seen.update(placeholders(bot.slack.open_modal(kenji)))
    bot.driver.close(kenji)
    bot.driver.click(kenji, text="Thank Amara")
    seen.update(placeholders(bot.slack.open_modal(kenji)))
    bot.driver.close(kenji)
    bot.driver.command(kenji, "success")
    seen.update(placeholders(bot.slack.open_modal(kenji)))

    for block in (
        ids.GOALS_BLOCK,
        ids.DECLINE_REASON_BLOCK,
        ids.PROFILE_GOALS_BLOCK,
        ids.MEETING_TOPIC_BLOCK,
        ids.ADVICE_BLOCK,
        ids.THANKS_BLOCK,
        ids.SUCCESS_TEXT_BLOCK,
    ):
        assert block in seen, block
    for block, text in seen.items():
        assert not any(word in text.lower() for word in SOMEONE_ELSES_EXAMPLE), (block, text)
