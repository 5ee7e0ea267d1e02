"""The App Home tab: your profile, your partners, requests waiting, and the next thing to do."""

from __future__ import annotations

from typing import Any

from bot import ids
from bot.block_limits import ELLIPSIS, fit_view, sections
from bot.messages import actions, button, context, guide_lines, profile_summary, section
from bot.mrkdwn import escape, local_time
from bot.partners import HomeState

View = dict[str, Any]
# Each request takes two blocks of Home's hundred; more than this would crowd out the rest.
INCOMING_SHOWN = 10
PEOPLE_SHOWN = 20


def build_home(state: HomeState) -> View:
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
            line = section(f"{local_time(meeting.starts_at)} with <@{partner.slack_user_id}>")
            line["accessory"] = button("Reschedule", ids.RESCHEDULE_ACTION, str(meeting.id))
            blocks.append(line)
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

    blocks.append({"type": "divider"})
    blocks.append(section(f"*Commands*\n{guide_lines()}"))
    blocks.append(context("Mentoring works best when you know what you want and ask for it."))
    return fit_view({"type": "home", "blocks": blocks})
