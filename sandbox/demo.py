"""`python app.py demo`: the real bot on a local Slack and a temporary database, playing a story."""

from __future__ import annotations

import logging
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from bot import ids
from bot.settings import Settings
from sandbox.clock import ManualClock
from sandbox.driver import SlackDriver
from sandbox.settle import TrackingExecutor
from sandbox.slack_api import FakeSlack
from sandbox.transcript import render_timeline

SIGNING_SECRET = "demo-signing-secret"
DEMO_START = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)

PEOPLE = [
    ("Amara", "Amara Okafor", "Africa/Lagos", "a product lead who loves public speaking"),
    ("Kenji", "Kenji Watanabe", "Asia/Tokyo", "an engineer preparing his first conference talk"),
    ("Lucía", "Lucía Fernández", "America/Sao_Paulo", "a designer curious about the bot"),
]


def run_demo(out: TextIO = sys.stdout) -> int:
    """Start everything on loopback, play the scenario, print what each person saw."""
    import app as wiring

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    with tempfile.TemporaryDirectory(prefix="mentor-coach-demo-") as folder:
        database_url = f"sqlite:///{Path(folder) / 'demo.db'}"
        executor = TrackingExecutor(max_workers=4)
        with FakeSlack(SIGNING_SECRET) as slack:
            settings = Settings(
                slack_bot_token=slack.bot_token,
                slack_signing_secret=SIGNING_SECRET,
                slack_api_url=slack.api_url,
                database_url=database_url,
            )
            engine, sessions = wiring.open_database(settings)
            clock = ManualClock(DEMO_START)
            bot = wiring.create_app(settings, sessions, listener_executor=executor, clock=clock)
            server = wiring.serve_http(bot, engine, 0, host="127.0.0.1")
            events_url = f"http://127.0.0.1:{server.server_port}{wiring.EVENTS_PATH}"
            driver = SlackDriver(slack, events_url, SIGNING_SECRET, settle=executor.wait_idle)
            try:
                people = {
                    name: slack.add_user(name, real_name=real_name, tz=tz)
                    for name, real_name, tz, _ in PEOPLE
                }
                play(driver, people)
                _print_story(out, events_url, slack)
            finally:
                server.shutdown()
                server.server_close()
                executor.shutdown(wait=True)
                engine.dispose()
    return 0


def play(driver: SlackDriver, people: dict[str, str]) -> None:
    """The story so far: help, a mentee's profile (with a slip), a mentor's profile from Home."""
    kenji, amara, lucia = people["Kenji"], people["Amara"], people["Lucía"]

    driver.command(kenji, "")
    driver.command(kenji, "profile")
    driver.submit(kenji, {ids.PROFILE_ROLES_ACTION: [], ids.PROFILE_CAPACITY_ACTION: "0"})
    driver.submit(
        kenji,
        {
            ids.PROFILE_ROLES_ACTION: [ids.ROLE_MENTEE],
            ids.PROFILE_SOUGHT_ACTION: "Public speaking, leading meetings, public speaking",
            ids.PROFILE_GOALS_ACTION: "Give my first conference talk next spring without "
            "freezing up, and run calmer team meetings.",
            ids.PROFILE_BACKGROUND_ACTION: "Backend engineer, four years at the company.",
            ids.PROFILE_CAPACITY_ACTION: "2",
        },
    )

    driver.open_home(amara)
    driver.click(amara, text="Set up my profile")
    driver.submit(
        amara,
        {
            ids.PROFILE_ROLES_ACTION: [ids.ROLE_MENTOR],
            ids.PROFILE_OFFERED_ACTION: "Public speaking, storytelling, career growth",
            ids.PROFILE_BACKGROUND_ACTION: "Product lead; twelve years from support to "
            "product, and a regular conference speaker.",
            ids.PROFILE_EXPERIENCE_ACTION: "Coached thirty first-time speakers; runs the "
            "internal talks series.",
            ids.PROFILE_CAPACITY_ACTION: "3",
        },
    )

    driver.command(lucia, "mentor-me")
    driver.dm(lucia, "Hi! What can you do?")


def _print_story(out: TextIO, events_url: str, slack: FakeSlack) -> None:
    out.write("Mentor Coach demo\n=================\n")
    out.write(f"The real bot is serving {events_url}; Slack is a local stand-in.\n")
    out.write("People:\n")
    for name, real_name, tz, about in PEOPLE:
        out.write(f"  {name} ({real_name}, {tz}): {about}\n")
    out.write("\n")
    out.write(render_timeline(slack.timeline))
    out.write("\nThe demo is over: everything above went through Slack-shaped HTTP calls.\n")
