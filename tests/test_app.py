"""`python app.py` as a process: HTTP mode end to end, the demo (Socket Mode: test_socket_mode)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from app import RedactTokens
from sandbox import FakeSlack

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for_health(url: str, process: subprocess.Popen, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                return json.loads(response.read())
        except OSError:
            time.sleep(0.1)
    raise AssertionError("the bot never answered /healthz")


def test_http_mode_serves_health_and_stops_cleanly_on_sigterm(tmp_path):
    port = _free_port()
    with FakeSlack("secret") as slack:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("SLACK_")},
            "SLACK_BOT_TOKEN": slack.bot_token,
            "SLACK_SIGNING_SECRET": "secret",
            "SLACK_API_URL": slack.api_url,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
            "PORT": str(port),
            "LOG_LEVEL": "DEBUG",
        }
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "app.py")],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert _wait_for_health(f"http://127.0.0.1:{port}/healthz", process) == {"ok": True}
            assert [call.method for call in slack.calls][:1] == ["auth.test"]
        finally:
            process.send_signal(signal.SIGTERM)
            _, stderr = process.communicate(timeout=20)
    assert process.returncode == 0, stderr
    assert "Mentor Coach is stopping" in stderr
    assert slack.bot_token not in stderr
    assert (tmp_path / "bot.db").exists()


def test_tokens_are_redacted_from_log_lines():
    import logging

    record = logging.LogRecord(
        "x", logging.INFO, __file__, 1, "token %s and %s", ("xoxb-123-abc", "xapp-1-A-2"), None
    )
    RedactTokens().filter(record)
    assert record.getMessage() == "token [redacted] and [redacted]"


def test_demo_prints_the_transcript_and_exits_0(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_"))}
    result = subprocess.run(
        [sys.executable, str(ROOT / "app.py"), "demo"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    story = result.stdout
    for expected in (
        "Kenji typed: /mentor",
        "`/mentor profile`",
        "Amara clicked [Set up my profile]",
        "You can help with:* career growth, Public speaking, storytelling",
        "Profile saved",
        "Kenji typed: /mentor find public speaking",
        "! A sentence or two is enough",
        "*Amara* · offers Public speaking",
        "8 h behind you) · 3 free slots [Ask for an intro]",
        "*Lucía* · offers Presentations",
        "Your request is on its way to *Amara*",
        "Mentor Coach -> Amara (DM):\n    *@Kenji would like you as a mentor.*",
        "You accepted Kenji's request",
        "Mentor Coach -> Amara, Kenji (group DM):\n    :wave: @Amara, meet @Kenji.",
        "[Schedule our first session]",
        "*Your mentors*\n    • @Amara",
        "Heads up: that's 02:00 for Amara (Africa/Lagos)",
        # What each person entered, and every date on the reader's own clock, as Slack shows it.
        'Amara submitted "Your mentoring profile":\n'
        "    What are you here for?: [ ] I'd like a mentor  [x] I'd like to mentor others",
        'Kenji submitted "Schedule a session":\n    When: 2026-12-02 17:00\n',
        "Amara (group DM):\n    :calendar: Your session is booked for Dec 2, 2026 at 09:00",
        "Kenji (group DM):\n    :calendar: Your session is booked for Dec 2, 2026 at 17:00",
        "Getting ready for your session with Amara* on Tomorrow at 17:00 (30 min).",
        "Mentor Coach -> Amara (DM):\n    :memo: *Getting ready for your session with Kenji*",
        "Mentor Coach -> Kenji (DM):\n    :memo: *Getting ready for your session with Amara*",
        "*Experience:* Coached thirty first-time conference speakers",
        "You have 2 items so far.",
        "*From Kenji:*\n    • How do I open the talk so people care in the first minute?",
        "How was your session with Amara on Today at 17:00? Did it happen?",
        "Saved. I'll ask you in a week how applying these 2 things went.",
        "Mentor Coach -> Amara (DM):\n    :sparkles: *@Kenji sent you a thank-you note:*",
        ":speech_balloon: *A note from your mentor @Amara:*",
        "A week ago you planned to apply:\n    • Open with the migration story",
        "Mentor Coach -> Amara (DM):\n    :tada: *@Kenji had a win, and credits you:*",
        "(#wins):\n    :trophy: *A win from @Kenji*, with thanks to their mentor @Amara",
        ":seedling: Congratulations on your win!",
        "You're signed up as a mentee and a mentor.",
        "I don't know `/mentor mentor-me`",
        "type `/mentor help`",
    ):
        assert expected in story, f"{expected!r} missing from the demo:\n{story}"
    assert "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []  # the demo's database was temporary
