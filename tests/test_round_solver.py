"""The round's solver is exact: on small random instances it matches brute force, and the plan
says why each person left over was not matched."""

from __future__ import annotations

import io
import itertools
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.round import run
from bot.find.matching import Exclusions, MentorCandidate, Seeker
from bot.program.rounds import SCALE, Unmatched, Waiting, best_assignment, plan_round

NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)


def value(pairs, scores):
    """What the round maximises: first how many are matched, then the total score."""
    return len(pairs), sum(round(scores[pair] * SCALE) for pair in pairs)


def brute_force(edges, capacity):
    mentees = sorted({mentee for mentee, _, _ in edges})
    options = {m: [None] + [mentor for e, mentor, _ in edges if e == m] for m in mentees}
    scores = {(mentee, mentor): score for mentee, mentor, score in edges}
    best = (0, 0)
    for choice in itertools.product(*(options[m] for m in mentees)):
        load: dict[int, int] = {}
        for mentor in choice:
            if mentor is not None:
                load[mentor] = load.get(mentor, 0) + 1
        if any(count > capacity.get(mentor, 0) for mentor, count in load.items()):
            continue
        pairs = [(m, mentor) for m, mentor in zip(mentees, choice, strict=True) if mentor]
        best = max(best, value(pairs, scores))
    return best


@st.composite
def instances(draw):
    mentees = draw(st.integers(1, 6))
    mentors = draw(st.integers(1, 4))
    capacity = {100 + j: draw(st.integers(0, 3)) for j in range(mentors)}
    edges = []
    for i in range(mentees):
        for j in range(mentors):
            if draw(st.booleans()):
                edges.append((i, 100 + j, draw(st.floats(0, 1, allow_nan=False))))
    return edges, capacity


@settings(max_examples=300, deadline=None)
@given(instances())
def test_the_solver_finds_the_same_optimum_as_brute_force(instance):
    edges, capacity = instance
    chosen = best_assignment(edges, capacity)
    scores = {(mentee, mentor): score for mentee, mentor, score in edges}
    assert all(pair in scores for pair in chosen)  # only allowed pairs
    assert len({mentee for mentee, _ in chosen}) == len(chosen)  # one mentor each
    for mentor, places in capacity.items():  # nobody over capacity
        assert sum(1 for _, m in chosen if m == mentor) <= places
    assert value(chosen, scores) == brute_force(edges, capacity)


def test_matching_more_people_beats_a_higher_score_for_one():
    # Kenji fits Amara perfectly and Ravi not at all; Lena fits only Amara. Giving Amara to
    # Kenji would score more for one pair, but leaves Lena without anyone.
    edges = [(1, 10, 0.99), (1, 11, 0.05), (2, 10, 0.6)]
    assert sorted(best_assignment(edges, {10: 1, 11: 1})) == [(1, 11), (2, 10)]


def mentor(member_id, topics, capacity=1, active=0):
    return MentorCandidate(
        member_id, f"m{member_id}", "UTC", topics, "", "", capacity, active, None
    )


def waiting(member_id, topics, blocked=(), declined=()):
    return Waiting(
        Seeker(member_id, "UTC", "learn", topics),
        Exclusions(blocked_ids=frozenset(blocked)),
        declined_by=frozenset(declined),
    )


def test_the_plan_says_why_each_person_was_left_over():
    mentors = [mentor(10, ("python",)), mentor(11, ("go",), capacity=2, active=2)]
    plan = plan_round(
        [
            waiting(1, ("python",)),
            waiting(2, ("python",)),  # loses the one python place to 1 (or 1 to 2)
            waiting(3, ("cobol",)),  # nobody offers it
            waiting(4, ("go",)),  # the go mentor is full already
            waiting(5, ("python",), declined=(10,)),  # only a mentor who said not now
            waiting(6, ("python", "go"), blocked=(10,)),  # blocked one, the other full
        ],
        mentors,
        NOW,
    )
    assert len(plan.pairs) == 1 and plan.pairs[0].mentor_id == 10
    left = 2 if plan.pairs[0].mentee_id == 1 else 1
    assert plan.unmatched == {
        left: Unmatched.FULL,
        3: Unmatched.NO_MENTOR,
        4: Unmatched.FULL,
        5: Unmatched.NOT_AVAILABLE,
        6: Unmatched.FULL,
    }


def test_the_round_benchmark_smoke_run():
    out = io.StringIO()  # its own temporary SQLite database; the real run is by hand
    assert run(mentees=300, mentors=60, seed=3, out=out)
    report = out.getvalue()
    assert "draft service on SQLite" in report
    assert report.splitlines()[-1].startswith("round: 300 mentees, 60 mentors")
    assert "fast enough; optimal against both references" in report
