"""Watching a job's run on GitHub: what it is doing, why it waits, how it ended, its results.

Every look at a run is a conditional request (ETag → 304, free against the rate limit); the
steps are fetched only when the run changed. A run GitHub cancelled while it still waited (a
concurrency group without `queue: max`, or past 100 waiting) is handed back to be dispatched
again; one that waited past GitHub's 24-hour queue limit ends failed with a reason.

While the job runs, its progress is read from its check run (found in the run's jobs listing,
`check_run_url`), where the runner writes it (jobs/checkrun.py), also conditionally: a read
that finds something new waits `Pacing.progress_every_s` for the next. Progress is best
effort: a title that is not ours, or a read that fails, leaves the step name to say it.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
from github import GithubException
from github.WorkflowRun import WorkflowRun

from bot.executors.artifacts import (
    MAX_UNPACKED_BYTES,
    ArtifactExpired,
    UnsafeArtifact,
    download_artifact,
    extract_zip,
)
from bot.executors.base import JobSpec, JobState, Phase, Refusal, read_refusal
from bot.executors.github_calls import GitHubCalls, passing
from bot.executors.github_dispatch import GitHubJob
from bot.fleet import Fleet, Runner
from jobs.checkrun import read_output
from jobs.errors import RelayqError, SourceUnreachable
from jobs.progress import ProgressRecord

__all__ = ["QUEUE_LIMIT_S", "Watcher", "running_text"]

QUEUE_LIMIT_S = 24 * 3600
log = logging.getLogger(__name__)


class Watcher:
    def __init__(self, calls: GitHubCalls, *, work_dir: Path, clock: Callable[[], float],
                 dispatch_again: Callable[[GitHubJob], None]) -> None:  # fmt: skip
        self._calls = calls
        self._work_dir = work_dir
        self._clock = clock
        self._dispatch_again = dispatch_again
        self._fleet: tuple[float, Fleet] | None = None
        self._running: set[str] = set()  # the jobs last seen running: they share the reads
        # GitHub refused to show the token check runs (a fine-grained token cannot be given
        # the Checks permission): progress is not asked for again; the steps say it.
        self._checks_refused = False

    def run_of(self, job: GitHubJob) -> WorkflowRun:
        """The handle on the job's run, made again when the job has a new run."""
        if job.run is None or job.run.id != job.run_id:
            assert job.run_id is not None
            job.run = self._calls.run(job.run_id)
            job.step = None
            job.check_run, job.progress, job.progress_read_at = None, None, None
        return job.run

    def observe(self, job: GitHubJob) -> JobState:
        run = self.run_of(job)
        changed = self._calls.read(run.update)  # a 304 costs nothing and leaves `run` as it was
        spec, url = job.spec, run.html_url
        self._running.discard(spec.job_id)
        if run.status in ("queued", "waiting", "pending", "requested"):
            text, why, runners = self._waiting(spec)
            return JobState(spec.job_id, Phase.QUEUED, text, url=url, waiting_why=why,
                            waiting_on=runners)  # fmt: skip
        if run.status == "in_progress":
            if changed or job.step is None:  # the steps are worth a request only when it moved
                job.step = self._current_step(job, run) or job.step
            self._running.add(spec.job_id)
            step, progress = job.step, self._progress(job)
            return JobState(spec.job_id, Phase.RUNNING, running_text(step, progress), url=url,
                            step=step, progress=progress)  # fmt: skip
        return self._finished(job, run)

    def _finished(self, job: GitHubJob, run: WorkflowRun) -> JobState:
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
                self._dispatch_again(job)
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
        said, refusal = self._runner_said(run)
        if said or refusal is not None:  # the job's own sentence: what was wrong, what to do
            return JobState(spec.job_id, Phase.FAILED, said or "the runner refused the job",
                            url=url, step=failed_step, refusal=refusal)  # fmt: skip
        where = f" at step '{failed_step}'" if failed_step else ""
        return JobState(spec.job_id, Phase.FAILED,
                        f"the run failed{where}; open the run for its log", url=url,
                        step=failed_step)  # fmt: skip

    def _runner_said(self, run: WorkflowRun) -> tuple[str | None, Refusal | None]:
        """The last line the failed job wrote (`error.txt` in its results, jobs/run_job.sh),
        without its `relayq: ` prefix, and its refusal (`refusal.json`) when it refused the
        job; None for what there is none of to be had."""
        try:
            with tempfile.TemporaryDirectory() as tmp:
                results = self._fetch_results(run, Path(tmp), max_bytes=1_000_000)
                error = results / "error.txt"
                text = error.read_text(errors="replace") if error.is_file() else ""
                refusal = read_refusal(results)
        except (RelayqError, GithubException, OSError):
            return None, None
        line = " ".join(text.split())[:400]
        said = line.removeprefix("relayq: ") if line.startswith("relayq: ") else None
        return said, refusal

    def _lost_runner(self, run: WorkflowRun) -> str | None:
        """The runner that ran a failed run, if it is offline now: GitHub fails a job whose
        runner stopped answering ("lost communication with the server")."""
        names = [j.runner_name for j in self._jobs_of(run) if j.runner_name]
        if not names:
            return None
        offline = {r.name for r in self.fleet_now(True).runners if not r.online}
        return next((str(n) for n in names if n in offline), None)

    def _jobs_of(self, run: WorkflowRun) -> list[Any]:
        return self._calls.read(lambda: list(run.jobs()))

    def _current_step(self, job: GitHubJob, run: WorkflowRun) -> str | None:
        jobs = self._jobs_of(run)
        if job.check_run is None:
            url = next((str(j.check_run_url) for j in jobs if j.check_run_url), None)
            job.check_run = self._calls.check_run(url) if url else None
        for wf_job in jobs:
            for step in wf_job.steps:
                if step.status == "in_progress":
                    return str(step.name)
        return None

    def _progress(self, job: GitHubJob) -> ProgressRecord | None:
        """The runner's progress as its check run says it: read again only when the last read
        that found it new is `progress_every_s` old (a read that finds nothing new is a 304)."""
        check, now, pacing = job.check_run, time.monotonic(), self._calls.pacing
        if check is None or self._checks_refused:
            return job.progress
        every = max(pacing.progress_every_s,
                    3600 * len(self._running) / pacing.progress_reads_per_hour)  # fmt: skip
        if job.progress_read_at is not None and now - job.progress_read_at < every:
            return job.progress
        try:
            if not check.update():  # 304: nothing new, and free
                return job.progress
            output, started = check.output, check.started_at
        except GithubException as exc:
            job.progress_read_at = now  # best effort: the steps say it until the next try
            if exc.status in (401, 403, 404) and not passing(exc):
                self._checks_refused = True
                log.warning("GitHub does not show this token the jobs' check runs (HTTP %s): "
                            "progress is shown as step names; see docs/SETUP_OCI_TRIGGER.md",
                            exc.status)  # fmt: skip
            return job.progress
        except requests.RequestException:
            job.progress_read_at = now
            return job.progress
        job.progress_read_at = now
        elapsed = self._clock() - started.timestamp() if started else 0.0
        title, text = (output.title, output.summary) if output else (None, None)
        job.progress = read_output(title, text, elapsed_s=elapsed)
        return job.progress

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
        fleet = self.fleet_now(False)
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

    def fleet_now(self, fresh: bool) -> Fleet:
        """The runners as GitHub lists them (`fresh=False`: as seen within runners_every_s)."""
        now = time.monotonic()
        if not fresh and self._fleet and now - self._fleet[0] < self._calls.pacing.runners_every_s:
            return self._fleet[1]
        listed = self._calls.read(lambda: list(self._calls.repo.get_self_hosted_runners()))
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
        artifacts = self._calls.read(lambda: list(run.get_artifacts()))
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
                artifact.archive_download_url, self._calls.token, Path(tmp) / "a.zip"
            )
            extract_zip(archive, folder, max_bytes=max_bytes)
        return folder


def running_text(step: str | None, progress: ProgressRecord | None) -> str:
    """`running: transcribe 42% · about 3 min left`, or the step when there is no progress."""
    if progress is None:
        return f"running: {step}" if step else "running"
    return f"running: {progress.said()}"
