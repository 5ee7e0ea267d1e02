"""Ranking mentors for a mentee: topic keys, exclusions, scores and nearby-topic suggestions."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DECLINE_COOLDOWN = timedelta(days=90)

TOPIC_WEIGHT = 0.5
GOAL_WEIGHT = 0.2
HOURS_WEIGHT = 0.2
CAPACITY_WEIGHT = 0.1
# A person's waking (working) hours on their own clock: (start, end); an end at or before the start
# runs past midnight, and start == end is the whole day.
Window = tuple[time, time]
WORKDAY: Window = (time(9), time(17))
NEARBY_SIMILARITY = 0.6

# Dots and apostrophes sit inside names ("Node.js", "beginner's"), so they go without a gap;
# other punctuation separates words ("front-end", "CI/CD"). + and # carry meaning (C++, C#).
_JOINING = re.compile(r"[.'\u2019]")
_SEPARATING = re.compile(r"[^\w\s+#]|_")

# These end in "s" but have no singular anyone types; stripping it would also break synonym
# targets ("kubernetes") or collide with another word ("news" -> "new").
_NOT_PLURAL = frozenset({"devops", "kubernetes", "news", "redis", "series", "species"})
# -ss, -us and -sis words are singular (business, status, analysis); -js names a library (nodejs).
_SINGULAR_ENDINGS = ("ss", "us", "sis", "js")
_ES_PLURAL_ENDINGS = ("sses", "xes", "ches", "shes")

# Canonical key -> the other keys people type for the same thing. Only whole keys are mapped, so
# "ux design" stays itself; a word-level expansion would turn "go" or "pm" inside longer names
# into noise.
_SYNONYMS_BY_CANONICAL: dict[str, tuple[str, ...]] = {
    # Everyday abbreviations of a language, runtime or tool.
    "javascript": ("js",),
    "typescript": ("ts",),
    "python": ("py",),
    "go": ("golang",),
    "nodejs": ("node js",),
    "kubernetes": ("k8s",),
    "postgresql": ("postgres",),
    # Abbreviations of a field; "pm" is read as product management, the common meaning in tech
    # workplaces (project management is usually spelled out).
    "machine learning": ("ml",),
    "artificial intelligence": ("ai",),
    "product management": ("pm", "product manager"),
    "user experience": ("ux",),
    # Phrasings of one mentoring goal, so a mentee typing one finds mentors who wrote another.
    "public speaking": ("presenting", "presentations", "presentation skills"),
    "career growth": ("career development", "career progression"),
    "leadership": ("leading teams", "team leadership"),
}

# Words that join a phrase without adding meaning; two topics sharing only "of" are not close.
_FILLER_WORDS = (
    "a",
    "an",
    "and",
    "as",
    "at",
    "by",
    "for",
    "from",
    "in",
    "into",
    "of",
    "on",
    "or",
    "the",
    "to",
    "with",
)
# Goals are written as sentences ("I want to get better at public speaking"); these words say
# nothing about what the mentor should know.
_GOAL_ONLY_STOP_WORDS = (
    "about",
    "are",
    "be",
    "been",
    "better",
    "can",
    "do",
    "get",
    "getting",
    "good",
    "how",
    "i",
    "i'm",
    "improve",
    "is",
    "it",
    "learn",
    "learning",
    "like",
    "me",
    "more",
    "my",
    "so",
    "some",
    "that",
    "this",
    "up",
    "want",
    "wanting",
    "would",
)


@dataclass(frozen=True)
class MentorCandidate:
    member_id: int
    name: str
    tz: str
    topics: tuple[str, ...]
    background: str
    experience: str
    capacity: int
    active_mentees: int
    paused_until: datetime | None
    hours: Window = WORKDAY


@dataclass(frozen=True)
class Seeker:
    member_id: int
    tz: str
    goals: str
    topics: tuple[str, ...]
    hours: Window = WORKDAY


@dataclass(frozen=True)
class Exclusions:
    partner_ids: frozenset[int] = frozenset()
    blocked_ids: frozenset[int] = frozenset()
    declined_at: Mapping[int, datetime] = field(default_factory=dict)


@dataclass(frozen=True)
class Match:
    mentor: MentorCandidate
    score: float
    matched_topics: tuple[str, ...]
    hours_apart: float
    overlap_hours: float
    free_slots: int
    # The seeker's goal words, as they typed them, found in the mentor's profile.
    goal_words: tuple[str, ...] = ()
    # When both are awake, on the seeker's clock, earliest first.
    both_awake: tuple[Window, ...] = ()


def _singular(word: str) -> str:
    if len(word) <= 3 or word in _NOT_PLURAL or word.endswith(_SINGULAR_ENDINGS):
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(_ES_PLURAL_ENDINGS):
        return word[:-2]
    if word.endswith("s"):
        return word[:-1]
    return word


def _words(text: str) -> list[str]:
    cleaned = _SEPARATING.sub(" ", _JOINING.sub("", text.casefold()))
    return [_singular(word) for word in cleaned.split()]


def _plain_key(text: str) -> str:
    return " ".join(_words(text))


_SYNONYMS = {
    _plain_key(alias): canonical
    for canonical, aliases in _SYNONYMS_BY_CANONICAL.items()
    for alias in aliases
}
_FILLER = frozenset(_plain_key(" ".join(_FILLER_WORDS)).split())
_GOAL_STOP_WORDS = _FILLER | frozenset(_plain_key(" ".join(_GOAL_ONLY_STOP_WORDS)).split())


# The pure functions below run once per candidate mentor, thousands of times per search, on
# a few hundred distinct inputs: caching them keeps /mentor find fast.
@lru_cache(maxsize=8192)
def topic_key(text: str) -> str:
    """The key two freely typed topic names share when they mean the same thing."""
    key = _plain_key(text)
    return _SYNONYMS.get(key, key)


def goal_overlap(goals: str, text: str) -> float:
    """Share of the meaningful words in `goals` that also appear in `text` (0..1)."""
    wanted = _meaningful_words(goals)
    if not wanted:
        return 0.0
    return len(wanted & _word_set(text)) / len(wanted)


def goal_fit(goals: str, text: str) -> tuple[str, ...]:
    """The meaningful words of `goals` that also appear in `text`, as typed, first mention first."""
    have = _word_set(text)
    found: dict[str, str] = {}
    for typed in _SEPARATING.sub(" ", _JOINING.sub("", goals)).split():
        word = _singular(typed.casefold())
        if word in have and word not in _GOAL_STOP_WORDS:
            found.setdefault(word, typed)
    return tuple(found.values())


@lru_cache(maxsize=1024)
def _meaningful_words(goals: str) -> frozenset[str]:
    return frozenset(word for word in _words(goals) if word not in _GOAL_STOP_WORDS)


@lru_cache(maxsize=8192)
def _word_set(text: str) -> frozenset[str]:
    return frozenset(_words(text))


@lru_cache(maxsize=512)
def _zone(name: str) -> tzinfo:
    # Profiles carry whatever Slack or a person gave us; an unknown zone must not break matching.
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError, OSError, TypeError, AttributeError):
        return UTC


def hours_apart(tz_seeker: str, tz_mentor: str, at: datetime) -> float:
    """The mentor's UTC offset minus the seeker's at `at`, in hours (+8.0: mentor 8 h ahead)."""
    mentor_offset = at.astimezone(_zone(tz_mentor)).utcoffset() or timedelta()
    seeker_offset = at.astimezone(_zone(tz_seeker)).utcoffset() or timedelta()
    return (mentor_offset - seeker_offset).total_seconds() / 3600


def _working_day(zone: tzinfo, day: date, hours: Window) -> tuple[datetime, datetime]:
    start, end = hours
    ends_on = day + timedelta(days=1) if end <= start else day
    return (
        datetime.combine(day, start, tzinfo=zone).astimezone(UTC),
        datetime.combine(ends_on, end, tzinfo=zone).astimezone(UTC),
    )


@lru_cache(maxsize=4096)
def shared_hours(
    tz_a: str, hours_a: Window, tz_b: str, hours_b: Window, on: date
) -> tuple[tuple[datetime, datetime], ...]:
    """The UTC stretches of A's day `on` (A's hours) when B is inside B's own hours too."""
    a_start, a_end = _working_day(_zone(tz_a), on, hours_a)
    found: list[tuple[datetime, datetime]] = []
    # Far-apart zones meet across the date line (Auckland's Tuesday morning is Los Angeles'
    # Monday afternoon), and hours past midnight reach a day further, so B's nearby days count.
    for shift in range(-2, 3):
        b_start, b_end = _working_day(_zone(tz_b), on + timedelta(days=shift), hours_b)
        start, end = max(a_start, b_start), min(a_end, b_end)
        if start < end:
            if found and start <= found[-1][1]:
                start = found.pop()[0]
            found.append((start, end))
    return tuple(found)


def _length(stretches: Iterable[tuple[datetime, datetime]]) -> float:
    return sum((end - start).total_seconds() for start, end in stretches) / 3600


@lru_cache(maxsize=4096)
def shared_length(tz_a: str, hours_a: Window, tz_b: str, hours_b: Window, on: date) -> float:
    """Hours of shared_hours in all; a 5,000-mentee round asks it a quarter-million times."""
    return _length(shared_hours(tz_a, hours_a, tz_b, hours_b, on))


@lru_cache(maxsize=4096)
def working_hours_overlap(
    tz_a: str, tz_b: str, on: date, start: time = time(9), end: time = time(17)
) -> float:
    """Hours of A's working day `on` during which B is also inside B's local working hours."""
    if end <= start:
        raise ValueError("working hours must end after they start")
    return _length(shared_hours(tz_a, (start, end), tz_b, (start, end), on))


def awake_together(
    tz_seeker: str, seeker_hours: Window, tz_mentor: str, mentor_hours: Window, on: date
) -> tuple[Window, ...]:
    """When both are awake on the seeker's day `on`, read on the seeker's clock."""
    zone = _zone(tz_seeker)
    return tuple(
        (start.astimezone(zone).time(), end.astimezone(zone).time())
        for start, end in shared_hours(tz_seeker, seeker_hours, tz_mentor, mentor_hours, on)
    )


def exclusion_reason(
    seeker: Seeker, mentor: MentorCandidate, exclusions: Exclusions, now: datetime
) -> str | None:
    """Why this mentor may not be offered to or asked by the seeker now, or None if they may.

    One reason is given when several apply. Relationship reasons come first: a blocked pair must
    not learn each other's pauses or load, and a current partner is counted in active_mentees, so
    "full" would mislead them.
    """
    if mentor.member_id == seeker.member_id:
        return "yourself"
    if mentor.member_id in exclusions.blocked_ids:
        return "blocked"
    if mentor.member_id in exclusions.partner_ids:
        return "partner"
    declined = exclusions.declined_at.get(mentor.member_id)
    if declined is not None and now - declined < DECLINE_COOLDOWN:
        return "declined"
    if mentor.paused_until is not None and mentor.paused_until > now:
        return "paused"
    if mentor.active_mentees >= mentor.capacity:
        return "full"
    return None


def _matched_topics(mentor: MentorCandidate, wanted: frozenset[str]) -> dict[str, str]:
    matched: dict[str, str] = {}
    for name in mentor.topics:
        key = topic_key(name)
        if key in wanted:
            matched.setdefault(key, name)
    return matched


@dataclass(frozen=True)
class SeekerDay:
    """What every score for one seeker shares: the topic keys they want and their own day."""

    wanted: frozenset[str]
    # The seeker reads the result, so "today" is their local date.
    today: date
    # Sharing all of the seeker's own waking hours is as good as it gets.
    awake_hours: float


def seeker_day(seeker: Seeker, now: datetime) -> SeekerDay | None:
    """None when the seeker wants no topic at all (nobody can match)."""
    wanted = frozenset(key for key in map(topic_key, seeker.topics) if key)
    if not wanted:
        return None
    today = now.astimezone(_zone(seeker.tz)).date()
    awake_hours = _length([_working_day(_zone(seeker.tz), today, seeker.hours)])
    return SeekerDay(wanted, today, awake_hours)


@lru_cache(maxsize=8192)  # the same string object each time keeps _word_set's lookup cheap
def _profile(mentor: MentorCandidate) -> str:
    # Their offered topics count as well as their story: a goal of "get into machine
    # learning" fits someone who offers "Machine learning".
    return f"{mentor.background} {mentor.experience} {' '.join(mentor.topics)}"


def score_match(
    seeker: Seeker, mentor: MentorCandidate, day: SeekerDay
) -> tuple[float, dict[str, str], float] | None:
    """The match score (0..1), the matched topics (key -> name) and the hours both are awake;
    None when the mentor offers none of the wanted topics. The one scorer: /mentor find ranks
    by it and a program's matching round maximises its total."""
    matched = _matched_topics(mentor, day.wanted)
    if not matched:
        return None
    overlap = shared_length(seeker.tz, seeker.hours, mentor.tz, mentor.hours, day.today)
    free_slots = mentor.capacity - mentor.active_mentees
    score = (
        TOPIC_WEIGHT * len(matched) / len(day.wanted)
        + GOAL_WEIGHT * goal_overlap(seeker.goals, _profile(mentor))
        + HOURS_WEIGHT * min(overlap / day.awake_hours, 1.0)
        + CAPACITY_WEIGHT * free_slots / mentor.capacity
    )
    return score, matched, overlap


def rank_mentors(
    seeker: Seeker, mentors: Iterable[MentorCandidate], exclusions: Exclusions, now: datetime
) -> list[Match]:
    """Mentors offering at least one wanted topic and not excluded, best match first."""
    day = seeker_day(seeker, now)
    if day is None:
        return []
    today = day.today
    matches = []
    for mentor in mentors:
        if exclusion_reason(seeker, mentor, exclusions, now) is not None:
            continue
        scored = score_match(seeker, mentor, day)
        if scored is None:
            continue
        score, matched, overlap = scored
        matches.append(
            Match(
                mentor=mentor,
                score=score,
                matched_topics=tuple(matched.values()),
                hours_apart=hours_apart(seeker.tz, mentor.tz, now),
                overlap_hours=overlap,
                free_slots=mentor.capacity - mentor.active_mentees,
                goal_words=goal_fit(seeker.goals, _profile(mentor)),
                both_awake=awake_together(seeker.tz, seeker.hours, mentor.tz, mentor.hours, today),
            )
        )
    # Among equals, the mentor with fewer mentees goes first so the load spreads out.
    matches.sort(
        key=lambda match: (
            -round(match.score, 6),
            match.mentor.active_mentees,
            match.mentor.name.casefold(),
            match.mentor.name,
            match.mentor.member_id,
        )
    )
    return matches


def nearby_topics(wanted: Iterable[str], offered: Iterable[str], limit: int = 3) -> list[str]:
    """Offered topic names close to a wanted one, for when nobody offers what was asked."""
    wanted_keys = {key for key in map(topic_key, wanted) if key}
    wanted_words = {key: set(key.split()) - _FILLER for key in wanted_keys}
    candidates: dict[str, tuple[tuple[int, float], str]] = {}
    for name in offered:
        key = topic_key(name)
        if not key or key in wanted_keys or key in candidates:
            continue
        words = set(key.split())
        closeness = max(
            (
                (len(wanted_words[w] & words), difflib.SequenceMatcher(None, w, key).ratio())
                for w in wanted_keys
            ),
            default=(0, 0.0),
        )
        shared, similarity = closeness
        if shared or similarity >= NEARBY_SIMILARITY:
            candidates[key] = (closeness, name)
    best = sorted(candidates.items(), key=lambda item: (-item[1][0][0], -item[1][0][1], item[0]))
    return [name for _, (_, name) in best[: max(limit, 0)]]


def describe_offset(hours: float) -> str:
    """'same time zone', '8 h ahead of you' or '5.5 h behind you' for an hours_apart value."""
    amount = round(abs(hours), 2)
    if amount == 0:
        return "same time zone"
    return f"{amount:g} h {'ahead of' if hours > 0 else 'behind'} you"
