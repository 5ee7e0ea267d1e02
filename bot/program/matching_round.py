"""The admin's matching round: a draft for everyone waiting; approve it (requests go out) or not.

Waiting means: an active member who wants a mentor (the mentee role and at least one sought topic),
not paused, with no active mentor and no request waiting for an answer. A round proposes one
mentor per person; someone who already has a mentor asks for another with /mentor find.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import exists, func, insert, or_, select, update
from sqlalchemy.orm import Session, selectinload

from bot.core.errors import MentorCoachError
from bot.core.members import member_for
from bot.core.models import (
    Block,
    MatchingRound,
    Member,
    MemberTopic,
    MentorRequest,
    Pairing,
    PairingStatus,
    RequestStatus,
    RoundProposal,
    RoundStatus,
    RoundUnmatched,
    Topic,
    TopicKind,
)
from bot.core.outbox import enqueue
from bot.core.quiet_hours import quiet_window
from bot.core.settings import QuietHours, Settings
from bot.find.finding import awake_hours, join_goals, load_candidates
from bot.find.intros import request_intro
from bot.find.matching import Exclusions, MentorCandidate, Seeker
from bot.find.wishes import make_wishes
from bot.program.rounds import SCALE, Plan, Waiting, free_slots, plan_round

SAMPLE_SIZE = 8
MATCHED_KIND = "round_matched"
UNMATCHED_KIND = "round_unmatched"


class RoundClosed(MentorCoachError):
    """The round was already approved or discarded (a second click, another admin)."""


@dataclass(frozen=True)
class SamplePair:
    mentee: str  # Slack user ids: Slack shows each reader the names
    mentor: str
    score: float
    topics: str


@dataclass(frozen=True)
class Draft:
    """What the admin sees before approving."""

    round_id: int
    waiting: int
    free_slots: int
    matched: int
    scores: tuple[float, float, float] | None  # min, median, max of the matched pairs
    unmatched: dict[RoundUnmatched, int]
    sample: list[SamplePair]


@dataclass(frozen=True)
class Approved:
    round_id: int
    requested: int
    skipped: int  # things changed since the draft (someone found a mentor, paused, filled up)
    told_unmatched: int


def waiting_mentees(
    session: Session, workspace_id: int, now: datetime, quiet_hours: QuietHours | None = None
) -> list[Waiting]:
    """Everyone waiting for a mentor, with whom each must not meet, in four queries."""
    waiting_ids = (
        select(Member.id)
        .where(
            Member.workspace_id == workspace_id,
            Member.is_active.is_(True),
            Member.is_mentee.is_(True),
            or_(Member.paused_until.is_(None), Member.paused_until <= now),
            exists().where(
                MemberTopic.member_id == Member.id, MemberTopic.kind == TopicKind.SOUGHT
            ),
            ~exists().where(Pairing.mentee_id == Member.id, Pairing.status == PairingStatus.ACTIVE),
            ~exists().where(
                MentorRequest.mentee_id == Member.id,
                MentorRequest.status == RequestStatus.PENDING,
            ),
        )
        .scalar_subquery()
    )
    people = session.execute(
        select(Member.id, Member.tz, Member.goals, Member.work_start, Member.work_end).where(
            Member.id.in_(waiting_ids)
        )
    ).all()
    sought: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for member_id, name, goal in session.execute(
        select(MemberTopic.member_id, Topic.name, MemberTopic.goal)
        .join(Topic, Topic.id == MemberTopic.topic_id)
        .where(MemberTopic.member_id.in_(waiting_ids), MemberTopic.kind == TopicKind.SOUGHT)
        .order_by(MemberTopic.member_id, Topic.name)
    ):
        sought[member_id].append((name, goal or ""))
    blocked: dict[int, set[int]] = defaultdict(set)
    for blocker, blocked_id in session.execute(
        select(Block.blocker_id, Block.blocked_id).where(
            or_(Block.blocker_id.in_(waiting_ids), Block.blocked_id.in_(waiting_ids))
        )
    ):
        blocked[blocker].add(blocked_id)
        blocked[blocked_id].add(blocker)
    declined: dict[int, set[int]] = defaultdict(set)
    for mentee_id, mentor_id in session.execute(
        select(MentorRequest.mentee_id, MentorRequest.mentor_id)
        .where(
            MentorRequest.mentee_id.in_(waiting_ids),
            MentorRequest.status == RequestStatus.DECLINED,
        )
        .distinct()
    ):
        declined[mentee_id].add(mentor_id)
    return [
        Waiting(
            seeker=Seeker(
                member_id=person.id,
                tz=person.tz,
                goals=join_goals(person.goals, [goal for _, goal in sought[person.id]]),
                topics=tuple(name for name, _ in sought[person.id]),
                # The row carries the two working-hours columns quiet_window reads.
                hours=awake_hours(quiet_window(person, quiet_hours)),  # type: ignore[arg-type]
            ),
            exclusions=Exclusions(blocked_ids=frozenset(blocked[person.id])),
            declined_by=frozenset(declined[person.id]),
        )
        for person in people
        if sought[person.id]
    ]


def draft_round(
    session: Session,
    team_id: str,
    admin_user_id: str,
    now: datetime,
    quiet_hours: QuietHours | None = None,
) -> Draft:
    """Plan the best round for everyone waiting and keep it as the workspace's one draft."""
    admin = member_for(session, team_id, admin_user_id, now)
    workspace_id = admin.workspace_id
    waiting = waiting_mentees(session, workspace_id, now, quiet_hours)
    wanted = {name for person in waiting for name in person.seeker.topics}
    topic_ids = list(
        session.scalars(
            select(Topic.id).where(Topic.workspace_id == workspace_id, Topic.name.in_(wanted))
        )
    )
    mentors = _with_promised_places(
        session, load_candidates(session, workspace_id, topic_ids, quiet_hours)
    )
    plan = plan_round(waiting, mentors, now)
    # One draft at a time: a new one replaces any older draft nobody approved.
    session.execute(
        update(MatchingRound)
        .where(
            MatchingRound.workspace_id == workspace_id,
            MatchingRound.status == RoundStatus.DRAFT,
        )
        .values(status=RoundStatus.DISCARDED, decided_at=now, decided_by_id=admin.id)
    )
    matching_round = MatchingRound(
        workspace_id=workspace_id,
        status=RoundStatus.DRAFT,
        created_by_id=admin.id,
        created_at=now,
        waiting=len(waiting),
        free_slots=sum(free_slots(mentor) for mentor in mentors),
    )
    session.add(matching_round)
    session.flush()
    _store(session, matching_round.id, plan)
    return _summary(session, matching_round, plan)


def _with_promised_places(
    session: Session, mentors: list[MentorCandidate]
) -> list[MentorCandidate]:
    """Count requests still waiting for a mentor's answer as taken places: each may be accepted,
    so a round never sends a mentor more requests than they have room for."""
    pending = dict(
        session.execute(
            select(MentorRequest.mentor_id, func.count())
            .where(
                MentorRequest.mentor_id.in_([mentor.member_id for mentor in mentors]),
                MentorRequest.status == RequestStatus.PENDING,
            )
            .group_by(MentorRequest.mentor_id)
        ).all()
    )
    return [
        replace(mentor, active_mentees=mentor.active_mentees + pending[mentor.member_id])
        if mentor.member_id in pending
        else mentor
        for mentor in mentors
    ]


def _store(session: Session, round_id: int, plan: Plan) -> None:
    rows = [
        {
            "round_id": round_id,
            "mentee_id": pair.mentee_id,
            "mentor_id": pair.mentor_id,
            "score_micros": round(pair.score * SCALE),
            "topics": ", ".join(pair.topics)[:200],
            "unmatched": None,
        }
        for pair in plan.pairs
    ] + [
        {
            "round_id": round_id,
            "mentee_id": mentee_id,
            "mentor_id": None,
            "score_micros": None,
            "topics": "",
            "unmatched": RoundUnmatched(reason.value),
        }
        for mentee_id, reason in plan.unmatched.items()
    ]
    if rows:
        session.execute(insert(RoundProposal), rows)


def _summary(session: Session, matching_round: MatchingRound, plan: Plan) -> Draft:
    scores = sorted(pair.score for pair in plan.pairs)
    # A sample across the range, best first, so the admin sees typical pairs, not just the top.
    step = max(len(plan.pairs) // SAMPLE_SIZE, 1)
    chosen = plan.pairs[::step][:SAMPLE_SIZE]
    users = dict(
        session.execute(
            select(Member.id, Member.slack_user_id).where(
                Member.id.in_({p.mentee_id for p in chosen} | {p.mentor_id for p in chosen})
            )
        ).all()
    )
    unmatched: dict[RoundUnmatched, int] = defaultdict(int)
    for reason in plan.unmatched.values():
        unmatched[RoundUnmatched(reason.value)] += 1
    return Draft(
        round_id=matching_round.id,
        waiting=matching_round.waiting,
        free_slots=matching_round.free_slots,
        matched=len(plan.pairs),
        scores=(scores[0], statistics.median(scores), scores[-1]) if scores else None,
        unmatched=dict(unmatched),
        sample=[
            SamplePair(users[p.mentee_id], users[p.mentor_id], p.score, ", ".join(p.topics))
            for p in chosen
        ],
    )


def _decide(
    session: Session,
    team_id: str,
    round_id: int,
    admin_user_id: str,
    to: RoundStatus,
    now: datetime,
) -> Member:
    """Move a draft on, once: a conditional update, so a second click or admin changes nothing."""
    admin = member_for(session, team_id, admin_user_id, now)
    moved = session.execute(
        update(MatchingRound)
        .where(
            MatchingRound.id == round_id,
            MatchingRound.workspace_id == admin.workspace_id,
            MatchingRound.status == RoundStatus.DRAFT,
        )
        .values(status=to, decided_at=now, decided_by_id=admin.id),
        execution_options={"preserve_rowcount": True},
    )
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        status = session.scalar(
            select(MatchingRound.status).where(
                MatchingRound.id == round_id, MatchingRound.workspace_id == admin.workspace_id
            )
        )
        raise RoundClosed(CLOSED.get(status, GONE))  # type: ignore[arg-type]
    return admin


CLOSED = {
    RoundStatus.APPROVED: "This round was already approved, and its requests went out once.",
    RoundStatus.DISCARDED: (
        "This draft was discarded or replaced by a newer one. "
        "`/mentor admin round` makes a fresh one."
    ),
}
GONE = "I can't find that round any more."


def discard_round(
    session: Session, team_id: str, round_id: int, admin_user_id: str, now: datetime
) -> None:
    _decide(session, team_id, round_id, admin_user_id, RoundStatus.DISCARDED, now)


def approve_round(
    session: Session,
    team_id: str,
    round_id: int,
    admin_user_id: str,
    settings: Settings,
    now: datetime,
) -> Approved:
    """Send every proposed intro request through the usual path, and tell everyone else why."""
    _decide(session, team_id, round_id, admin_user_id, RoundStatus.APPROVED, now)
    proposals = session.scalars(
        select(RoundProposal)
        .where(RoundProposal.round_id == round_id)
        .options(selectinload(RoundProposal.mentee), selectinload(RoundProposal.mentor))
        .order_by(RoundProposal.id)
    ).all()
    requested = skipped = told = 0
    for proposal in proposals:
        mentee = proposal.mentee
        if proposal.mentor is None:
            if proposal.unmatched == RoundUnmatched.NO_MENTOR:
                topics = tuple(mentee.topic_names(TopicKind.SOUGHT))
                make_wishes(session, team_id, mentee.slack_user_id, topics, now)
            told += _tell(session, proposal, UNMATCHED_KIND, now)
            continue
        try:
            # A savepoint: if this one request is no longer possible, the others still go.
            with session.begin_nested():
                request = request_intro(
                    session,
                    team_id,
                    mentee.slack_user_id,
                    proposal.mentor.id,
                    ROUND_NOTE.format(mentee=mentee.name, topics=proposal.topics),
                    proposal.topics,
                    settings,
                    now,
                )
        except MentorCoachError:
            skipped += 1
            continue
        proposal.request_id = request.id
        requested += 1
        _tell(session, proposal, MATCHED_KIND, now)
    return Approved(round_id, requested, skipped, told)


ROUND_NOTE = (
    "This request comes from the program's matching round: {mentee} is looking for a mentor "
    "for {topics}, and you came out as the best fit with room to take someone on."
)


def _tell(session: Session, proposal: RoundProposal, kind: str, now: datetime) -> int:
    return int(
        enqueue(
            session,
            workspace_id=proposal.mentee.workspace_id,
            kind=kind,
            dedupe_key=f"{kind}:{proposal.id}",
            due_at=now,
            now=now,
            member_id=proposal.mentee_id,
            subject=("round_proposal", proposal.id),
        )
    )


def proposals_for(session: Session, rows_subject_ids: Sequence[int]) -> dict[int, RoundProposal]:
    """Proposals by id with both people loaded, for the outbox renderers (one query)."""
    return {
        proposal.id: proposal
        for proposal in session.scalars(
            select(RoundProposal)
            .where(RoundProposal.id.in_(rows_subject_ids))
            .options(
                selectinload(RoundProposal.mentee),
                selectinload(RoundProposal.mentor),
            )
        )
    }
