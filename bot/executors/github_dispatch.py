"""Sending a job to GitHub, once: the workflow_dispatch POST, and the look for the run it made.

The job's request_id is in its run's name, so a run can be found without GitHub's answer. A
POST whose answer was lost (5xx, timeout, dropped connection, a kill) may still have made a
run, and GitHub lists a new run only some time after making it; so no second POST leaves for
a job while a run of the first could still appear (`Pacing.find_run_s`, a minute by default).
The journal (dispatch_journal.py) keeps that knowledge across restarts.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
from github import GithubException
from github.CheckRun import CheckRun
from github.Workflow import Workflow
from github.WorkflowRun import WorkflowRun

from bot.executors.base import JobSpec, JobState
from bot.executors.dispatch_journal import Journal, Mark
from bot.executors.github_calls import (
    GitHubCalls,
    GitHubUnavailable,
    dispatch_refused,
    message,
    passing,
)
from jobs.errors import ConfigError
from jobs.progress import ProgressRecord

__all__ = ["OPTIONAL", "Dispatcher", "GitHubJob"]

# Inputs a job can do without: a workflow that does not declare one (another ref, a summarize
# workflow) gets the dispatch without it. Every other input is the job, and a refusal of it
# is said to the owner.
OPTIONAL = frozenset({"name", "max_duration_min"})


@dataclass
class GitHubJob:
    """What the executor knows of one job in this process."""

    spec: JobSpec
    run_id: int | None = None
    run: WorkflowRun | None = None
    html_url: str | None = None
    dispatched_at: float = 0.0  # the listing is searched from 5 minutes before this
    dispatches: int = 0
    cancel_requested: bool = False
    step: str | None = None
    states: list[JobState] = field(default_factory=list)
    abandoned: tuple[int, ...] = ()  # its runs GitHub cancelled as they waited: not its run now
    listing: tuple[str, str, list[dict[str, Any]]] | None = None  # (query, ETag, runs)
    # Its run's job's check run, where the runner writes its progress; the progress last read
    # there, and when (time.monotonic) a read last found it new.
    check_run: CheckRun | None = None
    progress: ProgressRecord | None = None
    progress_read_at: float | None = None


class Dispatcher:
    def __init__(self, calls: GitHubCalls, jobs: dict[str, GitHubJob], *, ref: str,
                 clock: Callable[[], float], journal_dir: Path) -> None:  # fmt: skip
        self._calls = calls
        self._pacing = calls.pacing
        self._jobs = jobs
        self._ref = ref
        self._clock = clock
        self._journal = Journal(journal_dir)
        # Whether to ask GitHub for the new run's id in its answer. GitHub Enterprise Server
        # and older API versions refuse the key (422): from then on the run is found by its
        # request id, and the key is not offered again by this executor (the bot's one).
        self._run_details = True
        # The optional inputs (OPTIONAL) each workflow turned out not to declare (a summarize
        # workflow, or a ref older than the input): GitHub refuses an undeclared input, so
        # from then on it is left out of that workflow's dispatches.
        self._undeclared: dict[str, set[str]] = {}

    # -- taking a job up -------------------------------------------------------------------------

    def take_up(self, job: GitHubJob, run_url: str | None) -> None:
        """After a restart or an outage: the job's newest run listed since it was accepted,
        else the run its last dispatch made, else the run as recorded; dispatched only when
        it has none, and no earlier POST's run could still appear."""
        mark = self._journal.get(job.spec.job_id) or Mark()
        job.abandoned = tuple(sorted({*job.abandoned, *mark.abandoned}))
        if self._find(job, until=self._clock()):
            return
        recorded = (run_url or "").rstrip("/").rsplit("/", 1)[-1]
        if mark.run_id is not None:
            job.run_id, job.html_url = mark.run_id, mark.html_url
        elif recorded.isdigit() and int(recorded) not in job.abandoned:
            job.run_id, job.html_url = int(recorded), run_url
        else:
            self.dispatch(job)

    def settled(self, job: GitHubJob) -> None:
        """The job has ended: nothing of its dispatch needs remembering."""
        self._journal.drop(job.spec.job_id)

    def again(self, job: GitHubJob) -> None:
        """GitHub cancelled the job's waiting run: send the job again (that run is not it)."""
        assert job.run_id is not None
        job.abandoned = (*job.abandoned, job.run_id)
        job.run_id, job.run = None, None
        # An unclear POST on record stays on record: its run is looked for before another.
        mark = self._journal.get(job.spec.job_id) or Mark()
        self._journal.put(job.spec.job_id, replace(mark, run_id=None, html_url=None,
                                                   abandoned=job.abandoned))  # fmt: skip
        self.dispatch(job)

    # -- dispatch --------------------------------------------------------------------------------

    def dispatch(self, job: GitHubJob) -> None:
        spec = job.spec
        workflow = self._calls.workflow(spec.workflow)
        job.dispatched_at = job.dispatched_at or self._clock()
        attempt = 0
        while attempt < self._pacing.retries:
            mark = self._journal.get(spec.job_id) or Mark(abandoned=job.abandoned)
            if mark.run_may_appear:
                assert mark.posted_at is not None
                job.dispatched_at = min(job.dispatched_at, mark.posted_at)
                if self._find(job, until=mark.posted_at + self._pacing.find_run_s):
                    return
                if mark.accepted:
                    raise GitHubUnavailable(
                        f"GitHub accepted the dispatch of {spec.workflow} but does not list its "
                        "run yet; the job is kept and its run looked for again"
                    )
                mark = replace(mark, posted_at=None)  # that POST made no run: it is settled
            # On record before it leaves: a kill during the POST leaves the mark behind.
            posting = replace(mark, posted_at=self._clock(), accepted=False, run_id=None)
            self._journal.put(spec.job_id, posting)
            job.dispatches += 1
            try:
                run = self._post(workflow, self._inputs(spec))
            except GithubException as exc:
                if self._run_details and _refuses_run_details(exc):
                    self._run_details = False  # refused as invalid, so it made no run
                    self._journal.put(spec.job_id, mark)
                    continue
                if refused := self._refused_optional(spec.workflow, exc):
                    # Niceties and hints, not the job: sent again without them.
                    self._undeclared.setdefault(spec.workflow, set()).update(refused)
                    self._journal.put(spec.job_id, mark)
                    continue
                if not passing(exc):
                    self._journal.put(spec.job_id, mark)
                    raise ConfigError(dispatch_refused(spec.workflow, exc)) from None
                if exc.status < 500:  # a rate limit: GitHub refused it, made nothing
                    self._journal.put(spec.job_id, mark)
                self._calls.sleep_for(exc, attempt)
            except (requests.ConnectionError, requests.Timeout):
                self._calls.back_off(attempt)  # unclear: the next turn looks before a POST
            else:
                if run is not None:
                    self._found(job, run.id, run.html_url)
                    return
                # 204 without details (GHES, older API versions): the run exists; it is
                # looked for by its request id at the top of the loop, and never sent again.
                self._journal.put(spec.job_id, replace(posting, accepted=True))
                continue
            attempt += 1
        raise GitHubUnavailable(
            f"GitHub did not accept the dispatch of {spec.workflow} after "
            f"{self._pacing.retries} tries; the job is kept, try again later"
        )

    def _inputs(self, spec: JobSpec) -> dict[str, str]:
        inputs = {"source": spec.source, "request_id": spec.job_id, "backend": spec.backend,
                  "model": spec.model or "", "language": spec.language or ""}  # fmt: skip
        undeclared = self._undeclared.get(spec.workflow, set())
        if spec.name and "name" not in undeclared:
            inputs["name"] = spec.name  # what the user calls the source, for the runner's lines
        if spec.max_duration_min is not None and "max_duration_min" not in undeclared:
            # The target's longest recording: the runner refuses a longer one before it is
            # downloaded (exit 10, refusal.json), and the bot routes it once more.
            inputs["max_duration_min"] = f"{spec.max_duration_min:g}"
        if spec.task != "transcribe":
            # Only when it is not the default, so that a ref whose workflows predate the input
            # still takes transcriptions; such a ref refuses a translation, and says so.
            inputs["task"] = spec.task
        if spec.private:
            # Never optional: a ref whose workflows predate it refuses the dispatch (the job
            # fails with the reason) rather than run a private job as an ordinary one.
            inputs["private"] = "true"
        return inputs

    def _refused_optional(self, workflow: str, exc: GithubException) -> set[str]:
        """The optional inputs GitHub refused as undeclared, when those are all it refused
        and none was refused before (so a workflow is never sent the same one twice); empty
        when the refusal is of anything else, which is the job's own problem."""
        unexpected = _unexpected_inputs(exc)
        if not unexpected or not unexpected <= OPTIONAL:
            return set()
        if unexpected & self._undeclared.get(workflow, set()):
            return set()
        return unexpected

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

    def _found(self, job: GitHubJob, run_id: int, html_url: str | None) -> None:
        job.run_id, job.html_url, job.listing = run_id, html_url, None
        self._journal.put(job.spec.job_id, Mark(run_id=run_id, html_url=html_url,
                                                abandoned=job.abandoned))  # fmt: skip

    # -- looking for the run ---------------------------------------------------------------------

    def _find(self, job: GitHubJob, *, until: float) -> bool:
        """Look for the job's run in GitHub's listing until it is there (True) or a listing
        asked for at `until` or later does not show it (False). Repeated looks send the
        listing's ETag: while nothing changes GitHub answers 304, which it does not count.
        Raises GitHubUnavailable when GitHub cannot say: nothing may be sent then."""
        pause = self._pacing.first_poll_s
        while True:
            asked_at = self._clock()
            try:
                runs = self._calls.read(lambda: self._listing(job))
            except GitHubUnavailable:
                if self._clock() >= until:
                    raise
            else:
                run = self._newest_of_job(job, runs)
                if run is not None:
                    self._found(job, int(run["id"]), run.get("html_url"))
                    return True
                if asked_at >= until:
                    job.listing = None
                    return False
            time.sleep(max(0.0, min(pause, until - self._clock())))
            pause = min(self._pacing.max_poll_s, pause * self._pacing.growth)

    def _newest_of_job(self, job: GitHubJob, runs: list[dict[str, Any]]) -> dict[str, Any] | None:
        others = {j.run_id for j in self._jobs.values() if j is not job}
        for run in runs:  # newest first
            title = str(run.get("display_title") or run.get("name") or "")
            if job.spec.job_id in title.split() and run["id"] not in {*others, *job.abandoned}:
                return run
        return None

    def _listing(self, job: GitHubJob) -> list[dict[str, Any]]:
        """The workflow's dispatched runs created since the job was (less five minutes for
        the clocks' difference), newest first; a conditional request once it has an ETag."""
        since = datetime.fromtimestamp(job.dispatched_at - 300, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        query = f"{job.spec.workflow} >={since}"
        url = f"{self._calls.repo_url}/actions/workflows/{job.spec.workflow}/runs"
        params = {"event": "workflow_dispatch", "created": f">={since}", "per_page": 30}
        cached = job.listing if job.listing and job.listing[0] == query else None
        headers = {"If-None-Match": cached[1]} if cached else {}
        requester = self._calls.gh.requester
        status, answer_headers, body = requester.requestJson("GET", url, params, headers)
        if status == 304 and cached:
            return cached[2]
        data = json.loads(body) if body else {}
        if status >= 400:
            raise requester.createException(status, answer_headers, data)
        runs: list[dict[str, Any]] = list(data.get("workflow_runs") or [])
        job.listing = (query, str(answer_headers.get("etag", "")), runs)
        return runs


def _refuses_run_details(exc: GithubException) -> bool:
    """GitHub's answer to a key it does not know: 422 `"return_run_details" is not a
    permitted key.`"""
    return exc.status == 422 and "return_run_details" in message(exc)


def _unexpected_inputs(exc: GithubException) -> set[str]:
    """The inputs GitHub says the workflow does not declare: 422 `Unexpected inputs
    provided: ["name", "max_duration_min"]`; empty for any other answer."""
    said = message(exc)
    if exc.status != 422 or not said.startswith("Unexpected inputs provided:"):
        return set()
    try:
        unexpected = json.loads(said.split(":", 1)[1])
    except ValueError:
        return set()
    if not isinstance(unexpected, list) or not all(isinstance(i, str) for i in unexpected):
        return set()
    return set(unexpected)
