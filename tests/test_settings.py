"""Settings: every variable read, defaulted and validated; config errors are one clear line."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import time
from pathlib import Path

import pytest

from bot.core.settings import ConfigError, QuietHours, load_settings

ROOT = Path(__file__).resolve().parent.parent
TOKENS = {"SLACK_BOT_TOKEN": "xoxb-1-abc", "SLACK_SIGNING_SECRET": "s3cret"}


def test_defaults():
    settings = load_settings(TOKENS)
    assert settings.slack_api_url == "https://slack.com/api/"
    assert settings.database_url == "sqlite:///mentor_coach.db"
    assert settings.port == 3000
    assert settings.socket_mode is False
    assert settings.admin_user_ids == frozenset()
    assert (settings.prep_lead_minutes, settings.agenda_lead_minutes) == (1440, 60)
    assert (settings.checkin_delay_minutes, settings.followup_delay_minutes) == (60, 10080)
    assert settings.delivery_tick_seconds == 5
    assert settings.daily_nudge_limit == 3
    assert settings.quiet_hours == QuietHours(time(20, 0), time(8, 0))


def test_every_variable_is_read():
    settings = load_settings(
        {
            **TOKENS,
            "SLACK_APP_TOKEN": "xapp-1-xyz",
            "SLACK_API_URL": "http://127.0.0.1:9999/api/",
            "DATABASE_URL": "postgresql://bot@db:5432/mentor",
            "PORT": "8080",
            "SUCCESS_CHANNEL": "C0123ABCD",
            "ADMIN_USER_IDS": "U0123ABCD, W0456EFGH",
            "PREP_LEAD_MINUTES": "120",
            "AGENDA_LEAD_MINUTES": "15",
            "CHECKIN_DELAY_MINUTES": "30",
            "FOLLOWUP_DELAY_MINUTES": "60",
            "DELIVERY_TICK_SECONDS": "2",
            "DAILY_NUDGE_LIMIT": "5",
            "REQUEST_EXPIRY_DAYS": "7",
            "REQUEST_REMINDER_DAYS": "2",
            "QUIET_HOURS": "21:30-07:15",
            "LOG_LEVEL": "debug",
        }
    )
    assert settings.socket_mode is True
    assert settings.slack_api_url == "http://127.0.0.1:9999/api/"
    assert settings.database_url == "postgresql+psycopg://bot@db:5432/mentor"
    assert settings.port == 8080
    assert settings.success_channel == "C0123ABCD"
    assert settings.admin_user_ids == {"U0123ABCD", "W0456EFGH"}
    assert (settings.prep_lead_minutes, settings.agenda_lead_minutes) == (120, 15)
    assert (settings.checkin_delay_minutes, settings.followup_delay_minutes) == (30, 60)
    assert settings.delivery_tick_seconds == 2
    assert settings.daily_nudge_limit == 5
    assert (settings.request_expiry_days, settings.request_reminder_days) == (7, 2)
    assert settings.quiet_hours == QuietHours(time(21, 30), time(7, 15))
    assert settings.log_level == "DEBUG"


def test_empty_quiet_hours_turns_them_off():
    assert load_settings({**TOKENS, "QUIET_HOURS": ""}).quiet_hours is None


def test_settings_are_frozen():
    settings = load_settings(TOKENS)
    with pytest.raises(AttributeError):
        settings.port = 1  # type: ignore[misc]


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({}, "SLACK_BOT_TOKEN"),
        ({"SLACK_BOT_TOKEN": "  "}, "SLACK_BOT_TOKEN"),
        ({"SLACK_BOT_TOKEN": "xoxp-user-token"}, "SLACK_BOT_TOKEN"),
        ({"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_SIGNING_SECRET"),
        ({**TOKENS, "SLACK_APP_TOKEN": "xoxb-wrong"}, "SLACK_APP_TOKEN"),
        ({**TOKENS, "SLACK_API_URL": "https://slack.com/api"}, "SLACK_API_URL"),
        ({**TOKENS, "SLACK_API_URL": "slack.com/api/"}, "SLACK_API_URL"),
        ({**TOKENS, "DATABASE_URL": "mysql://x/y"}, "DATABASE_URL"),
        ({**TOKENS, "PORT": "eighty"}, "PORT"),
        ({**TOKENS, "PORT": "0"}, "PORT"),
        ({**TOKENS, "PORT": "65536"}, "PORT"),
        ({**TOKENS, "SUCCESS_CHANNEL": "has spaces"}, "SUCCESS_CHANNEL"),
        ({**TOKENS, "ADMIN_USER_IDS": "U0123ABCD,alice"}, "ADMIN_USER_IDS"),
        ({**TOKENS, "PREP_LEAD_MINUTES": "-5"}, "PREP_LEAD_MINUTES"),
        ({**TOKENS, "AGENDA_LEAD_MINUTES": "1.5"}, "AGENDA_LEAD_MINUTES"),
        ({**TOKENS, "CHECKIN_DELAY_MINUTES": "soon"}, "CHECKIN_DELAY_MINUTES"),
        ({**TOKENS, "FOLLOWUP_DELAY_MINUTES": "999999999"}, "FOLLOWUP_DELAY_MINUTES"),
        ({**TOKENS, "DELIVERY_TICK_SECONDS": "0"}, "DELIVERY_TICK_SECONDS"),
        ({**TOKENS, "DAILY_NUDGE_LIMIT": "0"}, "DAILY_NUDGE_LIMIT"),
        ({**TOKENS, "REQUEST_EXPIRY_DAYS": "0"}, "REQUEST_EXPIRY_DAYS"),
        ({**TOKENS, "REQUEST_REMINDER_DAYS": "x"}, "REQUEST_REMINDER_DAYS"),
        ({**TOKENS, "REQUEST_REMINDER_DAYS": "5"}, "REQUEST_REMINDER_DAYS"),
        ({**TOKENS, "QUIET_HOURS": "8pm-8am"}, "QUIET_HOURS"),
        ({**TOKENS, "QUIET_HOURS": "24:00-08:00"}, "QUIET_HOURS"),
        ({**TOKENS, "QUIET_HOURS": "08:00-08:00"}, "QUIET_HOURS"),
        ({**TOKENS, "LOG_LEVEL": "chatty"}, "LOG_LEVEL"),
    ],
)
def test_invalid_values_name_the_variable(env, variable):
    with pytest.raises(ConfigError) as raised:
        load_settings(env)
    assert raised.value.variable == variable
    assert str(raised.value).startswith(variable)
    assert "\n" not in str(raised.value)


def test_database_commands_need_no_slack_tokens():
    assert load_settings({}, need_slack=False).database_url == "sqlite:///mentor_coach.db"


def _run_app(tmp_path, *args, env=None):
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_"))}
    return subprocess.run(
        [sys.executable, str(ROOT / "app.py"), *args],
        cwd=tmp_path,
        env={**clean, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_app_without_tokens_prints_one_line_and_exits_2(tmp_path):
    result = _run_app(tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Configuration error: SLACK_BOT_TOKEN is not set.")
    assert "Traceback" not in result.stderr


def test_app_reads_dotenv_and_reports_the_bad_value(tmp_path):
    (tmp_path / ".env").write_text("SLACK_BOT_TOKEN=xoxb-1\nSLACK_SIGNING_SECRET=x\nPORT=http\n")
    result = _run_app(tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "Configuration error: PORT is 'http'. Set it to a whole number from 1 to 65535, "
        "or unset it."
    )


def test_db_upgrade_creates_the_schema(tmp_path):
    result = _run_app(tmp_path, "db", "upgrade", env={"DATABASE_URL": "sqlite:///fresh.db"})
    assert result.returncode == 0, result.stderr
    assert "up to date" in result.stdout
    assert (tmp_path / "fresh.db").exists()
