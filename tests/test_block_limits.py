"""Block Kit limits: long and escape-heavy content reaches people whole, or visibly shortened.

The sandbox refuses what Slack refuses (3,000 characters a section, 50 blocks, about 12,000
characters of block text per message, pre-fills longer than their box), so every scenario here
would fail with a silent refusal if a builder let too much through.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from slack_sdk.errors import SlackApiError
from sqlalchemy import select

from bot.core import ids
from bot.core.block_limits import (
    ELLIPSIS,
    MESSAGE_TEXT,
    MESSAGE_TEXT_BUDGET,
    SECTION_TEXT,
    check_message,
    check_view,
    fit_lines,
    fit_message,
    measure,
    sections,
    shorten,
    split_text,
    trim_input,
)
from bot.core.blocks import section
from bot.core.models import OutboxMessage, OutboxStatus, Success
from bot.core.mrkdwn import escape, quote
from bot.core.outbox import Outgoing, summary
from bot.renderers import RENDERERS
from bot.respect.successes import TEXT_LIMIT as SUCCESS_LIMIT
from sandbox.block_kit import view_problems
from scheduler.delivery import Deliverer
from tests.test_find import ask, last, mentee, mentor
from tests.test_prepare import GOOD_TIME, agenda, book, pair
from tests.test_respect import dms, session_done

ENTITY = re.compile(r"&(?!amp;|lt;|gt;)")


def tagged(number: int, length: int, filler: str) -> str:
    """A typed line that says which one it is, padded with `filler` to `length` characters."""
    head = f"Q{number:02d} "
    return head + (filler * length)[: length - len(head)]


def readable(blocks: list[dict]) -> str:
    """What a person reads in a posted message: its block texts, unescaped, quotes and line
    breaks folded into single spaces so text split across sections compares as one."""
    texts = []
    for block in blocks:
        if isinstance(block.get("text"), dict):
            texts.append(block["text"]["text"])
        if block.get("type") == "context":
            texts += [e.get("text", "") for e in block["elements"]]
    joined = "\n".join(texts)
    joined = re.sub(r"^>", "", joined, flags=re.MULTILINE)
    joined = joined.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return re.sub(r"\s+", " ", joined)


def folded(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def assert_every_item_or_more(body: str, items: list[str]) -> None:
    """Each item is there (at least its beginning), or counted in an explicit "…and N more"."""
    missing = [item for item in items if folded(item)[:30] not in body]
    if missing:
        assert f"{ELLIPSIS}and {len(missing)} more" in body
    if any(folded(item) not in body for item in items):
        assert ELLIPSIS in body  # shortened items say so


def assert_sent(bot, kind: str) -> None:
    with bot.database.sessions.begin() as session:
        rows = session.execute(
            select(OutboxMessage.status, OutboxMessage.last_error).where(OutboxMessage.kind == kind)
        ).all()
    assert rows and all(status == OutboxStatus.SENT for status, _ in rows), rows


# ------------------------------------------------------------------ through the bot and sandbox


@pytest.mark.parametrize(
    ("count", "length", "filler", "from_mentor"),
    [
        (20, 150, "x", 0),
        (6, 500, "y ", 0),
        (20, 150, "R&D <tips> ", 0),
        (6, 500, "&<", 0),
        (40, 500, "&<", 20),
    ],
    ids=["20x150", "6x500", "20x150-escaped", "6x500-escaped", "both-40x500-escaped"],
)
def test_the_combined_agenda_fits_and_shows_every_item(bot, count, length, filler, from_mentor):
    amara, kenji = pair(bot)
    start = GOOD_TIME + timedelta(days=2)
    book(bot, amara, when=start)
    bot.deliver()
    bot.clock.advance(start - timedelta(days=1) - bot.clock())
    bot.deliver()
    items = [tagged(n, length, filler) for n in range(count)]
    for text in items[: count - from_mentor]:
        bot.driver.dm(kenji, text)
    for text in items[count - from_mentor :]:
        bot.driver.dm(amara, text)
    assert len(agenda(bot)) == count

    bot.clock.advance(start - timedelta(minutes=60) - bot.clock())
    assert bot.deliver() == 1
    posted = last(bot, kenji)
    assert posted.kind == "group" and "Agenda for your session" in posted.text
    body = readable(posted.blocks)
    assert_every_item_or_more(body, items)
    if filler.strip() in ("x", "y"):  # nothing to escape: it all fits, word for word
        assert all(folded(item) in body for item in items)
    assert_sent(bot, "agenda")


@pytest.mark.parametrize("filler", ["plain words ", "A&B <ok> "])
def test_the_follow_up_lists_ten_pieces_of_advice(bot, filler):
    _amara, kenji = session_done(bot)
    bot.driver.click(kenji, text="Yes")
    # Ten lines of 299 and nine line breaks: the most the 3,000-character box takes.
    advice = [tagged(n, 299, filler) for n in range(10)]
    bot.driver.submit(kenji, {ids.ADVICE_ACTION: "\n".join(advice)}, client_checks=True)
    bot.clock.advance(timedelta(days=7))
    bot.deliver()
    followup = dms(bot, kenji)[-1]
    assert "How did it go?" in followup.text + json.dumps(followup.blocks)
    assert "It worked" in json.dumps(followup.blocks)
    assert_every_item_or_more(readable(followup.blocks), advice)
    assert_sent(bot, "followup")


# 1,000 characters (the most a note may have) that escaping makes about 3,800.
NOTE = "<!channel> " + ("&<&> " * 250)[:989]


def test_escape_heavy_notes_arrive_whole(bot):
    amara, kenji = session_done(bot)
    bot.driver.click(kenji, text="Yes")
    bot.driver.close(kenji)
    bot.driver.click(kenji, text="Thank Amara")
    bot.driver.submit(kenji, {ids.THANKS_ACTION_ID: NOTE}, client_checks=True)
    bot.driver.click(amara, text="Yes")
    bot.driver.click(amara, text="Leave a note for Kenji")
    bot.driver.submit(amara, {ids.MENTOR_NOTE_ACTION_ID: NOTE}, client_checks=True)
    bot.deliver()
    thanks = next(s for s in reversed(dms(bot, amara)) if "thank-you note" in s.text)
    note = next(s for s in reversed(dms(bot, kenji)) if "note from your mentor" in s.text)
    for seen in (thanks, note):
        assert len(seen.blocks) > 1  # escaping made it longer than one section holds
        assert folded(NOTE) in readable(seen.blocks)
        assert "<!channel>" not in json.dumps(seen.blocks)


def test_an_escape_heavy_request_note_reaches_the_mentor_whole(bot):
    amara = mentor(bot, "Amara", "Africa/Lagos", "public speaking")
    kenji = mentee(bot)
    bot.driver.command(kenji, "find")
    ask(bot, kenji, amara, note=NOTE)
    bot.deliver()
    request = dms(bot, amara)[-1]
    assert "would like you as a mentor" in request.text
    assert folded(NOTE) in readable(request.blocks)
    assert "Accept" in json.dumps(request.blocks)


@pytest.mark.settings(success_channel="#wins")
def test_an_escape_heavy_success_reaches_the_mentor_and_the_channel(bot):
    channel = bot.slack.add_channel("wins", members=[bot.slack.bot_user_id])
    amara, kenji = pair(bot)
    story = "&<" * (SUCCESS_LIMIT // 2)  # the longest story, 4.5 times longer once escaped
    bot.driver.command(kenji, "success")
    bot.driver.submit(kenji, {ids.SUCCESS_TEXT_ACTION: story, ids.SUCCESS_SCOPE_ACTION: "public"})
    bot.deliver()
    bot.clock.advance(timedelta(minutes=1))
    bot.deliver()
    to_mentor = next(s for s in reversed(dms(bot, amara)) if "had a win" in s.text)
    # No spaces to cut at: the pieces meet mid-story, so compare without the breaks.
    assert story in readable(to_mentor.blocks).replace(" ", "")
    (post,) = bot.slack.history(channel)
    assert story in readable(post["blocks"]).replace(" ", "")
    assert "Remove (author only)" in json.dumps(post["blocks"])


def test_a_success_command_longer_than_the_box_prefills_what_fits_and_says_so(bot):
    _amara, kenji = pair(bot)
    story = ("I gave the talk & the room laughed in the right places. " * 70)[:3500]
    bot.driver.command(kenji, f"success {story}")
    modal = bot.slack.open_modal(kenji)
    assert modal is not None and modal["callback_id"] == ids.SUCCESS_CALLBACK
    block = next(b for b in modal["blocks"] if b.get("block_id") == ids.SUCCESS_TEXT_BLOCK)
    element = block["element"]
    prefill = element["initial_value"]
    assert len(prefill) <= element["max_length"] == SUCCESS_LIMIT
    assert story.startswith(prefill) and len(prefill) > SUCCESS_LIMIT - 60
    assert "3,500 characters" in block["hint"]["text"] and "kept the first" in block["hint"]["text"]
    bot.driver.submit(kenji, client_checks=True)
    with bot.database.sessions.begin() as session:
        assert session.scalars(select(Success.text)).one() == prefill


def test_a_message_over_slacks_limits_fails_by_name_and_is_never_posted(bot):
    amara, kenji = pair(bot)
    bot.driver.command(kenji, f"thanks <@{amara}|amara> Thank you!")
    sixty = Outgoing(text="Too much", blocks=[section(f"Part {n}") for n in range(60)])
    deliverer = Deliverer(
        bot.deliverer.settings,
        bot.database.sessions,
        bot.deliverer.client,
        bot.clock,
        renderers={**RENDERERS, "thanks": lambda _s, rows, _now: {r.id: sixty for r in rows}},
    )
    posts = len(bot.slack.calls_to("chat.postMessage"))
    deliverer.tick()
    assert len(bot.slack.calls_to("chat.postMessage")) == posts
    with bot.database.sessions.begin() as session:
        row = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "thanks")).one()
        assert row.status == OutboxStatus.FAILED
        assert row.last_error.startswith("over Slack's limits: 60 blocks, more than 50")
        failed = summary(session, bot.clock())["failed"]
        assert any("over Slack's limits" in (row.last_error or "") for row in failed)


def test_the_sandbox_refuses_what_slack_refuses(bot):
    kenji = bot.slack.add_user("Kenji", real_name="Kenji", tz="UTC")
    client = bot.deliverer.client
    channel = client.conversations_open(users=kenji)["channel"]["id"]
    five = [section("x" * 2900) for _ in range(5)]  # each section fits; 14,500 in all does not
    with pytest.raises(SlackApiError) as refused:
        client.chat_postMessage(channel=channel, text="t", blocks=five)
    assert refused.value.response["error"] == "msg_blocks_too_long"
    assert client.chat_postMessage(channel=channel, text="t", blocks=five[:4])["ok"]

    def modal_with(element: dict) -> dict:
        box = {"type": "input", "label": {"type": "plain_text", "text": "Note"}, "element": element}
        title = {"type": "plain_text", "text": "Note"}
        return {"type": "modal", "title": title, "submit": title, "blocks": [box]}

    box = {"type": "plain_text_input", "action_id": "a", "max_length": 10}
    assert view_problems(modal_with({**box, "initial_value": "x" * 10})) == []
    (too_long,) = view_problems(modal_with({**box, "initial_value": "x" * 11}))
    assert "initial_value" in too_long
    (too_big,) = view_problems(modal_with({**box, "max_length": 3001}))
    assert "max_length" in too_big


# ------------------------------------------------------------------ the splitter and the checks


def test_escaped_text_splits_between_entities_never_inside_them():
    text = escape("&" * 1500)  # 7,500 characters once escaped
    pieces = split_text(text)
    assert [measure(p) for p in pieces] == [3000, 3000, 1500]
    assert "".join(pieces) == text
    assert not any(ENTITY.search(p) or p.endswith(("&", "&a", "&am")) for p in pieces)


def test_a_split_prefers_a_line_break_then_a_space():
    lines = ["word " * 100] * 10  # 500 characters a line
    pieces = split_text("\n".join(line.strip() for line in lines))
    assert all(p.endswith("word") and measure(p) <= SECTION_TEXT for p in pieces)
    assert [p.count("\n") for p in pieces] == [5, 3]
    one_line = " ".join(["word"] * 1500)
    assert all(p.startswith("word") and p.endswith("word") for p in split_text(one_line))


def test_a_split_never_cuts_a_mention_or_a_date_token():
    token = "<!date^1700000000^{date_short_pretty} at {time}|Tue 14 Nov 2023 22:13 UTC>"
    text = ("x" * 2980) + " " + token + " <@U12345678> tail"
    first, second = split_text(text)
    assert first == "x" * 2980 and second.startswith(token)


def test_a_single_ten_thousand_character_word_is_cut_into_pieces_that_fit():
    word = "supercalifragilistic" * 500
    pieces = split_text(word)
    assert "".join(pieces) == word and max(measure(p) for p in pieces) == SECTION_TEXT


def test_emoji_count_double_and_are_never_split_apart():
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"  # one emoji, five code points
    text = family * 700
    pieces = split_text(text)
    assert all(measure(p) <= SECTION_TEXT for p in pieces)
    assert "".join(pieces) == text and all(p.startswith("\U0001f468") for p in pieces)
    accented = "e\u0301" * 2000  # é as a letter and a combining accent
    assert all(not p.startswith("\u0301") for p in split_text(accented))


def test_a_quote_cut_mid_line_stays_quoted():
    pieces = split_text(quote("word " * 1000))
    assert len(pieces) == 2 and all(p.startswith(">word") for p in pieces)


def test_a_list_shows_everything_then_shortens_evenly_then_counts_the_rest():
    short = [f"• item {n}" for n in range(5)]
    assert fit_lines(short, 1000) == short
    long = [f"• {n:02d} " + "a" * 700 for n in range(20)]
    fitted = fit_lines(long, 9000)
    assert len(fitted) == 20 and all(line.endswith(ELLIPSIS) for line in fitted)
    assert sum(measure(line) + 1 for line in fitted) <= 9000
    many = [f"• thing {n}" for n in range(2000)]
    fitted = fit_lines(many, 3000, where="see the Home tab")
    assert fitted[-1] == f"{ELLIPSIS}and {2000 - len(fitted) + 1} more (see the Home tab)"
    assert sum(measure(line) + 1 for line in fitted) <= 3000
    assert fit_lines(many, 3000, max_lines=8)[-1] == f"{ELLIPSIS}and 1992 more"


def test_shorten_and_trim_input_fit_their_limits():
    assert shorten("hello world this is long", 12) == "hello world…"
    assert shorten("hello, world", 9) == "hello,…"  # a cut never eats an entity's ";"
    assert shorten("short", 12) == "short"
    assert trim_input("\U0001f600" * 2000, 3000) == "\U0001f600" * 1500
    assert trim_input("one two three", 9) == "one two"


def test_fit_message_repairs_what_a_builder_let_through_and_check_agrees():
    message = {"text": "n" * 50_000, "blocks": [section("m " * 4000), section("ok")]}
    assert check_message(message)
    fitted = fit_message(message)
    assert check_message(fitted) == []
    assert measure(fitted["text"]) <= MESSAGE_TEXT
    assert [b["text"]["text"] for b in fitted["blocks"]][-1] == "ok"
    assert folded(" ".join(b["text"]["text"] for b in fitted["blocks"][:-1])) == folded("m " * 4000)
    only_text = fit_message({"text": "word " * 1000})
    assert check_message(only_text) == [] and len(only_text["blocks"]) == 2
    assert folded(" ".join(b["text"]["text"] for b in only_text["blocks"])) == folded(
        "word " * 1000
    )


def test_a_message_over_the_whole_message_budget_is_shortened_visibly():
    text = "\n".join(f"line {n} " + "z" * 2900 for n in range(6))
    for blocks in ([section(text)], [section(line) for line in text.splitlines()]):
        fitted = fit_message({"text": "t", "blocks": blocks})
        assert check_message(fitted) == []
        texts = [b["text"]["text"] for b in fitted["blocks"]]
        assert sum(map(measure, texts)) <= MESSAGE_TEXT_BUDGET
        assert texts[0].startswith("line 0 ") and "shortened to fit" in json.dumps(texts)
    assert sections("tiny") == [section("tiny")]


def test_check_view_names_a_prefill_longer_than_its_box():
    view = {
        "type": "modal",
        "title": {"type": "plain_text", "text": "A title far longer than Slack allows"},
        "blocks": [
            {
                "type": "input",
                "label": {"type": "plain_text", "text": "Note"},
                "element": {
                    "type": "plain_text_input",
                    "max_length": 10,
                    "initial_value": "x" * 11,
                },
            }
        ],
    }
    problems = check_view(view)
    assert any("pre-fill: 11 characters, more than 10" in p for p in problems)
    assert any("title" in p for p in problems)


typed = st.text(
    alphabet=st.sampled_from([*"ab &<>\n", "é", "\u0301", "\U0001f600", "\u200d", "語"]),
    max_size=3000,
)


@settings(max_examples=150, deadline=None)
@given(raw=typed, limit=st.integers(min_value=20, max_value=600))
def test_split_property_pieces_fit_keep_every_character_and_every_entity(raw, limit):
    text = escape(raw)
    pieces = split_text(text, limit)
    assert all(0 < measure(p) <= limit for p in pieces)
    assert not any(ENTITY.search(p) for p in pieces)
    squeezed = re.sub(r"\s", "", text)
    assert re.sub(r"\s", "", "".join(pieces)) == squeezed


@settings(max_examples=150, deadline=None)
@given(raw=typed, limit=st.integers(min_value=10, max_value=600))
def test_shorten_property_fits_and_keeps_the_beginning(raw, limit):
    text = escape(raw)
    short = shorten(text, limit)
    assert measure(short) <= limit
    if short != text:
        kept = short[: -len(ELLIPSIS)]
        assert text.startswith(kept) and not ENTITY.search(kept)
