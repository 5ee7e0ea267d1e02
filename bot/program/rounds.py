"""A matching round, pure: score allowed pairs with find's ranking, then assign them exactly.

No database here: the service in bot/program/matching_round.py loads people and stores the draft.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

import numpy as np

from bot.find.matching import (
    Exclusions,
    MentorCandidate,
    Seeker,
    exclusion_reason,
    score_match,
    seeker_day,
    topic_key,
)

# Scores are turned into whole numbers (micro-points) so the solver's sums are exact, and every
# match is worth more than any total of score differences: the round first matches as many
# people as it can, then, among those assignments, picks the one with the highest total score.
# Leaving someone without a mentor to give another a slightly better fit is never what a
# program wants.
SCALE = 1_000_000


class Unmatched(enum.StrEnum):
    """Why a waiting mentee got no mentor this round (they are told, with a next step)."""

    NO_MENTOR = "no_mentor"  # nobody offers what they want
    FULL = "full"  # mentors offer it, but they are full or away, or others filled them this round
    NOT_AVAILABLE = "not_available"  # only mentors a block or an earlier "not now" rules out


@dataclass(frozen=True)
class Waiting:
    """A mentee in the round: who they are, and whom they must not be proposed to."""

    seeker: Seeker
    exclusions: Exclusions
    # Mentors who ever said "not now" to them: a round never proposes them again, whatever
    # /mentor find's cooldown allows (the mentee may still ask them again themselves).
    declined_by: frozenset[int] = frozenset()


class Edge(NamedTuple):
    """A pair the round may propose, with its match score (0..1) and the topics they share."""

    mentee_id: int
    mentor_id: int
    score: float
    topics: tuple[str, ...]


@dataclass(frozen=True)
class Plan:
    pairs: list[Edge]
    unmatched: dict[int, Unmatched]
    edges: int  # how many pairs were allowed; for the admin and the benchmark


def free_slots(mentor: MentorCandidate) -> int:
    return max(mentor.capacity - mentor.active_mentees, 0)


def _offering(mentors: Iterable[MentorCandidate]) -> dict[str, list[MentorCandidate]]:
    by_topic: dict[str, list[MentorCandidate]] = defaultdict(list)
    for mentor in mentors:
        for key in {topic_key(name) for name in mentor.topics}:
            by_topic[key].append(mentor)
    return by_topic


def _sharing_a_topic(
    person: Waiting, offering: Mapping[str, list[MentorCandidate]]
) -> dict[int, MentorCandidate]:
    pool: dict[int, MentorCandidate] = {}
    for key in {topic_key(name) for name in person.seeker.topics}:
        for mentor in offering.get(key, ()):
            if mentor.member_id != person.seeker.member_id:
                pool[mentor.member_id] = mentor
    return pool


def allowed_edges(
    waiting: Sequence[Waiting], mentors: Sequence[MentorCandidate], now: datetime
) -> list[Edge]:
    """Every pair the round may propose, scored by the same ranking /mentor find uses."""
    offering = _offering(mentors)
    edges: list[Edge] = []
    for person in waiting:
        # Only mentors sharing a topic can match; scoring just those keeps a 5,000-mentee
        # round fast. The checks and the score are /mentor find's own.
        pool = [
            mentor
            for mentor_id, mentor in _sharing_a_topic(person, offering).items()
            if mentor_id not in person.declined_by
        ]
        day = seeker_day(person.seeker, now)
        if day is None:
            continue
        for mentor in pool:
            if exclusion_reason(person.seeker, mentor, person.exclusions, now) is not None:
                continue
            scored = score_match(person.seeker, mentor, day)
            if scored is not None:
                score, matched, _ = scored
                edges.append(
                    Edge(person.seeker.member_id, mentor.member_id, score, tuple(matched.values()))
                )
    return edges


def best_assignment(
    edges: Sequence[tuple[int, int, float]], capacity: Mapping[int, int]
) -> list[tuple[int, int]]:
    """(mentee, mentor) pairs: as many people matched as possible, then the highest total score.

    Exact: each mentor becomes `capacity` identical slots and scipy's sparse Jonker-Volgenant
    solver (LAPJVsp) finds the optimal assignment of mentees to slots. Each mentee also gets a
    private "no mentor" column worth almost nothing, so a full assignment always exists.
    Built with numpy: a 5,000-mentee round has a few million (mentee, slot) entries.
    """
    if not edges:
        return []
    # Here, not at the top: scipy costs every bot process ~20 MB, and only a round needs it.
    from scipy.sparse import csr_array
    from scipy.sparse.csgraph import min_weight_full_bipartite_matching

    mentee_ids = np.fromiter((e[0] for e in edges), np.int64, len(edges))
    mentor_ids = np.fromiter((e[1] for e in edges), np.int64, len(edges))
    scores = np.fromiter((e[2] for e in edges), np.float64, len(edges))
    mentees, rows = np.unique(mentee_ids, return_inverse=True)
    mentors, by_mentor = np.unique(mentor_ids, return_inverse=True)
    places = np.array([max(capacity.get(int(m), 0), 0) for m in mentors], dtype=np.int64)
    first_slot = np.concatenate(([0], np.cumsum(places)[:-1]))
    slots = int(places.sum())
    # One more match outweighs any difference in scores; + 2 keeps every real slot worth more
    # than the "no mentor" column's 1.
    bonus = SCALE * (len(mentees) + 1) + 2
    worth = bonus + np.maximum(np.rint(scores * SCALE), 0)
    copies = places[by_mentor]
    # Entry k of an edge goes to its mentor's k-th slot.
    offsets = np.arange(int(copies.sum())) - np.repeat(np.cumsum(copies) - copies, copies)
    graph = csr_array(
        (
            np.concatenate((np.repeat(worth, copies), np.ones(len(mentees)))),
            (
                np.concatenate((np.repeat(rows, copies), np.arange(len(mentees)))),
                np.concatenate(
                    (
                        np.repeat(first_slot[by_mentor], copies) + offsets,
                        slots + np.arange(len(mentees)),
                    )
                ),
            ),
        ),
        shape=(len(mentees), slots + len(mentees)),
    )
    row_ind, col_ind = min_weight_full_bipartite_matching(graph, maximize=True)
    slot_owner = np.repeat(mentors, places)
    return [
        (int(mentees[row]), int(slot_owner[col]))
        for row, col in zip(row_ind.tolist(), col_ind.tolist(), strict=True)
        if col < slots
    ]


def plan_round(
    waiting: Sequence[Waiting], mentors: Sequence[MentorCandidate], now: datetime
) -> Plan:
    """The draft: the best assignment, and for everyone left over, why."""
    edges = allowed_edges(waiting, mentors, now)
    capacity = {mentor.member_id: free_slots(mentor) for mentor in mentors}
    chosen = best_assignment([(e.mentee_id, e.mentor_id, e.score) for e in edges], capacity)
    by_pair = {(e.mentee_id, e.mentor_id): e for e in edges}
    pairs = sorted((by_pair[pair] for pair in chosen), key=lambda e: (-e.score, e.mentee_id))
    matched = {edge.mentee_id for edge in pairs}
    with_edges = {edge.mentee_id for edge in edges}
    offering = _offering(mentors)
    unmatched = {
        person.seeker.member_id: _why_unmatched(person, offering, with_edges)
        for person in waiting
        if person.seeker.member_id not in matched
    }
    return Plan(pairs=pairs, unmatched=unmatched, edges=len(edges))


def _why_unmatched(
    person: Waiting, offering: Mapping[str, list[MentorCandidate]], with_edges: set[int]
) -> Unmatched:
    if person.seeker.member_id in with_edges:
        return Unmatched.FULL  # they had mentors, but others filled those places
    pool = _sharing_a_topic(person, offering)
    if not pool:
        return Unmatched.NO_MENTOR
    ruled_out = person.exclusions.blocked_ids | person.exclusions.partner_ids | person.declined_by
    if pool.keys() <= ruled_out:
        return Unmatched.NOT_AVAILABLE
    return Unmatched.FULL
