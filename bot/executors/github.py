"""The GitHub Actions executor: workflow_dispatch to self-hosted runners, watched to the end.

The only module that imports PyGithub. It never dispatches a job twice: the dispatch POST is
sent without PyGithub's retries, and after an ambiguous failure (5xx, timeout, dropped
connection) it looks for the run by the job's request_id in the run name before sending again.
Watching uses conditional requests (ETag → 304, free against the rate limit) with adaptive
polling. A run GitHub cancels while it is still pending (a concurrency group without
`queue: max`, or past 100 waiting) is dispatched again; one that waited past GitHub's 24-hour
queue limit ends failed with a reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import requests
from github import Auth, Github, GithubException
from github.Repository import Repository
from github.Workflow import Workflow
from github.WorkflowRun import WorkflowRun

from bot.executors.artifacts import (
    MAX_UNPACKED_BYTES,
    ArtifactExpired,
    UnsafeArtifact,
    download_artifact,
    extract_zip,
)
from bot.executors.base import JobSpec, JobState, Phase, Unavailable
from bot.fleet import Fleet, Runner
from jobs.errors import ConfigError, RelayqError, SourceUnreachable, UsageError

__all__ = ["GitHubActionsExecutor", "Pacing"]

T = TypeVar("T")
QUEUE_LIMIT_S = 24 * 3600


class GitHubUnavailable(Unavailable):
    pass


@dataclass(frozen=True)
class Pacing:
    """How often to ask GitHub. Defaults keep a 10-minute job under 20 counted requests."""

    first_poll_s: float = 2.0
    max_poll_s: float = 30.0
    max_poll_running_s: float = 4.0
    growth: float = 1.6
    runners_every_s: float = 120.0
    retries: int = 6
    retry_base_s: float = 1.0
    secondary_limit_s: float = 60.0


@dataclass
class _Job:
    spec: JobSpec
    run_id: int | None = None
    run: WorkflowRun | None = None
    html_url: str | None = None
    dispatched_at: float = 0.0
    dispatches: int = 0
    cancel_requested: bool = False
    step: str | None = None
    states: list[JobState] = field(default_factory=list)


class GitHubActionsExecutor:
    name = "github"

    def __init__(self, *, token: str, repo: str, api_url: str, ref: str = "main",
                 work_dir: Path, pacing: Pacing | None = None, timeout_s: float = 30.0,
                 clock: Callable[[], float] = time.time) -> None:  # fmt: skip
        self._token = token
        self._repo_name = repo
        self._ref = ref
        self._work_dir = work_dir
        self._pacing = pacing or Pacing()
        self._clock = clock
        # retry=None: a failed POST must never be re-sent behind our back (it would start a
        # second run); reads are retried here, where rate limits are honoured explicitly.
        self._gh = Github(auth=Auth.Token(token), base_url=api_url.rstrip("/"), retry=None,
                          timeout=int(timeout_s), per_page=30)  # fmt: skip
        # A repository handle without a GET: every call below names its own URL.
        self._repo = Repository(self._gh.requester, headers={}, completed=False,
                                attributes={"url": f"{api_url.rstrip('/')}/repos/{repo}",
                                            "full_name": repo})  # fmt: skip
        self._jobs: dict[str, _Job] = {}
        self._fleet: tuple[float, Fleet] | None = None

    # -- the Executor interface ------------------------------------------------------------------

    async def submit(self, spec: JobSpec) -> str:
        if spec.job_id in self._jobs:
            raise UsageError(f"job {spec.job_id} was already submitted; use a new job id")
        job = _Job(spec)
        self._jobs[spec.job_id] = job
        await asyncio.to_thread(self._dispatch, job)
        return job.html_url or spec.job_id

    async def resume(self, spec: JobSpec, *, run_url: str | None, since: float) -> str:
        """After a restart: take up the job's newest run, found by its request_id among the
        runs created since the job was (a kill may have come after GitHub cancelled a waiting
        run and relayq sent it again), else its run as recorded (older than the listing
        reaches: the bot was down for days); dispatch only when it has none at all."""
        job = _Job(spec, dispatched_at=since)
        self._jobs[spec.job_id] = job
        found = await asyncio.to_thread(self._find_run, job, wait_s=0)
        recorded = (run_url or "").rstrip("/").rsplit("/", 1)[-1]
        if not found and recorded.isdigit():
            job.run_id, job.html_url = int(recorded), run_url
        elif not found:
            await asyncio.to_thread(self._dispatch, job)
        return job.html_url or spec.job_id

    async def watch(self, job_id: str) -> AsyncIterator[JobState]:
        job = self._job(job_id)
        pause = self._pacing.first_poll_s
        last: tuple[Phase, str, str | None] | None = None
        while True:
            state = await asyncio.to_thread(self._observe, job)
            key = (state.phase, state.detail, state.step)
            if key != last:
                last = key
                pause = self._pacing.first_poll_s
                job.states.append(state)
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
            # A run that has already ended cannot be cancelled (409): nothing to do.
            with contextlib.suppress(GithubException, RelayqError):
                await asyncio.to_thread(self._read, lambda: self._run(job).cancel())

    async def close(self) -> None:
        """Release PyGithub's connection pool."""
        await asyncio.to_thread(self._gh.close)

    async def fleet(self) -> Fleet:
        return await asyncio.to_thread(self._fleet_now, True)

    async def rate_limit(self) -> tuple[int, int]:
        """(remaining, limit) of the core budget; the check itself is free."""
        limits = await asyncio.to_thread(self._read, self._gh.get_rate_limit)
        core = limits.resources.core
        return core.remaining, core.limit

    # -- dispatch --------------------------------------------------------------------------------

    def _dispatch(self, job: _Job) -> None:
        spec = job.spec
        inputs = {"source": spec.source, "request_id": spec.job_id, "backend": spec.backend,
                  "model": spec.model or "", "language": spec.language or ""}  # fmt: skip
        workflow = self._workflow(spec.workflow)
        job.dispatched_at = self._clock()
        for attempt in range(self._pacing.retries):
            try:
                job.dispatches += 1
                result: object = workflow.create_dispatch(
                    self._ref, inputs, throw=True, return_run_details=True
                )
            except GithubException as exc:
                if not _passing(exc):
                    raise ConfigError(_dispatch_refused(spec.workflow, exc)) from None
                self._sleep_for(exc, attempt)
            except (requests.ConnectionError, requests.Timeout):
                time.sleep(self._pacing.retry_base_s * 2**attempt)
            else:
                if isinstance(result, WorkflowRun):
                    job.run_id, job.html_url = result.id, result.html_url
                    return
                # GitHub Enterprise Server answers 204 without details: find it by name.
                if self._find_run(job, wait_s=10):
                    return
                raise GitHubUnavailable("GitHub accepted the dispatch but the run never appeared")
            # An ambiguous failure: the run may exist. Look before sending again.
            if self._find_run(job, wait_s=3):
                return
        raise GitHubUnavailable(
            f"GitHub did not accept the dispatch of {spec.workflow} after "
            f"{self._pacing.retries} tries; the job is kept, try again later"
        )

    def _find_run(self, job: _Job, *, wait_s: float) -> bool:
        """Look for this job's run (its request_id is in the run name), briefly."""
        deadline = time.monotonic() + wait_s
        since = datetime.fromtimestamp(job.dispatched_at - 300, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        while True:
            try:
                runs = self._read(partial(self._recent_runs, job.spec.workflow, since))
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
        listing = self._workflow(workflow).get_runs(event="workflow_dispatch", created=f">={since}")
        return list(itertools.islice(listing, 30))

    def _workflow(self, file: str) -> Workflow:
        url = f"{self._repo.url}/actions/workflows/{file}"
        return Workflow(self._gh.requester, headers={}, attributes={"url": url}, completed=False)

    # -- watching --------------------------------------------------------------------------------

    def _run(self, job: _Job) -> WorkflowRun:
        """A handle on the job's run; its first `update()` is what fetches it."""
        if job.run is None or job.run.id != job.run_id:
            assert job.run_id is not None
            url = f"{self._repo.url}/actions/runs/{job.run_id}"
            job.run = WorkflowRun(self._gh.requester, headers={}, completed=False,
                                  attributes={"id": job.run_id, "url": url})  # fmt: skip
            job.step = None
        return job.run

    def _observe(self, job: _Job) -> JobState:
        run = self._run(job)
        changed = self._read(run.update)  # a 304 costs nothing and leaves `run` as it was
        spec, url = job.spec, run.html_url
        if run.status in ("queued", "waiting", "pending", "requested"):
            text, why, runners = self._waiting(spec)
            return JobState(spec.job_id, Phase.QUEUED, text, url=url, waiting_why=why,
                            waiting_on=runners)  # fmt: skip
        if run.status == "in_progress":
            if changed or job.step is None:  # the steps are worth a request only when it moved
                job.step = self._current_step(run) or job.step
            step = job.step
            return JobState(spec.job_id, Phase.RUNNING, f"running: {step}" if step else "running",
                            url=url, step=step)  # fmt: skip
        return self._finished(job, run)

    def _finished(self, job: _Job, run: WorkflowRun) -> JobState:
        spec, url = job.spec, run.html_url
        if run.conclusion == "success":
            try:
                result = self._fetch_results(run)
            except (ArtifactExpired, UnsafeArtifact, SourceUnreachable) as err:
                return JobState(spec.job_id, Phase.FAILED, str(err), url=url)
            return JobState(spec.job_id, Phase.SUCCEEDED, "done", url=url, result_dir=result)
        if run.conclusion == "cancelled":
            if job.cancel_requested:
                return JobState(spec.job_id, Phase.CANCELLED, "cancelled", url=url)
            if not self._ever_started(run):
                waited = self._clock() - run.created_at.timestamp()
                if waited >= QUEUE_LIMIT_S - 60:
                    return JobState(spec.job_id, Phase.FAILED,
                                    "no runner picked it up within GitHub's 24-hour queue limit; "
                                    "check that a runner with labels " + ", ".join(spec.labels)
                                    + " is online, then send it again", url=url)  # fmt: skip
                # GitHub dropped it while it waited (another run took its place): send it again.
                job.run_id, job.run = None, None
                self._dispatch(job)
                return JobState(spec.job_id, Phase.QUEUED,
                                "GitHub cancelled the waiting run; dispatched it again",
                                url=job.html_url)  # fmt: skip
            return JobState(spec.job_id, Phase.CANCELLED, "cancelled on GitHub", url=url)
        failed_step = self._failed_step(run)
        lost = self._lost_runner(run)
        if lost is not None:
            return JobState(spec.job_id, Phase.FAILED,
                            f"the runner {lost} went offline in the middle of the run",
                            url=url, step=failed_step, runner_lost=lost)  # fmt: skip
        said = self._runner_said(run)
        if said:  # the job's own sentence: what was wrong, what to do
            return JobState(spec.job_id, Phase.FAILED, said, url=url, step=failed_step)
        where = f" at step '{failed_step}'" if failed_step else ""
        return JobState(spec.job_id, Phase.FAILED,
                        f"the run failed{where}; open the run for its log", url=url,
                        step=failed_step)  # fmt: skip

    def _runner_said(self, run: WorkflowRun) -> str | None:
        """The last line the failed job wrote (`error.txt` in its results, jobs/run_job.sh),
        without its `relayq: ` prefix; None when there is none to be had."""
        try:
            with tempfile.TemporaryDirectory() as tmp:
                error = self._fetch_results(run, Path(tmp), max_bytes=1_000_000) / "error.txt"
                text = error.read_text(errors="replace") if error.is_file() else ""
        except (RelayqError, GithubException, OSError):
            return None
        line = " ".join(text.split())[:400]
        return line.removeprefix("relayq: ") if line.startswith("relayq: ") else None

    def _lost_runner(self, run: WorkflowRun) -> str | None:
        """The runner that ran a failed run, if it is offline now: GitHub fails a job whose
        runner stopped answering ("lost communication with the server")."""
        names = [j.runner_name for j in self._jobs_of(run) if j.runner_name]
        if not names:
            return None
        offline = {r.name for r in self._fleet_now(True).runners if not r.online}
        return next((str(n) for n in names if n in offline), None)

    def _jobs_of(self, run: WorkflowRun) -> list[Any]:
        return self._read(lambda: list(run.jobs()))

    def _current_step(self, run: WorkflowRun) -> str | None:
        return self._first_step(run, lambda step: step.status == "in_progress")

    def _failed_step(self, run: WorkflowRun) -> str | None:
        return self._first_step(run, lambda step: step.conclusion == "failure")

    def _first_step(self, run: WorkflowRun, wanted: Callable[[Any], bool]) -> str | None:
        for wf_job in self._jobs_of(run):
            for step in wf_job.steps:
                if wanted(step):
                    return str(step.name)
        return None

    def _ever_started(self, run: WorkflowRun) -> bool:
        return any(j.runner_name for j in self._jobs_of(run))

    def _waiting(self, spec: JobSpec) -> tuple[str, str | None, tuple[str, ...]]:
        """Why a queued run waits: (text, reason, the runners that could take it)."""
        fleet = self._fleet_now(False)
        labels = ", ".join(spec.labels) or spec.target
        runners = fleet.serving(spec.labels)
        names = tuple(r.name for r in runners)
        if not runners:
            why = "none registered"
        elif not any(r.online for r in runners):
            why = "none online"
        elif all(r.busy for r in runners if r.online):
            why = "all busy"
        else:
            return f"queued for a runner with labels {labels}", None, names
        return f"waiting for a runner with labels {labels} — {why}", why, names

    def _fleet_now(self, fresh: bool) -> Fleet:
        now = time.monotonic()
        if not fresh and self._fleet and now - self._fleet[0] < self._pacing.runners_every_s:
            return self._fleet[1]
        listed = self._read(lambda: list(self._repo.get_self_hosted_runners()))
        fleet = Fleet(tuple(
            Runner(r.name, r.os, r.status == "online", bool(r.busy),
                   frozenset(str(label["name"]).lower() for label in r.labels))
            for r in listed
        ))  # fmt: skip
        self._fleet = (now, fleet)
        return fleet

    def _fetch_results(
        self, run: WorkflowRun, folder: Path | None = None, *, max_bytes: int = MAX_UNPACKED_BYTES
    ) -> Path:
        """The run's results, unpacked into `folder` (by default the run's own, kept)."""
        artifacts = self._read(lambda: list(run.get_artifacts()))
        if not artifacts:
            raise SourceUnreachable("the run finished but uploaded no results; open the run's log")
        artifact = artifacts[0]
        if artifact.expired:
            raise ArtifactExpired(
                "the run's results have expired on GitHub (artifacts are kept 3 days); "
                "run the job again"
            )
        folder = folder or self._work_dir / str(run.id)
        with tempfile.TemporaryDirectory() as tmp:
            archive = download_artifact(
                artifact.archive_download_url, self._token, Path(tmp) / "a.zip"
            )
            extract_zip(archive, folder, max_bytes=max_bytes)
        return folder

    # -- calls -----------------------------------------------------------------------------------

    def _read(self, call: Callable[[], T]) -> T:
        """A read call with retries that honour GitHub's rate-limit answers."""
        for attempt in range(self._pacing.retries):
            try:
                return call()
            except GithubException as exc:
                if not _passing(exc):
                    raise _read_refused(exc) from None
                self._sleep_for(exc, attempt)
            except (requests.ConnectionError, requests.Timeout):
                time.sleep(self._pacing.retry_base_s * 2**attempt)
        raise GitHubUnavailable(
            f"GitHub did not answer after {self._pacing.retries} tries; the job is kept and "
            "will be checked again"
        )

    def _sleep_for(self, exc: GithubException, attempt: int) -> None:
        headers = {k.lower(): v for k, v in (exc.headers or {}).items()}
        if "retry-after" in headers:
            time.sleep(float(headers["retry-after"]))
        elif headers.get("x-ratelimit-remaining") == "0" and "x-ratelimit-reset" in headers:
            time.sleep(max(0.0, float(headers["x-ratelimit-reset"]) - time.time()) + 1)
        elif exc.status in (403, 429):  # a secondary limit without a hint: at least a minute
            time.sleep(self._pacing.secondary_limit_s * 2**attempt)
        else:
            time.sleep(self._pacing.retry_base_s * 2**attempt)

    def _job(self, job_id: str) -> _Job:
        try:
            return self._jobs[job_id]
        except KeyError:
            raise UsageError(f"no job {job_id} in this session") from None


def _message(exc: GithubException) -> str:
    data = exc.data
    return str(data.get("message", "")) if isinstance(data, dict) else ""


def _passing(exc: GithubException) -> bool:
    """A server error or a rate limit: asking again later helps. A 403 is a rate limit only
    when GitHub says so (a header or its message); otherwise it is a permission refused, which
    waiting never mends."""
    if exc.status >= 500 or exc.status == 429:
        return True
    if exc.status != 403:
        return False
    headers = {k.lower(): v for k, v in (exc.headers or {}).items()}
    limited = "retry-after" in headers or headers.get("x-ratelimit-remaining") == "0"
    return limited or "rate limit" in _message(exc).lower()


def _read_refused(exc: GithubException) -> RelayqError:
    """The sentence for a read GitHub refuses: what is wrong, what to change."""
    if exc.status == 401:
        return ConfigError("GitHub refused the token (HTTP 401); check GITHUB_TOKEN, it may "
                           "have expired or been revoked")  # fmt: skip
    if exc.status == 403:
        return ConfigError(
            f"GitHub did not let the token do this ({_message(exc)[:120] or 'HTTP 403'}); give "
            "it the permissions in docs/SETUP_OCI_TRIGGER.md (Actions: read and write, "
            "Administration: read-only)"
        )
    if exc.status == 404:
        return ConfigError("GitHub does not show this token the repository or the run; check "
                           "RELAYQ_GITHUB_REPO and the token's repository access")  # fmt: skip
    return RelayqError(f"GitHub refused the request (HTTP {exc.status}: {_message(exc)[:120]})")


def _dispatch_refused(workflow: str, exc: GithubException) -> str:
    message = _message(exc)
    if exc.status == 403:
        return (f"GitHub refused to start {workflow} ({message[:120] or 'HTTP 403'}); give the "
                "token Actions: read and write (docs/SETUP_OCI_TRIGGER.md)")  # fmt: skip
    if exc.status == 404:
        return (f"GitHub has no workflow {workflow} in this repository (or the token cannot see "
                "it); check RELAYQ_GITHUB_REPO and the token's Actions permission")  # fmt: skip
    if exc.status == 401:
        return "GitHub refused the token; check GITHUB_TOKEN"
    return (
        f"GitHub refused to start {workflow} (HTTP {exc.status}: {message[:120]}); check the inputs"
    )
