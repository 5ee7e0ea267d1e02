"""The reliability benchmark, small: faults, slow Slack and SIGKILLs lose and double nothing."""

from __future__ import annotations

import io
from dataclasses import replace

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from benchmarks.reliability import Options, main, run
from sandbox import FakeSlack
from sandbox.chaos import Chaos
from tests.conftest import BACKENDS

# PostgreSQL when the suite runs on it (as production would), else SQLite; one is enough in CI.
BACKEND = "postgresql" if "postgresql" in BACKENDS else BACKENDS[0]
# Time runs 24x faster in the bot and the stand-in: the 2-minute lease is 5 seconds. The hostile
# catalogue has its own test.
SMALL = Options(
    messages=150,
    kills=3,
    processes=2,
    database=BACKEND,
    time_scale=24,
    spread_seconds=5,
    hostile=False,
)


def _client(slack: FakeSlack, timeout: float = 5) -> WebClient:
    return WebClient(
        token=slack.bot_token, base_url=slack.api_url, timeout=timeout, retry_handlers=[]
    )


def test_chaos_injects_each_fault_and_a_timeout_still_posts():
    chaos = Chaos(seed=3, rate=1.0, client_timeout=0.2)
    with FakeSlack("secret") as slack:
        slack.chaos = chaos
        kenji = slack.add_user("Kenji", real_name="Kenji W", tz="Asia/Tokyo")
        client = _client(slack, timeout=0.2)
        outcomes = []
        for n in range(12):
            try:
                client.chat_postMessage(channel=kenji, text=f"note {n}")
                outcomes.append("ok")
            except SlackApiError as error:
                status = error.response.status_code
                retry_after = error.response.headers.get("Retry-After")
                outcomes.append(f"{status} retry after {retry_after}" if retry_after else status)
            except TimeoutError:
                outcomes.append("timeout")
        # users.info is not a delivery call: untouched.
        assert client.users_info(user=kenji)["ok"]
        posted = [m["text"] for m in slack.history(kenji)]
    assert set(outcomes) == {"429 retry after 1", 500, "timeout"}
    assert chaos.total == 12 and sum(1 for o in outcomes if o == "timeout") == len(posted)
    assert chaos.describe().startswith("12 (")


def test_chaos_is_quiet_at_rate_zero_and_slows_posts_when_asked():
    with FakeSlack("secret") as slack:
        slack.chaos = Chaos(seed=3, rate=0.0, slow_post_seconds=0.3)
        kenji = slack.add_user("Kenji", real_name="Kenji W", tz="Asia/Tokyo")
        client = _client(slack)
        with pytest.raises(TimeoutError):
            _client(slack, timeout=0.1).chat_postMessage(channel=kenji, text="slow")
        assert client.chat_postMessage(channel=kenji, text="patient")["ok"]
        assert slack.chaos.total == 0


def test_faults_and_kills_lose_and_double_nothing():
    out = io.StringIO()
    report = run(replace(SMALL, seed=11), out)
    printed = out.getvalue()
    assert report.kills == 3 and report.faults > 0, printed
    assert (report.lost, report.duplicated, report.unsettled) == (0, 0, 0), printed
    assert "messages: 150 expected, 150 delivered, 0 duplicated, 0 lost" in printed
    assert "kills survived: 3\n" in printed and report.ok


def test_slow_slack_with_big_batches_doubles_nothing():
    # 4 s a post: a batch of 50 takes longer than the 2-minute lease.
    slow = replace(SMALL, messages=80, kills=0, slow=True)
    out = io.StringIO()
    report = run(slow, out)
    assert (report.lost, report.duplicated, report.unsettled) == (0, 0, 0), out.getvalue()


def test_the_command_line_fails_when_postgresql_is_asked_for_and_missing(monkeypatch):
    monkeypatch.setattr("benchmarks.reliability.postgres_reachable", lambda: False)
    with pytest.raises(SystemExit, match="not reachable"):
        main(["--messages", "1", "--database", "postgresql"])
