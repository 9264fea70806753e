"""The GitHub Actions executor: workflow_dispatch to self-hosted runners, watched to the end.

The github executor modules are the only ones that import PyGithub: github_calls.py (the
client, retries and refusal sentences), github_dispatch.py (sending a job once, finding its
run) and github_watch.py (following the run, its results). This module is the Executor
interface over them. It never dispatches a job twice (docs/DECISIONS.md, D10).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import requests
from github import GithubException

from bot.executors.base import Discarded, JobSpec, JobState, Phase
from bot.executors.github_calls import GitHubCalls, GitHubUnavailable, Pacing
from bot.executors.github_dispatch import Dispatcher, GitHubJob
from bot.executors.github_watch import Watcher
from bot.fleet import Fleet
from jobs.errors import RelayqError, UsageError
from jobs.progress import ProgressRecord

__all__ = ["NOT_DELETED", "GitHubActionsExecutor", "GitHubUnavailable", "Pacing", "run_id_of"]

NOT_DELETED = (
    "GitHub did not delete the run's artifact (the bot's token needs Actions: read and write, "
    "docs/SETUP_OCI_TRIGGER.md); GitHub removes it by itself within 3 days"
)


def run_id_of(run_url: str | None) -> int | None:
    """The run id at the end of a run's URL (`…/actions/runs/123`); None for none."""
    tail = (run_url or "").rstrip("/").rsplit("/", 1)[-1]
    return int(tail) if tail.isdigit() and "/actions/runs/" in (run_url or "") else None


class GitHubActionsExecutor:
    name = "github"

    def __init__(self, *, token: str, repo: str, api_url: str, ref: str = "main",
                 work_dir: Path, pacing: Pacing | None = None, timeout_s: float = 30.0,
                 clock: Callable[[], float] = time.time) -> None:  # fmt: skip
        self._pacing = pacing or Pacing()
        self._calls = GitHubCalls(token=token, repo=repo, api_url=api_url, pacing=self._pacing,
                                  timeout_s=timeout_s)  # fmt: skip
        self._jobs: dict[str, GitHubJob] = {}
        self._dispatcher = Dispatcher(self._calls, self._jobs, ref=ref, clock=clock,
                                      journal_dir=work_dir / "dispatches")  # fmt: skip
        self._watcher = Watcher(self._calls, work_dir=work_dir, clock=clock,
                                dispatch_again=self._dispatcher.again)  # fmt: skip

    async def submit(self, spec: JobSpec) -> str:
        if spec.job_id in self._jobs:
            raise UsageError(f"job {spec.job_id} was already submitted; use a new job id")
        job = GitHubJob(spec)
        self._jobs[spec.job_id] = job
        await asyncio.to_thread(self._dispatcher.dispatch, job)
        return job.html_url or spec.job_id

    async def resume(self, spec: JobSpec, *, run_url: str | None, since: float) -> str:
        """After a restart or an outage: take up the job's newest run, found by its request_id
        among the runs created since the job was (a kill may have come after GitHub cancelled
        a waiting run and relayq sent it again), else the run its last dispatch made, else its
        run as recorded (older than the listing reaches: the bot was down for days); dispatch
        only when it has none, and no run of an earlier dispatch could still appear."""
        job = GitHubJob(spec, dispatched_at=since)
        self._jobs[spec.job_id] = job
        await asyncio.to_thread(self._dispatcher.take_up, job, run_url)
        return job.html_url or spec.job_id

    async def watch(self, job_id: str) -> AsyncIterator[JobState]:
        job = self._job(job_id)
        pause = self._pacing.first_poll_s
        last: tuple[Phase, str, str | None, ProgressRecord | None] | None = None
        while True:
            state = await asyncio.to_thread(self._watcher.observe, job)
            key = (state.phase, state.detail, state.step, state.progress)
            if key != last:
                last = key
                pause = self._pacing.first_poll_s
                job.states.append(state)
                if state.phase.terminal:
                    self._dispatcher.settled(job)
                yield state
                if state.phase.terminal:
                    return
            else:
                # Unchanged answers are 304s, free against the rate limit, so a running job is
                # checked often (results arrive within seconds); a waiting one backs off further.
                ceiling = (self._pacing.max_poll_running_s if state.phase is Phase.RUNNING
                           else self._pacing.max_poll_s)  # fmt: skip
                pause = min(ceiling, pause * self._pacing.growth)
            await asyncio.sleep(pause)

    async def cancel(self, job_id: str) -> None:
        job = self._job(job_id)
        job.cancel_requested = True
        if job.run_id is not None:
            run = self._watcher.run_of(job)
            # A run that has already ended cannot be cancelled (409): nothing to do.
            with contextlib.suppress(GithubException, RelayqError):
                await asyncio.to_thread(self._calls.read, run.cancel)

    async def discard(self, run_url: str | None) -> Discarded:
        """Delete the artifacts of the job's run (its results, kept by GitHub 3 days): DELETE
        /repos/{owner}/{repo}/actions/artifacts/{id}, which needs Actions: write."""
        run_id = run_id_of(run_url)
        if run_id is None:
            return Discarded()
        return await asyncio.to_thread(self._delete_artifacts, run_id)

    def _delete_artifacts(self, run_id: int) -> Discarded:
        try:
            artifacts = self._calls.run_artifacts(run_id)
        except RelayqError:
            return Discarded(refused=NOT_DELETED)
        deleted = 0
        for artifact in artifacts:
            try:
                done = artifact.delete()  # True on GitHub's 204; 403, 404, 5xx: False
            except (GithubException, requests.RequestException):
                done = False
            if not done:
                return Discarded(deleted, refused=NOT_DELETED)
            deleted += 1
        return Discarded(deleted)

    async def close(self) -> None:
        """Release PyGithub's connection pool."""
        await asyncio.to_thread(self._calls.close)

    async def fleet(self) -> Fleet:
        return await asyncio.to_thread(self._watcher.fleet_now, True)

    async def rate_limit(self) -> tuple[int, int]:
        """(remaining, limit) of the core budget; the check itself is free."""
        limits = await asyncio.to_thread(self._calls.read, self._calls.gh.get_rate_limit)
        core = limits.resources.core
        return core.remaining, core.limit

    def _job(self, job_id: str) -> GitHubJob:
        try:
            return self._jobs[job_id]
        except KeyError:
            raise UsageError(f"no job {job_id} in this session") from None
