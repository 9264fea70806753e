"""Shared fixtures (the bundled speech sample), and the order and grouping in which tests are
handed to the workers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import jobs

pytest_plugins = ["tests.suites"]

SAMPLES = Path(jobs.__file__).resolve().parent / "samples"


@pytest.fixture(scope="session")
def speech_ogg() -> Path:
    return SAMPLES / "speech.ogg"


@pytest.fixture(scope="session")
def speech_text() -> str:
    return (SAMPLES / "speech.txt").read_text(encoding="utf-8")


# Workers take tests one at a time (`--dist loadgroup --no-loadscope-reorder` in the Makefile),
# in this order: the longest first, so that neither of the two workers is left with one of
# them at the end while the other has finished; then every other slow test, then the quick
# ones, which fill the gaps. The order is a plan, not a dependency: each test stands alone.
LONGEST = (
    "tests/jobs/test_remote_long.py",  # an hour of speech, both backends
    "tests/e2e/test_kill_storm_local.py",
    "tests/e2e/test_kill_storm_github.py",
    "tests/e2e/test_faults.py",
    "tests/e2e/test_bot_restarts.py",
    "tests/e2e/test_telegram_bot.py",
    "tests/e2e/test_outages.py",
    "tests/e2e/test_telegram_commands.py",
    "tests/e2e/test_github_executor.py",
)
# Files whose tests share a module-scoped fixture too dear to make twice go to one worker,
# whole.
TOGETHER = {
    "tests/jobs/test_remote_long.py": "hour",
    "tests/contract/test_github_emulator_contract.py": "finished-run",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        path = item.nodeid.split("::", 1)[0]
        if path in LONGEST:
            return LONGEST.index(path)
        return len(LONGEST) + (0 if item.get_closest_marker("slow") else 1)

    items.sort(key=rank)  # stable: within a file, and among the rest, the order is kept


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """`--dist loadgroup`, with the groups named in TOGETHER. xdist's own loadgroup reads
    `xdist_group` marks by renaming each item's node id, which pytest 9 no longer lets a
    plugin do, so every test went its own way (the hour of speech was made twice)."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class Together(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return TOGETHER.get(nodeid.split("::", 1)[0], nodeid)

    return Together(config, log)
