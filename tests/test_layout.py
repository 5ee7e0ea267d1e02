"""The manifest is valid and the guide matches the router (imports: test_imports.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml

from bot.home.blocks import SUBCOMMANDS
from handlers.commands import ROUTES

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = ROOT / "schemas" / "slack" / "manifest.schema.1.0.0.json"


@pytest.mark.parametrize("name", ["manifest.yml", "manifest.distribution.yml"])
def test_manifest_matches_slacks_schema(name):
    manifest = yaml.safe_load((ROOT / name).read_text())
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
        # files.uploadV2: the admin's CSV export and everyone's my-data file.
        "files:write",
    }
    assert set(manifest["settings"]["event_subscriptions"]["bot_events"]) >= {
        "app_home_opened",
        "message.im",
        # People who leave: hidden from find, their requests and pairs closed kindly.
        "user_change",
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


def _pins(path: Path) -> dict[str, str]:
    """name -> version for every `name[extras]==version` line (names as pip compares them)."""
    pins = {}
    for line in path.read_text().splitlines():
        requirement = line.split("#")[0].strip()
        if "==" in requirement and not requirement.startswith("-"):
            name, version = requirement.split("==")
            name = re.sub(r"[-_.]+", "-", name.split("[")[0].strip()).lower()
            pins[name] = version.strip()
    return pins


def test_the_lock_pins_every_requirement_at_its_version_and_both_commands_use_it():
    lock = _pins(ROOT / "requirements.lock")
    for requirements in ("requirements.txt", "requirements-dev.txt"):
        wanted = _pins(ROOT / requirements)
        assert wanted, requirements
        # After editing a requirements file, run .ci/lock (README, Tests).
        assert {name: lock.get(name) for name in wanted} == wanted, requirements
    # pip refuses extras in a constraints file, and indirect packages must be pinned too.
    assert "[" not in (ROOT / "requirements.lock").read_text()
    assert {"typing-extensions", "psycopg-binary", "mako"} <= set(lock)
    readme = (ROOT / "README.md").read_text()
    commands = [line for line in readme.splitlines() if line.startswith("python3 -m venv .venv")]
    assert len(commands) >= 2 and all("-c requirements.lock" in line for line in commands)
