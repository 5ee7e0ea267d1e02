"""Find: from "I want to learn X" to a ranked list of mentors, or a wish for when one appears."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, time

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from bot.core import ids
from bot.core.errors import InvalidInput, MentorCoachError
from bot.core.members import member_for
from bot.core.models import (
    MAX_TEXT,
    Block,
    FindRecord,
    Member,
    MemberTopic,
    MentorRequest,
    Pairing,
    PairingStatus,
    RequestStatus,
    Topic,
    TopicKind,
)
from bot.core.quiet_hours import quiet_window
from bot.core.settings import QuietHours
from bot.find.matching import (
    DECLINE_COOLDOWN,
    Exclusions,
    Match,
    MentorCandidate,
    Seeker,
    Window,
    nearby_topics,
    rank_mentors,
    topic_key,
)
from bot.find.topics import TopicListError, parse_topics, resolve_topics

PAGE_SIZE = 3


class NeedsGoals(MentorCoachError):
    """The seeker has not said what they want from mentoring, or from these topics: ask first."""

    def __init__(self, topics: tuple[str, ...] = (), *, new_topic: bool = False) -> None:
        super().__init__("Tell me what you want from mentoring first.")
        self.topics = topics
        # They have a general goal already; this asks what they want from these topics.
        self.new_topic = new_topic


@dataclass(frozen=True)
class FindResult:
    query: str
    wanted: tuple[str, ...]
    matches: list[Match]
    page: int
    pending_mentor_ids: frozenset[int]
    nearby: list[str]

    @property
    def shown(self) -> list[Match]:
        return self.matches[self.page * PAGE_SIZE : (self.page + 1) * PAGE_SIZE]

    @property
    def has_more(self) -> bool:
        return len(self.matches) > (self.page + 1) * PAGE_SIZE


def find_mentors(
    session: Session,
    team_id: str,
    user_id: str,
    query: str,
    now: datetime,
    page: int = 0,
    *,
    quiet_hours: QuietHours | None = None,
) -> FindResult:
    """Rank mentors for what the person typed, or for the topics in their profile.

    `quiet_hours` is the program's default; each person's own working hours override it.
    """
    seeker = member_for(session, team_id, user_id, now)
    wanted = wanted_topics(seeker, query)
    goal = goal_for(seeker, wanted)
    if not wanted or (goal is None and not seeker.goals):
        raise NeedsGoals(wanted)
    if page == 0:  # a new search, not "Show more": where the admin's funnel starts
        session.add(
            FindRecord(workspace_id=seeker.workspace_id, member_id=seeker.id, created_at=now)
        )
    keys = {topic_key(name) for name in wanted}
    topic_ids = [
        topic_id
        for topic_id, name in session.execute(
            select(Topic.id, Topic.name).where(Topic.workspace_id == seeker.workspace_id)
        )
        if topic_key(name) in keys
    ]
    candidates = load_candidates(session, seeker.workspace_id, topic_ids, quiet_hours)
    matches = rank_mentors(
        Seeker(
            seeker.id, seeker.tz, goal or "", wanted, awake_hours(quiet_window(seeker, quiet_hours))
        ),
        candidates,
        exclusions_for(session, seeker.id, now),
        now,
    )
    # A topic new to them, with mentors to choose from: what they want from it decides whom
    # they pick and what the mentor reads. Nobody to pick? Say so first; no form in between.
    if goal is None and matches:
        raise NeedsGoals(wanted, new_topic=True)
    pending = frozenset(
        session.scalars(
            select(MentorRequest.mentor_id).where(
                MentorRequest.mentee_id == seeker.id, MentorRequest.status == RequestStatus.PENDING
            )
        )
    )
    # Mentors already asked stay visible, but after the ones you could still ask.
    matches.sort(key=lambda match: match.mentor.member_id in pending)
    nearby = [] if matches else nearby_topics(wanted, offered_topics(session, seeker.workspace_id))
    last_page = max(0, (len(matches) - 1) // PAGE_SIZE)
    return FindResult(
        query=query,
        wanted=wanted,
        matches=matches,
        page=min(max(page, 0), last_page),
        pending_mentor_ids=pending,
        nearby=nearby,
    )


def wanted_topics(member: Member, query: str) -> tuple[str, ...]:
    try:
        typed = [topic.name for topic in parse_topics(query)]
    except TopicListError:
        typed = [query.strip()[:50]]
    # "/mentor find public speaking" is one topic; commas separate several.
    return tuple(typed or member.topic_names(TopicKind.SOUGHT))


def goal_for(member: Member, wanted: Sequence[str]) -> str | None:
    """What the person wants from these topics, or None while one of them has no goal yet.

    A sought topic without a goal of its own shares the profile's general goal: the profile
    form asks for both together.
    """
    links = {
        topic_key(link.topic.name): link for link in member.topics if link.kind == TopicKind.SOUGHT
    }
    chosen = [links.get(topic_key(name)) for name in wanted]
    if any(link is None or not (link.goal or member.goals) for link in chosen):
        return None
    return join_goals(member.goals, [link.goal for link in chosen if link is not None])


def join_goals(general: str, own: Iterable[str | None]) -> str:
    """Each sought topic's own goal, or else the profile's general one: the distinct ones, one a
    line, in order; a topic with neither adds nothing."""
    return "\n".join(dict.fromkeys(goal or general for goal in own if goal or general))


def awake_hours(quiet: QuietHours | None) -> Window:
    """Awake is whatever the quiet window leaves; with no quiet hours, the whole day."""
    if quiet is None:
        return (time(0), time(0))
    return (quiet.end, quiet.start)


def load_candidates(
    session: Session,
    workspace_id: int,
    topic_ids: Sequence[int],
    quiet_hours: QuietHours | None = None,
) -> list[MentorCandidate]:
    """Active mentors offering any of these topics, with their load, in three queries.

    Plain rows, not ORM objects: with thousands of mentors, building objects is the slow part.
    """
    if not topic_ids:
        return []
    offering = select(MemberTopic.member_id).where(
        MemberTopic.topic_id.in_(topic_ids), MemberTopic.kind == TopicKind.OFFERED
    )
    mentors = session.execute(
        select(
            Member.id,
            Member.display_name,
            Member.real_name,
            Member.slack_user_id,
            Member.tz,
            Member.background,
            Member.experience,
            Member.capacity,
            Member.paused_until,
            Member.work_start,
            Member.work_end,
        )
        .where(
            Member.workspace_id == workspace_id,
            Member.is_mentor.is_(True),
            Member.is_active.is_(True),
            Member.id.in_(offering),
        )
        .order_by(Member.id)
    ).all()
    ids = [mentor.id for mentor in mentors]
    topics: dict[int, list[str]] = {}
    for member_id, name in session.execute(
        select(MemberTopic.member_id, Topic.name)
        .join(Topic, Topic.id == MemberTopic.topic_id)
        .where(MemberTopic.member_id.in_(offering), MemberTopic.kind == TopicKind.OFFERED)
    ):
        topics.setdefault(member_id, []).append(name)
    load = active_mentee_counts(session, ids)
    return [
        MentorCandidate(
            member_id=mentor.id,
            name=mentor.display_name or mentor.real_name or mentor.slack_user_id,
            tz=mentor.tz,
            topics=tuple(sorted(topics.get(mentor.id, []), key=str.casefold)),
            background=mentor.background,
            experience=mentor.experience,
            capacity=mentor.capacity,
            active_mentees=load.get(mentor.id, 0),
            paused_until=mentor.paused_until,
            # A plain row has the two working-hours columns quiet_window reads from a Member.
            hours=awake_hours(quiet_window(mentor, quiet_hours)),
        )
        for mentor in mentors
    ]


def candidate(mentor: Member, active_mentees: int) -> MentorCandidate:
    return MentorCandidate(
        member_id=mentor.id,
        name=mentor.name,
        tz=mentor.tz,
        topics=tuple(mentor.topic_names(TopicKind.OFFERED)),
        background=mentor.background,
        experience=mentor.experience,
        capacity=mentor.capacity,
        active_mentees=active_mentees,
        paused_until=mentor.paused_until,
    )


def active_mentee_counts(session: Session, mentor_ids: Sequence[int]) -> dict[int, int]:
    if not mentor_ids:
        return {}
    return dict(
        session.execute(
            select(Pairing.mentor_id, func.count())
            .where(Pairing.mentor_id.in_(mentor_ids), Pairing.status == PairingStatus.ACTIVE)
            .group_by(Pairing.mentor_id)
        ).all()
    )


def exclusions_for(session: Session, member_id: int, now: datetime) -> Exclusions:
    """Who this person must not be offered: partners, blocks either way, recent declines."""
    partners = session.scalars(
        select(Pairing.mentor_id).where(
            Pairing.mentee_id == member_id, Pairing.status == PairingStatus.ACTIVE
        )
    )
    blocks = session.execute(
        select(Block.blocker_id, Block.blocked_id).where(
            or_(Block.blocker_id == member_id, Block.blocked_id == member_id)
        )
    )
    declines = session.execute(
        select(MentorRequest.mentor_id, func.max(MentorRequest.responded_at))
        .where(
            MentorRequest.mentee_id == member_id,
            MentorRequest.status == RequestStatus.DECLINED,
            MentorRequest.responded_at > now - DECLINE_COOLDOWN,
        )
        .group_by(MentorRequest.mentor_id)
    )
    return Exclusions(
        partner_ids=frozenset(partners),
        blocked_ids=frozenset(other for pair in blocks for other in pair if other != member_id),
        declined_at={mentor_id: when for mentor_id, when in declines if when is not None},
    )


def offered_topics(session: Session, workspace_id: int) -> list[str]:
    """Topics at least one active mentor offers, for 'nearby topics' suggestions."""
    return list(
        session.scalars(
            select(Topic.name)
            .join(MemberTopic, MemberTopic.topic_id == Topic.id)
            .join(Member, Member.id == MemberTopic.member_id)
            .where(
                Topic.workspace_id == workspace_id,
                MemberTopic.kind == TopicKind.OFFERED,
                Member.is_mentor.is_(True),
                Member.is_active.is_(True),
            )
            .distinct()
            .order_by(Topic.name)
        )
    )


@dataclass(frozen=True)
class GoalsForm:
    goals: str | None
    topics: str | None


def save_goals(
    session: Session, team_id: str, user_id: str, form: GoalsForm, now: datetime
) -> Member:
    """The 'what do you want from mentoring?' step: a goal for these topics, and the mentee role.

    The first goal anyone gives is also their profile's general goal; later ones belong to
    their topics only, so asking about python leaves what they said about public speaking alone.
    """
    errors: dict[str, str] = {}
    goals = (form.goals or "").strip()
    if not goals:
        errors[ids.GOALS_BLOCK] = "A sentence or two is enough: what do you want to get better at?"
    elif len(goals) > MAX_TEXT:
        errors[ids.GOALS_BLOCK] = f"Please keep this under {MAX_TEXT} characters."
    try:
        topics = parse_topics(form.topics)
        if not topics:
            errors[ids.GOALS_TOPICS_BLOCK] = "Name at least one topic, like “public speaking”."
    except TopicListError as error:
        errors[ids.GOALS_TOPICS_BLOCK] = str(error)
        topics = []
    if errors:
        raise InvalidInput(errors)
    member = member_for(session, team_id, user_id, now)
    member.is_mentee, member.updated_at = True, now
    member.goals = member.goals or goals
    if member.profile_saved_at is None:
        member.profile_saved_at = now
    sought = {t.id for t in resolve_topics(session, member.workspace_id, topics)}
    for link in member.topics:
        if link.kind == TopicKind.SOUGHT and link.topic_id in sought:
            link.goal = goals
    have = {link.topic_id for link in member.topics if link.kind == TopicKind.SOUGHT}
    member.topics.extend(
        MemberTopic(topic_id=topic_id, kind=TopicKind.SOUGHT, goal=goals)
        for topic_id in sorted(sought - have)
    )
    session.flush()
    return member
