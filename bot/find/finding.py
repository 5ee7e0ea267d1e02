"""Find: from "I want to learn X" to a ranked list of mentors, or a wish for when one appears."""

from __future__ import annotations

import time as clock
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from sqlalchemy import (
    BigInteger,
    CompoundSelect,
    Select,
    bindparam,
    cast,
    func,
    insert,
    literal_column,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session, joinedload

from bot.core import ids
from bot.core.errors import InvalidInput, MentorCoachError
from bot.core.members import member_for, out_of_sync
from bot.core.models import (
    MAX_TEXT,
    Block,
    FindChange,
    FindRecord,
    Member,
    MemberTopic,
    MentorRequest,
    Pairing,
    PairingStatus,
    RequestStatus,
    Topic,
    TopicKind,
    UTCDateTime,
    Workspace,
)
from bot.core.quiet_hours import quiet_window
from bot.core.settings import QuietHours
from bot.find.candidates import awake_hours, fresh, load_mentors, mentor_index
from bot.find.matching import (
    DECLINE_COOLDOWN,
    Exclusions,
    Match,
    MentorCandidate,
    Seeker,
    nearby_topics,
    rank_mentors,
    topic_key,
)
from bot.find.topics import TopicListError, parse_topics, resolve_topics

PAGE_SIZE = 3


class NotSynced(Exception):
    """The seeker is new or their Slack details are a day old: sync them, then search."""


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
    # How many mentors match in all; `matches` holds the best of them up to this page.
    total: int = 0

    @property
    def shown(self) -> list[Match]:
        return self.matches[self.page * PAGE_SIZE : (self.page + 1) * PAGE_SIZE]

    @property
    def has_more(self) -> bool:
        return self.total > (self.page + 1) * PAGE_SIZE


def find_mentors(
    session: Session,
    team_id: str,
    user_id: str,
    query: str,
    now: datetime,
    page: int = 0,
    *,
    quiet_hours: QuietHours | None = None,
    require_synced: bool = False,
) -> FindResult:
    """Rank mentors for what the person typed, or for the topics in their profile.

    `quiet_hours` is the program's default; each person's own working hours override it.
    With `require_synced`, raises NotSynced first when their zone may be missing or stale
    (this saves a transaction on every search: the check rides on loading them).
    The index picks a shortlist from every mentor offering the topic; those few are read again
    from the database and ranked by `rank_mentors`, so what is shown is exact and current.
    """
    seeker = seeker_with_topics(session, team_id, user_id, now)
    if require_synced and out_of_sync(seeker.synced_at, now):
        raise NotSynced()
    wanted = wanted_topics(seeker, query)
    goal = goal_for(seeker, wanted)
    if not wanted or (goal is None and not seeker.goals):
        raise NeedsGoals(wanted)
    if page == 0:  # a new search, not "Show more": where the admin's funnel starts
        session.execute(
            insert(FindRecord).values(
                workspace_id=seeker.workspace_id, member_id=seeker.id, created_at=now
            )
        )
    person = Seeker(
        seeker.id, seeker.tz, goal or "", wanted, awake_hours(quiet_window(seeker, quiet_hours))
    )
    need = (max(page, 0) + 1) * PAGE_SIZE
    index = mentor_index(session, seeker.workspace_id)
    since, asked_us = index.look_back_from(), int(clock.time() * 1_000_000)
    exclusions, pending, changes = relations_for(
        session, seeker.id, now, changed=(seeker.workspace_id, since)
    )
    with index.lock:
        fresh(index, session, changes if since is not None else None, asked_us)
        for _attempt in range(3):
            pick = index.pick(person, exclusions, pending, now, quiet_hours, need)
            loaded = load_mentors(session, pick.member_ids, quiet_hours)
            if not index.correct(loaded, pick.member_ids):
                break
        nearby = [] if pick.total else nearby_topics(wanted, index.offered_names())
    # A topic new to them, with mentors to choose from: what they want from it decides whom
    # they pick and what the mentor reads. Nobody to pick? Say so first; no form in between.
    if goal is None and pick.total:
        raise NeedsGoals(wanted, new_topic=True)
    matches = rank_mentors(
        person,
        [
            mentor.candidate
            for mentor in loaded.values()
            if mentor.findable and mentor.workspace_id == seeker.workspace_id
        ],
        exclusions,
        now,
    )
    # Mentors already asked stay visible, but after the ones you could still ask.
    matches.sort(key=lambda match: match.mentor.member_id in pending)
    last_page = max(0, (pick.total - 1) // PAGE_SIZE)
    return FindResult(
        query=query,
        wanted=wanted,
        matches=matches[:need],
        page=min(max(page, 0), last_page),
        pending_mentor_ids=pending,
        nearby=nearby,
        total=pick.total,
    )


def seeker_with_topics(session: Session, team_id: str, user_id: str, now: datetime) -> Member:
    """The member with their topics, in one statement (member_for takes two)."""
    member = (
        session.scalars(_seeker_statement(), {"team_id": team_id, "user_id": user_id})
        .unique()
        .one_or_none()
    )
    return member if member is not None else member_for(session, team_id, user_id, now)


@cache
def _seeker_statement() -> Select[tuple[Member]]:
    # Built once: on every find and Home open, building it would cost more than running it.
    return (
        select(Member)
        .join(Workspace, Member.workspace_id == Workspace.id)
        .where(
            Workspace.team_id == bindparam("team_id"), Member.slack_user_id == bindparam("user_id")
        )
        .options(joinedload(Member.topics))
    )


def relations_for(
    session: Session, member_id: int, now: datetime, *, changed: tuple[int, int | None] = (0, None)
) -> tuple[Exclusions, frozenset[int], list[tuple[int, int]]]:
    """Who this person must not be offered (partners, blocks either way, recent declines), whom
    they have asked already and, with `changed=(workspace_id, since)`, the mentors changed in
    find_change since then (for the index): one statement."""
    workspace_id, since = changed
    found: dict[str, set[int]] = {"partner": set(), "blocked": set(), "pending": set()}
    declined: dict[int, datetime] = {}
    changes: list[tuple[int, int]] = []
    rows = session.execute(
        _relations_statement(since is not None),
        {
            "member_id": member_id,
            "declined_after": now - DECLINE_COOLDOWN,
            "workspace_id": workspace_id,
            "since": since or 0,
        },
    )
    for what, other, when, stamp in rows:
        if what == "declined":
            if when is not None:
                declined[other] = when
        elif what == "changed":
            changes.append((other, stamp))
        else:
            found[what].add(other)
    exclusions = Exclusions(
        partner_ids=frozenset(found["partner"]),
        blocked_ids=frozenset(found["blocked"] - {member_id}),
        declined_at=declined,
    )
    return exclusions, frozenset(found["pending"]), changes


@cache
def _relations_statement(with_changes: bool) -> CompoundSelect:
    me = bindparam("member_id")
    nothing, no_stamp = null(), cast(null(), BigInteger)
    parts = [
        select(
            literal_column("'declined'"),
            MentorRequest.mentor_id,
            func.max(MentorRequest.responded_at),
            no_stamp,
        )
        .where(
            MentorRequest.mentee_id == me,
            MentorRequest.status == RequestStatus.DECLINED,
            MentorRequest.responded_at > bindparam("declined_after", type_=UTCDateTime()),
        )
        .group_by(MentorRequest.mentor_id),
        select(literal_column("'partner'"), Pairing.mentor_id, nothing, no_stamp).where(
            Pairing.mentee_id == me, Pairing.status == PairingStatus.ACTIVE
        ),
        select(literal_column("'blocked'"), Block.blocked_id, nothing, no_stamp).where(
            Block.blocker_id == me
        ),
        select(literal_column("'blocked'"), Block.blocker_id, nothing, no_stamp).where(
            Block.blocked_id == me
        ),
        select(literal_column("'pending'"), MentorRequest.mentor_id, nothing, no_stamp).where(
            MentorRequest.mentee_id == me, MentorRequest.status == RequestStatus.PENDING
        ),
    ]
    if with_changes:
        parts.append(
            select(
                literal_column("'changed'"), FindChange.member_id, nothing, FindChange.stamp
            ).where(
                FindChange.workspace_id == bindparam("workspace_id"),
                FindChange.stamp > bindparam("since", type_=BigInteger()),
            )
        )
    return union_all(*parts)


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
