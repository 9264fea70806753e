"""Sending a job to GitHub, once: the workflow_dispatch POST, and the look for the run it made.

The job's request_id is in its run's name, so a run can be found without GitHub's answer.
After an ambiguous failure (5xx, timeout, dropped connection) the run may exist: it is looked
for before anything is sent again.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial

import requests
from github import GithubException
from github.Workflow import Workflow
from github.WorkflowRun import WorkflowRun

from bot.executors.base import JobSpec, JobState
from bot.executors.github_calls import (
    GitHubCalls,
    GitHubUnavailable,
    dispatch_refused,
    message,
    passing,
)
from jobs.errors import ConfigError

__all__ = ["Dispatcher", "GitHubJob"]


@dataclass
class GitHubJob:
    """What the executor knows of one job in this process."""

    spec: JobSpec
    run_id: int | None = None
    run: WorkflowRun | None = None
    html_url: str | None = None
    dispatched_at: float = 0.0
    dispatches: int = 0
    cancel_requested: bool = False
    step: str | None = None
    states: list[JobState] = field(default_factory=list)


class Dispatcher:
    def __init__(self, calls: GitHubCalls, jobs: dict[str, GitHubJob], *, ref: str,
                 clock: Callable[[], float]) -> None:  # fmt: skip
        self._calls = calls
        self._pacing = calls.pacing
        self._jobs = jobs
        self._ref = ref
        self._clock = clock
        # Whether to ask GitHub for the new run's id in its answer. GitHub Enterprise Server
        # and older API versions refuse the key (422): from then on the run is found by its
        # request id, and the key is not offered again by this executor (the bot's one).
        self._run_details = True

    def dispatch(self, job: GitHubJob) -> None:
        spec = job.spec
        inputs = {"source": spec.source, "request_id": spec.job_id, "backend": spec.backend,
                  "model": spec.model or "", "language": spec.language or ""}  # fmt: skip
        workflow = self._calls.workflow(spec.workflow)
        job.dispatched_at = self._clock()
        for attempt in range(self._pacing.retries):
            try:
                job.dispatches += 1
                result = self._post(workflow, inputs)
            except GithubException as exc:
                if self._run_details and _refuses_run_details(exc):
                    self._run_details = False  # refused as invalid: it started nothing
                    continue
                if not passing(exc):
                    raise ConfigError(dispatch_refused(spec.workflow, exc)) from None
                self._calls.sleep_for(exc, attempt)
            except (requests.ConnectionError, requests.Timeout):
                self._calls.back_off(attempt)
            else:
                if result is not None:
                    job.run_id, job.html_url = result.id, result.html_url
                    return
                # 204, no details (GHES, older API versions): find the run by its request id.
                if self.find_run(job, wait_s=10):
                    return
                raise GitHubUnavailable("GitHub accepted the dispatch but the run never appeared")
            # An ambiguous failure: the run may exist. Look before sending again.
            if self.find_run(job, wait_s=3):
                return
        raise GitHubUnavailable(
            f"GitHub did not accept the dispatch of {spec.workflow} after "
            f"{self._pacing.retries} tries; the job is kept, try again later"
        )

    def _post(self, workflow: Workflow, inputs: dict[str, str]) -> WorkflowRun | None:
        """The POST itself: the new run, or None when GitHub answers 204 without details."""
        if not self._run_details:
            workflow.create_dispatch(self._ref, inputs, throw=True)
            return None
        # PyGithub's type says a run; a GitHub that ignores the key answers 204 (True).
        answer: object = workflow.create_dispatch(
            self._ref, inputs, throw=True, return_run_details=True
        )
        return answer if isinstance(answer, WorkflowRun) else None

    def find_run(self, job: GitHubJob, *, wait_s: float) -> bool:
        """Look for this job's run (its request_id is in the run name), briefly."""
        deadline = time.monotonic() + wait_s
        since = datetime.fromtimestamp(job.dispatched_at - 300, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        while True:
            try:
                runs = self._calls.read(partial(self._recent_runs, job.spec.workflow, since))
            except GitHubUnavailable:
                runs = []
            known = {j.run_id for j in self._jobs.values() if j is not job}
            for run in runs:
                if job.spec.job_id in (run.display_title or run.name or "") and run.id not in known:
                    job.run_id, job.html_url = run.id, run.html_url
                    return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(1.0)

    def _recent_runs(self, workflow: str, since: str) -> list[WorkflowRun]:
        listing = self._calls.workflow(workflow).get_runs(
            event="workflow_dispatch", created=f">={since}"
        )
        return list(itertools.islice(listing, 30))


def _refuses_run_details(exc: GithubException) -> bool:
    """GitHub's answer to a key it does not know: 422 `"return_run_details" is not a
    permitted key.`"""
    return exc.status == 422 and "return_run_details" in message(exc)
