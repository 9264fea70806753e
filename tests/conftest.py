"""Shared fixtures (the bundled speech sample), and the order files run in."""

from __future__ import annotations

from pathlib import Path

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


# The longest files first: `make test` runs files on two workers (pytest-xdist, whole files
# each), and starting the long ones early keeps one worker from finishing minutes after the
# other. Their order here is a plan, not a dependency: each file stands alone.
LONGEST = (
    "tests/jobs/test_remote_long.py",  # an hour of speech, both backends
    "tests/e2e/test_kill_storm_local.py",
    "tests/e2e/test_kill_storm_github.py",
    "tests/e2e/test_telegram_bot.py",
    "tests/e2e/test_bot_restarts.py",
    "tests/e2e/test_faults.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        path = item.nodeid.split("::", 1)[0]
        return LONGEST.index(path) if path in LONGEST else len(LONGEST)

    items.sort(key=rank)  # stable: within a file, and among the rest, the order is kept
