"""Modals opened from more than one place: the profile form and the session forms."""

from __future__ import annotations

import json
from datetime import datetime

from slack_sdk import WebClient

from bot import ids
from bot.meetings import default_start, partner_of
from bot.members import find_member
from bot.modals import (
    build_agenda_modal,
    build_cancel_modal,
    build_profile_modal,
    build_schedule_modal,
)
from bot.models import Meeting, Pairing
from handlers import Deps


def open_profile_modal(
    client: WebClient,
    deps: Deps,
    *,
    trigger_id: str,
    team_id: str,
    user_id: str,
    response_url: str | None,
) -> None:
    """Open at once: the trigger_id dies 3 seconds after the click, so nothing slow comes first."""
    with deps.sessions.begin() as session:
        view = build_profile_modal(
            find_member(session, team_id, user_id),
            private_metadata=json.dumps({"response_url": response_url} if response_url else {}),
        )
    client.views_open(trigger_id=trigger_id, view=view)


def schedule_view(pairing: Pairing, user_id: str, response_url: str | None, now: datetime) -> dict:
    """The booking modal for this pair, starting at the opener's next weekday, 10:00."""
    me = pairing.mentor if pairing.mentor.slack_user_id == user_id else pairing.mentee
    metadata = json.dumps({"p": pairing.id, "r": response_url})
    return build_schedule_modal(
        partner_of(pairing, me.id).name, metadata, starts_at=default_start(me.tz, now)
    )


def meeting_view(action: str, meeting: Meeting, user_id: str, response_url: str | None) -> dict:
    metadata = json.dumps({"m": meeting.id, "r": response_url})
    me = next(
        p for p in (meeting.pairing.mentor, meeting.pairing.mentee) if p.slack_user_id == user_id
    )
    partner = partner_of(meeting.pairing, me.id)
    if action == ids.CANCEL_MEETING_ACTION:
        return build_cancel_modal(meeting, metadata)
    if action == ids.ADD_TOPICS_ACTION:
        return build_agenda_modal(partner.name, metadata)
    return build_schedule_modal(
        partner.name,
        metadata,
        starts_at=meeting.starts_at,
        duration=meeting.duration_minutes,
        topic=meeting.topic or "",
        moving=True,
    )
