"""The local executor: runs a routed job on this machine in a subprocess, the embedded default.

The subprocess is the same entry the workflows call (`jobs/transcribe.sh` → `relayq transcribe`),
so a job behaves the same here and on a runner. Jobs run one at a time per target, in the order
they were submitted; each job's folder under `work_dir` holds its spec, its last state, its log
and its outputs, so `relayq status` can show recent jobs after the process is gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import sys
from collections.abc import AsyncIterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import BinaryIO

from bot.executors.base import Discarded, JobSpec, JobState, Phase, Refusal, read_refusal
from bot.executors.processes import (
    GRACE_S,
    signal_group,
    signal_if_running,
    start_mark,
    stop,
    stop_leftover,
)
from jobs import progress
from jobs.errors import UsageError
from jobs.progress import ProgressRecord

__all__ = ["LocalExecutor", "job_entry", "read_job_states"]

STEP_PREFIX = "relayq: "
PROCESS_FILE = "process"  # in the job's folder: the running job's pid and start mark
STEP_SETTLE_S = 0.3  # a step line is shown this long after it came, if no other came first

BOT_SECRETS = frozenset({"TELEGRAM_BOT_TOKEN", "GITHUB_TOKEN"})


def job_entry() -> Path:
    """The runner entry script shipped inside the `jobs` package."""
    import jobs

    return Path(jobs.__file__).resolve().parent / "transcribe.sh"


@dataclass
class _Job:
    spec: JobSpec
    folder: Path
    states: list[JobState] = field(default_factory=list)
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    process: asyncio.subprocess.Process | None = None
    cancel_requested: bool = False
    last_line: str = ""
    unsettled: str | None = None  # the last step line, when the job ended right after it
    progress: ProgressRecord | None = None  # the job's last record that was not stale

    @property
    def last(self) -> JobState:
        return self.states[-1]


class LocalExecutor:
    """Runs jobs as subprocesses on this machine, one at a time per target, FIFO."""

    name = "local"

    def __init__(
        self,
        work_dir: Path,
        *,
        env: Mapping[str, str] | None = None,
        entry: Path | None = None,
        timeout_s: float = 240 * 60,
    ) -> None:
        self._work_dir = work_dir
        # The job never needs the bot's own secrets (uploads are fetched by the bot for it):
        # keep them out of its environment, as GitHub keeps them off the runners' inputs.
        self._env = {
            k: v for k, v in (os.environ if env is None else env).items() if k not in BOT_SECRETS
        }
        self._entry = entry or job_entry()
        self._timeout_s = timeout_s
        self._jobs: dict[str, _Job] = {}
        self._queues: dict[str, asyncio.Queue[_Job]] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}

    # -- the Executor interface --------------------------------------------------------------

    async def submit(self, spec: JobSpec) -> str:
        if spec.kind not in ("transcribe", "summarize"):
            raise UsageError(f"unknown job kind '{spec.kind}'; expected transcribe or summarize")
        if spec.job_id in self._jobs:
            raise UsageError(f"job {spec.job_id} was already submitted; use a new job id")
        folder = self._work_dir / spec.job_id
        folder.mkdir(parents=True, exist_ok=False)
        _write_json(folder / "spec.json", asdict(spec))
        job = _Job(spec=spec, folder=folder)
        self._jobs[spec.job_id] = job
        ahead = self._queue(spec.target).qsize() + (1 if self._busy(spec.target) else 0)
        detail = f"waiting for {ahead} job(s) ahead on {spec.target}" if ahead else "queued"
        await self._record(job, Phase.QUEUED, detail)
        await self._queue(spec.target).put(job)
        self._ensure_worker(spec.target)
        return spec.job_id

    async def resume(self, spec: JobSpec, *, run_url: str | None = None, since: float = 0) -> str:
        """After a restart: run it again (the result cache makes a finished transcription
        free), once what the old process left running of it is stopped. A job this process
        still has (its watcher gave up on an outage) is only watched again, unless it failed
        (its failure was the outage, a full disk here): then it runs again."""
        known = self._jobs.get(spec.job_id)
        if known is not None and known.last.phase is not Phase.FAILED:
            return spec.job_id
        self._jobs.pop(spec.job_id, None)
        await stop_leftover(self._work_dir / spec.job_id / PROCESS_FILE)
        shutil.rmtree(self._work_dir / spec.job_id, ignore_errors=True)
        return await self.submit(spec)

    async def watch(self, job_id: str) -> AsyncIterator[JobState]:
        job = self._job(job_id)
        seen = 0
        while True:
            async with job.changed:
                while len(job.states) <= seen:
                    await job.changed.wait()
                fresh = job.states[seen:]
            for state in fresh:
                seen += 1
                yield state
                if state.phase.terminal:
                    return

    async def cancel(self, job_id: str) -> None:
        job = self._job(job_id)
        if job.last.phase.terminal:
            return
        job.cancel_requested = True
        if job.process is None:
            await self._record(job, Phase.CANCELLED, "cancelled before it started")
            return
        # SIGINT, then SIGTERM: the job turns either into a clean stop that removes its temp
        # files (a shell that started us in the background may have left SIGINT ignored);
        # whatever still runs after the grace period is killed.
        signal_group(job.process, signal.SIGINT)
        loop = asyncio.get_running_loop()
        loop.call_later(1.0, signal_if_running, job.process, signal.SIGTERM)
        loop.call_later(GRACE_S, signal_if_running, job.process, signal.SIGKILL)

    async def close(self) -> None:
        """Cancel everything still queued or running and stop the workers."""
        for job_id, job in list(self._jobs.items()):
            if not job.last.phase.terminal:
                await self.cancel(job_id)
        for task in self._workers.values():
            task.cancel()
        for task in self._workers.values():
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def discard(self, run_url: str | None) -> Discarded:
        return Discarded()  # a local job's results are all in its folder here

    async def fleet(self) -> None:
        """No runners to list: this machine runs every target."""
        return

    def state(self, job_id: str) -> JobState:
        return self._job(job_id).last

    # -- internals -------------------------------------------------------------------------------

    def _job(self, job_id: str) -> _Job:
        try:
            return self._jobs[job_id]
        except KeyError:
            raise UsageError(f"no job {job_id} on this machine; see 'relayq status'") from None

    def _queue(self, target: str) -> asyncio.Queue[_Job]:
        return self._queues.setdefault(target, asyncio.Queue())

    def _busy(self, target: str) -> bool:
        return any(
            j.spec.target == target and j.states and j.last.phase is Phase.RUNNING
            for j in self._jobs.values()
        )

    def _ensure_worker(self, target: str) -> None:
        task = self._workers.get(target)
        if task is None or task.done():
            self._workers[target] = asyncio.create_task(self._worker(target))

    async def _worker(self, target: str) -> None:
        queue = self._queue(target)
        while True:
            job = await queue.get()
            try:
                if not job.last.phase.terminal:
                    await self._run(job)
            finally:
                queue.task_done()

    async def _run(self, job: _Job) -> None:
        spec = job.spec
        out_dir = job.folder / "out"
        env = dict(self._env)
        if spec.kind == "transcribe":
            argv = ["bash", str(self._entry), "--out", str(out_dir), "--job-id", spec.job_id]
            if spec.backend:  # else the job's own settings choose, as on a runner
                argv += ["--backend", spec.backend]
            if spec.model:
                argv += ["--model", spec.model]
            if spec.language:
                argv += ["--language", spec.language]
            if spec.task != "transcribe":
                argv += ["--task", spec.task]
            if spec.name:  # the user's name for the source, said instead of our file's
                argv += ["--name", spec.name]
            if spec.max_duration_min is not None:  # the lifecycle passes none (driving.py)
                argv += ["--max-duration-min", f"{spec.max_duration_min:g}"]
            if spec.private:  # the local model only, no fallback (docs/PRIVACY.md)
                argv += ["--private"]
            # After `--` the source is only ever a source, even if it starts with a dash.
            argv += ["--", spec.source]
        else:
            # Other kinds go through the workflows' own job step, with its environment.
            argv = ["bash", str(self._entry.with_name("run_job.sh"))]
            env.update(RELAYQ_JOB=spec.kind, RELAYQ_SOURCE=spec.source, RELAYQ_OUT=str(out_dir),
                       RELAYQ_JOB_BACKEND=spec.backend, RELAYQ_JOB_MODEL=spec.model or "",
                       RELAYQ_JOB_LANGUAGE=spec.language or "",
                       RELAYQ_JOB_TASK=spec.task,
                       RELAYQ_JOB_PRIVATE="true" if spec.private else "")  # fmt: skip
        # The entry script runs `relayq`; make it the one from this interpreter's environment.
        env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
        await self._record(job, Phase.RUNNING, "starting", step="start")
        log_path = job.folder / "job.log"
        with log_path.open("wb") as log:
            process = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=asyncio.subprocess.PIPE,
                env=env,
                start_new_session=True,  # so cancel can stop the whole process group
            )
            job.process = process
            # A bot killed now leaves the job running in its own session: this names it, so
            # the next bot stops it before running the job again (`resume`).
            _write_atomic(job.folder / PROCESS_FILE, f"{process.pid} {start_mark(process.pid)}")
            follow = asyncio.create_task(self._follow(job, process, log))
            try:
                code = await asyncio.wait_for(process.wait(), timeout=self._timeout_s)
            except TimeoutError:
                await stop(process)
                await _finish(follow)
                await self._record(
                    job, Phase.FAILED, f"timed out after {self._timeout_s / 60:.0f} minutes"
                )
                return
            except asyncio.CancelledError:
                await stop(process)
                await _finish(follow)
                raise
            # The job is over; anything it left running in its group goes too, or it would
            # hold the pipe open.
            signal_group(process, signal.SIGKILL)
            await _finish(follow)
        last_line = job.last_line
        if job.cancel_requested:
            await self._record(job, Phase.CANCELLED, "cancelled while running", exit_code=code)
        elif code == 0:
            await self._step(job, job.unsettled)  # a step after all: the job went on to succeed
            await self._record(
                job, Phase.SUCCEEDED, "done", step="done", exit_code=0, result_dir=out_dir
            )
        else:
            reason = last_line.removeprefix(STEP_PREFIX) or f"the job exited with code {code}"
            await self._record(job, Phase.FAILED, reason, step=job.last.step, exit_code=code,
                               refusal=read_refusal(out_dir))  # fmt: skip

    async def _follow(self, job: _Job, process: asyncio.subprocess.Process, log: BinaryIO) -> None:
        """Read the job's stderr: step lines become RUNNING states. A job that fails says why
        in its last `relayq: ` line, which looks like a step: so a line becomes a step once
        the next one comes, or STEP_SETTLE_S after it came, and the last one not at all when
        the job ends then (it is the failure's reason, or "done"). Progress records
        (`relayq-progress: `) are never steps: each new one is a RUNNING state with the step
        as it stands."""
        assert process.stderr is not None
        pending: str | None = None
        while True:
            try:
                raw = await asyncio.wait_for(process.stderr.readline(),
                                             STEP_SETTLE_S if pending else None)  # fmt: skip
            except TimeoutError:
                await self._step(job, pending)
                pending = None
                continue
            if not raw:
                job.unsettled = pending
                return
            line = raw.decode("utf-8", "replace").rstrip()
            log.write(raw)
            if not line:
                continue
            if line.startswith(progress.LINE_PREFIX):
                await self._step(job, pending)  # the job went on: that was a step
                pending = None
                await self._progress(job, progress.parse(line))
                continue
            job.last_line = line
            if pending is not None:
                await self._step(job, pending)
            pending = line if line.startswith(STEP_PREFIX) else None

    async def _step(self, job: _Job, line: str | None) -> None:
        if line is None:
            return
        text = line.removeprefix(STEP_PREFIX)
        await self._record(job, Phase.RUNNING, text, step=text.split(" ", 1)[0].rstrip(":.…"),
                           progress=job.progress)  # fmt: skip

    async def _progress(self, job: _Job, record: ProgressRecord | None) -> None:
        """A record that moves the job on; garbage (None) and a stale one change nothing."""
        if record is None or not _newer(record, job.progress) or job.last.phase.terminal:
            return
        job.progress = record
        last = job.last
        await self._record(job, Phase.RUNNING, last.detail, step=last.step, progress=record)

    async def _record(
        self,
        job: _Job,
        phase: Phase,
        detail: str,
        *,
        step: str | None = None,
        exit_code: int | None = None,
        result_dir: Path | None = None,
        refusal: Refusal | None = None,
        progress: ProgressRecord | None = None,
    ) -> None:
        state = JobState(
            job_id=job.spec.job_id,
            phase=phase,
            detail=detail,
            step=step,
            exit_code=exit_code,
            result_dir=result_dir,
            refusal=refusal,
            progress=progress,
        )
        async with job.changed:
            job.states.append(state)
            job.changed.notify_all()
        payload = asdict(state)
        payload["phase"] = state.phase.value
        payload["result_dir"] = str(result_dir) if result_dir else None
        payload["target"] = job.spec.target
        payload["source"] = job.spec.source
        _write_json(job.folder / "state.json", payload)


def read_job_states(work_dir: Path, limit: int = 10) -> list[dict[str, object]]:
    """The last states of the most recent local jobs, newest first (for `relayq status`)."""
    rows: list[dict[str, object]] = []
    for path in work_dir.glob("*/state.json"):
        with contextlib.suppress(OSError, ValueError):
            rows.append(json.loads(path.read_text(encoding="utf-8")))
    rows.sort(key=lambda row: float(str(row.get("at", 0))), reverse=True)
    return rows[:limit]


def _write_json(path: Path, payload: object) -> None:
    _write_atomic(path, json.dumps(payload, indent=2, default=str))


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def _newer(record: ProgressRecord, last: ProgressRecord | None) -> bool:
    """A later phase, or further in the same one (a record going backwards is stale)."""
    if last is None:
        return True
    now, then = progress.PHASES.index(record.phase), progress.PHASES.index(last.phase)
    return now > then or (now == then and record.fraction > last.fraction)


async def _finish(follow: asyncio.Task[None]) -> None:
    """Let the stderr reader drain for a moment, then stop it."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(follow, timeout=2)
