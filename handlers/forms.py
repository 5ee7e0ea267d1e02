"""Modals opened from more than one place: the profile form and the session forms."""

from __future__ import annotations

import json
from datetime import datetime

from slack_sdk import WebClient
from sqlalchemy.orm import Session

from bot.core import ids
from bot.core.blocks import View
from bot.core.members import find_member, member_for
from bot.core.models import Meeting, Pairing
from bot.find.blocks import build_profile_modal
from bot.prepare.blocks import build_agenda_modal, build_cancel_modal, build_schedule_modal
from bot.prepare.meetings import default_start, partner_of
from bot.respect.blocks import (
    build_advice_modal,
    build_mentor_note_modal,
    build_success_modal,
    build_thanks_modal,
)
from bot.respect.checkins import Answer
from bot.respect.successes import mentors_of
from handlers.deps import Deps


def open_profile_modal(
    client: WebClient,
    deps: Deps,
    *,
    trigger_id: str,
    team_id: str,
    user_id: str,
    response_url: str | None,
    as_mentor: bool = False,
) -> None:
    """Open at once: the trigger_id dies 3 seconds after the click, so nothing slow comes first."""
    with deps.sessions.begin() as session:
        view = build_profile_modal(
            find_member(session, team_id, user_id),
            private_metadata=json.dumps({"r": response_url} if response_url else {}),
            as_mentor=as_mentor,
            default_hours=deps.settings.quiet_hours,
        )
    client.views_open(trigger_id=trigger_id, view=view)


def schedule_view(pairing: Pairing, user_id: str, response_url: str | None, now: datetime) -> View:
    """The booking modal for this pair, starting at the opener's next weekday, 10:00."""
    me = pairing.person(user_id) or pairing.mentee
    metadata = json.dumps({"p": pairing.id, "r": response_url})
    return build_schedule_modal(
        partner_of(pairing, me.id).name, metadata, starts_at=default_start(me.tz, now)
    )


def meeting_view(action: str, meeting: Meeting, user_id: str, response_url: str | None) -> View:
    metadata = json.dumps({"m": meeting.id, "r": response_url})
    me = meeting.pairing.person(user_id) or meeting.pairing.mentee
    partner = partner_of(meeting.pairing, me.id)
    if action == ids.CANCEL_MEETING_ACTION:
        return build_cancel_modal(meeting, metadata, me)
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


def advice_view(answer: Answer, response_url: str | None) -> View:
    return after_session_view(ids.OPEN_ADVICE_ACTION, answer, response_url)


def after_session_view(action: str, answer: Answer, response_url: str | None) -> View:
    """Advice to apply (mentee), a thank-you (either), or a note for the mentee (mentor)."""
    metadata = json.dumps({"m": answer.meeting.id, "r": response_url})
    if action == ids.OPEN_ADVICE_ACTION:
        return build_advice_modal(answer.partner.name, metadata)
    if action == ids.MENTOR_NOTE_ACTION:
        return build_mentor_note_modal(answer.partner.name, metadata)
    return build_thanks_modal(answer.partner.name, metadata)


def success_view(
    session: Session,
    deps: Deps,
    team_id: str,
    user_id: str,
    text: str,
    response_url: str | None,
    meeting_id: int = 0,
    *,
    channel: str | None,
) -> View | None:
    """The share-a-success form, crediting the session's or current mentor; None if no mentor."""
    member = member_for(session, team_id, user_id, deps.clock())
    mentors = mentors_of(session, member)
    if not mentors:
        return None
    meeting = session.get(Meeting, meeting_id) if meeting_id else None
    default = (
        meeting.pairing.mentor_id if meeting and meeting.pairing.mentee_id == member.id else None
    )
    return build_success_modal(
        mentors,
        default or mentors[0].id,
        json.dumps({"r": response_url}),
        text=text,
        channel=channel,
    )
