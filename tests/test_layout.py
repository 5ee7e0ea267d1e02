"""The manifest is valid and the guide matches the router (imports: test_imports.py)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from bot.home.blocks import SUBCOMMANDS
from handlers.commands import ROUTES

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = ROOT / "schemas" / "slack" / "manifest.schema.1.0.0.json"


def test_manifest_matches_slacks_schema():
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text())
    jsonschema.validate(manifest, json.loads(SCHEMA.read_text()))


def test_manifest_schema_check_rejects_a_broken_manifest():
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text())
    manifest["features"]["slash_commands"][0]["command"] = "mentor"  # no leading slash
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(manifest, json.loads(SCHEMA.read_text()))


def test_manifest_has_what_the_bot_needs():
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text())
    (command,) = manifest["features"]["slash_commands"]
    assert command["command"] == "/mentor" and command["usage_hint"]
    assert set(manifest["oauth_config"]["scopes"]["bot"]) >= {
        "commands",
        "chat:write",
        "im:write",
        "im:history",
        "mpim:write",
        # Delivery looks for a post whose outcome it did not hear, before posting it again.
        "mpim:history",
        "channels:history",
        "groups:history",
        "reactions:write",
        "users:read",
    }
    assert set(manifest["settings"]["event_subscriptions"]["bot_events"]) >= {
        "app_home_opened",
        "message.im",
    }
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    assert manifest["settings"]["socket_mode_enabled"] is True


def test_help_lists_exactly_the_subcommands_that_exist():
    listed = {usage.split()[0] for usage, _ in SUBCOMMANDS}
    assert listed == set(ROUTES) - {""}


def test_ci_runs_exactly_the_test_command_in_readme():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    test_command = next(line for line in readme.splitlines() if line.endswith("-m pytest"))
    assert ci[-1] == test_command
