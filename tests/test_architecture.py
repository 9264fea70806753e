"""The layout keeps its direction: every import in `bot/` and `jobs/` (module level, inside
functions, under TYPE_CHECKING) is read from the source, and a wrong-way import or a circle
fails here, with the modules named.

    jobs/            the runner side: knows nothing of bot/
    bot/ core        lifecycle, chat port, ledger, policy, executors, fleet watch: no Telegram
    bot/telegram/    the Telegram edge: the only place (with the composition root) that
                     imports python-telegram-bot
    bot/app.py       the composition root
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bot", "jobs")
MAX_LINES = 400


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {
        _module_name(path): path
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
    }


MODULES = _modules()


def _imports(path: Path) -> set[str]:
    """Every module `path` imports, by full name (a `from x import y` where x.y is a module
    counts as x.y)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                child = f"{node.module}.{alias.name}"
                found.add(child if child in MODULES else node.module)
    return found


GRAPH = {name: _imports(path) for name, path in MODULES.items()}


def _within(name: str, *prefixes: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _importers_of(*targets: str) -> set[str]:
    return {m for m, imported in GRAPH.items() if any(_within(i, *targets) for i in imported)}


def test_only_the_telegram_edge_and_the_composition_root_import_telegram() -> None:
    allowed = {m for m in MODULES if _within(m, "bot.telegram")} | {"bot.app"}
    assert _importers_of("telegram") - allowed == set()
    assert _importers_of("bot.telegram") - allowed == set()


def test_the_lifecycle_and_its_port_know_no_front_end() -> None:
    core = {m for m in MODULES if _within(m, "bot.lifecycle")} | {"bot.chat", "bot.health",
                                                                     "bot.ledger"}  # fmt: skip
    wrong = {m: sorted(i for i in GRAPH[m] if _within(i, "bot.telegram", "bot.commands",
                                                       "bot.app", "telegram", "github"))
             for m in core}  # fmt: skip
    assert {m: i for m, i in wrong.items() if i} == {}


def test_the_policy_engine_is_pure() -> None:
    policy = ("bot.policy", "bot.policy.engine", "bot.policy.schema", "bot.policy.decision",
              "bot.policy.finish", "bot.policy.quickest")  # fmt: skip
    allowed = {"bot.fleet", *policy, "jobs.errors", "__future__", "dataclasses", "math",
               "typing", "pathlib", "pydantic", "yaml", "collections.abc", "heapq", "statistics", "bot.speed"}  # fmt: skip
    for module in (*policy, "bot.speed", "bot.queueing"):
        assert GRAPH[module] - allowed == set(), module


def test_only_the_github_executor_imports_pygithub() -> None:
    assert all(m.startswith("bot.executors.github") for m in _importers_of("github"))


def test_the_runner_side_imports_nothing_of_the_bot() -> None:
    runner = {m for m in MODULES if _within(m, "jobs")}
    assert {m for m in runner if any(_within(i, "bot") for i in GRAPH[m])} == set()


@pytest.mark.parametrize("package", PACKAGES)
def test_no_import_circles(package: str) -> None:
    inside = {m for m in MODULES if _within(m, package)}
    edges = {m: {i for i in GRAPH[m] if i in inside and i != m} for m in inside}
    cycles = _cycles(edges)
    assert cycles == [], " ; ".join(" → ".join(c) for c in cycles)


def test_no_module_is_over_400_lines() -> None:
    long = {m: n for m, p in MODULES.items() if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert long == {}


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """One circle per strongly connected group of modules (Tarjan), as a path."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(edges[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return groups


def test_the_circle_finder_finds_a_circle() -> None:
    """The check above could fail: a made-up circle is found."""
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
