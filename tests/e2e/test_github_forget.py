"""/forget on GitHub, through the real PyGithub and the GitHub emulator: the run's artifact
is deleted (DELETE /repos/{owner}/{repo}/actions/artifacts/{id}) and gone from the listing; a
token without Actions: write is refused, and that is said in one sentence; and the whole
/forget (JobService over the real GitHub executor) deletes the results kept on the bot's side
and the artifact."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.executors.base import Discarded, JobSpec, Phase
from bot.executors.github import NOT_DELETED, GitHubActionsExecutor, run_id_of
from bot.ledger import Ledger
from bot.lifecycle import Forgot, JobService
from bot.policy import load_policy_file
from bot.settings import Settings
from tests.bot.lifecycle_fakes import MemoryChat
from tests.e2e.conftest import FAST, MAC, TOKEN, executor_for
from tests.emulators.github import GitHubEmulator
from tests.emulators.github.server import Fault

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def synthetic(tmp_path: Path) -> Iterator[GitHubEmulator]:
    with GitHubEmulator(tmp_path / "gh", synthetic_run_s=0.5) as gh:
        gh.add_runner("mac-mini", MAC, os="macOS")
        yield gh


async def finished(ex: GitHubActionsExecutor, job_id: str) -> str:
    url = await ex.submit(JobSpec(job_id=job_id, kind="transcribe", source="https://example.org/a.ogg",
                                  target="mac", workflow="transcribe_mac.yml"))  # fmt: skip

    async def last() -> Phase:
        return [s async for s in ex.watch(job_id)][-1].phase

    assert await asyncio.wait_for(last(), 60) is Phase.SUCCEEDED
    return url


def listed(gh: GitHubEmulator, url: str) -> int:
    run = gh.model.runs[run_id_of(url) or 0]
    return int(gh.artifacts_json(run)["total_count"])


async def test_the_runs_artifact_is_deleted_and_gone_from_the_listing(
    synthetic: GitHubEmulator, tmp_path: Path
) -> None:
    ex = executor_for(synthetic, tmp_path)
    try:
        url = await finished(ex, "req-forget-1")
        assert listed(synthetic, url) == 1
        assert await ex.discard(url) == Discarded(artifacts=1)
        assert listed(synthetic, url) == 0 and len(synthetic.deleted_artifacts) == 1
        deletes = [h for h in synthetic.hits if h.method == "DELETE"]
        assert [(h.status, h.authorization) for h in deletes] == [(204, f"token {TOKEN}")]
        assert await ex.discard(url) == Discarded()  # nothing left to delete: asked, not refused
        assert await ex.discard(None) == Discarded()
    finally:
        await ex.close()


async def test_a_token_without_actions_write_is_refused_and_that_is_said(
    synthetic: GitHubEmulator, tmp_path: Path
) -> None:
    ex = executor_for(synthetic, tmp_path)
    try:
        url = await finished(ex, "req-forget-2")
        synthetic.faults.append(Fault("DELETE", r"/actions/artifacts/\d+$", 403,
                                      body={"message": "Resource not accessible by integration"}))  # fmt: skip
        assert await ex.discard(url) == Discarded(refused=NOT_DELETED)
        assert listed(synthetic, url) == 1  # still there; GitHub drops it after 3 days
        assert "Actions: read and write" in NOT_DELETED
    finally:
        await ex.close()


async def test_forget_over_github_deletes_the_kept_results_and_the_artifact(
    synthetic: GitHubEmulator, tmp_path: Path
) -> None:
    settings = Settings(_env_file=None, RELAYQ_STATE_DIR=tmp_path / "state",  # type: ignore[call-arg]
                        RELAYQ_ALLOWED_USERS="1")  # fmt: skip
    ex = GitHubActionsExecutor(token=TOKEN, repo=synthetic.repo, api_url=synthetic.api_url,
                               work_dir=tmp_path / "state" / "github-results",
                               pacing=FAST)  # fmt: skip
    ledger = Ledger(tmp_path / "state" / "ledger.sqlite3")
    service = JobService(ledger=ledger, executor=ex, policy=load_policy_file(
        ROOT / "policy" / "policy.yaml"), settings=settings, chat=MemoryChat())  # fmt: skip
    try:
        ledger.pin(1, "mac")
        (row,) = service.intake.accept(chat_id=1, user_id=1, message_id=1,
                                       sources=["https://example.org/a.ogg"])  # fmt: skip
        await asyncio.wait_for(service.driver.drained(), 60)
        row = ledger.get(row.id)
        assert row.state == "delivered", row.detail
        kept = tmp_path / "state" / "github-results" / str(run_id_of(row.run_url))
        assert (kept / "transcript.txt").is_file()
        forgot = await service.forgetter.forget(row.id, 1)
        assert isinstance(forgot, Forgot)
        assert (forgot.transcript, forgot.artifacts, forgot.artifact_refused) == (True, 1, None)
        assert not kept.exists() and listed(synthetic, row.run_url or "") == 0
    finally:
        await service.close()
        ledger.close()
