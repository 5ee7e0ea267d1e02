"""Profiles: who wants to mentor or be mentored, on what, and why."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy.orm import Session

from bot.core import ids
from bot.core.errors import InvalidInput, MentorCoachError
from bot.core.members import member_for
from bot.core.models import DEFAULT_CAPACITY, MAX_CAPACITY, MAX_TEXT, Member, MemberTopic, TopicKind
from bot.core.settings import QuietHours
from bot.find.topics import TopicListError, TopicName, parse_topics, resolve_topics
from bot.find.wishes import fulfil_wishes


@dataclass(frozen=True)
class ProfileForm:
    """The profile modal as typed, before validation. Every field may be missing or junk."""

    roles: frozenset[str]
    topics_offered: str | None
    topics_sought: str | None
    goals: str | None
    background: str | None
    experience: str | None
    capacity: str | None
    work_start: str | None = None  # "HH:MM", as the time picker sends it
    work_end: str | None = None


@dataclass(frozen=True)
class Profile:
    """A validated profile, ready to save."""

    is_mentor: bool
    is_mentee: bool
    topics_offered: list[TopicName]
    topics_sought: list[TopicName]
    goals: str
    background: str
    experience: str
    capacity: int
    work_start: time | None = None  # None: the program's QUIET_HOURS decide when they hear from us
    work_end: time | None = None


_CLOCK = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")


def validate_profile(form: ProfileForm, default_hours: QuietHours | None = None) -> Profile:
    """Check every field; raise InvalidInput with a friendly message per bad block.

    `default_hours` is the program's QUIET_HOURS: working hours that match it are not pinned,
    so the person follows the program if an admin changes it later."""
    errors: dict[str, str] = {}
    is_mentor = ids.ROLE_MENTOR in form.roles
    is_mentee = ids.ROLE_MENTEE in form.roles
    if not (is_mentor or is_mentee):
        errors[ids.PROFILE_ROLES_BLOCK] = (
            "Pick at least one: learn from a mentor, or mentor others."
        )

    topics: dict[str, list[TopicName]] = {}
    for block, raw in (
        (ids.PROFILE_OFFERED_BLOCK, form.topics_offered),
        (ids.PROFILE_SOUGHT_BLOCK, form.topics_sought),
    ):
        try:
            topics[block] = parse_topics(raw)
        except TopicListError as error:
            errors[block] = str(error)
            topics[block] = []
    if (
        is_mentor
        and ids.PROFILE_OFFERED_BLOCK not in errors
        and not topics[ids.PROFILE_OFFERED_BLOCK]
    ):
        errors[ids.PROFILE_OFFERED_BLOCK] = (
            "As a mentor, list at least one topic you can help with, so mentees can find you."
        )

    texts: dict[str, str] = {}
    for block, raw in (
        (ids.PROFILE_GOALS_BLOCK, form.goals),
        (ids.PROFILE_BACKGROUND_BLOCK, form.background),
        (ids.PROFILE_EXPERIENCE_BLOCK, form.experience),
    ):
        texts[block] = (raw or "").strip()
        if len(texts[block]) > MAX_TEXT:
            errors[block] = (
                f"Please keep this under {MAX_TEXT} characters (it is {len(texts[block])})."
            )

    capacity = _capacity(form.capacity)
    if capacity is None:
        errors[ids.PROFILE_CAPACITY_BLOCK] = (
            f"Choose a whole number of mentees from 1 to {MAX_CAPACITY}."
        )

    work = _working_hours(form, errors)
    if default_hours is not None and work == (default_hours.end, default_hours.start):
        work = None

    if errors:
        raise InvalidInput(errors)
    return Profile(
        is_mentor=is_mentor,
        is_mentee=is_mentee,
        topics_offered=topics[ids.PROFILE_OFFERED_BLOCK],
        topics_sought=topics[ids.PROFILE_SOUGHT_BLOCK],
        goals=texts[ids.PROFILE_GOALS_BLOCK],
        background=texts[ids.PROFILE_BACKGROUND_BLOCK],
        experience=texts[ids.PROFILE_EXPERIENCE_BLOCK],
        capacity=capacity or DEFAULT_CAPACITY,
        work_start=work[0] if work else None,
        work_end=work[1] if work else None,
    )


def _working_hours(form: ProfileForm, errors: dict[str, str]) -> tuple[time, time] | None:
    """Both ends of the working day, or neither (the program's hours); a night shift is fine."""
    picked: dict[str, time | None] = {}
    for block, raw in (
        (ids.PROFILE_WORK_START_BLOCK, form.work_start),
        (ids.PROFILE_WORK_END_BLOCK, form.work_end),
    ):
        match = _CLOCK.match(raw or "")
        picked[block] = time(int(match[1]), int(match[2])) if match else None
        if raw and not match:
            errors[block] = "Pick a time from the list."
    start, end = picked[ids.PROFILE_WORK_START_BLOCK], picked[ids.PROFILE_WORK_END_BLOCK]
    if ids.PROFILE_WORK_START_BLOCK in errors or ids.PROFILE_WORK_END_BLOCK in errors:
        return None
    if (start is None) != (end is None):
        missing = ids.PROFILE_WORK_END_BLOCK if end is None else ids.PROFILE_WORK_START_BLOCK
        errors[missing] = "Pick both a start and an end, or clear both to use the usual hours."
        return None
    if start is not None and start == end:
        errors[ids.PROFILE_WORK_END_BLOCK] = (
            "Your day needs to end at a different time from when it starts."
        )
        return None
    return (start, end) if start is not None and end is not None else None


def save_profile(
    session: Session, team_id: str, user_id: str, profile: Profile, now: datetime
) -> Member:
    """Create or replace this person's profile, topics included."""
    member = member_for(session, team_id, user_id, now)
    member.is_mentor = profile.is_mentor
    member.is_mentee = profile.is_mentee
    member.goals = profile.goals
    member.background = profile.background
    member.experience = profile.experience
    member.capacity = profile.capacity
    member.work_start, member.work_end = profile.work_start, profile.work_end
    member.profile_saved_at = now
    member.updated_at = now
    wanted = {
        (topic.id, kind)
        for kind, names in (
            (TopicKind.OFFERED, profile.topics_offered),
            (TopicKind.SOUGHT, profile.topics_sought),
        )
        for topic in resolve_topics(session, member.workspace_id, names)
    }
    member.topics = [link for link in member.topics if (link.topic_id, link.kind) in wanted]
    kept = {(link.topic_id, link.kind) for link in member.topics}
    member.topics.extend(
        MemberTopic(topic_id=topic_id, kind=kind) for topic_id, kind in sorted(wanted - kept)
    )
    session.flush()
    session.refresh(member, ["topics"])
    fulfil_wishes(session, member, now)
    return member


def _capacity(raw: str | None) -> int | None:
    if raw is None or not raw.strip():
        return DEFAULT_CAPACITY
    try:
        value = int(raw.strip())
    except ValueError:
        return None
    return value if 1 <= value <= MAX_CAPACITY else None


MAX_PAUSE_DAYS = 180


def pause(session: Session, team_id: str, user_id: str, days: int, now: datetime) -> Member:
    """Step back for a while: no new matches or nudges, only what the person asks for."""
    if not 1 <= days <= MAX_PAUSE_DAYS:
        raise MentorCoachError(f"Pause for 1 to {MAX_PAUSE_DAYS} days, like `/mentor pause 14`.")
    member = member_for(session, team_id, user_id, now)
    member.paused_until, member.updated_at = now + timedelta(days=days), now
    return member


def resume(session: Session, team_id: str, user_id: str, now: datetime) -> bool:
    """Back from a pause; False when there was none. Mentors with room meet waiting wishes."""
    member = member_for(session, team_id, user_id, now)
    if member.paused_until is None or member.paused_until <= now:
        return False
    member.paused_until, member.updated_at = None, now
    fulfil_wishes(session, member, now)
    return True
