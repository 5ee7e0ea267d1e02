"""The App Home tab: your profile at a glance and the next thing to do."""

from __future__ import annotations

from typing import Any

from bot import ids
from bot.messages import button, context, guide_lines, profile_summary, section
from bot.models import Member

View = dict[str, Any]


def build_home(member: Member) -> View:
    """Home for someone who has (or has not yet) set up a profile."""
    greeting = f"*Hi {member.name}!* Welcome to Mentor Coach."
    if member.profile_saved_at is None:
        status = (
            "Start with your profile: tell us whether you want a mentor, want to mentor, or both, "
            "and what you'd like to learn or share."
        )
        action = button("Set up my profile", ids.OPEN_PROFILE_ACTION, style="primary")
    else:
        status = profile_summary(member)
        action = button("Edit profile", ids.OPEN_PROFILE_ACTION)
    return {
        "type": "home",
        "blocks": [
            section(greeting),
            section(status),
            {"type": "actions", "elements": [action]},
            {"type": "divider"},
            section(f"*Commands*\n{guide_lines()}"),
            context("Mentoring works best when you know what you want and ask for it."),
        ],
    }
