"""The executor interface: how a routed job gets run somewhere and watched.

Two implementations: `LocalExecutor` (a subprocess on this machine, the embedded default) and
the GitHub Actions executor (workflow_dispatch to self-hosted runners). Both speak only these
types; callers never see a subprocess or a PyGithub object.
"""

from __future__ import annotations

import enum
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from bot.errors import Unavailable
from bot.fleet import Fleet
from jobs.progress import ProgressRecord

__all__ = ["Discarded", "Executor", "JobSpec", "JobState", "Phase", "Refusal", "Unavailable",
           "read_refusal"]  # fmt: skip


class Phase(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        return self in (Phase.SUCCEEDED, Phase.FAILED, Phase.CANCELLED)


@dataclass(frozen=True)
class JobSpec:
    """What to run, where. `source` is an http(s) URL or a local file path."""

    job_id: str
    kind: str
    source: str
    target: str
    workflow: str
    labels: tuple[str, ...] = ()
    backend: str = ""  # empty: the runner's own RELAYQ_BACKEND decides
    model: str | None = None
    language: str | None = None  # None: detect it
    task: str = "transcribe"  # or "translate" (to English)
    # What the user calls the source ("meeting.m4a", "your voice message"): the runner says
    # this in its step lines and sentences, never a file name of the bot's or its own.
    name: str = ""
    # The target's longest recording, in minutes (the policy's max_duration_min): the runner
    # refuses a longer one before downloading it. None: no limit is passed.
    max_duration_min: float | None = None
    # The audio stays on the owner's machines: the runner runs the local model only (`backend`
    # is "local"), never falls back to a remote one, and summarizes only with an LLM server
    # the owner declared private; else it refuses the job with the reason (docs/PRIVACY.md).
    private: bool = False


@dataclass(frozen=True)
class Refusal:
    """A runner's refusal of a job it could not take, from `refusal.json` in its results (the
    runner's exit code 10): the recording is `duration_s` long, the runner takes up to
    `max_duration_s`."""

    reason: str  # "too_long"
    duration_s: float
    max_duration_s: float | None = None


def read_refusal(folder: Path | None) -> Refusal | None:
    """The refusal in a failed job's results folder; None when there is none (or it is not
    one relayq understands)."""
    if folder is None:
        return None
    try:
        said = json.loads((folder / "refusal.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(said, dict) or said.get("reason") != "too_long":
        return None
    duration, limit = said.get("duration_s"), said.get("max_duration_s")
    if not isinstance(duration, int | float) or isinstance(duration, bool) or duration < 0:
        return None
    limit = float(limit) if isinstance(limit, int | float) and not isinstance(limit, bool) else None
    return Refusal("too_long", float(duration), limit)


@dataclass(frozen=True)
class JobState:
    """One observation of a job. `detail` is human text ("fetch", "waiting for mac")."""

    job_id: str
    phase: Phase
    detail: str = ""
    url: str | None = None
    step: str | None = None
    exit_code: int | None = None
    result_dir: Path | None = None
    at: float = field(default_factory=time.time)
    # While queued: why no runner has taken the job ("none registered", "none online",
    # "all busy") and the runners that could take it, for the bot to say which and since when.
    waiting_why: str | None = None
    waiting_on: tuple[str, ...] = ()
    # When a run failed because its runner went offline in the middle of it: the runner's
    # name. The policy decides whether the job is routed again (`on_runner_lost`).
    runner_lost: str | None = None
    # When a run failed because the runner refused the job (too long for it): what it said.
    refusal: Refusal | None = None
    # While running: where the job is, as its runner last reported it (jobs/progress.py);
    # None when it has not said (the card then shows the step).
    progress: ProgressRecord | None = None


@dataclass(frozen=True)
class Discarded:
    """What `Executor.discard` did with a job's results kept away from this machine:
    `artifacts` deleted (GitHub's copy of a run's results), or `refused` the sentence saying
    why they could not be (None: nothing was refused)."""

    artifacts: int = 0
    refused: str | None = None


class Executor(Protocol):
    """Runs jobs and reports their states until a terminal one."""

    name: str

    async def submit(self, spec: JobSpec) -> str:
        """Accept the job; returns a handle (job id or run URL) right away."""
        ...

    async def resume(self, spec: JobSpec, *, run_url: str | None, since: float) -> str:
        """After a restart: take up a job submitted before it (at `since` or later; `run_url`
        is its run as last recorded) without running it a second time."""
        ...

    def watch(self, job_id: str) -> AsyncIterator[JobState]:
        """Yield states as they change, ending after the first terminal state."""
        ...

    async def cancel(self, job_id: str) -> None:
        """Stop the job if it is queued or running; a finished job is left as it is."""
        ...

    async def discard(self, run_url: str | None) -> Discarded:
        """Delete what a finished job left outside this machine (/forget): on GitHub, its
        run's artifact. The results kept on this machine are the caller's to delete."""
        ...

    async def fleet(self) -> Fleet | None:
        """The runners as they are now; None when there are none to see (this machine)."""
        ...

    async def close(self) -> None:
        """Let go of what the executor holds (connections, running jobs)."""
        ...
