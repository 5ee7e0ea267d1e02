"""The transcript tells the truth: what people entered in modals, dates on each reader's clock."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from bot.core import ids
from bot.core.models import Member
from sandbox import Seen, TimelineEntry, render_timeline
from tests.test_prepare import GOOD_TIME, book, meetings, pair

KENJI, AMARA = "U01KENJI", "U01AMARA"
NAMES = {KENJI: "Kenji", AMARA: "Amara"}
ZONES = {KENJI: "Asia/Tokyo", AMARA: "Africa/Lagos"}


def plain(text: str) -> dict:
    return {"type": "plain_text", "text": text}


def option(text: str, value: str) -> dict:
    return {"text": plain(text), "value": value}


def field(block_id: str, label: str, element: dict) -> dict:
    element = {"action_id": block_id, **element}
    return {"type": "input", "block_id": block_id, "label": plain(label), "element": element}


ROLES = [option("I'd like a mentor", "mentee"), option("I'd like to mentor others", "mentor")]
HOW_OFTEN = [option("Just once", "once"), option("Every week", "weekly")]
LENGTHS = [option("30 minutes", "30"), option("1 hour", "60")]
SESSION_FORM = [
    field("roles", "What are you here for?", {"type": "checkboxes", "options": ROLES}),
    field("note", "Your note", {"type": "plain_text_input", "placeholder": plain("Say hi")}),
    field("length", "How long", {"type": "static_select", "options": LENGTHS}),
    field("often", "How often", {"type": "radio_buttons", "options": HOW_OFTEN}),
    field("until", "Repeat until", {"type": "datepicker"}),
    field("starts", "Day starts", {"type": "timepicker"}),
    field("when", "When", {"type": "datetimepicker"}),
    field("topic", "Topic", {"type": "plain_text_input", "placeholder": plain("Anything")}),
]
SUBMITTED = {
    "roles": {"roles": {"type": "checkboxes", "selected_options": [ROLES[1]]}},
    "note": {
        "note": {"type": "plain_text_input", "value": "Glad to help & learn\nSee you Tuesday"}
    },
    "length": {"length": {"type": "static_select", "selected_option": LENGTHS[1]}},
    "often": {"often": {"type": "radio_buttons", "selected_option": HOW_OFTEN[1]}},
    "until": {"until": {"type": "datepicker", "selected_date": "2026-12-31"}},
    "starts": {"starts": {"type": "timepicker", "selected_time": "08:30"}},
    # 2026-12-01 20:30 UTC: Tuesday 21:30 in Lagos, already Wednesday 05:30 in Tokyo.
    "when": {"when": {"type": "datetimepicker", "selected_date_time": 1796157000}},
    "topic": {"topic": {"type": "plain_text_input", "value": None}},
}


def submitted(user_id: str) -> TimelineEntry:
    view = {
        "type": "modal",
        "title": plain("Schedule a session"),
        "blocks": SESSION_FORM,
        "state": {"values": SUBMITTED},
    }
    name = NAMES[user_id]
    return TimelineEntry(0.0, user_id, name, action='submitted "Schedule a session"', view=view)


def test_a_submitted_modal_shows_what_the_person_entered_on_their_own_clock():
    for user_id, when in ((KENJI, "2026-12-02 05:30"), (AMARA, "2026-12-01 21:30")):
        shown = render_timeline([submitted(user_id)], names=NAMES, zones=ZONES)
        assert shown == (
            f'{NAMES[user_id]} submitted "Schedule a session":\n'
            "    What are you here for?: [ ] I'd like a mentor  [x] I'd like to mentor others\n"
            "    Your note:\n      Glad to help & learn\n      See you Tuesday\n"
            "    How long: 1 hour\n"
            "    How often: ( ) Just once  (o) Every week\n"
            "    Repeat until: 2026-12-31\n"
            "    Day starts: 08:30\n"
            f"    When: {when}\n"
            "    Topic: (left empty)\n"
        )


STYLES = "{date_short_pretty} / {date} / {date_short} / {date_long} / {time} / {date_num}"
DATE_TOKEN = f"Session: <!date^1796157000^{STYLES}|Tue 1 Dec 2026 20:30 UTC>"


def seen_in_group_dm(user_id: str, text: str) -> TimelineEntry:
    seen = Seen("group", user_id, "G01PAIR", text, [], "1.000100", None)
    return TimelineEntry(0.0, user_id, NAMES[user_id], seen=seen)


def test_a_date_reads_in_tokyo_time_for_kenji_and_lagos_time_for_amara():
    # Noon UTC on Tuesday 1 Dec: 13:00 in Lagos, 21:00 in Tokyo.
    noon = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    entries = [seen_in_group_dm(AMARA, DATE_TOKEN), seen_in_group_dm(KENJI, DATE_TOKEN)]
    shown = render_timeline(entries, names=NAMES, zones=ZONES, clock=lambda at: noon)
    assert shown == (
        "  Mentor Coach -> Amara (group DM):\n"
        "    Session: Today / December 1st, 2026 / Dec 1, 2026 / Tuesday, December 1st, 2026"
        " / 21:30 / 2026-12-01\n"
        "  Mentor Coach -> Kenji (group DM):\n"
        "    Session: Tomorrow / December 2nd, 2026 / Dec 2, 2026 / Wednesday, December 2nd, 2026"
        " / 05:30 / 2026-12-02\n"
    )
    # A week on, "today" and "tomorrow" give way to the date; no zone known: the fallback.
    later = render_timeline(
        entries[:1], zones=ZONES, clock=lambda at: datetime(2026, 12, 8, tzinfo=UTC)
    )
    assert "Session: Dec 1, 2026 / December 1st" in later
    assert "Session: Tue 1 Dec 2026 20:30 UTC" in render_timeline(entries[:1])


def test_the_same_message_without_dates_is_told_once_for_everyone():
    entries = [seen_in_group_dm(AMARA, "Hello both"), seen_in_group_dm(KENJI, "Hello both")]
    assert render_timeline(entries, names=NAMES, zones=ZONES) == (
        "  Mentor Coach -> Amara, Kenji (group DM):\n    Hello both\n"
    )


def test_the_story_shows_what_each_person_ticked_typed_and_picked(bot):
    amara, kenji = pair(bot)
    book(bot, kenji, GOOD_TIME, **{ids.MEETING_TOPIC_ACTION: "Opening the talk"})
    bot.deliver()
    (meeting,) = meetings(bot)
    assert meeting.starts_at == GOOD_TIME
    with bot.database.sessions.begin() as session:
        roles = {
            m.display_name: (m.is_mentor, m.is_mentee) for m in session.scalars(select(Member))
        }
    assert roles == {"Amara": (True, False), "Kenji": (False, True)}

    zones = {amara: "Africa/Lagos", kenji: "Asia/Tokyo"}
    story = render_timeline(
        bot.slack.timeline,
        names=bot.slack.display_names(),
        zones=zones,
        clock=lambda at: bot.clock(),
    )
    # Amara ticked only the mentor role, then reads that she signed up as a mentor.
    assert (
        'Amara submitted "Your mentoring profile":\n'
        "    What are you here for?: [ ] I'd like a mentor  [x] I'd like to mentor others\n"
    ) in story
    assert "Topics you can help with (mentors): Public speaking, storytelling\n" in story
    # Kenji picked 17:00 on his Tokyo clock; each of the pair reads the booking on their own.
    assert "    When: 2026-11-26 17:00\n" in story
    assert "    Topic (optional): Opening the talk\n" in story
    assert (
        "  Mentor Coach -> Amara (group DM):\n"
        "    :calendar: Your session is booked for Tomorrow at 09:00 (30 min).\n"
    ) in story
    assert (
        "  Mentor Coach -> Kenji (group DM):\n"
        "    :calendar: Your session is booked for Tomorrow at 17:00 (30 min).\n"
    ) in story
