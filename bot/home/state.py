"""What the Home tab shows a person: profile, partners, requests, sessions."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, joinedload, lazyload

from bot.core.models import (
    Meeting,
    MeetingStatus,
    Member,
    MentorRequest,
    Pairing,
    PairingStatus,
    RequestStatus,
)
from bot.find.finding import seeker_with_topics

UPCOMING_SHOWN = 3


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
    """Four statements whatever the person's history: Home opens often and must stay cheap."""
    member = seeker_with_topics(session, team_id, user_id, now)
    requests = session.scalars(
        select(MentorRequest)
        .where(
            MentorRequest.status == RequestStatus.PENDING,
            or_(MentorRequest.mentee_id == member.id, MentorRequest.mentor_id == member.id),
        )
        .options(*_people(MentorRequest.mentee, MentorRequest.mentor))
        .order_by(MentorRequest.created_at, MentorRequest.id)
    ).all()
    pairings = session.scalars(
        select(Pairing)
        .where(
            Pairing.status == PairingStatus.ACTIVE,
            or_(Pairing.mentor_id == member.id, Pairing.mentee_id == member.id),
        )
        .options(*_people(Pairing.mentor, Pairing.mentee))
    ).all()
    upcoming = session.scalars(
        select(Meeting)
        .join(Pairing, Pairing.id == Meeting.pairing_id)
        .where(
            or_(Pairing.mentor_id == member.id, Pairing.mentee_id == member.id),
            Meeting.status == MeetingStatus.SCHEDULED,
            Meeting.starts_at > now,
        )
        .order_by(Meeting.starts_at)
        .limit(UPCOMING_SHOWN)
        .options(joinedload(Meeting.pairing).options(*_people(Pairing.mentor, Pairing.mentee)))
    ).all()
    return HomeState(
        member=member,
        mentors=_by_name(p.mentor for p in pairings if p.mentee_id == member.id),
        mentees=_by_name(p.mentee for p in pairings if p.mentor_id == member.id),
        sent=[r for r in requests if r.mentee_id == member.id],
        incoming=[r for r in requests if r.mentor_id == member.id],
        upcoming=list(upcoming),
    )


def _people(*relations: Any) -> list[Any]:
    # Joined, and without each person's topics (a select per query otherwise): Home shows names.
    return [joinedload(relation).options(lazyload(Member.topics)) for relation in relations]


def _by_name(people: Iterable[Member]) -> list[Member]:
    return sorted(people, key=lambda m: m.name.casefold())
