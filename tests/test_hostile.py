"""Hostile input: the whole catalogue through the real bot, and the rules of `/mentor thanks`."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select

from benchmarks.hostile import load_catalogue, run_catalogue
from bot.core import ids
from bot.core.blocks import build_error_reply
from bot.core.models import GratitudeNote, Member
from handlers.commands import ROUTES
from tests.test_find import last, mentee, mentor

HANDLERS = Path(__file__).parent.parent / "handlers"


def test_every_hostile_input_gets_a_clear_answer_and_changes_nothing_unless_valid(bot):
    report = run_catalogue(bot)
    assert report.problems == []
    assert report.tried == len(load_catalogue()) >= 150
    assert report.handled == report.tried


def registered(module: str) -> set[str]:
    """The ids a handlers module registers with its `@on(app, deps, ids.X, ...)` decorator."""
    source = (HANDLERS / module).read_text()
    found = re.findall(r"@on\(\s*app,\s*deps,([^)]*)\)", source)
    names = {name for group in found for name in re.findall(r"ids\.(\w+)", group)}
    return {getattr(ids, name) for name in names}


def test_the_catalogue_covers_every_subcommand_form_and_button():
    cases = load_catalogue()
    words = {c["command"].split(" ")[0].lower() for c in cases if "command" in c}
    assert set(ROUTES) <= words
    assert registered("views.py") <= {c["submit"] for c in cases if "submit" in c}
    assert registered("actions.py") <= {c["click"] for c in cases if "click" in c}
    assert {"refused", "accepted", "ignored"} == {c["expect"] for c in cases}
    assert sum("dm" in c or "event" in c for c in cases) >= 20


def notes(bot):
    with bot.database.sessions.begin() as session:
        return session.scalar(select(func.count()).select_from(GratitudeNote))


def members(bot):
    with bot.database.sessions.begin() as session:
        return set(session.scalars(select(Member.slack_user_id)))


def test_thanks_to_an_unknown_id_is_refused_and_remembers_nobody(bot):
    kenji = mentee(bot)
    before = members(bot)
    bot.driver.command(kenji, "thanks <@U0NOBODY> thanks for everything")
    assert "can't find that person" in last(bot, kenji).text
    bot.driver.command(kenji, f"thanks <@U{'A' * 300}> hi")
    assert "Mention who to thank" in last(bot, kenji).text
    assert members(bot) == before and notes(bot) == 0


def test_thanks_to_a_bot_a_deactivated_account_or_yourself_is_refused(bot):
    kenji = mentee(bot)
    helper = bot.slack.add_user("Helper", real_name="Helper Bot", tz="UTC", is_bot=True)
    gone = bot.slack.add_user("Gone", real_name="Gone Away", tz="UTC", deleted=True)
    for who, answer in ((helper, "an app"), (gone, "deactivated"), (kenji, "Thanking yourself")):
        bot.driver.command(kenji, f"thanks <@{who}> you're great")
        assert answer in last(bot, kenji).text
    assert notes(bot) == 0 and {helper, gone}.isdisjoint(members(bot))


def test_thanks_respects_blocks_both_ways_without_saying_who_blocked(bot):
    amara = mentor(bot, "Amara", "Africa/Lagos", "Public speaking")
    kenji = mentee(bot)
    bot.driver.command(amara, f"block <@{kenji}>")
    bot.driver.command(kenji, f"thanks <@{amara}> thank you")
    assert last(bot, kenji).text == "Sorry, I can't pass notes between you two."
    bot.driver.command(kenji, f"thanks <@{amara}>")  # no note: refused before the form opens
    assert bot.slack.open_modal(kenji) is None
    bot.driver.command(amara, f"thanks <@{kenji}> thank you")
    assert last(bot, amara).text == "Sorry, I can't pass notes between you two."
    assert notes(bot) == 0


def test_thanks_once_a_day_per_pair(bot):
    amara = mentor(bot, "Amara", "Africa/Lagos", "Public speaking")
    kenji = mentee(bot)
    bot.driver.command(kenji, f"thanks <@{amara}> The slides tip worked!")
    assert "will get your note by DM" in last(bot, kenji).text
    bot.driver.command(kenji, f"thanks <@{amara}> And the breathing one!")
    assert f"already thanked <@{amara}> today" in last(bot, kenji).text
    assert notes(bot) == 1
    bot.clock.advance(timedelta(days=1))
    bot.driver.command(kenji, f"thanks <@{amara}> And the breathing one!")
    assert "will get your note by DM" in last(bot, kenji).text
    assert notes(bot) == 2


def test_thanks_form_with_a_forged_recipient_is_refused(bot):
    kenji = mentee(bot)
    bot.driver.command(kenji, "thanks <@U0NOBODY>")
    assert bot.slack.open_modal(kenji) is None
    amara = mentor(bot, "Amara", "Africa/Lagos", "Public speaking")
    bot.driver.command(kenji, f"thanks <@{amara}>")
    view = bot.slack.open_modal(kenji)
    forged = view["private_metadata"].replace(amara, "U0NOBODY")
    reply = bot.driver.forged_submission(
        kenji, {**view, "private_metadata": forged, "state": {"values": {}}}
    )
    assert "can't find that person" in " ".join(reply.json["errors"].values())
    assert notes(bot) == 0 and "U0NOBODY" not in members(bot)


def paused_until(bot):
    with bot.database.sessions.begin() as session:
        return session.scalar(select(Member.paused_until))


def test_pause_reads_digits_in_any_script_and_explains_the_rest(bot):
    kenji = mentee(bot)
    # Superscript two is a digit to Python's isdigit() but no number of days; int() crashed on it.
    for days in ("\u00b2", "99999999999999999999", "1e3", "7\u200b days"):
        bot.driver.command(kenji, f"pause {days}")
        assert last(bot, kenji).text.startswith("Pause for 1 to")
        assert build_error_reply()["text"] not in last(bot, kenji).text
        assert paused_until(bot) is None
    bot.driver.command(kenji, "pause \u0663")  # Arabic-Indic three
    assert paused_until(bot) == bot.clock() + timedelta(days=3)
    bot.driver.command(kenji, "pause \uff17\u200b")  # fullwidth seven, and a zero-width space
    assert paused_until(bot) == bot.clock() + timedelta(days=7)
