"""The import graph holds: no circles anywhere, bot/ free of Slack and the outer layers,
decisions apart from presentation, and the sandbox knowing Slack only."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROJECT = ("app.py", "bot", "handlers", "scheduler", "sandbox", "migrations", "benchmarks")
FORBIDDEN_IN_BOT = {
    "slack_bolt",
    "slack_sdk",
    "apscheduler",
    "dotenv",
    "handlers",
    "scheduler",
    "sandbox",
}
PRODUCTION = ("bot", "handlers", "scheduler", "migrations")
VIEW_MODULES = {"blocks", "views", "messages", "modals"}


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_files(root: Path = ROOT) -> dict[str, Path]:
    """Every project module by dotted name (a package by its own name, for its __init__)."""
    found: dict[str, Path] = {}
    for entry in PROJECT:
        top = root / entry
        paths = [top] if top.is_file() else sorted(top.rglob("*.py")) if top.is_dir() else []
        for path in paths:
            if ".venv" not in path.parts:
                found[_module_name(path, root)] = path
    return found


def imported_names(path: Path, module: str, is_package: bool) -> set[str]:
    """Every absolute dotted name the file imports, at any depth (lazy imports count too);
    `from pkg import name` yields pkg.name so that submodules can be told from attributes."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = module if is_package else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".") if package else []
                base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
                stem = ".".join([*base, *([node.module] if node.module else [])])
            else:
                stem = node.module or ""
            found.add(stem)
            found.update(f"{stem}.{alias.name}" for alias in node.names)
    return found


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    """Module -> project modules it imports: pkg.name when that is a module, else pkg itself."""
    files = project_files(root)
    graph: dict[str, set[str]] = {}
    for module, path in files.items():
        targets: set[str] = set()
        for name in imported_names(path, module, path.name == "__init__.py"):
            while name and name not in files:
                name = name.rpartition(".")[0]
            if name and name != module:
                targets.add(name)
        graph[module] = targets
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each as a loop."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(_loop(sorted(component), graph))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _loop(component: list[str], graph: dict[str, set[str]]) -> list[str]:
    """One readable circle through the component: a -> b -> ... -> a."""
    members = set(component)
    start = component[0]
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for nxt in sorted(graph[node] & members):
            if nxt == start:
                return [*paths[node], start]
            if nxt not in paths:
                paths[nxt] = [*paths[node], nxt]
                queue.append(nxt)
    return component


def is_view(module: str) -> bool:
    """Presentation: a habit's blocks module (Block Kit builders and outbox renderers), or the
    flat modules that held every habit's screens before issue 10."""
    return module.startswith("bot.") and module.rsplit(".", 1)[-1] in VIEW_MODULES


def is_service(module: str) -> bool:
    """Decisions: every bot/ module that is not presentation and not the renderer registry."""
    return module.startswith("bot.") and not is_view(module) and module != "bot.renderers"


def test_no_import_circles():
    found = cycles(import_graph())
    assert not found, "import circles:\n" + "\n".join(" -> ".join(loop) for loop in found)


def _offenders(graph: dict[str, set[str]], importer, imported) -> dict[str, list[str]]:
    """Modules for which `importer(module)` holds, with what they import that `imported` flags."""
    found = {m: sorted(t for t in ts if imported(t)) for m, ts in graph.items() if importer(m)}
    return {m: names for m, names in found.items() if names}


def _under(*tops: str):
    return lambda module: module.split(".")[0] in tops


def test_bot_imports_neither_slack_nor_the_outer_layers():
    graph = {
        module: {name.split(".")[0] for name in imported_names(path, module, False)}
        for module, path in project_files().items()
    }
    assert _offenders(graph, _under("bot"), FORBIDDEN_IN_BOT.__contains__) == {}


def test_services_never_import_presentation():
    assert _offenders(import_graph(), is_service, is_view) == {}


def test_production_code_never_imports_the_sandbox():
    assert _offenders(import_graph(), _under(*PRODUCTION), _under("sandbox")) == {}


def test_the_sandbox_knows_slack_only():
    assert _offenders(import_graph(), _under("sandbox"), _under("bot")) == {}


@pytest.fixture
def tiny_project(tmp_path):
    def write(files: dict[str, str]) -> Path:
        for name, text in files.items():
            path = tmp_path / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        return tmp_path

    return write


def test_the_cycle_check_sees_a_package_importing_its_own_modules_back(tiny_project):
    root = tiny_project(
        {
            "handlers/__init__.py": "def register():\n    from handlers import actions\n",
            "handlers/actions.py": "from handlers import Deps\n",
            "bot/__init__.py": "",
            "bot/a.py": "from . import b\n",
            "bot/b.py": "import bot.a\n",
        }
    )
    assert cycles(import_graph(root)) == [
        ["bot.a", "bot.b", "bot.a"],
        ["handlers", "handlers.actions", "handlers"],
    ]


def test_the_checks_see_a_service_importing_a_view(tiny_project):
    root = tiny_project(
        {
            "bot/__init__.py": "",
            "bot/find/__init__.py": "",
            "bot/find/blocks.py": "x = 1\n",
            "bot/find/intros.py": "from bot.find.blocks import x\n",
        }
    )
    assert import_graph(root)["bot.find.intros"] == {"bot.find.blocks"}
    assert is_service("bot.find.intros") and is_view("bot.find.blocks")
