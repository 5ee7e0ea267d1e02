"""`python app.py demo`: the real bot on a local Slack and a temporary database, playing a story."""

from __future__ import annotations

import bisect
import logging
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, TextIO

from sandbox.clock import ManualClock
from sandbox.driver import SlackDriver
from sandbox.settle import TrackingExecutor
from sandbox.slack_api import FakeSlack
from sandbox.transcript import render_timeline

if TYPE_CHECKING:
    from scheduler.delivery import Deliverer

SIGNING_SECRET = "demo-signing-secret"
DEMO_START = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)

PEOPLE = [
    ("Amara", "Amara Okafor", "Africa/Lagos", "a product lead and conference speaker"),
    ("Kenji", "Kenji Watanabe", "Asia/Tokyo", "an engineer preparing his first conference talk"),
    ("Lucía", "Lucía Fernández", "America/Sao_Paulo", "a design lead who mentors on presenting"),
]


def run_demo(wiring: ModuleType, out: TextIO = sys.stdout) -> int:
    """Start everything on loopback, play the scenario, print what each person saw.

    `wiring` is app.py, handed in so that the sandbox never imports the app back.
    """
    from scheduler.delivery import Deliverer, make_delivery_client

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    with tempfile.TemporaryDirectory(prefix="mentor-coach-demo-") as folder:
        database_url = f"sqlite:///{Path(folder) / 'demo.db'}"
        executor = TrackingExecutor(max_workers=4)
        with FakeSlack(SIGNING_SECRET) as slack:
            settings = wiring.Settings(
                slack_bot_token=slack.bot_token,
                slack_signing_secret=SIGNING_SECRET,
                slack_api_url=slack.api_url,
                database_url=database_url,
                success_channel="#wins",
            )
            engine, sessions = wiring.open_database(settings)
            clock = ManualClock(DEMO_START)
            bot = wiring.create_app(settings, sessions, listener_executor=executor, clock=clock)
            server = wiring.serve_http(bot, engine, 0, host="127.0.0.1")
            events_url = f"http://127.0.0.1:{server.server_port}{wiring.EVENTS_PATH}"
            driver = SlackDriver(slack, events_url, SIGNING_SECRET, settle=executor.wait_idle)
            deliverer = Deliverer(settings, sessions, make_delivery_client(settings), clock)
            try:
                people = {
                    name: slack.add_user(name, real_name=real_name, tz=tz)
                    for name, real_name, tz, _ in PEOPLE
                }
                slack.add_channel("wins", members=[slack.bot_user_id, *people.values()])
                story = Story(driver, slack, deliverer, clock)
                play(story, people)
                _print_story(out, events_url, slack, story, people)
            finally:
                server.shutdown()
                server.server_close()
                executor.shutdown(wait=True)
                engine.dispose()
    return 0


class Story:
    """The driver and the delivery tick, run by hand so that the story reads in order."""

    def __init__(
        self, driver: SlackDriver, slack: FakeSlack, deliverer: Deliverer, clock: ManualClock
    ) -> None:
        self.driver, self.slack, self.deliverer, self.clock = driver, slack, deliverer, clock
        # (wall-clock time, story time) at each jump, so the transcript can tell what "today"
        # was for a reader when they saw something.
        self._jumps: list[tuple[float, datetime]] = [(time.time(), clock())]

    def moment(self, at: float) -> datetime:
        """The story's time when the wall clock read `at` (a timeline entry's time)."""
        index = bisect.bisect_right([wall for wall, _ in self._jumps], at) - 1
        return self._jumps[max(index, 0)][1]

    def tick(self) -> None:
        self.slack.narrate("the delivery tick sends what is due")
        self.deliverer.run_due()

    def wait_until(self, moment: datetime, what: str) -> None:
        self.clock.advance(moment - self.clock())
        self._jumps.append((time.time(), moment))
        self.slack.narrate(f"time passes: it is now {moment:%a %d %b %H:%M} UTC, {what}")
        self.tick()


def play(story: Story, people: dict[str, str]) -> None:
    """Profiles; Find: Kenji asks Amara, she accepts; Prepare: a session, prompts, an agenda."""
    driver = story.driver
    kenji, amara, lucia = people["Kenji"], people["Amara"], people["Lucía"]

    driver.command(kenji, "")

    driver.open_home(amara)
    driver.click(amara, text="Set up my profile")
    driver.submit(
        amara,
        {
            "What are you here for?": ["I'd like to mentor others"],
            "Topics you can help with (mentors)": "Public speaking, storytelling, career growth",
            "Your background": (
                "Product lead; twelve years from support to "
                "product, and a regular conference speaker."
            ),
            "Experience worth sharing": (
                "Coached thirty first-time conference speakers; runs the internal talks series."
            ),
            "How many mentees can you take at once? (mentors)": "3",
        },
    )
    driver.command(lucia, "profile")
    driver.submit(
        lucia,
        {
            "What are you here for?": ["I'd like to mentor others"],
            "Topics you can help with (mentors)": "Presentations, design critique",
            "Your background": (
                "Design lead in São Paulo; teaches a workshop on presenting design work."
            ),
            "How many mentees can you take at once? (mentors)": "2",
        },
    )

    driver.command(kenji, "find public speaking")
    driver.submit(kenji, {"What do you want to learn or get better at, and why?": ""})
    driver.submit(
        kenji,
        {
            "What do you want to learn or get better at, and why?": (
                "Give my first conference talk next spring without freezing up, "
                "and tell the story of our migration so people remember it."
            ),
        },
    )
    # Kenji asks the mentor ranked first.
    results = story.slack.seen(kenji)[-1].blocks
    first = next(b["accessory"]["value"] for b in results if "accessory" in b)
    driver.click(kenji, text="Ask for an intro", value=first)
    driver.submit(
        kenji,
        {
            "Your note": (
                "Your talk on the support-to-product journey stuck with me. "
                "I'm giving my first conference talk in April and would love help with the story "
                "and with nerves."
            ),
        },
    )
    story.tick()
    driver.click(amara, text="Accept")
    story.tick()
    driver.command(kenji, "mentors")

    # Prepare. Kenji's first pick is 02:00 for Amara: the bot warns, and he picks again.
    driver.click(kenji, text="Schedule our first session")
    driver.submit(kenji)
    session_at = DEMO_START.replace(day=2, month=12, hour=8)
    driver.submit(
        kenji,
        {
            "When": int(session_at.timestamp()),
            "Topic (optional)": "The story of my talk",
        },
    )
    story.tick()
    story.wait_until(session_at - timedelta(days=1), "a day before the session")
    driver.dm(kenji, "How do I open the talk so people care in the first minute?")
    driver.dm(kenji, "What do you do with your hands when you're nervous?")
    story.wait_until(session_at - timedelta(hours=1), "an hour before the session")

    # Respect: after the session, the check-in, the advice to apply, thanks both ways.
    story.wait_until(session_at + timedelta(minutes=90), "an hour after the session ended")
    driver.click(kenji, text="Yes")
    driver.submit(
        kenji,
        {
            "What advice from * will you put into practice?": (
                "Open with the migration story, not the architecture diagram\n"
                "Practise the first minute out loud every day"
            ),
        },
    )
    driver.click(kenji, text="Thank Amara")
    driver.submit(
        kenji,
        {
            "Your note to *": (
                "Thank you for today. The idea of opening with the "
                "story instead of the diagram changed how I see the whole talk."
            )
        },
    )
    driver.click(amara, text="Yes")
    driver.click(amara, text="Leave a note for Kenji")
    driver.submit(
        amara,
        {"Your note or follow-up for *": "Record yourself once this week and watch it back."},
    )
    story.tick()

    # A week later: how did applying it go? A success, shared with Amara first, then #wins.
    story.wait_until(session_at + timedelta(days=7, minutes=90), "a week later")
    driver.click(kenji, text="It worked")
    driver.click(kenji, text="Share a success")
    driver.submit(
        kenji,
        {
            "What happened?": (
                "I gave a trial run of my talk to the team and nobody "
                "looked at their phone. The story opening worked!"
            ),
            "Who should hear about it?": "public",
        },
    )
    story.tick()
    story.wait_until(story.clock() + timedelta(minutes=1), "a minute later")

    # Re-frame: Kenji's first success brings an invitation to mentor someone too.
    driver.click(kenji, text="Become a mentor")
    driver.submit(
        kenji,
        {
            "Topics you can help with (mentors)": "python, database migrations",
            "Your background": "Backend engineer; gave my first talk this spring.",
            "How many mentees can you take at once? (mentors)": "1",
        },
    )

    driver.command(lucia, "mentor-me")
    driver.dm(lucia, "Hi! What can you do?")


def _print_story(
    out: TextIO, events_url: str, slack: FakeSlack, story: Story, people: dict[str, str]
) -> None:
    out.write("Mentor Coach demo\n=================\n")
    out.write(f"The real bot is serving {events_url}; Slack is a local stand-in.\n")
    out.write("People:\n")
    for name, real_name, tz, about in PEOPLE:
        out.write(f"  {name} ({real_name}, {tz}): {about}\n")
    out.write("\n")
    # Each person reads every date on their own clock, as Slack shows them.
    zones = {people[name]: tz for name, _, tz, _ in PEOPLE}
    timeline = render_timeline(
        slack.timeline, names=slack.display_names(), zones=zones, clock=story.moment
    )
    out.write(timeline)
    out.write("\nThe demo is over: everything above went through Slack-shaped HTTP calls.\n")
