"""Scale-out, small: three `python app.py` processes, one database, one Slack, three workspaces."""

from __future__ import annotations

import io

import pytest
from slack_sdk import WebClient

from benchmarks.harness import Database
from benchmarks.scaleout import Options, Report, build_world, count, marker, run
from sandbox import FakeSlack
from tests.conftest import BACKENDS

# PostgreSQL, as a deployment of several processes would run; SQLite when the suite has no other.
BACKEND = "postgresql" if "postgresql" in BACKENDS else BACKENDS[0]


def test_three_processes_serve_three_workspaces_every_message_once_every_answer_right(
    database: Database,
):
    if database.backend != BACKEND:
        pytest.skip(f"the scale-out runs on {BACKEND} only")
    out = io.StringIO()
    report = run(Options(members=18, database=BACKEND), out, database)
    printed = out.getvalue()
    assert report.ok, printed
    # 6 people a workspace: 3 mentors of one topic and 3 mentees, each with 4 messages on the
    # way and 6 answers to check (a mentor's only answer is their saved profile).
    assert (report.expected, report.delivered, report.duplicated, report.lost) == (36, 36, 0, 0)
    assert report.answers == report.answers_right == 9 + 9 * 6
    assert "answered per process 39 / 39 / 39" in printed
    assert printed.splitlines()[-1].startswith("scale-out OK: 117 requests over 3 processes")


def test_the_count_catches_a_duplicate_a_loss_a_stray_token_and_a_stranger():
    """The checks themselves, on a sandbox where things went wrong on purpose."""
    with FakeSlack("secret") as slack:
        world = build_world(slack, Options(members=8, workspaces=2))
        first, second = world.journeys[0], world.journeys[-1]
        assert first.mentee.team_id != second.mentee.team_id
        own = WebClient(token=slack.token_for(first.mentor.team_id), base_url=slack.api_url)
        other = WebClient(token=slack.token_for(second.mentor.team_id), base_url=slack.api_url)
        for _ in range(2):  # the intro request twice
            own.chat_postMessage(channel=first.mentor.user_id, text=marker("intro", first.ref))
        # A thank-you naming someone of the other workspace; and a post into the other
        # workspace with this one's token, which Slack refuses.
        own.chat_postMessage(
            channel=first.mentor.user_id, text=f"{marker('thanks', first.ref)} {second.mentor.name}"
        )
        with pytest.raises(Exception, match="channel_not_found"):
            own.chat_postMessage(channel=second.mentor.user_id, text="hello")
        other.chat_postMessage(channel=second.mentor.user_id, text=marker("thanks", second.ref))
        report = Report()
        count(slack, world, {}, report)
    journeys = len(world.journeys)
    assert (report.expected, report.delivered) == (4 * journeys, 3)
    assert (report.duplicated, report.refused, report.crossed) == (1, 1, 1)
    assert report.lost == 4 * journeys - 3 and not report.ok
