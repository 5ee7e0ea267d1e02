"""/mentor find at 10,000 and 100,000 members on SQLite and PostgreSQL, against a bare Bolt app.

    python -m benchmarks.find                                  # both databases, 10k and 100k
    python -m benchmarks.find --backends sqlite --sizes 2000 --runs 20 --queries 100

For each database and size, in one run:

- seeds the workspace in bulk (Core inserts; a third mentors with 2-4 topics typed in several
  spellings, 14 time zones, own working hours for a quarter, some paused, full, left or
  forgotten; blocks, declines and pending requests) and says how long that took;
- serves the real bot and a bare Bolt app (acks, then responds with the message the bot sent last:
  same size, same HTTP server, Slack stand-in and driver) side by side, and interleaves them,
  request by request, alternating which goes first. Every request is a different seeded mentee
  searching their own topics, so nothing is answered from a warm per-query cache. Figures are
  medians and p95s of the real samples: "service" is the listener's own run (Bolt's executor),
  "dispatch" the whole signed request until the answer reached Slack, which includes Bolt's ack
  wait (it polls every 10 ms) on both sides. The process's first find builds its index and is
  reported on its own line;
- checks the top three of `--queries` seeded searches (varied topics, goals and zones) against
  the full ranking the bot used before: every candidate loaded, scored by `score_match` and
  ordered as `rank_mentors` orders them (all of them at the largest size, a fifth elsewhere).

At the largest size of each database it then starts a real `python app.py` against the seeded
database, times its start until GET /healthz answers 200, sends it finds and reads its workers'
resident memory. The last line is `ratio X`: full dispatch at the largest size divided by the
bare app's, the worse of the two databases (each is on a line above it).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from slack_bolt import Ack, App, Respond
from sqlalchemy import select

import app as wiring
from benchmarks.harness import (
    SIGNING_SECRET,
    FindSeed,
    create_empty_database,
    drop_database,
    postgres_reachable,
    seed_find_workspace,
)
from bot.core import ids
from bot.core.database import make_engine, make_session_factory
from bot.core.models import MentorRequest, RequestStatus, Topic
from bot.core.quiet_hours import quiet_window
from bot.core.settings import Settings
from bot.find.candidates import awake_hours, forget_indexes
from bot.find.finding import (
    NeedsGoals,
    exclusions_for,
    find_mentors,
    goal_for,
    load_candidates,
    seeker_with_topics,
    wanted_topics,
)
from bot.find.matching import (
    Exclusions,
    MentorCandidate,
    Seeker,
    exclusion_reason,
    score_match,
    seeker_day,
    topic_key,
)
from migrations import upgrade
from sandbox import FakeSlack, SlackDriver, TrackingExecutor
from sandbox.clock import ManualClock

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parent.parent
SEED_CHUNK = 25_000


class TimedExecutor(TrackingExecutor):
    """Bolt's listener executor, timing each listener run: the service time."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.seconds: list[float] = []
        # The listener thread's own CPU time: what the code costs, whatever else the machine
        # runs (PostgreSQL's work is in its own processes, not here).
        self.cpu: list[float] = []

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        def timed() -> Any:
            started, cpu = time.perf_counter(), time.thread_time()
            try:
                return fn(*args, **kwargs)
            finally:
                self.cpu.append(time.thread_time() - cpu)
                self.seconds.append(time.perf_counter() - started)

        return super().submit(timed)


@dataclass
class Samples:
    values: list[float] = field(default_factory=list)

    def median(self) -> float:
        return statistics.median(self.values) * 1000

    def p95(self) -> float:
        ms = sorted(v * 1000 for v in self.values)
        return ms[min(len(ms) - 1, round(len(ms) * 0.95) - 1)]

    def line(self, name: str) -> str:
        return (
            f"  {name:<30} median {self.median():7.2f} ms   p95 {self.p95():7.2f} ms"
            f"   n={len(self.values)}"
        )


@dataclass
class SizeResult:
    backend: str
    members: int
    dispatch: Samples
    bare_dispatch: Samples
    service: Samples
    bare_service: Samples

    @property
    def ratio(self) -> float:
        return self.dispatch.median() / self.bare_dispatch.median()


def seed(url: str, team_id: str, members: int, out: TextIO) -> FindSeed:
    engine = make_engine(url)
    upgrade(engine)
    sessions = make_session_factory(engine)
    started = time.perf_counter()
    mentees: list[tuple[str, str, list[str]]] = []
    workspace_id = 0
    for first in range(0, members, SEED_CHUNK):
        part = seed_find_workspace(sessions, team_id, first, min(SEED_CHUNK, members - first), NOW)
        mentees.extend(part.mentees)
        workspace_id = part.workspace_id
    out.write(f"  seeded {members:,} members in {time.perf_counter() - started:.1f} s\n")
    engine.dispose()
    return FindSeed(workspace_id, mentees)


def bare_app(slack: FakeSlack, executor: TrackingExecutor, answer: dict[str, Any]) -> App:
    """Bolt with nothing behind it: acks, then responds with `answer["message"]`."""
    settings = Settings(
        slack_bot_token=slack.bot_token,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=slack.api_url,
    )
    bare = App(
        signing_secret=SIGNING_SECRET,
        client=wiring.make_client(settings),
        listener_executor=executor,
    )

    @bare.command(ids.COMMAND)
    def handle(ack: Ack, respond: Respond) -> None:
        ack()
        respond(**answer["message"])

    return bare


@contextlib.contextmanager
def serving(app: App, engine: Any, slack: FakeSlack, executor: TrackingExecutor) -> Iterator[Any]:
    server = wiring.serve_http(app, engine, 0, host="127.0.0.1")
    url = f"http://127.0.0.1:{server.server_port}{wiring.EVENTS_PATH}"
    try:
        yield SlackDriver(slack, url, SIGNING_SECRET, settle=executor.wait_idle)
    finally:
        server.shutdown()
        server.server_close()


def searches(seeded: FindSeed, count: int, rng: random.Random) -> list[tuple[str, str, str]]:
    """(user, tz, what they type after /mentor find): their own topics, one to three of them."""
    people = rng.sample(seeded.mentees, min(count, len(seeded.mentees)))
    return [
        (user, tz, ", ".join(rng.sample(sought, rng.randint(1, len(sought)))))
        for user, tz, sought in people
    ]


def time_size(
    backend: str, url: str, seeded: FindSeed, members: int, runs: int, out: TextIO
) -> SizeResult:
    result = SizeResult(backend, members, Samples(), Samples(), Samples(), Samples())
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    rng = random.Random(members)
    with FakeSlack(SIGNING_SECRET) as slack:
        settings = Settings(
            slack_bot_token=slack.bot_token,
            slack_signing_secret=SIGNING_SECRET,
            slack_api_url=slack.api_url,
            database_url=url,
        )
        executor, bare_executor = TimedExecutor(max_workers=4), TimedExecutor(max_workers=4)
        bot = wiring.create_app(
            settings, sessions, listener_executor=executor, clock=ManualClock(NOW)
        )
        answer: dict[str, Any] = {}
        bare = bare_app(slack, bare_executor, answer)
        plan = searches(seeded, runs + 1, rng)
        for user, tz, _ in plan:
            slack.add_user(f"Person {user}", real_name=user, tz=tz, user_id=user)
        with (
            serving(bot, engine, slack, executor) as driver,
            serving(bare, engine, slack, bare_executor) as bare_driver,
        ):
            first_user, _, first_query = plan[0]
            started = time.perf_counter()
            driver.command(first_user, f"find {first_query}")
            out.write(
                f"  first find (builds the index)  {(time.perf_counter() - started) * 1000:.0f} ms"
                f", service {executor.seconds[-1] * 1000:.0f} ms\n"
            )
            answer["message"] = _message(slack.seen(first_user)[-1])
            bare_driver.command(first_user, "find")  # the bare app's first request, untimed
            sizes = []
            for i, (user, _, query) in enumerate(plan[1:]):
                order = ("bot", "bare") if i % 2 == 0 else ("bare", "bot")
                for side in order:
                    if side == "bot":
                        started = time.perf_counter()
                        driver.command(user, f"find {query}")
                        result.dispatch.values.append(time.perf_counter() - started)
                        result.service.values.append(executor.seconds[-1])
                        seen = slack.seen(user)[-1]
                        if "Ask for an intro" not in str(seen.blocks):
                            raise AssertionError(
                                f"no mentors shown for {query!r}: {seen.text} {seen.blocks}"
                            )
                        answer["message"] = _message(seen)
                        sizes.append(len(str(answer["message"])))
                    else:
                        started = time.perf_counter()
                        bare_driver.command(user, "find")
                        result.bare_dispatch.values.append(time.perf_counter() - started)
                        result.bare_service.values.append(bare_executor.seconds[-1])
        executor.shutdown()
        bare_executor.shutdown()
    engine.dispose()
    out.write(result.service.line("service: /mentor find") + "\n")
    out.write(result.bare_service.line("service: bare Bolt app") + "\n")
    out.write(Samples(executor.cpu[1:]).line("service CPU: /mentor find") + "\n")
    out.write(Samples(bare_executor.cpu[1:]).line("service CPU: bare Bolt app") + "\n")
    out.write(result.dispatch.line("dispatch: /mentor find") + "\n")
    out.write(result.bare_dispatch.line("dispatch: bare Bolt app") + "\n")
    out.write(
        f"  answers {statistics.median(sizes):.0f} characters (median); full dispatch "
        f"{result.ratio:.2f}x the bare app\n"
    )
    return result


def _message(seen: Any) -> dict[str, Any]:
    return {"text": seen.text, "blocks": seen.blocks, "response_type": "ephemeral"}


def check_top_three(
    url: str, team_id: str, seeded: FindSeed, queries: int, out: TextIO
) -> tuple[int, int]:
    """Top three of the index against the full ranking, on seeded searches; (same, compared)."""
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    quiet = Settings(slack_bot_token="", slack_signing_secret="").quiet_hours
    rng = random.Random(queries)
    same = compared = 0
    by_key: dict[str, dict[int, MentorCandidate]] = {}
    with sessions.begin() as session:
        topics = session.execute(select(Topic.id, Topic.name)).all()
        for topic_id, name in topics:
            key = by_key.setdefault(topic_key(name), {})
            for mentor in load_candidates(session, seeded.workspace_id, [topic_id], quiet):
                key[mentor.member_id] = mentor
    started = time.perf_counter()
    for user, _, query in searches(seeded, queries, rng):
        with sessions.begin() as session:
            try:
                found = find_mentors(session, team_id, user, query, NOW, quiet_hours=quiet)
            except NeedsGoals:
                continue
            member = seeker_with_topics(session, team_id, user, NOW)
            wanted = wanted_topics(member, query)
            candidates: dict[int, MentorCandidate] = {}
            for key in {topic_key(name) for name in wanted}:
                candidates.update(by_key.get(key, {}))
            person = Seeker(
                member.id,
                member.tz,
                goal_for(member, wanted) or "",
                wanted,
                awake_hours(quiet_window(member, quiet)),
            )
            reference = full_ranking(
                person, candidates.values(), exclusions_for(session, member.id, NOW)
            )
            pending = set(
                session.scalars(
                    select(MentorRequest.mentor_id).where(
                        MentorRequest.mentee_id == member.id,
                        MentorRequest.status == RequestStatus.PENDING,
                    )
                )
            )
            reference.sort(key=lambda mentor: mentor.member_id in pending)
            session.rollback()  # the find records are not part of the workspace
        compared += 1
        ours = [m.mentor.member_id for m in found.shown]
        if ours == [m.member_id for m in reference[:3]] and found.total == len(reference):
            same += 1
    engine.dispose()
    forget_indexes(engine)
    out.write(
        f"  top three equal to the full ranking: {same}/{compared} seeded searches "
        f"({100 * same / max(compared, 1):.1f}%), "
        f"checked in {time.perf_counter() - started:.0f} s\n"
    )
    return same, compared


def full_ranking(
    seeker: Seeker, mentors: Iterable[MentorCandidate], exclusions: Exclusions
) -> list[MentorCandidate]:
    """Every candidate scored by `score_match` and ordered as `rank_mentors` orders them (the
    bot before the index); without building a Match for each, which would take minutes here."""
    day = seeker_day(seeker, NOW)
    ranked = []
    for mentor in mentors:
        if exclusion_reason(seeker, mentor, exclusions, NOW) is not None:
            continue
        scored = score_match(seeker, mentor, day) if day is not None else None
        if scored is not None:
            ranked.append((scored[0], mentor))
    ranked.sort(
        key=lambda pair: (
            -round(pair[0], 6),
            pair[1].active_mentees,
            pair[1].name.casefold(),
            pair[1].name,
            pair[1].member_id,
        )
    )
    return [mentor for _, mentor in ranked]


def real_process(url: str, seeded: FindSeed, finds: int, out: TextIO) -> tuple[float, float]:
    """`python app.py` on the seeded database: seconds to /healthz 200, then workers' RSS in MB
    after `finds` searches."""
    with FakeSlack(SIGNING_SECRET) as slack, socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        probe.close()
        env = {
            **os.environ,
            "SLACK_BOT_TOKEN": slack.bot_token,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": slack.api_url,
            "DATABASE_URL": url,
            "PORT": str(port),
            "WEB_CONCURRENCY": "1",
            "LOG_LEVEL": "WARNING",
        }
        env.pop("SLACK_APP_TOKEN", None)
        started = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "app.py"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL
        )
        try:
            startup = _wait_healthy(port, process)
            rng = random.Random(finds)
            driver = SlackDriver(
                slack, f"http://127.0.0.1:{port}{wiring.EVENTS_PATH}", SIGNING_SECRET
            )
            for user, tz, query in searches(seeded, finds, rng):
                slack.add_user(f"Person {user}", real_name=user, tz=tz, user_id=user)
                driver.command(user, f"find {query}")
                deadline = time.monotonic() + 30
                while not slack.seen(user) and time.monotonic() < deadline:
                    time.sleep(0.005)
            rss = sum(_rss_mb(pid) for pid in _children(process.pid))
        finally:
            process.terminate()
            process.wait(timeout=30)
    del started
    out.write(f"  python app.py: /healthz 200 after {startup * 1000:.0f} ms\n")
    out.write(f"  RSS of its worker after {finds} finds: {rss:.0f} MB\n")
    return startup, rss


def _wait_healthy(port: int, process: subprocess.Popen[bytes]) -> float:
    started = time.perf_counter()
    while time.perf_counter() - started < 30:
        if process.poll() is not None:
            raise RuntimeError(f"python app.py exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as reply:
                if reply.status == 200:
                    return time.perf_counter() - started
        except OSError:
            time.sleep(0.002)
    raise RuntimeError("python app.py did not answer /healthz within 30 s")


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found or [pid]


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def run(
    backends: list[str], sizes: list[int], runs: int, queries: int, finds: int, out: TextIO
) -> list[SizeResult]:
    results = []
    with tempfile.TemporaryDirectory(prefix="mentor-coach-find-") as folder:
        for backend in backends:
            if backend == "postgresql" and not postgres_reachable():
                out.write("postgresql: not reachable, skipped\n")
                continue
            for members in sizes:
                load = os.getloadavg()[0]
                out.write(f"{backend}, {members:,} members (load average {load:.1f})\n")
                url = create_empty_database(backend, Path(folder))
                try:
                    team_id = "T0MENTOR"  # the Slack stand-in's workspace
                    seeded = seed(url, team_id, members, out)
                    results.append(time_size(backend, url, seeded, members, runs, out))
                    # All of them at the largest size; a fifth elsewhere, to save minutes.
                    checked = queries if members == max(sizes) else max(queries // 5, 1)
                    check_top_three(url, team_id, seeded, checked, out)
                    if members == max(sizes) and finds:
                        real_process(url, seeded, finds, out)
                finally:
                    drop_database(url)
    for result in results:
        out.write(
            f"{result.backend} {result.members:,}: service median "
            f"{result.service.median():.2f} ms, dispatch {result.ratio:.2f}x the bare app\n"
        )
    largest = [r for r in results if r.members == max(sizes)]
    if largest:  # the worse of the databases
        out.write(f"ratio {max(r.ratio for r in largest):.2f}\n")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--runs", type=int, default=200, help="interleaved request pairs")
    parser.add_argument("--queries", type=int, default=1000, help="searches checked")
    parser.add_argument("--finds", type=int, default=50, help="finds sent to python app.py")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    run(
        [b.strip() for b in args.backends.split(",") if b.strip()],
        [int(s) for s in args.sizes.split(",")],
        args.runs,
        args.queries,
        args.finds,
        sys.stdout,
    )


if __name__ == "__main__":
    main()
