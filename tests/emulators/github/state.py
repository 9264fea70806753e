"""The emulator's model of GitHub Actions: runners, runs, concurrency groups, a clock."""

from __future__ import annotations

import itertools
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

QUEUE_LIMIT_S = 24 * 3600
MAX_PENDING = 100
JOB_STEPS = ("Set up job", "Check out the job scripts", "Prepare the runner's cached venv",
             "Run the job", "Upload the results", "Complete job")  # fmt: skip


class Clock:
    """Real time plus an offset the tests can move forward (for the 24-hour queue limit)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


def iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Runner:
    id: int
    name: str
    os: str
    labels: list[str]
    online: bool = True
    busy: bool = False

    def serves(self, wanted: list[str]) -> bool:
        return {w.lower() for w in wanted} <= {label.lower() for label in self.labels}


@dataclass
class Step:
    name: str
    number: int
    status: str = "queued"
    conclusion: str | None = None
    started_at: float | None = None
    completed_at: float | None = None


@dataclass
class Run:
    id: int
    workflow_id: int
    workflow_file: str
    name: str
    display_title: str
    inputs: dict[str, str]
    labels: list[str]
    group: str | None
    created_at: float
    status: str = "queued"  # queued | in_progress | completed
    conclusion: str | None = None
    started_at: float | None = None
    updated_at: float = 0.0
    runner: str | None = None
    steps: list[Step] = field(
        default_factory=lambda: [Step(n, i + 1) for i, n in enumerate(JOB_STEPS)]
    )
    artifact_dir: Path | None = None
    artifact_id: int | None = None
    artifact_expired: bool = False
    cancel_requested: bool = False
    runner_lost: bool = False  # its runner dropped off mid-run: GitHub fails the job
    finished_mono: float | None = None  # when the run completed (time.monotonic), for benchmarks
    ended_by: str | None = None  # why it completed without running: "superseded", "expired", ...
    # Its one job's GITHUB_TOKEN (good while the run is in progress) and its check run's output.
    job_token: str = ""
    check_output: dict[str, str | None] = field(
        default_factory=lambda: {"title": None, "summary": None, "text": None}
    )

    @property
    def check_run_id(self) -> int:
        """Its one job's id, which is also its check run's (as on GitHub)."""
        return self.id * 10

    def touch(self, now: float) -> None:
        self.updated_at = now


class Model:
    """All mutable state, behind one lock."""

    def __init__(self, clock: Clock, *, honour_queue_max: bool) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self.honour_queue_max = honour_queue_max
        self.runners: dict[str, Runner] = {}
        self.runs: dict[int, Run] = {}
        self.workflow_ids: dict[str, int] = {}
        self._ids = itertools.count(1001)

    def next_id(self) -> int:
        return next(self._ids)

    def workflow_id(self, file: str) -> int:
        if file not in self.workflow_ids:
            self.workflow_ids[file] = self.next_id()
        return self.workflow_ids[file]

    def add_runner(
        self, name: str, labels: list[str], *, os: str = "Linux", online: bool = True
    ) -> Runner:
        with self.lock:
            runner = Runner(self.next_id(), name, os, labels, online=online)
            self.runners[name] = runner
            return runner

    def set_online(self, name: str, online: bool) -> None:
        with self.lock:
            self.runners[name].online = online

    def create_run(self, workflow_file: str, meta: dict[str, object], inputs: dict[str, str],
                   labels: list[str]) -> Run:  # fmt: skip
        with self.lock:
            now = self.clock.now()
            title = re.sub(r"\$\{\{\s*inputs\.(\w+)\s*\}\}", lambda m: inputs.get(m.group(1), ""),
                           str(meta["run_name"] or meta["name"]))  # fmt: skip
            run = Run(
                id=self.next_id(), workflow_id=self.workflow_id(workflow_file),
                workflow_file=workflow_file, name=str(meta["name"]), display_title=title,
                inputs=inputs, labels=labels, group=meta["group"] and str(meta["group"]),
                created_at=now, updated_at=now,
            )  # fmt: skip
            # Secret-shaped, with the canary the suite scans every leftover file for.
            run.job_token = f"ghs_CANARY{run.id}x{secrets.token_hex(12)}"
            self.runs[run.id] = run
            self._apply_concurrency(
                run, queue_max=bool(meta["queue_max"]) and self.honour_queue_max
            )
            return run

    def _apply_concurrency(self, new: Run, *, queue_max: bool) -> None:
        if new.group is None:
            return
        pending = [r for r in self.runs.values()
                   if r.group == new.group and r.status == "queued" and r.id != new.id]  # fmt: skip
        limit = MAX_PENDING - 1 if queue_max else 0
        # GitHub without queue: max keeps one pending run per group: a newer one cancels it.
        for old in sorted(pending, key=lambda r: r.created_at)[: max(0, len(pending) - limit)]:
            self.complete(old, "cancelled", ended_by="superseded")

    def complete(self, run: Run, conclusion: str, *, ended_by: str | None = None) -> None:
        now = self.clock.now()
        run.status, run.conclusion, run.ended_by = "completed", conclusion, ended_by
        for step in run.steps:
            if step.status != "completed":
                step.status, step.conclusion = (
                    "completed",
                    "skipped" if step.started_at is None else conclusion,
                )
                step.completed_at = now
        if run.runner and run.runner in self.runners:
            self.runners[run.runner].busy = False
        run.touch(now)

    def expire_and_pick(self) -> list[tuple[Run, Runner]]:
        """Expire runs queued too long; assign idle runners to the oldest eligible runs."""
        with self.lock:
            now = self.clock.now()
            started: list[tuple[Run, Runner]] = []
            for run in sorted(self.runs.values(), key=lambda r: r.created_at):
                if run.status != "queued":
                    continue
                if now - run.created_at >= QUEUE_LIMIT_S:
                    self.complete(run, "cancelled", ended_by="expired")
                    continue
                if run.group and any(r.group == run.group and r.status == "in_progress"
                                     for r in self.runs.values()):  # fmt: skip
                    continue
                runner = next((r for r in self.runners.values()
                               if r.online and not r.busy and r.serves(run.labels)), None)  # fmt: skip
                if runner is None:
                    continue
                runner.busy = True
                run.status, run.runner, run.started_at = "in_progress", runner.name, now
                run.touch(now)
                started.append((run, runner))
            return started

    def step_event(self, run: Run, name: str, state: str) -> None:
        with self.lock:
            now = self.clock.now()
            for step in run.steps:
                if step.name == name or (name.startswith(step.name) and step.status != "completed"):
                    if state == "started":
                        step.status, step.started_at = "in_progress", now
                    else:
                        step.status, step.conclusion, step.completed_at = "completed", state, now
                    break
            run.touch(now)
