"""The matching round at scale: 5,000 waiting mentees, 1,000 mentors (capacity 1-5).

`python -m benchmarks.round` builds a seeded random workspace (topics with a few popular ones,
time zones, goals and backgrounds), then:

- times the round itself (every allowed pair scored by /mentor find's ranking, then the exact
  assignment) and, separately, the solver alone;
- times the whole draft service (`/mentor admin round` minus Slack) against a fresh SQLite
  database holding the same people;
- checks the assignment is optimal against two independent references: the linear programme
  of the flow formulation solved by HiGHS (bipartite b-matching is totally unimodular, so its
  vertex optimum is integral) on the full instance, and networkx's exact min-cost
  max-flow on a smaller instance.

It exits with status 1 if the round takes longer than --limit seconds or is not optimal.
"""

from __future__ import annotations

import argparse
import logging
import random
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import numpy as np
from scipy.optimize import linprog
from scipy.sparse import csr_array, vstack
from sqlalchemy import insert, select

from bot.core.database import make_engine, make_session_factory
from bot.core.members import workspace_for
from bot.core.models import Member, MemberTopic, Topic, TopicKind
from bot.find.matching import Exclusions, MentorCandidate, Seeker
from bot.program.matching_round import draft_round
from bot.program.rounds import (
    SCALE,
    Waiting,
    allowed_edges,
    best_assignment,
    free_slots,
    plan_round,
)
from migrations import upgrade

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
LP_METHOD = "highs-ipm"  # interior point, then crossover to a vertex: faster here than simplex
TEAM = "TROUND"
ADMIN = "UADMIN0001"
TOPICS = [
    "public speaking", "python", "leadership", "career growth", "product management",
    "design critique", "machine learning", "writing", "negotiation", "hiring",
    "storytelling", "kubernetes", "javascript", "data analysis", "mentoring", "sales",
    "marketing", "finance", "security", "testing", "go", "rust", "sql", "ux research",
    "accessibility", "devops", "incident response", "architecture", "code review",
    "technical writing", "interviewing", "remote work", "team building", "public policy",
    "statistics", "mobile", "frontend", "backend", "cloud cost", "observability",
    "management", "strategy", "roadmapping", "pricing", "partnerships", "customer support",
    "community", "open source", "compilers", "databases", "networking", "embedded",
    "game design", "illustration", "video", "research", "privacy", "legal", "operations",
    "procurement",
]  # fmt: skip
ZONES = [
    "Europe/London", "Europe/Berlin", "America/New_York", "America/Los_Angeles", "Asia/Tokyo",
    "Asia/Kolkata", "Africa/Lagos", "America/Sao_Paulo", "Australia/Sydney", "Asia/Singapore",
]  # fmt: skip
PHRASES = (
    "lead a team ship python services speak at conferences grow my career write clearly "
    "design systems hire well negotiate salary review code mentor juniors plan roadmaps "
    "analyse data learn machine learning run incidents build products"
)
WORDS = PHRASES.split()


def workspace(mentees: int, mentors: int, seed: int) -> tuple[list[dict], list[dict]]:
    """People as plain dicts: the same instance feeds the pure round and the database."""
    rng = random.Random(seed)
    # Some topics are more popular than others, as in real programs.
    weights = [1 / (rank + 1) ** 0.3 for rank in range(len(TOPICS))]

    def topics(low: int, high: int) -> list[str]:
        chosen: set[str] = set()
        wanted = rng.randint(low, high)
        while len(chosen) < wanted:
            chosen.add(rng.choices(TOPICS, weights)[0])
        return sorted(chosen)

    def words(count: int) -> str:
        return " ".join(rng.choice(WORDS) for _ in range(count))

    mentor_rows = [
        {
            "user": f"UM{n:07d}",
            "tz": rng.choice(ZONES),
            "topics": topics(1, 3),
            "background": words(12),
            "capacity": rng.randint(1, 5),
        }
        for n in range(mentors)
    ]
    mentee_rows = [
        {"user": f"UE{n:07d}", "tz": rng.choice(ZONES), "topics": topics(1, 2), "goals": words(10)}
        for n in range(mentees)
    ]
    return mentee_rows, mentor_rows


def pure_instance(
    mentee_rows: list[dict], mentor_rows: list[dict]
) -> tuple[list[Waiting], list[MentorCandidate]]:
    mentors = [
        MentorCandidate(
            member_id=n + 1,
            name=row["user"],
            tz=row["tz"],
            topics=tuple(row["topics"]),
            background=row["background"],
            experience="",
            capacity=row["capacity"],
            active_mentees=0,
            paused_until=None,
        )
        for n, row in enumerate(mentor_rows)
    ]
    waiting = [
        Waiting(
            Seeker(len(mentor_rows) + n + 1, row["tz"], row["goals"], tuple(row["topics"])),
            Exclusions(),
        )
        for n, row in enumerate(mentee_rows)
    ]
    return waiting, mentors


def value(pairs: list[tuple[int, int]], micros: dict[tuple[int, int], int]) -> tuple[int, int]:
    """What the round maximises: how many are matched, then the total score (millionths)."""
    return len(pairs), sum(micros[pair] for pair in pairs)


def lp_reference(edges: list[tuple[int, int, int]], capacity: dict[int, int]) -> tuple[int, int]:
    """The optimum by HiGHS (interior point, crossover to a vertex): most pairs, then best total."""
    mentees = {m: i for i, m in enumerate(sorted({e[0] for e in edges}))}
    mentors = {m: i for i, m in enumerate(sorted({e[1] for e in edges}))}
    count = len(edges)
    columns = np.arange(count)
    by_mentee = csr_array(
        (np.ones(count), ([mentees[e[0]] for e in edges], columns)), shape=(len(mentees), count)
    )
    by_mentor = csr_array(
        (np.ones(count), ([mentors[e[1]] for e in edges], columns)), shape=(len(mentors), count)
    )
    a_ub = vstack([by_mentee, by_mentor]).tocsr()
    b_ub = np.concatenate(
        [np.ones(len(mentees)), [max(capacity.get(m, 0), 0) for m in sorted(mentors)]]
    )
    first = linprog(-np.ones(count), A_ub=a_ub, b_ub=b_ub, bounds=(0, 1), method=LP_METHOD)
    matched = round(-first.fun)
    second = linprog(
        -np.array([e[2] for e in edges], dtype=np.float64),
        A_ub=a_ub,
        b_ub=b_ub,
        A_eq=csr_array(np.ones((1, count))),
        b_eq=[matched],
        bounds=(0, 1),
        method=LP_METHOD,
    )
    chosen = second.x > 0.5
    if not np.allclose(second.x, chosen, atol=1e-6):
        raise AssertionError("the LP vertex is not integral")
    return int(chosen.sum()), int(sum(e[2] for e, on in zip(edges, chosen, strict=True) if on))


def flow_reference(edges: list[tuple[int, int, int]], capacity: dict[int, int]) -> tuple[int, int]:
    """The optimum by networkx's exact min-cost max-flow (network simplex on whole numbers)."""
    import networkx as nx

    graph = nx.DiGraph()
    for mentee, mentor, micros in edges:
        graph.add_edge("source", ("e", mentee), capacity=1, weight=0)
        graph.add_edge(("e", mentee), ("m", mentor), capacity=1, weight=-micros)
        graph.add_edge(("m", mentor), "sink", capacity=max(capacity.get(mentor, 0), 0), weight=0)
    flow = nx.max_flow_min_cost(graph, "source", "sink")
    matched = sum(flow["source"].values())
    return matched, -nx.cost_of_flow(graph, flow)


def solve_and_check(
    waiting: list[Waiting], mentors: list[MentorCandidate], reference: Any, out: TextIO
) -> dict[str, Any]:
    started, cpu = time.perf_counter(), time.process_time()
    plan = plan_round(waiting, mentors, NOW)
    round_seconds = time.perf_counter() - started
    # CPU time too: on a shared machine, other processes stretch the wall clock.
    round_cpu = time.process_time() - cpu
    edges = allowed_edges(waiting, mentors, NOW)
    capacity = {mentor.member_id: free_slots(mentor) for mentor in mentors}
    triples = [(e.mentee_id, e.mentor_id, e.score) for e in edges]
    started = time.perf_counter()
    chosen = best_assignment(triples, capacity)
    solver_seconds = time.perf_counter() - started
    micros = {(e.mentee_id, e.mentor_id): round(e.score * SCALE) for e in edges}
    ours = value(chosen, micros)
    planned = value([(p.mentee_id, p.mentor_id) for p in plan.pairs], micros)
    started = time.perf_counter()
    exact = reference([(a, b, micros[(a, b)]) for a, b, _ in triples], capacity)
    reference_seconds = time.perf_counter() - started
    out.write(
        f"  {len(waiting)} waiting, {len(mentors)} mentors, {sum(capacity.values())} places, "
        f"{len(edges)} allowed pairs\n"
        f"  round (scoring + solving): {round_seconds:.2f} s ({round_cpu:.2f} s of CPU); "
        f"solver alone: {solver_seconds:.2f} s\n"
        f"  matched {ours[0]}, total score {ours[1] / SCALE:.6f}; "
        f"reference {exact[0]}, {exact[1] / SCALE:.6f} ({reference_seconds:.1f} s)\n"
    )
    return {
        "round_seconds": round_seconds,
        "solver_seconds": solver_seconds,
        "matched": ours[0],
        "optimal": ours == exact == planned,
        "unmatched": len(plan.unmatched),
    }


def seed_database(sessions: Any, mentee_rows: list[dict], mentor_rows: list[dict]) -> None:
    with sessions.begin() as session:
        workspace_id = workspace_for(session, TEAM, NOW).id
        session.execute(
            insert(Topic), [{"workspace_id": workspace_id, "slug": t, "name": t} for t in TOPICS]
        )
        topic_ids = dict(session.execute(select(Topic.name, Topic.id)).all())
        common = {"workspace_id": workspace_id, "synced_at": NOW, "created_at": NOW}
        session.execute(
            insert(Member),
            [
                {
                    **common,
                    "slack_user_id": row["user"],
                    "tz": row["tz"],
                    "is_mentor": True,
                    "background": row["background"],
                    "capacity": row["capacity"],
                    "updated_at": NOW,
                }
                for row in mentor_rows
            ]
            + [
                {
                    **common,
                    "slack_user_id": row["user"],
                    "tz": row["tz"],
                    "is_mentee": True,
                    "goals": row["goals"],
                    "updated_at": NOW,
                }
                for row in mentee_rows
            ],
        )
        member_ids = dict(session.execute(select(Member.slack_user_id, Member.id)).all())
        links = [
            {"member_id": member_ids[row["user"]], "topic_id": topic_ids[topic], "kind": kind}
            for rows, kind in ((mentor_rows, TopicKind.OFFERED), (mentee_rows, TopicKind.SOUGHT))
            for row in rows
            for topic in row["topics"]
        ]
        session.execute(insert(MemberTopic), links)


def time_service(mentee_rows: list[dict], mentor_rows: list[dict], out: TextIO) -> float:
    with tempfile.TemporaryDirectory(prefix="mentor-coach-round-") as folder:
        engine = make_engine(f"sqlite:///{Path(folder) / 'round.db'}")
        try:
            upgrade(engine)
            sessions = make_session_factory(engine)
            seed_database(sessions, mentee_rows, mentor_rows)
            started = time.perf_counter()
            with sessions.begin() as session:
                draft = draft_round(session, TEAM, ADMIN, NOW)
            seconds = time.perf_counter() - started
        finally:
            engine.dispose()
    out.write(
        f"  draft service on SQLite (load, plan, store {draft.waiting} proposals): "
        f"{seconds:.2f} s, {draft.matched} matched\n"
    )
    return seconds


def run(
    mentees: int = 5000,
    mentors: int = 1000,
    seed: int = 7,
    limit: float = 5.0,
    database: bool = True,
    out: TextIO = sys.stdout,
) -> bool:
    mentee_rows, mentor_rows = workspace(mentees, mentors, seed)
    out.write(f"full instance (seed {seed}), checked against HiGHS (the flow LP):\n")
    full = solve_and_check(*pure_instance(mentee_rows, mentor_rows), lp_reference, out)
    small_rows = workspace(max(mentees // 10, 1), max(mentors // 10, 1), seed + 1)
    out.write("a tenth of it, checked against networkx (exact min-cost max-flow):\n")
    small = solve_and_check(*pure_instance(*small_rows), flow_reference, out)
    service = time_service(mentee_rows, mentor_rows, out) if database else None
    fast = full["round_seconds"] <= limit and (service is None or service <= limit)
    optimal = full["optimal"] and small["optimal"]
    service_part = f", draft service {service:.2f} s" if service is not None else ""
    out.write(
        f"round: {mentees} mentees, {mentors} mentors, {full['matched']} matched, "
        f"{full['unmatched']} told why; round {full['round_seconds']:.2f} s (solver "
        f"{full['solver_seconds']:.2f} s){service_part}, limit {limit:g} s: "
        f"{'fast enough' if fast else 'TOO SLOW'}; "
        f"{'optimal' if optimal else 'NOT OPTIMAL'} against both references\n"
    )
    return fast and optimal


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mentees", type=int, default=5000)
    parser.add_argument("--mentors", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--limit", type=float, default=5.0, help="seconds the round may take")
    parser.add_argument("--no-database", action="store_true", help="skip the draft service run")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    ok = run(args.mentees, args.mentors, args.seed, args.limit, not args.no_database)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
