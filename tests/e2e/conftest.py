"""Fixtures for end-to-end runs: through PyGithub, the GitHub emulator and act; and the
Telegram bot in this process (`harness`)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from bot.executors.github import GitHubActionsExecutor, Pacing
from tests.emulators.github import GitHubEmulator

if TYPE_CHECKING:
    from tests.e2e.test_telegram_bot import Harness

MAC = ["self-hosted", "macOS", "macmini", "audio", "ffmpeg", "heavy"]
PI4 = ["self-hosted", "Linux", "ARM64", "rpi4", "audio", "light"]
FAST = Pacing(first_poll_s=0.2, max_poll_s=1.0, max_poll_running_s=0.5, runners_every_s=1.0, retries=6,
              retry_base_s=0.05, secondary_limit_s=0.2)  # fmt: skip
TOKEN = "ghp_CANARY_emulatortoken0123456789"


def job_env(tmp_path: Path) -> dict[str, str]:
    tmp = tmp_path / "runner-tmp"
    tmp.mkdir(exist_ok=True)
    return {"RELAYQ_STATE_DIR": str(tmp_path / "runner-state"), "TMPDIR": str(tmp),
            "HF_HUB_OFFLINE": "1", "RELAYQ_ALLOW_PRIVATE_URLS": "1"}  # fmt: skip


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[GitHubEmulator]:
    with GitHubEmulator(tmp_path / "gh", job_env=job_env(tmp_path)) as gh:
        yield gh


def executor_for(
    gh: GitHubEmulator, tmp_path: Path, pacing: Pacing = FAST
) -> GitHubActionsExecutor:
    return GitHubActionsExecutor(token=TOKEN, repo=gh.repo, api_url=gh.api_url,
                                 work_dir=tmp_path / "results", pacing=pacing)  # fmt: skip


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    os.environ.pop("GITHUB_TOKEN", None)


@pytest.fixture
async def harness(
    tmp_path: Path, speech_ogg: Path, monkeypatch: pytest.MonkeyPatch, cached_transcripts: Path
) -> AsyncIterator[Harness]:
    """The bot running in this process with the local executor, the Bot API emulator, and a
    server with the speech sample at /talk.ogg. Its jobs share the run's transcript cache:
    these tests are about the bot, and tests/jobs/test_transcribe.py runs the model."""
    from tests.e2e.test_telegram_bot import TOKEN as BOT_TOKEN
    from tests.e2e.test_telegram_bot import Harness, bot_settings, running
    from tests.emulators.telegram import BotApiEmulator
    from tests.jobs.httpserver import body, serve

    monkeypatch.setenv("RELAYQ_ALLOW_PRIVATE_URLS", "1")  # the job fetches from the test server
    monkeypatch.setenv("RELAYQ_STATE_DIR", str(tmp_path / "state"))
    with (
        BotApiEmulator(BOT_TOKEN) as tg,
        serve({"/talk.ogg": body(speech_ogg.read_bytes())}) as (base, _),
    ):
        settings = bot_settings(tg, tmp_path, RELAYQ_EXECUTOR="local")
        async with running(settings):
            yield Harness(tg, settings, base)
