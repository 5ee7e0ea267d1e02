"""`python app.py playground` in a real browser: three people walk Find -> Prepare -> Respect.

Playwright (from PyPI) drives Debian's headless Chromium at /usr/bin/chromium; nothing is
downloaded. The test runs on SQLite only: the page, its rendering and its escaping are what
it checks, and the bot's behaviour on PostgreSQL is covered by every other end-to-end test;
a second browser walk would double the suite's slowest test for no new coverage.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

import app
from sandbox.playground import Playground, PlaygroundServer

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
HOSTILE = "<img src=x onerror=alert(1)><script>window.pwned=1</script>"
BOLD = "*<b>bold</b>*"

if not CHROMIUM.exists() and os.environ.get("CI") != "true":
    pytest.skip(
        "Debian's chromium is not installed at /usr/bin/chromium "
        "(apt-get install -y chromium); .ci/run installs it",
        allow_module_level=True,
    )

from playwright.sync_api import Locator, Page, expect, sync_playwright  # noqa: E402


@pytest.fixture
def playground(tmp_path: Path) -> Iterator[tuple[Playground, str]]:
    with Playground(app, f"sqlite:///{tmp_path / 'playground.db'}") as world:
        server = PlaygroundServer(world, "127.0.0.1", 0)
        server.serve_in_background()
        try:
            yield world, server.url
        finally:
            server.shutdown()
            server.server_close()


@pytest.fixture
def page(tmp_path: Path, playground: tuple[Playground, str]) -> Iterator[Page]:
    _, url = playground
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1500, "height": 950},
        )
        try:
            tab = context.pages[0] if context.pages else context.new_page()
            # Generous waits: the suite shares two cores with everything else it runs.
            tab.set_default_timeout(15_000)
            expect.set_options(timeout=15_000)
            tab.goto(url)
            yield tab
        finally:
            context.close()


class Person:
    """One column of the page, played by clicking and typing."""

    def __init__(self, page: Page, key: str) -> None:
        self.page, self.column = page, page.locator(f"#{key}")

    def tab(self, name: str) -> Locator:
        self.column.locator(f".tab[data-tab={name}]").click()
        return self.column.locator(f".panel[data-panel={name}]")

    def say(self, text: str) -> None:
        with self.page.expect_response("**/api/act"):
            self.column.locator(".composer input").fill(text)
            self.column.locator(".composer input").press("Enter")

    def click(self, label: str, *, tab: str = "messages", beside: str | None = None) -> None:
        """Click the button in the newest message that has it (in the block naming `beside`)."""
        panel = self.tab(tab)
        where = panel if beside is None else panel.locator(".b-section", has_text=beside)
        button = where.locator("[data-act=click]", has_text=label).last
        with self.page.expect_response("**/api/act"):
            button.click()

    @property
    def modal(self) -> Locator:
        return self.column.locator("form.modal")

    def submit(self) -> None:
        with self.page.expect_response("**/api/act"):
            self.modal.locator("footer .btn-primary").click()

    def sees(self, text: str, *, tab: str = "messages") -> Locator:
        panel = self.tab(tab)
        expect(panel).to_contain_text(text)
        return panel


def jump(page: Page, moment: str) -> None:
    button = page.locator("#clock [data-act=jump]")
    expect(button).to_contain_text(moment)
    with page.expect_response("**/api/jump"):
        button.click()


def test_three_people_walk_the_whole_cycle_in_a_browser(page: Page, tmp_path: Path) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    kenji, amara, lucia = (Person(page, key) for key in ("kenji", "amara", "lucia"))
    shots = tmp_path / "screenshots"

    # Find: Kenji says what he wants (hostile text included) and asks Amara for an intro.
    kenji.say("/mentor find public speaking")
    expect(kenji.modal).to_contain_text("What do you want?")
    kenji.submit()  # empty: Slack's own client refuses, and says why
    expect(kenji.column.locator(".notice")).to_contain_text("is required")
    kenji.modal.get_by_label("What do you want to learn").fill(
        f"Give my first talk without freezing {HOSTILE} {BOLD}"
    )
    kenji.submit()
    results = kenji.sees("Mentors for public speaking")
    expect(results.locator(".ephemeral", has_text="Amara")).to_contain_text("Only visible to you")
    kenji.click("Ask for an intro", beside="Amara")
    kenji.modal.get_by_label("Your note").fill("Your talk stuck with me. Help with my story?")
    kenji.submit()
    expect(kenji.modal).to_have_count(0)

    request = amara.sees("Kenji")
    expect(request).to_contain_text(f"without freezing {HOSTILE} <b>bold</b>")
    expect(request.locator("strong", has_text="<b>bold</b>")).to_have_count(1)
    messages = request.locator("article").count()
    amara.click("Accept")
    # The request is updated in place: the same message now says what she decided.
    expect(request.locator("article").last).to_contain_text("You accepted Kenji's request")
    expect(request.locator("article")).to_have_count(messages)
    expect(request.locator("[data-act=click]", has_text="Accept")).to_have_count(0)
    amara.sees("Kenji", tab="groups")
    kenji.sees("Amara", tab="groups")
    amara.sees("Kenji", tab="home")  # opening the tab sends app_home_opened
    page.screenshot(path=shots / "1-find.png")

    # Prepare: Kenji books the session on his own clock; prompts and agenda reach both.
    kenji.click("Schedule our first session", tab="groups")
    expect(kenji.modal).to_contain_text("Schedule a session")
    kenji.modal.locator("input[type=datetime-local]").fill("2026-12-02T17:00")
    kenji.modal.get_by_label("How long").select_option(label="60 minutes")
    kenji.modal.get_by_label("Topic (optional)").fill("The story of my talk")
    kenji.submit()  # 17:00 in Tokyo is 09:00 in Lagos: no warning about the hour
    expect(kenji.modal).to_have_count(0)

    jump(page, "prep prompt")
    amara.sees("questions")
    kenji.say(f"How do I open the talk? {HOSTILE} {BOLD}")
    jump(page, "agenda")
    agenda = amara.sees("How do I open the talk?", tab="groups")
    expect(agenda).to_contain_text(f"{HOSTILE} <b>bold</b>")
    expect(agenda).to_contain_text("(60 min)")
    page.screenshot(path=shots / "2-prepare.png")

    # Respect: the check-in, the advice he will apply, thanks, a success shared in #wins.
    jump(page, "check-in")
    kenji.click("Yes")
    kenji.modal.locator("textarea").first.fill("Open with the story, not the diagram")
    kenji.submit()
    kenji.click("Thank Amara")
    kenji.modal.locator("textarea").first.fill("Thank you for today!")
    kenji.submit()
    amara.sees("Thank you for today!")

    jump(page, "follow-up")
    kenji.click("It worked")
    kenji.click("Share a success")
    kenji.modal.get_by_label("What happened?").fill("Nobody looked at their phone in my talk")
    kenji.modal.get_by_label("My mentor, then #wins").check()
    kenji.submit()
    amara.sees("Nobody looked at their phone")
    jump(page, "success post")
    lucia.sees("Nobody looked at their phone", tab="channel")
    lucia.sees("Amara", tab="channel")

    # Re-frame: Kenji offers to mentor too (checkboxes and a number in the form).
    kenji.click("Become a mentor")
    kenji.modal.get_by_label("I'd like to mentor others").check()
    kenji.modal.get_by_label("Topics you can help with").fill("python, database migrations")
    kenji.modal.get_by_label("How many mentees can you take at once?").fill("1")
    kenji.submit()
    expect(kenji.sees("Profile saved")).to_contain_text("You can help with: database migrations")
    expect(kenji.column.locator(".notice")).to_be_hidden()

    # The admin's view of the program.
    lucia.say("/mentor admin")
    expect(lucia.sees("Your mentoring program at a glance")).to_contain_text("Successes shared")
    page.screenshot(path=shots / "3-respect.png")

    # Nothing anyone typed became markup: no dialog, no element, no script ran.
    assert dialogs == []
    assert page.evaluate("window.pwned") is None
    assert page.locator(".panel img, .panel script, .panel b").count() == 0
    assert re.search(r"<img src=x", page.locator("#amara").inner_text())
