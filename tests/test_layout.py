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


def _dev_only_distributions() -> set[str]:
    """Packages in the lock that only the dev requirements pull in (pip-compile's "via")."""
    via: dict[str, set[str]] = {}
    name = ""
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        pinned = re.match(r"^([A-Za-z0-9_.-]+)==", line)
        if pinned:
            name = pinned.group(1).lower()
            via[name] = set()
        elif name and (parent := re.match(r"^\s+#\s+(?:via\s+)?(-r \S+|[A-Za-z0-9_.-]+)$", line)):
            via[name].add(parent.group(1).lower())
    runtime = {n for n, parents in via.items() if "-r requirements.txt" in parents}
    while grown := {n for n, parents in via.items() if parents & runtime} - runtime:
        runtime |= grown
    return set(via) - runtime


BLOCK_DEV_ONLY = """
import importlib.abc, runpy, sys
blocked = set(sys.argv[1].split(","))
class Blocked(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in blocked:
            raise ModuleNotFoundError(f"{name} is installed only by requirements-dev.txt")
sys.meta_path.insert(0, Blocked())
sys.argv = ["app.py", "demo"]
runpy.run_path("app.py", run_name="__main__")
"""


def test_the_demo_needs_nothing_from_the_dev_requirements():
    # README's demo command installs requirements.txt alone; the suite runs with the dev ones too,
    # which once hid greenlet (needed by slack_sdk's SQLAlchemy store, installed by playwright).
    import subprocess
    import sys
    from importlib.metadata import packages_distributions

    dev_only = _dev_only_distributions()
    assert {"pytest", "playwright", "websockets"} <= dev_only
    modules = {
        module
        for module, distributions in packages_distributions().items()
        if {d.lower() for d in distributions} <= dev_only and not module.startswith("_")
    }
    assert {"pytest", "playwright", "websockets"} <= modules
    run = subprocess.run(
        [sys.executable, "-c", BLOCK_DEV_ONLY, ",".join(sorted(modules))],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "HOME": "/tmp"},
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert "Kenji" in run.stdout
