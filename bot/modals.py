"""Modal builders: Block Kit views for forms."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot import ids
from bot.block_limits import OPTION_TEXT, fit_view, measure, shorten, trim_input
from bot.meetings import CADENCES, DURATIONS, TOPIC_LIMIT
from bot.messages import section
from bot.models import DEFAULT_CAPACITY, MAX_CAPACITY, Meeting, Member, TopicKind
from bot.mrkdwn import escape, local_time
from bot.profiles import MAX_TEXT
from bot.successes import TEXT_LIMIT as SUCCESS_LIMIT
from bot.topics import MAX_TOPICS

View = dict[str, Any]


def modal(
    callback_id: str,
    title: str,
    submit: str,
    private_metadata: str,
    blocks: list[dict[str, Any]],
    *,
    close: str = "Cancel",
) -> View:
    """A modal view, fitted to Slack's limits (titles of 24 characters, sections of 3,000)."""
    return fit_view(
        {
            "type": "modal",
            "callback_id": callback_id,
            "private_metadata": private_metadata,
            "title": plain(title),
            "submit": plain(submit),
            "close": plain(close),
            "blocks": blocks,
        }
    )


def plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": True}


def text_input(
    block_id: str,
    action_id: str,
    label: str,
    *,
    initial: str = "",
    placeholder: str = "",
    hint: str = "",
    multiline: bool = False,
    optional: bool = True,
    max_length: int = MAX_TEXT,
) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": action_id,
        "multiline": multiline,
        "max_length": max_length,
    }
    if initial:
        element["initial_value"] = trim_input(initial, max_length)
        if element["initial_value"] != initial:
            # Slack refuses a pre-fill longer than its box; keep what fits and say so.
            kept = measure(element["initial_value"])
            cut = (
                f"What you typed was {measure(initial):,} characters and this box holds "
                f"{max_length:,}, so I kept the first {kept:,}. Check the end before sending."
            )
            hint = f"{hint} {cut}" if hint else cut
    if placeholder:
        element["placeholder"] = plain(placeholder)
    block: dict[str, Any] = {
        "type": "input",
        "block_id": block_id,
        "label": plain(label),
        "element": element,
        "optional": optional,
    }
    if hint:
        block["hint"] = plain(hint)
    return block


def build_profile_modal(member: Member | None, private_metadata: str = "") -> View:
    """The create-or-edit profile form, filled with what we already know."""
    role_options = [
        _option("I'd like a mentor", ids.ROLE_MENTEE),
        _option("I'd like to mentor others", ids.ROLE_MENTOR),
    ]
    fresh = member is None or member.profile_saved_at is None
    roles = {
        ids.ROLE_MENTEE: fresh or member.is_mentee,
        ids.ROLE_MENTOR: member is not None and member.is_mentor,
    }
    checkboxes: dict[str, Any] = {
        "type": "checkboxes",
        "action_id": ids.PROFILE_ROLES_ACTION,
        "options": role_options,
    }
    chosen = [option for option in role_options if roles[option["value"]]]
    if chosen:
        checkboxes["initial_options"] = chosen
    capacity = member.capacity if member is not None else DEFAULT_CAPACITY
    topics_hint = f"Separate topics with commas, up to {MAX_TOPICS}."
    return modal(
        ids.PROFILE_CALLBACK,
        "Your mentoring profile",
        "Save",
        private_metadata,
        blocks=[
            section(
                "A few lines are enough. Mentors and mentees read this before they "
                "meet you, so say what you want and what you bring."
            ),
            {
                "type": "input",
                "block_id": ids.PROFILE_ROLES_BLOCK,
                "label": plain("What are you here for?"),
                "element": checkboxes,
            },
            text_input(
                ids.PROFILE_SOUGHT_BLOCK,
                ids.PROFILE_SOUGHT_ACTION,
                "Topics you want to learn",
                initial=_topics(member, TopicKind.SOUGHT),
                placeholder="public speaking, career growth",
                hint=topics_hint,
                max_length=600,
            ),
            text_input(
                ids.PROFILE_GOALS_BLOCK,
                ids.PROFILE_GOALS_ACTION,
                "Your goals for mentoring",
                initial=member.goals if member else "",
                placeholder="What do you want to be able to do in six months, and why?",
                multiline=True,
            ),
            text_input(
                ids.PROFILE_OFFERED_BLOCK,
                ids.PROFILE_OFFERED_ACTION,
                "Topics you can help with (mentors)",
                initial=_topics(member, TopicKind.OFFERED),
                placeholder="python, code review, leading a team",
                hint=topics_hint,
                max_length=600,
            ),
            text_input(
                ids.PROFILE_BACKGROUND_BLOCK,
                ids.PROFILE_BACKGROUND_ACTION,
                "Your background",
                initial=member.background if member else "",
                placeholder="Your role, team, and the path that got you here.",
                multiline=True,
            ),
            text_input(
                ids.PROFILE_EXPERIENCE_BLOCK,
                ids.PROFILE_EXPERIENCE_ACTION,
                "Experience worth sharing",
                initial=member.experience if member else "",
                placeholder="Projects, wins and lessons a partner could learn from.",
                multiline=True,
            ),
            {
                "type": "input",
                "block_id": ids.PROFILE_CAPACITY_BLOCK,
                "label": plain("How many mentees can you take at once? (mentors)"),
                "element": {
                    "type": "number_input",
                    "action_id": ids.PROFILE_CAPACITY_ACTION,
                    "is_decimal_allowed": False,
                    "min_value": "1",
                    "max_value": str(MAX_CAPACITY),
                    "initial_value": str(capacity),
                },
                "optional": True,
            },
        ],
    )


def _option(text: str, value: str) -> dict[str, Any]:
    return {"text": plain(text), "value": value}


def _topics(member: Member | None, kind: TopicKind) -> str:
    return ", ".join(member.topic_names(kind)) if member else ""


def build_goals_modal(member: Member | None, query: str, private_metadata: str) -> View:
    """Before searching: what does this person want from mentoring, and on which topics?"""
    topics = query or _topics(member, TopicKind.SOUGHT)
    return modal(
        ids.GOALS_CALLBACK,
        "What do you want?",
        "Find mentors",
        private_metadata,
        blocks=[
            section(
                "The best mentoring starts with knowing what you want from it. "
                "Mentors read this when you ask them for an intro."
            ),
            text_input(
                ids.GOALS_BLOCK,
                ids.GOALS_ACTION,
                "What do you want to learn or get better at, and why?",
                initial=member.goals if member else "",
                placeholder="I want to give my first conference talk next spring, because…",
                multiline=True,
                optional=False,
            ),
            text_input(
                ids.GOALS_TOPICS_BLOCK,
                ids.GOALS_TOPICS_ACTION,
                "Topics",
                initial=topics,
                placeholder="public speaking, storytelling",
                hint=f"Separate topics with commas, up to {MAX_TOPICS}.",
                optional=False,
                max_length=600,
            ),
        ],
    )


def build_intro_modal(mentor: Member, private_metadata: str) -> View:
    """The short note that turns 'I'd like a mentor' into a real ask."""
    return modal(
        ids.INTRO_CALLBACK,
        "Ask for an intro",
        "Send request",
        private_metadata,
        blocks=[
            section(
                f"*{escape(mentor.name)}* will see your note, your goals and your "
                "background, and can accept or say not now."
            ),
            text_input(
                ids.INTRO_NOTE_BLOCK,
                ids.INTRO_NOTE_ACTION,
                "Your note",
                placeholder="Why them, and what you hope to learn. Three or four sentences.",
                multiline=True,
                optional=False,
            ),
        ],
    )


def build_decline_modal(mentee_name: str, private_metadata: str) -> View:
    return modal(
        ids.DECLINE_CALLBACK,
        "Not now",
        "Send",
        private_metadata,
        close="Back",
        blocks=[
            section(
                f"I'll let *{escape(mentee_name)}* know kindly and point them to "
                "other mentors. A word from you is optional but appreciated."
            ),
            text_input(
                ids.DECLINE_REASON_BLOCK,
                ids.DECLINE_REASON_ACTION,
                "A kind word (optional)",
                placeholder="My calendar is full until spring, but good luck with the talk!",
                multiline=True,
                max_length=500,
            ),
        ],
    )


def _select(action_id: str, options: list[tuple[str, str]], initial: str) -> dict[str, Any]:
    choices = [_option(text, value) for text, value in options]
    return {
        "type": "static_select",
        "action_id": action_id,
        "options": choices,
        "initial_option": next(c for c in choices if c["value"] == initial),
    }


def build_schedule_modal(
    partner_name: str,
    private_metadata: str,
    *,
    starts_at: datetime,
    duration: int = 30,
    cadence: int = 0,
    topic: str = "",
    warning: str = "",
    moving: bool = False,
) -> View:
    """Book a session (or move one): when, how long, how often, about what."""
    intro = (
        f"Pick a time that works for you and *{escape(partner_name)}*. I'll show it to each of "
        "you in your own time zone."
    )
    blocks: list[dict[str, Any]] = [section(intro)]
    if warning:
        blocks.append(section(f":warning: {escape(warning)}"))
    blocks.append(
        {
            "type": "input",
            "block_id": ids.WHEN_BLOCK,
            "label": plain("When"),
            "element": {
                "type": "datetimepicker",
                "action_id": ids.WHEN_ACTION,
                "initial_date_time": int(starts_at.timestamp()),
            },
        }
    )
    blocks.append(
        {
            "type": "input",
            "block_id": ids.DURATION_BLOCK,
            "label": plain("How long"),
            "element": _select(
                ids.DURATION_ACTION, [(f"{d} minutes", str(d)) for d in DURATIONS], str(duration)
            ),
        }
    )
    if not moving:
        blocks.append(
            {
                "type": "input",
                "block_id": ids.CADENCE_BLOCK,
                "label": plain("How often"),
                "element": _select(
                    ids.CADENCE_ACTION,
                    [(label, str(weeks)) for weeks, label in CADENCES.items()],
                    str(cadence),
                ),
            }
        )
    blocks.append(
        text_input(
            ids.MEETING_TOPIC_BLOCK,
            ids.MEETING_TOPIC_ACTION,
            "Topic (optional)",
            initial=topic,
            placeholder="Structuring my talk",
            max_length=TOPIC_LIMIT,
        )
    )
    return modal(
        ids.SCHEDULE_CALLBACK,
        "Move this session" if moving else "Schedule a session",
        "Book it anyway" if warning else "Save",
        private_metadata,
        blocks=blocks,
    )


def build_cancel_modal(meeting: Meeting, private_metadata: str) -> View:
    blocks: list[dict[str, Any]] = [
        section(
            f"Cancel the session on {local_time(meeting.starts_at)}? "
            "I'll let you both know in your group DM."
        )
    ]
    if meeting.series_id:
        blocks.append(
            {
                "type": "input",
                "block_id": ids.CANCEL_SCOPE_BLOCK,
                "label": plain("Which sessions?"),
                "element": {
                    "type": "radio_buttons",
                    "action_id": ids.CANCEL_SCOPE_ACTION,
                    "options": [
                        _option("Just this one", "one"),
                        _option("This one and all later ones", "series"),
                    ],
                    "initial_option": _option("Just this one", "one"),
                },
            }
        )
    return modal(
        ids.CANCEL_CALLBACK,
        "Cancel session",
        "Cancel session",
        private_metadata,
        close="Keep it",
        blocks=blocks,
    )


def build_agenda_modal(partner_name: str, private_metadata: str) -> View:
    return modal(
        ids.AGENDA_CALLBACK,
        "Add topics",
        "Add",
        private_metadata,
        blocks=[
            text_input(
                ids.AGENDA_ITEMS_BLOCK,
                ids.AGENDA_ITEMS_ACTION,
                f"What do you want to cover with {partner_name}?",
                placeholder="One question or topic per line",
                multiline=True,
                optional=False,
                max_length=3000,
            )
        ],
    )


def build_advice_modal(mentor_name: str, private_metadata: str) -> View:
    return modal(
        ids.ADVICE_CALLBACK,
        "Advice to apply",
        "Save",
        private_metadata,
        [
            text_input(
                ids.ADVICE_BLOCK,
                ids.ADVICE_ACTION,
                f"What advice from {mentor_name} will you put into practice?",
                placeholder="One per line, e.g. Rehearse the opening out loud three times",
                multiline=True,
                optional=False,
                max_length=3000,
            )
        ],
    )


def build_thanks_modal(recipient_name: str, private_metadata: str, initial: str = "") -> View:
    return modal(
        ids.THANKS_CALLBACK,
        "Say thank you",
        "Send",
        private_metadata,
        [
            text_input(
                ids.THANKS_BLOCK,
                ids.THANKS_ACTION_ID,
                f"Your note to {recipient_name}",
                initial=initial,
                placeholder="What they did, and what difference it made for you.",
                multiline=True,
                optional=False,
            )
        ],
    )


def build_mentor_note_modal(mentee_name: str, private_metadata: str) -> View:
    return modal(
        ids.MENTOR_NOTE_CALLBACK,
        "A note for your mentee",
        "Send",
        private_metadata,
        [
            text_input(
                ids.MENTOR_NOTE_BLOCK,
                ids.MENTOR_NOTE_ACTION_ID,
                f"Your note or follow-up for {mentee_name}",
                placeholder="A resource, a homework idea, or encouragement.",
                multiline=True,
                optional=False,
            )
        ],
    )


def build_success_modal(
    mentors: list[Member],
    default_mentor_id: int | None,
    private_metadata: str,
    *,
    text: str = "",
    channel: str | None = None,
) -> View:
    """What happened, who to credit, and who gets to hear about it."""
    mentor_options = [_option(shorten(m.name, OPTION_TEXT), str(m.id)) for m in mentors[:100]]
    mentor_select: dict[str, Any] = {
        "type": "static_select",
        "action_id": ids.SUCCESS_MENTOR_ACTION,
        "options": mentor_options,
    }
    default = next((o for o in mentor_options if o["value"] == str(default_mentor_id)), None)
    if default:
        mentor_select["initial_option"] = default
    blocks: list[dict[str, Any]] = [
        text_input(
            ids.SUCCESS_TEXT_BLOCK,
            ids.SUCCESS_TEXT_ACTION,
            "What happened?",
            initial=text,
            placeholder="I gave my first conference talk and people asked for the slides!",
            multiline=True,
            optional=False,
            max_length=SUCCESS_LIMIT,
        ),
        {
            "type": "input",
            "block_id": ids.SUCCESS_MENTOR_BLOCK,
            "label": plain("Which mentor helped?"),
            "element": mentor_select,
        },
    ]
    if channel:
        only_mentor = _option("My mentor only", "mentor")
        blocks.append(
            {
                "type": "input",
                "block_id": ids.SUCCESS_SCOPE_BLOCK,
                "label": plain("Who should hear about it?"),
                "element": {
                    "type": "radio_buttons",
                    "action_id": ids.SUCCESS_SCOPE_ACTION,
                    "options": [only_mentor, _option(f"My mentor, then {channel}", "public")],
                    "initial_option": only_mentor,
                },
            }
        )
    else:
        blocks.append(
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": "No success channel is set up here, so this goes to your mentor.",
                    }
                ],
            }
        )
    return modal(ids.SUCCESS_CALLBACK, "Share a success", "Share", private_metadata, blocks)
