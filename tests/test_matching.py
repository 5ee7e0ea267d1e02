"""Mentor ranking: topic keys, exclusions, every score factor, time zones and suggestions."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta

import pytest

from bot.find.matching import (
    DECLINE_COOLDOWN,
    Exclusions,
    MentorCandidate,
    Seeker,
    awake_together,
    describe_offset,
    exclusion_reason,
    goal_fit,
    goal_overlap,
    hours_apart,
    nearby_topics,
    rank_mentors,
    topic_key,
    working_hours_overlap,
)

# A winter Wednesday: Berlin and Lagos UTC+1, London UTC+0, New York UTC-5, Sao Paulo UTC-3,
# Tokyo UTC+9, Kolkata UTC+5:30.
NOW = datetime(2026, 1, 14, 12, 0, tzinfo=UTC)
# A summer day: Berlin UTC+2, Lagos, Sao Paulo, Tokyo and Kolkata unchanged.
SUMMER = datetime(2026, 7, 15, 12, 0, tzinfo=UTC)
SEEKER_ID = 1
MENTOR_ID = 2


def seeker(**overrides) -> Seeker:
    values = {
        "member_id": SEEKER_ID,
        "tz": "Europe/Berlin",
        "goals": "",
        "topics": ("Public speaking",),
    }
    values.update(overrides)
    return Seeker(**values)


def mentor(**overrides) -> MentorCandidate:
    values = {
        "member_id": MENTOR_ID,
        "name": "Mentor",
        "tz": "Europe/Berlin",
        "topics": ("Public speaking",),
        "background": "",
        "experience": "",
        "capacity": 2,
        "active_mentees": 0,
        "paused_until": None,
    }
    values.update(overrides)
    return MentorCandidate(**values)


def ids(matches) -> list[int]:
    return [match.mentor.member_id for match in matches]


# --- topic_key -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "key"),
    [
        ("Public Speaking", "public speaking"),
        ("  PUBLIC \t speaking ", "public speaking"),
        ("Public speaking!", "public speaking"),
        ("Node.js", "nodejs"),
        ("NodeJS", "nodejs"),
        ("nodejs", "nodejs"),
        ("node js", "nodejs"),
        ("C++", "c++"),
        ("C#", "c#"),
        ("front-end", "front end"),
        ("CI/CD", "ci cd"),
        ("snake_case", "snake case"),
        ("beginner's guide", "beginner guide"),
        ("Café culture", "café culture"),
        ("!!!", ""),
        ("", ""),
    ],
)
def test_topic_key_folds_case_punctuation_and_spaces(typed, key):
    assert topic_key(typed) == key


@pytest.mark.parametrize(
    ("typed", "key"),
    [
        ("APIs", "api"),
        ("KPIs", "kpi"),
        ("interviews", "interview"),
        ("Mock Interviews", "mock interview"),
        ("classes", "class"),
        ("processes", "process"),
        ("coaches", "coach"),
        ("inboxes", "inbox"),
        ("wishes", "wish"),
        ("stories", "story"),
        ("user stories", "user story"),
        ("flies", "fly"),
        ("pies", "pie"),
        ("databases", "database"),
    ],
)
def test_topic_key_makes_each_word_singular(typed, key):
    assert topic_key(typed) == key


@pytest.mark.parametrize(
    "word",
    [
        "business",
        "process",
        "css",
        "status",
        "analysis",
        "bus",
        "gas",
        "ops",
        "aws",
        "kubernetes",
        "devops",
        "news",
        "series",
        "redis",
        "nodejs",
        "vue js",
        "ux research",
    ],
)
def test_topic_key_leaves_words_that_only_look_plural(word):
    assert topic_key(word) == word


@pytest.mark.parametrize(
    ("alias", "canonical"),
    [
        ("JS", "javascript"),
        ("TS", "typescript"),
        ("py", "python"),
        ("Golang", "go"),
        ("node js", "nodejs"),
        ("k8s", "kubernetes"),
        ("Postgres", "postgresql"),
        ("ML", "machine learning"),
        ("AI", "artificial intelligence"),
        ("PM", "product management"),
        ("Product Managers", "product management"),
        ("UX", "user experience"),
        ("Presenting", "public speaking"),
        ("Presentations", "public speaking"),
        ("presentation skills", "public speaking"),
        ("Career Development", "career growth"),
        ("career progression", "career growth"),
        ("Leading teams", "leadership"),
        ("team leadership", "leadership"),
    ],
)
def test_topic_key_maps_synonyms_to_one_canonical_key(alias, canonical):
    assert topic_key(alias) == canonical
    # The canonical spelling must be a fixed point, or typing it would miss its own synonyms.
    assert topic_key(canonical) == canonical


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("Java", "JavaScript"),
        ("C", "C++"),
        ("C++", "C#"),
        ("product design", "product management"),
        ("project management", "PM"),
        ("public policy", "public speaking"),
        ("machine learning", "deep learning"),
        ("UX research", "UX"),
        ("career", "career growth"),
        ("leadership coaching", "leadership"),
        ("news", "new"),
    ],
)
def test_unrelated_topics_keep_distinct_keys(one, other):
    assert topic_key(one) != topic_key(other)


# --- exclusion_reason ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mentor_overrides", "exclusions", "reason"),
    [
        ({}, Exclusions(), None),
        ({"member_id": SEEKER_ID}, Exclusions(), "yourself"),
        ({"paused_until": NOW + timedelta(days=1)}, Exclusions(), "paused"),
        ({"paused_until": NOW + timedelta(seconds=1)}, Exclusions(), "paused"),
        ({"paused_until": NOW - timedelta(days=1)}, Exclusions(), None),
        ({"paused_until": NOW}, Exclusions(), None),
        ({"capacity": 2, "active_mentees": 2}, Exclusions(), "full"),
        ({"capacity": 2, "active_mentees": 3}, Exclusions(), "full"),
        ({"capacity": 2, "active_mentees": 1}, Exclusions(), None),
        ({"capacity": 1, "active_mentees": 0}, Exclusions(), None),
        ({}, Exclusions(partner_ids=frozenset({MENTOR_ID})), "partner"),
        ({}, Exclusions(partner_ids=frozenset({99})), None),
        ({}, Exclusions(blocked_ids=frozenset({MENTOR_ID})), "blocked"),
        ({}, Exclusions(blocked_ids=frozenset({99})), None),
        ({}, Exclusions(declined_at={MENTOR_ID: NOW - timedelta(days=1)}), "declined"),
        ({}, Exclusions(declined_at={MENTOR_ID: NOW - timedelta(days=89)}), "declined"),
        (
            {},
            Exclusions(declined_at={MENTOR_ID: NOW - DECLINE_COOLDOWN + timedelta(seconds=1)}),
            "declined",
        ),
        ({}, Exclusions(declined_at={MENTOR_ID: NOW - timedelta(days=90)}), None),
        ({}, Exclusions(declined_at={MENTOR_ID: NOW - timedelta(days=91)}), None),
        ({}, Exclusions(declined_at={99: NOW - timedelta(days=1)}), None),
    ],
)
def test_exclusion_reason_and_its_negative_cases(mentor_overrides, exclusions, reason):
    assert exclusion_reason(seeker(), mentor(**mentor_overrides), exclusions, NOW) == reason


def test_decline_cooldown_is_ninety_days():
    assert timedelta(days=90) == DECLINE_COOLDOWN


@pytest.mark.parametrize(
    ("mentor_overrides", "exclusions", "reason"),
    [
        (
            {"member_id": SEEKER_ID},
            Exclusions(blocked_ids=frozenset({SEEKER_ID})),
            "yourself",
        ),
        (
            {"paused_until": NOW + timedelta(days=1), "active_mentees": 2},
            Exclusions(
                blocked_ids=frozenset({MENTOR_ID}),
                partner_ids=frozenset({MENTOR_ID}),
                declined_at={MENTOR_ID: NOW},
            ),
            "blocked",
        ),
        ({"active_mentees": 2}, Exclusions(partner_ids=frozenset({MENTOR_ID})), "partner"),
        (
            {"paused_until": NOW + timedelta(days=1)},
            Exclusions(declined_at={MENTOR_ID: NOW}),
            "declined",
        ),
        ({"paused_until": NOW + timedelta(days=1), "active_mentees": 2}, Exclusions(), "paused"),
    ],
)
def test_one_reason_wins_when_several_apply(mentor_overrides, exclusions, reason):
    assert exclusion_reason(seeker(), mentor(**mentor_overrides), exclusions, NOW) == reason


# --- goal_overlap ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("goals", "text", "share"),
    [
        # Meaningful words: public, speaking.
        ("I want to get better at public speaking", "Gave talks on public speaking", 1.0),
        # Meaningful words: speak, conference, lead, team; only "team" is in the text.
        ("Speak at conferences and lead a team", "I led a team of ten for years", 0.25),
        ("Negotiating salaries", "salary negotiating coach", 1.0),
        ("PYTHON", "python", 1.0),
        # Repeated words count once: {python, java}, only python is there.
        ("python python java", "python", 0.5),
        ("Grow into a staff engineer role", "Accountant", 0.0),
        ("", "Anything at all", 0.0),
        ("I want to learn how to get better", "want learn better", 0.0),
        ("public speaking", "", 0.0),
    ],
)
def test_goal_overlap(goals, text, share):
    assert goal_overlap(goals, text) == pytest.approx(share)


# --- hours_apart and working_hours_overlap ---------------------------------------------------


@pytest.mark.parametrize(
    ("tz_seeker", "tz_mentor", "at", "hours"),
    [
        ("Europe/Berlin", "Asia/Tokyo", NOW, 8.0),
        ("Europe/Berlin", "Asia/Tokyo", SUMMER, 7.0),
        ("Europe/Berlin", "America/Sao_Paulo", NOW, -4.0),
        ("Europe/Berlin", "Africa/Lagos", NOW, 0.0),
        ("Europe/Berlin", "Africa/Lagos", SUMMER, -1.0),
        # New York moves its clocks on 9 March 2025, London only on 30 March.
        ("Europe/London", "America/New_York", datetime(2025, 3, 5, 12, tzinfo=UTC), -5.0),
        ("Europe/London", "America/New_York", datetime(2025, 3, 20, 12, tzinfo=UTC), -4.0),
        ("Europe/London", "America/New_York", datetime(2025, 4, 2, 12, tzinfo=UTC), -5.0),
        # London moves back on 26 October 2025, New York only on 2 November.
        ("Europe/London", "America/New_York", datetime(2025, 10, 29, 12, tzinfo=UTC), -4.0),
        ("Europe/London", "America/New_York", datetime(2025, 11, 5, 12, tzinfo=UTC), -5.0),
        ("America/New_York", "Europe/London", datetime(2025, 3, 20, 12, tzinfo=UTC), 4.0),
        ("Europe/Berlin", "Asia/Kolkata", NOW, 4.5),
        ("Asia/Kolkata", "Europe/Berlin", SUMMER, -3.5),
        ("UTC", "Asia/Kathmandu", NOW, 5.75),
        ("Mars/Olympus_Mons", "Asia/Tokyo", NOW, 9.0),
        ("", "UTC", NOW, 0.0),
    ],
)
def test_hours_apart(tz_seeker, tz_mentor, at, hours):
    assert hours_apart(tz_seeker, tz_mentor, at) == pytest.approx(hours)


@pytest.mark.parametrize(
    ("tz_a", "tz_b", "on", "hours"),
    [
        ("Europe/Berlin", "Europe/Berlin", date(2026, 1, 14), 8.0),
        # London 09-17 UTC, New York 14-22 UTC.
        ("Europe/London", "America/New_York", date(2025, 3, 5), 3.0),
        # New York already on summer time: 13-21 UTC, London still 09-17 UTC.
        ("Europe/London", "America/New_York", date(2025, 3, 20), 4.0),
        ("America/New_York", "Europe/London", date(2025, 3, 20), 4.0),
        # The day before and the day London changes (01:00 UTC): 09-17 BST is 08-16 UTC.
        ("Europe/London", "America/New_York", date(2025, 3, 29), 4.0),
        ("Europe/London", "America/New_York", date(2025, 3, 30), 3.0),
        ("Europe/London", "America/New_York", date(2025, 4, 2), 3.0),
        ("Europe/London", "America/New_York", date(2025, 10, 29), 4.0),
        ("Europe/London", "America/New_York", date(2025, 11, 5), 3.0),
        # Kolkata 03:30-11:30 UTC; Berlin 08-16 UTC in winter, 07-15 UTC in summer.
        ("Europe/Berlin", "Asia/Kolkata", date(2026, 1, 14), 3.5),
        ("Europe/Berlin", "Asia/Kolkata", date(2026, 7, 15), 4.5),
        # Tokyo 00-08 UTC ends as Berlin's winter day starts at 08 UTC.
        ("Europe/Berlin", "Asia/Tokyo", date(2026, 1, 14), 0.0),
        ("Europe/Berlin", "Asia/Tokyo", date(2026, 7, 15), 1.0),
        # Auckland (UTC+13) 09-17 is 20-04 UTC; Los Angeles' previous day 09-17 is 17-01 UTC.
        ("Pacific/Auckland", "America/Los_Angeles", date(2025, 1, 15), 5.0),
        ("America/Los_Angeles", "Pacific/Auckland", date(2025, 1, 15), 5.0),
        # Unknown zones count as UTC; London is on UTC in January, Berlin an hour ahead.
        ("Not/A_Zone", "Europe/London", date(2026, 1, 14), 8.0),
        ("nonsense", "Europe/Berlin", date(2026, 1, 14), 7.0),
    ],
)
def test_working_hours_overlap(tz_a, tz_b, on, hours):
    assert working_hours_overlap(tz_a, tz_b, on) == pytest.approx(hours)


def test_working_hours_overlap_with_other_hours():
    # London 08-18 UTC, New York 13-23 UTC in winter.
    overlap = working_hours_overlap(
        "Europe/London", "America/New_York", date(2026, 1, 14), time(8), time(18)
    )
    assert overlap == pytest.approx(5.0)
    with pytest.raises(ValueError, match="end after"):
        working_hours_overlap("UTC", "UTC", date(2026, 1, 14), time(17), time(9))


@pytest.mark.parametrize(
    ("hours", "text"),
    [
        (0, "same time zone"),
        (-0.0, "same time zone"),
        (8, "8 h ahead of you"),
        (8.0, "8 h ahead of you"),
        (1, "1 h ahead of you"),
        (-1.0, "1 h behind you"),
        (-5.5, "5.5 h behind you"),
        (5.75, "5.75 h ahead of you"),
    ],
)
def test_describe_offset(hours, text):
    assert describe_offset(hours) == text


# --- rank_mentors ----------------------------------------------------------------------------


def test_a_match_explains_itself_and_scores_every_factor():
    wants = seeker(
        goals="Speak at conferences and lead a team", topics=("Python", "Public speaking")
    )
    offers = mentor(
        tz="Asia/Kolkata",
        topics=("Go", "Presenting"),
        background="Led a team",
        experience="I speak at meetups",
        capacity=4,
        active_mentees=1,
    )
    [match] = rank_mentors(wants, [offers], Exclusions(), NOW)
    assert match.mentor == offers
    assert match.matched_topics == ("Presenting",)
    assert match.hours_apart == pytest.approx(4.5)
    assert match.overlap_hours == pytest.approx(3.5)
    assert match.free_slots == 3
    # 0.5 * 1/2 topics + 0.2 * 2/4 goal words (speak, team) + 0.2 * 3.5/8 hours + 0.1 * 3/4 free
    assert match.score == pytest.approx(0.25 + 0.1 + 0.0875 + 0.075)


def test_matched_topics_are_the_mentors_names_in_their_order_once_per_key():
    wants = seeker(topics=("public speaking", "js"))
    offers = mentor(topics=("Go", "JavaScript", "Presentations", "JS"))
    [match] = rank_mentors(wants, [offers], Exclusions(), NOW)
    assert match.matched_topics == ("JavaScript", "Presentations")
    assert match.score == pytest.approx(0.8)  # 0.5 topics + 0.2 hours + 0.1 free, no goals


def test_repeated_wanted_topics_count_once():
    wants = seeker(topics=("JS", "JavaScript"))
    [match] = rank_mentors(wants, [mentor(topics=("JavaScript",))], Exclusions(), NOW)
    assert match.score == pytest.approx(0.8)


def test_mentors_without_a_wanted_topic_are_dropped():
    wants = seeker(topics=("Public speaking",))
    mentors = [
        mentor(member_id=10, topics=("Public policy", "Kubernetes")),
        mentor(member_id=11, topics=("Presenting",)),
        mentor(member_id=12, topics=()),
    ]
    assert ids(rank_mentors(wants, mentors, Exclusions(), NOW)) == [11]


def test_a_seeker_without_usable_topics_gets_no_matches():
    for topics in [(), ("!!",)]:
        assert rank_mentors(seeker(topics=topics), [mentor()], Exclusions(), NOW) == []


def test_excluded_mentors_are_dropped_and_only_they_are():
    mentors = [
        mentor(member_id=SEEKER_ID),
        mentor(member_id=10, paused_until=NOW + timedelta(days=3)),
        mentor(member_id=11, active_mentees=2),
        mentor(member_id=12),
        mentor(member_id=13),
        mentor(member_id=14),
        mentor(member_id=15, paused_until=NOW - timedelta(days=1), active_mentees=1),
        mentor(member_id=16),
    ]
    exclusions = Exclusions(
        partner_ids=frozenset({12}),
        blocked_ids=frozenset({13}),
        declined_at={14: NOW - timedelta(days=30), 16: NOW - timedelta(days=120)},
    )
    assert sorted(ids(rank_mentors(seeker(), mentors, exclusions, NOW))) == [15, 16]


def test_a_better_topic_match_outranks():
    wants = seeker(topics=("Public speaking", "Leadership"))
    both = mentor(member_id=10, name="Zed", topics=("Leading teams", "Presenting"))
    one = mentor(member_id=11, name="Ann", topics=("Leadership",))
    matches = rank_mentors(wants, [one, both], Exclusions(), NOW)
    assert ids(matches) == [10, 11]
    # 0.5 * 2/2 + 0.2 + 0.1 against 0.5 * 1/2 + 0.2 + 0.1.
    assert [m.score for m in matches] == pytest.approx([0.8, 0.55])


def test_goal_overlap_breaks_a_topic_tie():
    wants = seeker(goals="I want to speak at conferences")
    speaker = mentor(member_id=10, name="Zoe", experience="Speaks at conferences every year")
    other = mentor(member_id=11, name="Abe", background="Accountant")
    matches = rank_mentors(wants, [other, speaker], Exclusions(), NOW)
    assert ids(matches) == [10, 11]
    assert [m.score for m in matches] == pytest.approx([1.0, 0.8])


@pytest.mark.parametrize(
    ("now", "order", "overlaps"),
    [
        # Winter: Berlin and Lagos UTC+1 share the whole day, Sao Paulo (UTC-3) half of it,
        # Tokyo (UTC+9) none. Ada and Bea tie, so the name decides.
        (NOW, [20, 21, 22, 23], [8.0, 8.0, 4.0, 0.0]),
        # Summer: Berlin UTC+2 moves an hour away from Lagos and Sao Paulo, closer to Tokyo.
        (SUMMER, [21, 20, 22, 23], [8.0, 7.0, 3.0, 1.0]),
    ],
)
def test_working_hours_overlap_ranks_a_berlin_seekers_mentors(now, order, overlaps):
    mentors = [
        mentor(member_id=23, name="Taro", tz="Asia/Tokyo"),
        mentor(member_id=22, name="Caio", tz="America/Sao_Paulo"),
        mentor(member_id=21, name="Bea", tz="Europe/Berlin"),
        mentor(member_id=20, name="Ada", tz="Africa/Lagos"),
    ]
    matches = rank_mentors(seeker(tz="Europe/Berlin"), mentors, Exclusions(), now)
    assert ids(matches) == order
    assert [m.overlap_hours for m in matches] == pytest.approx(overlaps)
    # 0.5 topic + 0.1 free + 0.2 * overlap / 8.
    assert [m.score for m in matches] == pytest.approx([0.6 + 0.2 * h / 8 for h in overlaps])


def test_overlap_uses_the_seekers_local_date():
    # 20:30 on 29 March in New York, already 30 March in UTC, the day London moves its clocks:
    # on the seeker's 29th London is 09-17 UTC against New York's 13-21 UTC.
    now = datetime(2025, 3, 30, 0, 30, tzinfo=UTC)
    wants = seeker(tz="America/New_York")
    [match] = rank_mentors(wants, [mentor(tz="Europe/London")], Exclusions(), now)
    assert match.overlap_hours == pytest.approx(4.0)
    assert match.hours_apart == pytest.approx(4.0)


def test_a_mentor_with_an_unknown_zone_counts_as_utc():
    [match] = rank_mentors(seeker(), [mentor(tz="Moon/Base")], Exclusions(), NOW)
    assert match.hours_apart == pytest.approx(-1.0)
    assert match.overlap_hours == pytest.approx(7.0)


def test_free_capacity_share_counts():
    roomy = mentor(member_id=10, name="Zed", capacity=4, active_mentees=1)
    busy = mentor(member_id=11, name="Ann", capacity=2, active_mentees=1)
    matches = rank_mentors(seeker(), [busy, roomy], Exclusions(), NOW)
    assert ids(matches) == [10, 11]
    assert [m.free_slots for m in matches] == [3, 1]
    # 0.5 + 0.2 + 0.1 * 3/4 against 0.5 + 0.2 + 0.1 * 1/2.
    assert [m.score for m in matches] == pytest.approx([0.775, 0.75])


def test_equal_scores_go_to_the_mentor_with_fewer_mentees_first():
    # Both have half their places free, so their scores are equal.
    busier = mentor(member_id=10, name="Abe", capacity=4, active_mentees=2)
    quieter = mentor(member_id=11, name="Zara", capacity=2, active_mentees=1)
    matches = rank_mentors(seeker(), [busier, quieter], Exclusions(), NOW)
    assert ids(matches) == [11, 10]
    assert matches[0].score == pytest.approx(matches[1].score)


def test_then_name_then_member_id_decide():
    mentors = [
        mentor(member_id=40, name="bea"),
        mentor(member_id=31, name="Ada"),
        mentor(member_id=30, name="Ada"),
    ]
    assert ids(rank_mentors(seeker(), mentors, Exclusions(), NOW)) == [30, 31, 40]


def test_ranking_is_the_same_for_any_input_order():
    mentors = [
        mentor(member_id=10, name="Ada", tz="Asia/Tokyo"),
        mentor(member_id=11, name="Ada"),
        mentor(member_id=12, name="Ada"),
        mentor(member_id=13, name="Bo", capacity=4, active_mentees=2),
        mentor(member_id=14, name="Cy", capacity=2, active_mentees=1),
    ]
    results = {
        tuple(ids(rank_mentors(seeker(), list(order), Exclusions(), NOW)))
        for order in itertools.permutations(mentors)
    }
    assert results == {(11, 12, 14, 13, 10)}


# --- nearby_topics ---------------------------------------------------------------------------


def test_nearby_topics_best_first():
    offered = ["Public policy", "Speaking at conferences", "Kubernetes", "Storytelling"]
    offered.append("Public Speaker")
    # All three share a word with "public speaking"; spelling similarity orders them:
    # "public speaker" is nearly the same string, "public policy" shares its first word.
    assert nearby_topics(["Public speaking"], offered) == [
        "Public Speaker",
        "Public policy",
        "Speaking at conferences",
    ]
    assert nearby_topics(["Public speaking"], offered, limit=1) == ["Public Speaker"]
    assert nearby_topics(["Public speaking"], offered, limit=0) == []
    assert nearby_topics(["Public speaking"], offered, limit=-1) == []


def test_nearby_topics_by_spelling_alone():
    # "javascript" and "typescript" share "script": 2 * 6 / 20 = 0.6, just close enough;
    # "java" shares 4 letters: 2 * 4 / 14 < 0.6.
    assert nearby_topics(["JS"], ["Java", "TypeScript"]) == ["TypeScript"]


def test_nearby_topics_are_deduplicated_by_key_and_keep_the_first_name():
    offered = ["Public Speaker", "public speakers", "PUBLIC SPEAKER"]
    assert nearby_topics(["Public speaking"], offered) == ["Public Speaker"]


def test_nearby_topics_never_offer_what_was_asked():
    offered = ["Public speaking", "Presentations", "presenting!"]
    assert nearby_topics(["Presenting"], offered) == []


def test_nearby_topics_consider_every_wanted_topic():
    offered = ["Leadership coaching", "Career change"]
    wanted = ["Leading teams", "Career development"]
    # Both share a word with a wanted key (leadership, career); "leadership coaching" is
    # closer in spelling to "leadership" than "career change" to "career growth".
    assert nearby_topics(wanted, offered) == ["Leadership coaching", "Career change"]


@pytest.mark.parametrize(
    ("wanted", "offered"),
    [
        (["Public speaking"], ["Kubernetes", "Accounting", "Storytelling"]),
        # Sharing only a filler word is not closeness.
        (["History of art"], ["Theory of music"]),
        (["Public speaking"], []),
        ([], ["Public speaking"]),
    ],
)
def test_nothing_close_means_no_suggestions(wanted, offered):
    assert nearby_topics(wanted, offered) == []


# --- why a mentor is suggested: goal words and waking hours ----------------------------------


@pytest.mark.parametrize(
    ("goals", "text", "words"),
    [
        # As typed, first mention first, once per word; stop words never count.
        (
            "Give my first Conference talk; conferences scare me",
            "conference talks",
            ("Conference", "talk"),
        ),
        (
            "I want to get better at public speaking",
            "Public speaking coach",
            ("public", "speaking"),
        ),
        ("Learn Node.js and APIs", "nodejs api design", ("Nodejs", "APIs")),
        ("Grow into a staff engineer role", "Accountant", ()),
        ("", "anything", ()),
    ],
)
def test_goal_fit_names_the_goal_words_the_mentor_shares(goals, text, words):
    assert goal_fit(goals, text) == words


def test_goal_words_count_the_mentors_offered_topics_too():
    wants = seeker(goals="Get into machine learning at work")
    [match] = rank_mentors(
        wants, [mentor(topics=("Public speaking", "Machine learning"))], Exclusions(), NOW
    )
    assert match.goal_words == ("machine",)


@pytest.mark.parametrize(
    ("tz_seeker", "seeker_hours", "tz_mentor", "mentor_hours", "on", "spans"),
    [
        # Tokyo (UTC+9) and Lagos (UTC+1), both awake 08-20: Lagos' day is 16-04 in Tokyo.
        (
            "Asia/Tokyo",
            (time(8), time(20)),
            "Africa/Lagos",
            (time(8), time(20)),
            date(2026, 1, 14),
            ((time(16), time(20)),),
        ),
        # Sao Paulo (UTC-3) 08-20 is 20-08 in Tokyo: the days only touch.
        (
            "Asia/Tokyo",
            (time(8), time(20)),
            "America/Sao_Paulo",
            (time(8), time(20)),
            date(2026, 1, 14),
            (),
        ),
        # A night owl in Lagos, awake 18-06: 02-14 in Tokyo, the morning part shared.
        (
            "Asia/Tokyo",
            (time(8), time(20)),
            "Africa/Lagos",
            (time(18), time(6)),
            date(2026, 1, 14),
            ((time(8), time(14)),),
        ),
        # A long day in Lagos, 06-02 (14-10 in Tokyo), leaves a gap in Tokyo's day.
        (
            "Asia/Tokyo",
            (time(8), time(20)),
            "Africa/Lagos",
            (time(6), time(2)),
            date(2026, 1, 14),
            ((time(8), time(10)), (time(14), time(20))),
        ),
        # No quiet hours for either: the whole day.
        (
            "Europe/Berlin",
            (time(0), time(0)),
            "Asia/Tokyo",
            (time(0), time(0)),
            date(2026, 1, 14),
            ((time(0), time(0)),),
        ),
    ],
)
def test_awake_together_on_the_seekers_clock(
    tz_seeker, seeker_hours, tz_mentor, mentor_hours, on, spans
):
    assert awake_together(tz_seeker, seeker_hours, tz_mentor, mentor_hours, on) == spans


def test_each_persons_own_hours_rank_and_explain_the_match():
    wants = seeker(tz="Asia/Tokyo", hours=(time(8), time(20)))
    early = mentor(member_id=10, name="Early", tz="Africa/Lagos", hours=(time(8), time(20)))
    late = mentor(member_id=11, name="Late", tz="Africa/Lagos", hours=(time(12), time(22)))
    matches = rank_mentors(wants, [early, late], Exclusions(), NOW)
    # Late is awake 20-06 in Tokyo: nothing shared; Early 16-04: four of Kenji's twelve hours.
    assert ids(matches) == [10, 11]
    assert [m.both_awake for m in matches] == [((time(16), time(20)),), ()]
    assert matches[0].score == pytest.approx(0.5 + 0.1 + 0.2 * 4 / 12)
