"""The architecture holds: bot/ stays free of Slack libraries, and the manifest is valid."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from bot.messages import SUBCOMMANDS
from handlers.commands import ROUTES

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = ROOT / "schemas" / "slack" / "manifest.schema.1.0.0.json"
FORBIDDEN_IN_BOT = {
    "slack_bolt",
    "slack_sdk",
    "apscheduler",
    "dotenv",
    "handlers",
    "scheduler",
    "sandbox",
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("path", sorted((ROOT / "bot").rglob("*.py")), ids=lambda p: p.name)
def test_bot_imports_only_stdlib_and_sqlalchemy(path):
    assert _imports(path) & FORBIDDEN_IN_BOT == set()


def test_the_import_check_would_catch_a_violation(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import os\nfrom slack_sdk.errors import SlackApiError\nimport apscheduler.x\n")
    assert _imports(bad) & FORBIDDEN_IN_BOT == {"slack_sdk", "apscheduler"}


def test_production_code_never_imports_the_sandbox():
    for folder in ("bot", "handlers", "scheduler", "migrations"):
        for path in (ROOT / folder).rglob("*.py"):
            assert "sandbox" not in _imports(path), path


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
