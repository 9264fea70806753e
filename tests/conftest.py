"""Shared fixtures (the bundled speech sample, the run's transcript cache), and the order and
grouping in which tests are handed to the workers."""

from __future__ import annotations

import os
from collections.abc import Iterator
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


@pytest.fixture(scope="session")
def transcripts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One result cache (RELAYQ_CACHE_DIR, jobs/cache.py) for the whole run, shared by the
    xdist workers: the first job that transcribes a file with given settings runs the model,
    later ones with the same audio and settings reuse its result. Its home is the run's own
    temporary folder (with xdist, the parent of the workers' folders), so each run starts
    empty and nothing is kept between runs. jobs/cache.py's entries appear with one rename,
    so workers filling it at once see a whole entry or none.

    Only tests that say so use it (the `harness` bot, `cached_transcripts`); a test that
    asserts a fresh transcription, the accuracy of a real run or the cache itself builds its
    environment without it, as tests/jobs/test_transcribe.py does."""
    base = tmp_path_factory.getbasetemp()
    root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    folder = root / "transcripts"
    folder.mkdir(exist_ok=True)
    return folder


@pytest.fixture
def cached_transcripts(transcripts: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """This test's jobs (and what it starts: a bot, act's runners) use the run's cache."""
    monkeypatch.setenv("RELAYQ_CACHE_DIR", str(transcripts))
    yield transcripts


# Workers take tests one at a time (`--dist loadgroup --no-loadscope-reorder` in the Makefile),
# in this order: the longest first, so that no worker is left with one of them at the
# end while the others have finished; then every other slow test, then the quick
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
