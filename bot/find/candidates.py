"""Find's candidate index: each workspace's mentors as arrays, ranked in well under a millisecond.

/mentor find used to load and score every mentor offering a topic, on every search; at 100,000
members that is thousands of rows per request. Each process instead keeps one index per
workspace, built on its first search, with per-topic and per-word row lists. A search scores
the topic's mentors with numpy using the exact formula of `score_match` (same operations in the
same order, so the floats are identical), keeps the few that can reach the page asked for, and
`finding` reloads those few from the database and ranks them with `rank_mentors` itself.

Freshness: a flush that changes what find reads about a mentor (profile, topics, zone, working
hours, capacity, pause, leaving, a pair starting or ending) writes the mentor into `find_change`;
every search first reads the recent changes and reloads just those mentors. Statements that
bypass the ORM are not seen; none touch these columns today.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import threading
import time as clock
import weakref
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, time
from functools import cache
from types import SimpleNamespace
from typing import Any

import numpy as np
from sqlalchemy import (
    BigInteger,
    Engine,
    Result,
    Select,
    and_,
    bindparam,
    event,
    func,
    inspect,
    literal,
    select,
)
from sqlalchemy.orm import Session, sessionmaker

from bot.core.models import (
    FindChange,
    Member,
    MemberTopic,
    Pairing,
    PairingStatus,
    Topic,
    TopicKind,
    Workspace,
)
from bot.core.quiet_hours import quiet_window
from bot.core.settings import QuietHours
from bot.find.matching import (
    _JOINING,
    _SEPARATING,
    CAPACITY_WEIGHT,
    DECLINE_COOLDOWN,
    GOAL_WEIGHT,
    HOURS_WEIGHT,
    TOPIC_WEIGHT,
    Exclusions,
    MentorCandidate,
    Seeker,
    Window,
    _meaningful_words,
    _singular,
    seeker_day,
    shared_length,
    topic_key,
)

# How long a transaction may take between its flush and its commit and still be seen: each
# search looks this far back in find_change (and skips what it has already applied).
LOOK_BACK_US = 30_000_000
# Past this many reloaded mentors the overlay is folded into a fresh build.
REBUILD_AFTER = 2_000
# Scores closer than this to the page's last one are settled exactly (rounding to 6 places).
_NEAR = 2e-6
# The Member columns a search reads; a change to any of them is logged.
_WATCHED = (
    "display_name",
    "real_name",
    "slack_user_id",
    "tz",
    "is_active",
    "is_mentor",
    "background",
    "experience",
    "capacity",
    "paused_until",
    "work_start",
    "work_end",
)


@dataclass(frozen=True)
class Loaded:
    """One mentor as the database has it now, with their offered topics and active load."""

    candidate: MentorCandidate
    workspace_id: int
    findable: bool
    work_start: time | None
    work_end: time | None


@dataclass(frozen=True)
class Pick:
    """What a search needs from the index: how many match, and who may be on the page."""

    total: int
    member_ids: list[int]


def load_mentors(
    session: Session, member_ids: Iterable[int], quiet_hours: QuietHours | None = None
) -> dict[int, Loaded]:
    """These members as candidates, exactly as the database has them, in one statement."""
    wanted = sorted(set(member_ids))
    if not wanted:
        return {}
    rows = session.execute(_load_statement(), {"ids": wanted}).all()
    topics: dict[int, list[str]] = {}
    first: dict[int, Any] = {}
    for row in rows:
        first.setdefault(row.id, row)
        names = topics.setdefault(row.id, [])
        if row.name is not None:
            names.append(row.name)
    return {
        member_id: Loaded(
            candidate=MentorCandidate(
                member_id=row.id,
                name=row.display_name or row.real_name or row.slack_user_id,
                tz=row.tz,
                topics=tuple(sorted(topics[member_id], key=str.casefold)),
                background=row.background,
                experience=row.experience,
                capacity=row.capacity,
                active_mentees=row.active,
                paused_until=row.paused_until,
                hours=awake_hours(quiet_window(row, quiet_hours)),
            ),
            workspace_id=row.workspace_id,
            findable=bool(row.is_mentor and row.is_active),
            work_start=row.work_start,
            work_end=row.work_end,
        )
        for member_id, row in first.items()
    }


@cache
def _load_statement() -> Select[Any]:
    # Built once: constructing a statement costs more than SQLite takes to run this one.
    load = (
        select(func.count())
        .where(Pairing.mentor_id == Member.id, Pairing.status == PairingStatus.ACTIVE)
        .scalar_subquery()
    )
    return (
        select(*_MEMBER_COLUMNS, load.label("active"), Topic.name)
        .outerjoin(
            MemberTopic,
            and_(MemberTopic.member_id == Member.id, MemberTopic.kind == TopicKind.OFFERED),
        )
        .outerjoin(Topic, Topic.id == MemberTopic.topic_id)
        .where(Member.id.in_(bindparam("ids", expanding=True)))
    )


_MEMBER_COLUMNS = (
    Member.id,
    Member.workspace_id,
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
    Member.is_mentor,
    Member.is_active,
)


def awake_hours(quiet: QuietHours | None) -> Window:
    """Awake is whatever the quiet window leaves; with no quiet hours, the whole day."""
    if quiet is None:
        return (time(0), time(0))
    return (quiet.end, quiet.start)


def _profile_text(background: str, experience: str, topics: Sequence[str]) -> str:
    # The same text matching._profile scores goals against.
    return f"{background} {experience} {' '.join(topics)}"


def _epoch(moment: datetime | None) -> float:
    return -np.inf if moment is None else moment.timestamp()


class MentorIndex:
    """One workspace's mentors in one process: arrays by row, row lists by topic and by word."""

    def __init__(self, workspace_id: int) -> None:
        self.workspace_id = workspace_id
        self.lock = threading.Lock()
        self.built = False

    # ------------------------------------------------------------------ building and refreshing

    def build(self, session: Session) -> None:
        """Every findable mentor of the workspace, in two statements."""
        self.started_us = int(clock.time() * 1_000_000)
        load = (
            select(Pairing.mentor_id, func.count().label("active"))
            .where(Pairing.status == PairingStatus.ACTIVE)
            .group_by(Pairing.mentor_id)
            .subquery()
        )
        findable = (
            Member.workspace_id == self.workspace_id,
            Member.is_mentor.is_(True),
            Member.is_active.is_(True),
        )
        self.built = False
        self.zones: list[tuple[str, time | None, time | None]] = []
        self.zone_ids: dict[tuple[str, time | None, time | None], int] = {}
        self.awake_cache: dict[tuple[int, QuietHours | None], tuple[str, Window]] = {}
        self.words: dict[str, int] = {}
        self.raw_words: dict[str, int] = {}
        self.keys: dict[str, int] = {}
        self.key_names: dict[str, set[str]] = {}
        self.appended: dict[int, int] = {}  # member id -> row, for mentors new since the build
        self.overlay: dict[int, tuple[frozenset[int], frozenset[int]]] = {}
        # Streamed in batches into flat arrays, never a list per mentor: the rows and lists of
        # a 100,000-member workspace would leave the process tens of megabytes bigger for good.
        # A profile's words are those of its story and of each topic name, so topics go
        # straight into (member, word) and (member, topic) pairs.
        word_members, word_ids, key_members, key_ids = (array("q") for _ in range(4))
        by_name: dict[str, tuple[set[int], set[int]]] = {}
        for member_id, name in _batches(
            session.execute(
                select(MemberTopic.member_id, Topic.name)
                .join(Topic, Topic.id == MemberTopic.topic_id)
                .join(Member, Member.id == MemberTopic.member_id)
                .where(*findable, MemberTopic.kind == TopicKind.OFFERED)
            )
        ):
            if name not in by_name:
                by_name[name] = (self._key_ids([name]), self._text_word_ids(name))
            keys, words = by_name[name]
            key_ids.extend(keys)
            key_members.extend(array("q", [member_id]) * len(keys))
            word_ids.extend(words)
            word_members.extend(array("q", [member_id]) * len(words))
        member_ids, capacity, active, zone = array("q"), array("q"), array("q"), array("q")
        paused = array("d")
        names: list[tuple[str, str, int]] = []
        for row in _batches(
            session.execute(
                select(*_MEMBER_COLUMNS, func.coalesce(load.c.active, 0))
                .outerjoin(load, load.c.mentor_id == Member.id)
                .where(*findable)
                .order_by(Member.id)
            )
        ):
            member_ids.append(row.id)
            capacity.append(row.capacity)
            active.append(row[-1])
            paused.append(_epoch(row.paused_until))
            zone.append(self._zone_id(row.tz, row.work_start, row.work_end))
            words = self._text_word_ids(f"{row.background} {row.experience}")
            word_ids.extend(words)
            word_members.extend(array("q", [row.id]) * len(words))
            name = row.display_name or row.real_name or row.slack_user_id
            names.append((name.casefold(), name, row.id))
        n = len(member_ids)
        self.member_ids = np.array(member_ids, dtype=np.int64)  # in id order: rows by bisection
        self.base_size = len(self.member_ids)
        self.capacity = np.array(capacity, dtype=np.int64)
        self.active = np.array(active, dtype=np.int64)
        self.paused = np.array(paused, dtype=np.float64)
        self.zone = np.array(zone, dtype=np.int64)
        self.findable = np.ones(n, dtype=bool)
        self.dirty = np.zeros(n, dtype=bool)
        self.by_word = _grouped(word_ids, self._base_rows(word_members), len(self.words))
        self.by_key = _grouped(key_ids, self._base_rows(key_members), len(self.keys))
        order = sorted(range(n), key=names.__getitem__)
        self.name_rank = np.empty(n, dtype=np.int64)
        self.name_rank[order] = np.arange(n)
        self.applied: dict[int, int] = {}
        self.checked_us = self.started_us
        self.built = True
        del names, order, by_name
        gc.collect()
        _give_back_memory()

    def _base_rows(self, member_ids: array) -> np.ndarray:
        """Rows of these built members; a topic whose member is not findable gets -1."""
        wanted = np.frombuffer(member_ids, dtype=np.int64) if len(member_ids) else np.empty(0)
        rows = np.searchsorted(self.member_ids, wanted)
        found = rows < len(self.member_ids)
        found[found] = self.member_ids[rows[found]] == wanted[found]
        return np.where(found, rows, -1)

    def _row(self, member_id: int) -> int | None:
        # Only the built rows are in id order; mentors added since are in `appended`.
        row = int(np.searchsorted(self.member_ids[: self.base_size], member_id))
        if row < self.base_size and self.member_ids[row] == member_id:
            return row
        return self.appended.get(member_id)

    def _zone_id(self, tz: str, start: time | None, end: time | None) -> int:
        zone = (tz, start, end)
        if zone not in self.zone_ids:
            self.zone_ids[zone] = len(self.zones)
            self.zones.append(zone)
        return self.zone_ids[zone]

    def _word_ids(self, background: str, experience: str, topics: Sequence[str]) -> set[int]:
        return self._text_word_ids(_profile_text(background, experience, topics))

    def _text_word_ids(self, text: str) -> set[int]:
        # matching._word_set, with each distinct spelling made singular once, not per profile.
        found = set()
        for raw in _SEPARATING.sub(" ", _JOINING.sub("", text.casefold())).split():
            word = self.raw_words.get(raw)
            if word is None:
                word = self.words.setdefault(_singular(raw), len(self.words))
                self.raw_words[raw] = word
            found.add(word)
        return found

    def _key_ids(self, topics: Iterable[str]) -> set[int]:
        found = set()
        for name in topics:
            key = topic_key(name)
            if key:
                found.add(self.keys.setdefault(key, len(self.keys)))
                self.key_names.setdefault(key, set()).add(name)
        return found

    def look_back_from(self) -> int | None:
        """Where the next look at find_change starts; None until the index is built."""
        return self.checked_us - LOOK_BACK_US if self.built and not self.stale else None

    def refresh(
        self, session: Session, changes: Sequence[tuple[int, int]] | None = None, asked_us: int = 0
    ) -> None:
        """Reload the mentors changed since the last look: `changes` as read (from
        `look_back_from()`, at `asked_us`) by the caller, else read here."""
        if changes is None:
            asked_us = int(clock.time() * 1_000_000)
            changes = session.execute(changes_since(self.workspace_id, self.checked_us)).all()
        self.checked_us = max(self.checked_us, asked_us)
        since = self.checked_us - LOOK_BACK_US
        self.applied = {m: s for m, s in self.applied.items() if s > since}
        fresh = {m: s for m, s in changes if self.applied.get(m) != s}
        if not fresh:
            return
        loaded = load_mentors(session, fresh)
        for member_id in fresh:
            self._apply(member_id, loaded.get(member_id))
        self.applied.update(fresh)

    def _apply(self, member_id: int, loaded: Loaded | None) -> None:
        row = self._row(member_id)
        if row is None:
            if loaded is None or not loaded.findable:
                return
            row = self._append(member_id)
        self.dirty[row] = True
        if loaded is None or not loaded.findable:
            self.findable[row] = False
            self.overlay[row] = (frozenset(), frozenset())
            return
        mentor = loaded.candidate
        self.findable[row] = True
        self.capacity[row] = mentor.capacity
        self.active[row] = mentor.active_mentees
        self.paused[row] = _epoch(mentor.paused_until)
        self.zone[row] = self._zone_id(mentor.tz, loaded.work_start, loaded.work_end)
        self.overlay[row] = (
            frozenset(self._key_ids(mentor.topics)),
            frozenset(self._word_ids(mentor.background, mentor.experience, mentor.topics)),
        )

    def _append(self, member_id: int) -> int:
        row = len(self.member_ids)
        self.member_ids = np.append(self.member_ids, member_id)
        for name in ("capacity", "active", "zone", "name_rank"):
            setattr(self, name, np.append(getattr(self, name), 0))
        self.paused = np.append(self.paused, -np.inf)
        self.findable = np.append(self.findable, False)
        self.dirty = np.append(self.dirty, True)
        self.appended[member_id] = row
        return row

    def correct(self, loaded: dict[int, Loaded], member_ids: Iterable[int]) -> bool:
        """Fix the rows a shortlist found out of date (a change the log missed, a database
        emptied under us); True when there were any, so the search picks again."""
        wrong = [m for m in member_ids if self._disagrees(m, loaded.get(m))]
        for member_id in wrong:
            self._apply(member_id, loaded.get(member_id))
        return bool(wrong)

    def _disagrees(self, member_id: int, loaded: Loaded | None) -> bool:
        row = self._row(member_id)
        if loaded is None or not loaded.findable or loaded.workspace_id != self.workspace_id:
            return row is not None and bool(self.findable[row])
        mentor = loaded.candidate
        return row is None or (
            not self.findable[row]
            or self.capacity[row] != mentor.capacity
            or self.active[row] != mentor.active_mentees
            or self.paused[row] != _epoch(mentor.paused_until)
            or self.zones[self.zone[row]] != (mentor.tz, loaded.work_start, loaded.work_end)
        )

    @property
    def stale(self) -> bool:
        return len(self.overlay) > REBUILD_AFTER

    # ------------------------------------------------------------------ searching

    def pick(
        self,
        seeker: Seeker,
        exclusions: Exclusions,
        pending: frozenset[int],
        now: datetime,
        quiet_hours: QuietHours | None,
        need: int,
    ) -> Pick:
        """How many mentors match, and a shortlist holding the best `need` of them (those not
        asked yet first, as find shows them) and everyone already asked."""
        day = seeker_day(seeker, now)
        if day is None or not len(self.member_ids):
            return Pick(0, [])
        # Only the rows of the wanted topics: a few thousand of the workspace's mentors.
        wanted_ids = {self.keys[key] for key in day.wanted if key in self.keys}
        parts = [self.by_key[key] for key in wanted_ids if key < len(self.by_key)]
        if len(parts) == 1:
            rows, topic_count = parts[0], np.ones(len(parts[0]), dtype=np.int64)
        elif parts:
            counts = np.zeros(len(self.member_ids), dtype=np.int64)
            for part in parts:
                counts[part] += 1
            rows = np.flatnonzero(counts)
            topic_count = counts[rows]
        else:
            rows, topic_count = np.empty(0, np.int64), np.empty(0, np.int64)
        if self.overlay:  # reloaded rows: their topics now, not at the build
            keep = ~self.dirty[rows]
            extra = [
                (r, len(k & wanted_ids)) for r, (k, _) in self.overlay.items() if k & wanted_ids
            ]
            rows = np.concatenate((rows[keep], np.array([r for r, _ in extra], np.int64)))
            topic_count = np.concatenate(
                (topic_count[keep], np.array([c for _, c in extra], np.int64))
            )
        live = (
            self.findable[rows]
            & (self.paused[rows] <= now.timestamp())
            & (self.active[rows] < self.capacity[rows])
        )
        excluded = self._rows(_excluded_ids(seeker, exclusions, now))
        if excluded:
            live &= ~np.isin(rows, excluded)
        rows, topic_count = rows[live], topic_count[live]
        if len(rows) == 0:
            return Pick(0, [])
        goal_words = _meaningful_words(seeker.goals)
        goal_ids = {self.words[word] for word in goal_words if word in self.words}
        goal_count = self._goal_count(rows, goal_ids)
        asked = np.isin(rows, self._rows(pending)) if pending else np.zeros(len(rows), bool)
        total = len(rows)
        # Per zone, the hours term exactly as score_match computes it.
        zones = np.flatnonzero(np.bincount(self.zone[rows], minlength=len(self.zones)))
        hours_term = np.zeros(len(self.zones), dtype=np.float64)
        for zone_id in zones.tolist():
            tz, window = self._awake(zone_id, quiet_hours)
            overlap = shared_length(seeker.tz, seeker.hours, tz, window, day.today)
            hours_term[zone_id] = HOURS_WEIGHT * min(overlap / day.awake_hours, 1.0)
        capacity = self.capacity[rows]
        score = (
            TOPIC_WEIGHT * topic_count / len(day.wanted)
            + (GOAL_WEIGHT * (goal_count / len(goal_words)) if goal_words else 0.0)
            + hours_term[self.zone[rows]]
            + CAPACITY_WEIGHT * (capacity - self.active[rows]) / capacity
        )
        chosen = set(rows[asked].tolist())
        open_rows, open_score = rows[~asked], score[~asked]
        if len(open_rows) > need:
            # Everything near or above the need-th best score, then exactly as rank_mentors
            # orders them: rounded score, fewer mentees, name.
            cut = np.partition(open_score, len(open_score) - need)[len(open_score) - need]
            near = open_score >= cut - _NEAR
            open_rows, open_score = open_rows[near], open_score[near]
            rounded = np.round(open_score, 6)
            # numpy rounds x * 1e6, Python the exact double: they can differ only half-way.
            scaled = open_score * 1e6
            halfway = np.abs(scaled - np.floor(scaled) - 0.5) < 1e-3
            if halfway.any():
                rounded[halfway] = [round(value, 6) for value in open_score[halfway].tolist()]
            order = np.lexsort((self.name_rank[open_rows], self.active[open_rows], -rounded))
            chosen.update(open_rows[order[:need]].tolist())
            # A reloaded mentor's name rank is out of date: let the exact ranking place them.
            chosen.update(open_rows[self.dirty[open_rows]].tolist())
        else:
            chosen.update(open_rows.tolist())
        return Pick(total, self.member_ids[sorted(chosen)].tolist())

    def _awake(self, zone_id: int, quiet_hours: QuietHours | None) -> tuple[str, Window]:
        """A zone's time zone and waking hours (its own working hours, else the program's)."""
        key = (zone_id, quiet_hours)
        if key not in self.awake_cache:
            tz, start, end = self.zones[zone_id]
            hours = SimpleNamespace(work_start=start, work_end=end)
            self.awake_cache[key] = (tz, awake_hours(quiet_window(hours, quiet_hours)))
        return self.awake_cache[key]

    def _goal_count(self, rows: np.ndarray, goal_ids: set[int]) -> np.ndarray:
        """How many of the goal words each row's profile holds."""
        if not goal_ids:
            return np.zeros(len(rows), dtype=np.int64)
        lists = [self.by_word[word] for word in goal_ids if word < len(self.by_word)]
        scratch = np.zeros(len(self.member_ids), dtype=np.int64)
        for listed in lists:
            scratch[listed] += 1
        counts = scratch[rows]
        for position in np.flatnonzero(self.dirty[rows]).tolist():
            words = self.overlay.get(int(rows[position]), (frozenset(), frozenset()))[1]
            counts[position] = len(words & goal_ids)
        return counts

    def _rows(self, member_ids: Iterable[int]) -> list[int]:
        return [row for row in map(self._row, member_ids) if row is not None]

    def offered_names(self) -> list[str]:
        """Topic names some findable mentor offers, for 'nearby topics'."""
        live = set()
        counts = np.zeros(len(self.keys), dtype=np.int64)
        base = self.findable & ~self.dirty
        for key_id, rows in enumerate(self.by_key):
            counts[key_id] = int(base[rows].sum())
        for row, (keys, _words) in self.overlay.items():
            if self.findable[row]:
                for key_id in keys:
                    counts[key_id] += 1
        for key, key_id in self.keys.items():
            if key_id < len(counts) and counts[key_id]:
                live.update(self.key_names.get(key, ()))
        return sorted(live)


def _batches(result: Result[Any]) -> Iterator[Any]:
    # Rows made a batch at a time from the driver's buffer. Not yield_per: on PostgreSQL that
    # is a server-side cursor, planned for the first rows, and the build took seconds longer.
    for batch in result.partitions(2_000):
        yield from batch


def _give_back_memory() -> None:
    """Hand the build's freed heap back to the system (glibc keeps it otherwise)."""
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to do
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _excluded_ids(seeker: Seeker, exclusions: Exclusions, now: datetime) -> set[int]:
    declined = {m for m, when in exclusions.declined_at.items() if now - when < DECLINE_COOLDOWN}
    return {seeker.member_id} | exclusions.blocked_ids | exclusions.partner_ids | declined


def _grouped(ids: array, rows: np.ndarray, size: int) -> list[np.ndarray]:
    """Row lists per id, from parallel (id, row) arrays; rows of -1 are left out."""
    id_array = np.frombuffer(ids, dtype=np.int64) if len(ids) else np.empty(0, np.int64)
    kept = rows >= 0
    id_array, row_array = id_array[kept], rows[kept].astype(np.int32)
    order = np.argsort(id_array, kind="stable")
    sorted_rows = row_array[order]
    bounds = np.searchsorted(id_array[order], np.arange(size + 1))
    return [sorted_rows[bounds[i] : bounds[i + 1]] for i in range(size)]


_indexes: weakref.WeakKeyDictionary[Engine, dict[int, MentorIndex]] = weakref.WeakKeyDictionary()
_indexes_lock = threading.Lock()


def forget_indexes(engine: Engine) -> None:
    """Drop this process's indexes of a database that was emptied (tests do, between tests)."""
    with _indexes_lock:
        _indexes.pop(engine, None)


def mentor_index(session: Session, workspace_id: int) -> MentorIndex:
    """This process's index of the workspace, fresh as of now; hold its lock while using it."""
    engine = session.get_bind()
    assert isinstance(engine, Engine)
    with _indexes_lock:
        index = _indexes.setdefault(engine, {}).setdefault(workspace_id, MentorIndex(workspace_id))
    return index


def warm_indexes(sessions: sessionmaker[Session]) -> None:
    """Build every workspace's index now (a process calls this at start, in the background),
    so nobody's first search waits for it."""
    with sessions() as session:
        for workspace_id in session.scalars(select(Workspace.id)).all():
            index = mentor_index(session, workspace_id)
            with index.lock:
                if not index.built:
                    index.build(session)
            session.rollback()


def fresh(
    index: MentorIndex,
    session: Session,
    changes: Sequence[tuple[int, int]] | None = None,
    asked_us: int = 0,
) -> None:
    """Build on first use (or when many mentors changed), else apply the recent changes (read
    by the caller from `index.look_back_from()` at `asked_us`, or read here)."""
    if not index.built or index.stale:
        index.build(session)
    else:
        index.refresh(session, changes, asked_us)


def changes_since(workspace_id: int, checked_us: int) -> Select[tuple[int, int]]:
    return select(FindChange.member_id, FindChange.stamp).where(
        FindChange.workspace_id == workspace_id, FindChange.stamp > checked_us - LOOK_BACK_US
    )


# ---------------------------------------------------------------------- the change log


def _touched(session: Session) -> list[Any]:
    """Objects in this flush that change what a search reads about some mentor."""
    touched: list[Any] = []
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, Member):
            state = inspect(obj)
            if obj in session.new or any(
                state.attrs[name].history.has_changes() for name in (*_WATCHED, "topics")
            ):
                touched.append(obj)
        elif isinstance(obj, MemberTopic | Pairing):
            touched.append(obj)
    return touched


def _mentor_id(obj: Any) -> int | None:
    if isinstance(obj, Member):
        return obj.id
    if isinstance(obj, MemberTopic):
        return obj.member_id
    return obj.mentor_id


@event.listens_for(Session, "before_flush")
def _note_changes(session: Session, _context: Any, _instances: Any) -> None:
    touched = _touched(session)
    if touched:
        session.info.setdefault("find_touched", []).extend(touched)


@event.listens_for(Session, "after_flush")
def _log_changes(session: Session, _context: Any) -> None:
    # Ids are known only now: new rows get theirs in the flush.
    touched = session.info.pop("find_touched", [])
    changed = {_mentor_id(obj) for obj in touched} - {None}
    if changed:
        log_changes(session, changed)  # type: ignore[arg-type]


def log_changes(session: Session, member_ids: Iterable[int]) -> None:
    """Tell every process's index to reload these members (one statement)."""
    ids = sorted(set(member_ids))
    if not ids:
        return
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stamp = int(clock.time() * 1_000_000)
    statement = insert(FindChange).from_select(
        ["member_id", "workspace_id", "stamp"],
        select(Member.id, Member.workspace_id, literal(stamp, BigInteger)).where(
            Member.id.in_(ids)
        ),
    )
    connection.execute(
        statement.on_conflict_do_update(
            index_elements=["member_id"], set_={"stamp": statement.excluded.stamp}
        )
    )
