"""Profile validation, topic normalisation and saving, below the Slack layer."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from bot.core import ids
from bot.core.errors import InvalidInput
from bot.core.models import Member, Topic, TopicKind
from bot.find.profiles import ProfileForm, save_profile, validate_profile
from bot.find.topics import TopicListError, parse_topics

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def form(**overrides):
    values = {
        "roles": frozenset({ids.ROLE_MENTEE}),
        "topics_offered": None,
        "topics_sought": "public speaking",
        "goals": "Speak at a conference.",
        "background": None,
        "experience": None,
        "capacity": "2",
    }
    values.update(overrides)
    return ProfileForm(**values)


def test_topics_are_normalised_and_deduplicated():
    topics = parse_topics("Public  Speaking, public speaking!;\n C++ , node.js,, • Leadership. ")
    assert [t.name for t in topics] == ["Public Speaking", "C++", "node.js", "Leadership"]
    assert [t.slug for t in topics] == ["public speaking", "c++", "node.js", "leadership"]


def test_empty_and_punctuation_only_topic_lists_are_empty():
    assert parse_topics(None) == []
    assert parse_topics(" , ;; !! \n") == []


def test_too_many_or_too_long_topics_are_refused():
    with pytest.raises(TopicListError, match="up to 10"):
        parse_topics(",".join(f"topic {n}" for n in range(11)))
    assert len(parse_topics(",".join(f"topic {n}" for n in range(10)))) == 10
    with pytest.raises(TopicListError, match="under 50"):
        parse_topics("x" * 51)
    assert parse_topics("x" * 50)[0].name == "x" * 50


def test_a_valid_mentee_profile():
    profile = validate_profile(form())
    assert (profile.is_mentee, profile.is_mentor) == (True, False)
    assert [t.slug for t in profile.topics_sought] == ["public speaking"]
    assert profile.capacity == 2


def test_no_role_and_a_mentor_without_topics_are_refused():
    with pytest.raises(InvalidInput) as raised:
        validate_profile(form(roles=frozenset()))
    assert set(raised.value.errors) == {ids.PROFILE_ROLES_BLOCK}
    with pytest.raises(InvalidInput) as raised:
        validate_profile(form(roles=frozenset({ids.ROLE_MENTOR}), topics_offered=" , "))
    assert set(raised.value.errors) == {ids.PROFILE_OFFERED_BLOCK}


def test_forged_role_values_count_as_no_role():
    with pytest.raises(InvalidInput) as raised:
        validate_profile(form(roles=frozenset({"admin"})))
    assert set(raised.value.errors) == {ids.PROFILE_ROLES_BLOCK}


@pytest.mark.parametrize("capacity", ["0", "11", "2.5", "lots", "-1"])
def test_capacity_outside_one_to_ten_is_refused(capacity):
    with pytest.raises(InvalidInput) as raised:
        validate_profile(form(capacity=capacity))
    assert set(raised.value.errors) == {ids.PROFILE_CAPACITY_BLOCK}


@pytest.mark.parametrize(("capacity", "expected"), [("1", 1), ("10", 10), (None, 2), (" ", 2)])
def test_capacity_in_range_or_missing(capacity, expected):
    assert validate_profile(form(capacity=capacity)).capacity == expected


def test_long_texts_are_refused_each_in_its_own_block():
    with pytest.raises(InvalidInput) as raised:
        validate_profile(form(goals="g" * 1001, background="b" * 1001, experience="e" * 1000))
    assert set(raised.value.errors) == {ids.PROFILE_GOALS_BLOCK, ids.PROFILE_BACKGROUND_BLOCK}


def test_saving_creates_then_replaces_topics(database):
    mentor = form(
        roles=frozenset({ids.ROLE_MENTOR, ids.ROLE_MENTEE}),
        topics_offered="Python, Public speaking",
        topics_sought="leadership",
        capacity="3",
    )
    with database.sessions.begin() as session:
        member = save_profile(session, "T1", "U1", validate_profile(mentor), NOW)
        assert member.topic_names(TopicKind.OFFERED) == ["Public speaking", "Python"]
        assert member.topic_names(TopicKind.SOUGHT) == ["leadership"]
    with database.sessions.begin() as session:
        save_profile(
            session, "T1", "U2", validate_profile(form(topics_sought="PUBLIC SPEAKING")), NOW
        )
        member = save_profile(
            session, "T1", "U1", validate_profile(form(topics_sought="python")), NOW
        )
        assert member.topic_names(TopicKind.OFFERED) == []
        assert member.topic_names(TopicKind.SOUGHT) == ["Python"]
        assert (member.is_mentor, member.capacity, member.profile_saved_at) == (False, 2, NOW)
    with database.sessions.begin() as session:
        assert session.scalar(select(func.count()).select_from(Member)) == 2
        # "public speaking" typed two ways is one topic, named as first typed
        assert sorted(session.scalars(select(Topic.name))) == [
            "Public speaking",
            "Python",
            "leadership",
        ]
