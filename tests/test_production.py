"""Running it as an operator would: gunicorn, SIGTERM, migrations racing, bad config, quiet logs.

Every test here starts the real `python app.py` (or gunicorn) as a process against the Slack
stand-in on loopback and a database of its own.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlencode

import pytest
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, select

from app import JsonLines, TextLines
from bot.core.database import make_engine, make_session_factory
from bot.core.models import Base, OutboxMessage, OutboxStatus
from migrations import alembic_config
from sandbox import FakeSlack
from sandbox.driver import SlackDriver
from scheduler import DeliveryTally, summarise_deliveries
from scheduler.delivery import TickReport
from tests.conftest import BACKENDS, create_empty_database, drop_database

ROOT = Path(__file__).resolve().parent.parent
SECRET = "production-secret"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _env(slack: FakeSlack | None, database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_"))}
    env.update(
        SLACK_BOT_TOKEN=slack.bot_token if slack else "xoxb-unused",
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=slack.api_url if slack else "http://127.0.0.1:9/api/",
        DATABASE_URL=database_url,
        PORT=str(_free_port()),
        QUIET_HOURS="",
        DELIVERY_TICK_SECONDS="1",
        LOG_LEVEL="INFO",
        LOG_FORMAT="text",
    )
    env.update(extra)
    return env


def _start(env: dict[str, str], cwd: Path, *command: str) -> subprocess.Popen:
    process = subprocess.Popen(
        list(command) or [sys.executable, str(ROOT / "app.py")],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(process.communicate()[1])
        try:
            url = f"http://127.0.0.1:{env['PORT']}/healthz"
            with urllib.request.urlopen(url, timeout=1) as response:
                assert json.loads(response.read()) == {"ok": True}
                return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise AssertionError("the bot never answered /healthz")


def _stop(process: subprocess.Popen, within: float = 20) -> tuple[float, str]:
    """SIGTERM; how long the process took to exit, and what it logged."""
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=within)
    return time.monotonic() - started, stderr


def _wait_until(check, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def _people(slack: FakeSlack, count: int) -> list[str]:
    return [
        slack.add_user(f"person{n}", real_name=f"Person {n}", tz="Europe/Lisbon")
        for n in range(count)
    ]


# ------------------------------------------------------------------------ gunicorn


def test_two_gunicorn_workers_deliver_every_thank_you_note_exactly_once(database, tmp_path):
    with FakeSlack(SECRET) as slack:
        people = _people(slack, 12)
        env = _env(slack, database.url, WEB_CONCURRENCY="2", WEB_THREADS="4")
        bot = _start(env, tmp_path)
        try:
            workers = Path(f"/proc/{bot.pid}/task/{bot.pid}/children").read_text().split()
            assert len(workers) == 2
            driver = SlackDriver(slack, f"http://127.0.0.1:{env['PORT']}/slack/events", SECRET)
            for giver, receiver in zip(people, people[1:] + people[:1], strict=True):
                driver.command(giver, f"thanks <@{receiver}> Thank you from {giver}!")

            def all_sent() -> bool:
                with database.sessions.begin() as session:
                    statuses = session.scalars(select(OutboxMessage.status)).all()
                return len(statuses) == 12 and set(statuses) == {OutboxStatus.SENT}

            _wait_until(all_sent)
            time.sleep(2)  # both workers tick again: nothing more may go out
        finally:
            _, stderr = _stop(bot)
        assert bot.returncode == 0, stderr
        posts = slack.calls_to("chat.postMessage")
        assert len(posts) == 12
        for giver, receiver in zip(people, people[1:] + people[:1], strict=True):
            notes = [
                m
                for m in slack.history(slack.im_channel(receiver))
                if f"Thank you from {giver}!" in json.dumps(m)
            ]
            assert len(notes) == 1, receiver
        assert "Traceback" not in stderr


def _signed_command(slack: FakeSlack, user_id: str) -> bytes:
    body = urlencode(
        {
            "team_id": slack.team_id,
            "channel_id": slack.im_channel(user_id),
            "user_id": user_id,
            "user_name": "person0",
            "command": "/mentor",
            "text": "help",
            "api_app_id": slack.app_id,
            "response_url": slack.new_response_url(user_id, slack.im_channel(user_id)),
            "trigger_id": slack.issue_trigger(user_id),
        }
    ).encode()
    timestamp = str(int(time.time()))
    digest = hmac.new(SECRET.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256)
    head = (
        "POST /slack/events HTTP/1.1\r\nHost: bot\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(body)}\r\nX-Slack-Request-Timestamp: {timestamp}\r\n"
        f"X-Slack-Signature: v0={digest.hexdigest()}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


def test_sigterm_answers_the_request_in_flight_and_finishes_the_send(tmp_path):
    with FakeSlack(SECRET) as slack:
        amara, kenji = _people(slack, 2)
        env = _env(slack, f"sqlite:///{tmp_path / 'bot.db'}", WEB_GRACEFUL_TIMEOUT_SECONDS="10")
        bot = _start(env, tmp_path)
        driver = SlackDriver(slack, f"http://127.0.0.1:{env['PORT']}/slack/events", SECRET)
        # Slack is slow: the thank-you note is being posted when the stop comes.
        slack.fail_next("chat.postMessage", hang_seconds=3)
        driver.command(kenji, f"thanks <@{amara}> Thank you for the mock interview!")
        _wait_until(lambda: slack.calls_to("auth.test") and _posting(slack), timeout=10)
        # A request half sent when the stop comes: Kenji's next command.
        request = _signed_command(slack, kenji)
        connection = socket.create_connection(("127.0.0.1", int(env["PORT"])), timeout=15)
        connection.sendall(request[:-10])
        time.sleep(0.5)
        bot.send_signal(signal.SIGTERM)
        time.sleep(1)
        connection.sendall(request[-10:])
        answer = connection.recv(65536).decode()
        connection.close()
        started = time.monotonic()
        _, stderr = bot.communicate(timeout=15)
        took = time.monotonic() - started
    assert answer.startswith("HTTP/1.1 200"), answer
    assert bot.returncode == 0, stderr
    assert took < 10
    engine = make_engine(env["DATABASE_URL"])
    with make_session_factory(engine).begin() as session:
        note = session.scalars(select(OutboxMessage)).one()
        assert note.status == OutboxStatus.SENT
    engine.dispose()
    notes = [m for m in slack.history(slack.im_channel(amara)) if "mock interview" in str(m)]
    assert len(notes) == 1
    assert "Mentor Coach is stopping" in stderr and "Mentor Coach has stopped" in stderr


def _posting(slack: FakeSlack) -> bool:
    # The hanging post is not on record until it answers; the channel it goes to is opened first.
    return bool(slack.calls_to("conversations.open"))


def test_gunicorn_run_by_hand_with_the_wsgi_module_serves_delivers_and_stops(tmp_path):
    with FakeSlack(SECRET) as slack:
        amara, kenji = _people(slack, 2)
        env = _env(slack, f"sqlite:///{tmp_path / 'bot.db'}", PYTHONPATH=str(ROOT))
        gunicorn = [sys.executable, "-m", "gunicorn", "-c", "python:wsgi", "wsgi:application"]
        bot = _start(env, ROOT, *gunicorn)
        driver = SlackDriver(slack, f"http://127.0.0.1:{env['PORT']}/slack/events", SECRET)
        driver.command(kenji, f"thanks <@{amara}> Thanks for the reading list!")
        _wait_until(
            lambda: any("reading list" in str(m) for m in slack.history(slack.im_channel(amara)))
        )
        took, stderr = _stop(bot)
    assert bot.returncode == 0, stderr
    assert took < 10
    assert "Traceback" not in stderr


# ------------------------------------------------------------------------ migrations


@pytest.mark.parametrize("backend", BACKENDS)
def test_five_processes_upgrading_a_fresh_database_at_once_all_succeed(backend, tmp_path):
    url = create_empty_database(backend, tmp_path)
    try:
        env = _env(None, url)
        upgrades = [
            subprocess.Popen(
                [sys.executable, str(ROOT / "app.py"), "db", "upgrade"],
                cwd=tmp_path,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(5)
        ]
        results = [process.communicate(timeout=120) for process in upgrades]
        for process, (stdout, stderr) in zip(upgrades, results, strict=True):
            assert process.returncode == 0, stderr
            assert stdout == "Database is up to date.\n"
        # One process did the work and said so in one line; the others found nothing to do.
        said = [line for _, stderr in results for line in stderr.splitlines()]
        assert len(said) == 1 and "database schema upgraded from empty to" in said[0], said
        engine = make_engine(url)
        with engine.connect() as connection:
            head = ScriptDirectory.from_config(alembic_config()).get_current_head()
            assert MigrationContext.configure(connection).get_current_revision() == head
            tables = set(inspect(connection).get_table_names()) - {"alembic_version"}
        engine.dispose()
        assert tables == set(Base.metadata.tables)
    finally:
        drop_database(url)


# ------------------------------------------------------------------------ startup checks


def _run_app(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "app.py"), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_revoked_token_stops_the_start_in_one_line(tmp_path):
    with FakeSlack(SECRET) as slack:
        env = _env(slack, f"sqlite:///{tmp_path / 'bot.db'}", SLACK_BOT_TOKEN="xoxb-revoked-1")
        result = _run_app(env, tmp_path)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("Configuration error: SLACK_BOT_TOKEN was refused by Slack")
    assert "invalid_auth" in result.stderr
    assert "xoxb-revoked-1" not in result.stderr


def test_an_unreachable_slack_stops_the_start_in_one_line(tmp_path):
    env = _env(None, f"sqlite:///{tmp_path / 'bot.db'}", SLACK_API_URL="http://127.0.0.1:9/api/")
    result = _run_app(env, tmp_path)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("Configuration error: SLACK_API_URL")


@pytest.mark.parametrize("command", [[], ["db", "upgrade"], ["outbox"]])
@pytest.mark.parametrize(
    "url",
    ["postgresql://postgres@127.0.0.1:9/mentor", "sqlite:////nonexistent/folder/bot.db"],
)
def test_an_unreachable_database_stops_every_command_in_one_line(tmp_path, command, url):
    with FakeSlack(SECRET) as slack:
        result = _run_app(_env(slack, url), tmp_path, *command)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith(
        "Configuration error: DATABASE_URL names a database that did not answer ("
    )
    assert "Traceback" not in result.stderr


# ------------------------------------------------------------------------ logs


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_an_idle_bot_logs_only_its_start_and_stop(tmp_path, log_format):
    with FakeSlack(SECRET) as slack:
        env = _env(slack, f"sqlite:///{tmp_path / 'bot.db'}", LOG_FORMAT=log_format)
        bot = _start(env, tmp_path)
        time.sleep(3.5)  # three or four delivery ticks
        _, stderr = _stop(bot)
    assert bot.returncode == 0, stderr
    lines = stderr.splitlines()
    if log_format == "json":
        records = [json.loads(line) for line in lines]
        assert {"time", "level", "logger", "message", "pid"} <= set(records[0])
        messages = [record["message"] for record in records]
    else:
        messages = [line.split(": ", 1)[1] for line in lines]
    assert (
        messages[0]
        == "database schema upgraded from empty to "
        + ScriptDirectory.from_config(alembic_config()).get_current_head()
    )
    assert messages[1].startswith("Mentor Coach is listening on port")
    assert messages[2].startswith("Mentor Coach is stopping (worker ")
    assert messages[3] == "Mentor Coach has stopped"
    assert len(messages) == 4, messages


def _record(message: str, *args: object, **fields: object) -> logging.LogRecord:
    try:
        raise RuntimeError("Slack said no to xoxb-12345-secret")
    except RuntimeError:
        record = logging.LogRecord(
            "scheduler", logging.WARNING, __file__, 1, message, args, sys.exc_info()
        )
    record.__dict__.update(fields)
    return record


def test_tokens_are_redacted_in_both_log_formats():
    record = _record("posting with %s", "xoxb-12345-secret", outbox_id=7)
    text = TextLines().format(record)
    assert "xoxb-12345-secret" not in text and "posting with [redacted]" in text
    assert "Slack said no to [redacted]" in text
    line = JsonLines().format(_record("posting with %s", "xapp-1-A-secret", outbox_id=7))
    fields = json.loads(line)
    assert "secret" not in line
    assert fields["message"] == "posting with [redacted]"
    assert fields["outbox_id"] == 7
    assert fields["level"] == "WARNING" and fields["logger"] == "scheduler"
    assert "Slack said no to [redacted]" in fields["error"]


def test_the_delivery_summary_is_one_line_and_only_when_something_happened(database, caplog):
    tally = DeliveryTally()
    caplog.set_level(logging.INFO, logger="scheduler")
    tally.add(TickReport())
    summarise_deliveries(tally, database.sessions)
    assert caplog.records == []
    tally.add(TickReport(claimed=5, sent=3, failed=1, retried=1))
    tally.add(TickReport(claimed=2, sent=2))
    summarise_deliveries(tally, database.sessions)
    (line,) = caplog.records
    assert line.getMessage() == (
        "deliveries in the last 15 minutes: delivered 5, failed 1, retried 1; 0 pending"
    )
    assert (line.delivered, line.failed, line.pending) == (5, 1, 0)
    summarise_deliveries(tally, database.sessions)
    assert len(caplog.records) == 1
