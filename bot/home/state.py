"""What the Home tab shows a person: profile, partners, requests, sessions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from bot.core.members import member_for
from bot.core.models import Meeting, Member, MentorRequest
from bot.find.partners import list_partners


@dataclass(frozen=True)
class HomeState:
    """Everything the Home tab shows one person."""

    member: Member
    mentors: list[Member]
    mentees: list[Member]
    sent: list[MentorRequest]
    incoming: list[MentorRequest]
    upcoming: list[Meeting]


def home_state(session: Session, team_id: str, user_id: str, now: datetime) -> HomeState:
    from bot.find.intros import pending_requests
    from bot.prepare.meetings import upcoming_for

    member = member_for(session, team_id, user_id, now)
    sent, incoming = pending_requests(session, member)
    return HomeState(
        member=member,
        mentors=list_partners(session, team_id, user_id, "mentors", now),
        mentees=list_partners(session, team_id, user_id, "mentees", now),
        sent=sent,
        incoming=incoming,
        upcoming=upcoming_for(session, member, now),
    )
