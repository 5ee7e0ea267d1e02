"""The App Home tab and the command guide, built from each habit's pieces."""

from __future__ import annotations

from typing import Any

from bot.calendar.blocks import links_line
from bot.core import ids
from bot.core.block_limits import ELLIPSIS, fit_view, sections
from bot.core.blocks import Message, View, actions, button, context, section
from bot.core.mrkdwn import escape, local_time
from bot.find.blocks import profile_summary
from bot.home.state import HomeState
from bot.program.blocks import program_blocks
from bot.program.stats import ProgramStats
from bot.reframe.blocks import OUTSIDE_WORK

# (usage, what it does) for every subcommand that exists; the guide and the router share it.
SUBCOMMANDS: list[tuple[str, str]] = [
    ("find [topic]", "Find mentors who offer a topic, and ask one for an intro."),
    ("profile", "Set up or edit your profile: mentor, mentee or both, your topics and goals."),
    ("schedule @partner", "Book a session with your mentor or mentee."),
    ("mentors", "List your current mentors."),
    ("mentees", "List your current mentees."),
    ("success [what happened]", "Share a win with your mentor, and with everyone if you like."),
    ("thanks @person [note]", "Send someone a written thank-you."),
    ("pause [days]", "Step back for a while (14 days unless you say); `resume` to come back."),
    ("resume", "End a pause early."),
    ("block @person", "Never match with this person, either way."),
    ("unblock @person", "Undo a block."),
    (
        "end @partner [a last thank-you]",
        "End a mentoring pair kindly, any time; your partner is told.",
    ),
    ("my-data", "See everything I store about you, with a file to keep."),
    ("forget-me", "Delete what I store about you (I ask first)."),
    ("help", "Show this guide."),
    ("admin", "For program admins: the program at a glance, and quiet pairs to nudge."),
    ("admin export", "For program admins: a CSV of pairs and sessions, sent to your DM."),
    ("admin round", "For program admins: match everyone waiting in one round, as a draft first."),
]


def guide_lines() -> str:
    return "\n".join(f"• `{ids.COMMAND} {usage}` — {what}" for usage, what in SUBCOMMANDS)


def build_help() -> Message:
    intro = (
        "*Mentor Coach* helps you find a mentor and get real value from every session. "
        "Here is what you can do:"
    )
    return {
        "response_type": "ephemeral",
        "text": f"{intro}\n{guide_lines()}",
        "blocks": [
            section(intro),
            section(guide_lines()),
            {
                "type": "actions",
                "elements": [button("Set up my profile", ids.OPEN_PROFILE_ACTION, style="primary")],
            },
            context("Tip: your profile and what's next also live in the bot's *Home* tab."),
            context(OUTSIDE_WORK),
        ],
    }


def build_unknown_subcommand(word: str) -> Message:
    head = f"I don't know `{ids.COMMAND} {escape(word[:40])}` yet. Here is what I can do:"
    message = build_help()
    message["text"] = f"{head}\n{guide_lines()}"
    message["blocks"] = [section(head), *message["blocks"][1:]]
    return message


def build_dm_reply() -> Message:
    text = (
        "Hi! I collect your questions here after I send you a prep note for a session, and "
        "there isn't one open right now. To find a mentor, book a session or see everything "
        f"I can do, type `{ids.COMMAND} help`."
    )
    return {"text": text, "blocks": [section(text)]}


# Each request takes two blocks of Home's hundred; more than this would crowd out the rest.
INCOMING_SHOWN = 10


PEOPLE_SHOWN = 20


def build_home(state: HomeState, program: ProgramStats | None = None) -> View:
    """One person's Home; `program` (the dashboard) is given for program admins only."""
    member = state.member
    blocks: list[dict[str, Any]] = [
        section(f"*Hi {escape(member.name)}!* Welcome to Mentor Coach.")
    ]
    if member.profile_saved_at is None:
        blocks.append(
            section(
                "Start with your profile: tell us whether you want a mentor, want to mentor, or "
                "both, and what you'd like to learn or share."
            )
        )
        blocks.append(
            actions(button("Set up my profile", ids.OPEN_PROFILE_ACTION, style="primary"))
        )
    else:
        blocks.extend(sections(profile_summary(member)))
        blocks.append(actions(button("Edit profile", ids.OPEN_PROFILE_ACTION)))

    if state.upcoming:
        blocks.append({"type": "divider"})
        blocks.append(section("*Your next sessions*"))
        for meeting in state.upcoming:
            pairing = meeting.pairing
            partner = pairing.mentee if pairing.mentor_id == member.id else pairing.mentor
            when = local_time(meeting.starts_at, readers=[member])
            line = section(f"{when} with <@{partner.slack_user_id}>")
            line["accessory"] = button("Reschedule", ids.RESCHEDULE_ACTION, str(meeting.id))
            blocks.append(line)
            # From what is already loaded: no query per session.
            blocks.append(context(f"Add to calendar: {links_line(meeting, member)}"))
    if state.incoming:
        blocks.append({"type": "divider"})
        blocks.append(section("*Waiting for your answer*"))
        for request in state.incoming[:INCOMING_SHOWN]:
            blocks.append(section(f"*{escape(request.mentee.name)}* asked you to mentor them."))
            blocks.append(
                actions(
                    button("Accept", ids.ACCEPT_REQUEST_ACTION, str(request.id), style="primary"),
                    button("Not now", ids.DECLINE_REQUEST_ACTION, str(request.id)),
                )
            )
        if len(state.incoming) > INCOMING_SHOWN:
            waiting = len(state.incoming) - INCOMING_SHOWN
            blocks.append(context(f"{ELLIPSIS}and {waiting} more: answer these first to see them."))
    if state.sent:
        blocks.append({"type": "divider"})
        blocks.append(section("*Your requests*"))
        for request in state.sent:
            line = section(f"Waiting for *{escape(request.mentor.name)}* to answer.")
            line["accessory"] = button("Withdraw", ids.WITHDRAW_REQUEST_ACTION, str(request.id))
            blocks.append(line)
    for role, people in (("mentors", state.mentors), ("mentees", state.mentees)):
        if people:
            blocks.append({"type": "divider"})
            listed = ", ".join(f"<@{p.slack_user_id}>" for p in people[:PEOPLE_SHOWN])
            if len(people) > PEOPLE_SHOWN:
                listed += f" {ELLIPSIS}and {len(people) - PEOPLE_SHOWN} more (`/mentor {role}`)"
            blocks.append(section(f"*Your {role}:* {listed}"))

    if program is not None:
        blocks.append({"type": "divider"})
        blocks.extend(program_blocks(program))
    blocks.append({"type": "divider"})
    blocks.append(section(f"*Commands*\n{guide_lines()}"))
    blocks.append(context("Mentoring works best when you know what you want and ask for it."))
    return fit_view({"type": "home", "blocks": blocks})
