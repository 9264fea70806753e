"""Where a job would run now: the live runners from the executor, and the policy over them.

Jobs wait as long as the executor's own retries take; a person asking (/route, /status,
`relayq route`) gets an answer within FLEET_WAIT_S, with the runners' state unknown and the
reason said when GitHub is silent.

With the ledger's timings (bot/timings.py), a transcription's decision carries every
candidate's expected finish: a speed model fitted on the delivered jobs, and the work ahead
of each target from the jobs in flight there (`workloads`). A route that chooses
`earliest_finish` then takes the one that finishes first; `first_free` decides as before.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from bot.executors.base import Executor, Unavailable
from bot.fleet import Fleet
from bot.ledger import JobRow
from bot.policy import Decision, JobRequest, Policy, Workload, select
from bot.speed import SpeedModel, assumed_audio_s
from bot.timings import Timings

__all__ = ["FLEET_WAIT_S", "IN_FLIGHT", "LOCAL_FLEET", "FleetLook", "Routing", "preview",
           "workloads"]  # fmt: skip

# A command answers within this, GitHub or not: the executor's retries (a minute or more in
# an outage) are for jobs, which wait; the person who asked should not.
FLEET_WAIT_S = 10.0
LOCAL_FLEET = "the local executor runs every job on this machine"
IN_FLIGHT = ("dispatching", "dispatched")  # the states in which a job holds or awaits a runner


@dataclass(frozen=True)
class FleetLook:
    """One look at the runners: `fleet` None when they are not known, `unknown` says why;
    `silent` when GitHub did not answer (the look goes on, the fleet watch keeps the last)."""

    fleet: Fleet | None
    unknown: str
    silent: bool = False


class Routing:
    def __init__(self, executor: Executor, policy: Policy, timings: Timings | None = None) -> None:
        self._executor = executor
        self._policy = policy
        self.timings = timings
        # The jobs relayq's own queue holds for a busy target, as (target, row): work ahead
        # of a new job there as much as the jobs in flight (set by the driver's queue).
        self.held: Callable[[], list[tuple[str, JobRow]]] = list

    async def fleet(self) -> Fleet | None:
        return await self._executor.fleet()

    async def look(self, wait_s: float | None = None) -> FleetLook:
        """The runners as GitHub says within `wait_s` (FLEET_WAIT_S). A refusal (a revoked
        token) is raised: its sentence says what to change."""
        wait_s = FLEET_WAIT_S if wait_s is None else wait_s
        if self._executor.name == "local":
            return FleetLook(None, LOCAL_FLEET)
        look = asyncio.ensure_future(self._executor.fleet())
        try:
            fleet = await asyncio.wait_for(asyncio.shield(look), wait_s)
        except TimeoutError:
            look.add_done_callback(lambda done: done.cancelled() or done.exception())  # no warning
            return FleetLook(None, f"GitHub did not answer within {wait_s:g} s", silent=True)
        except Unavailable:
            return FleetLook(None, "GitHub is not answering", silent=True)
        return FleetLook(fleet, "")

    async def decide(self, kind: str, pin: str | None, size_mb: float | None = None,
                     duration_min: float | None = None, *,
                     private: bool = False) -> Decision:  # fmt: skip
        """Where a job goes: the executor's runners as they are now (waiting out an outage)."""
        job = JobRequest(kind=kind, size_mb=size_mb, duration_min=duration_min, private=private)
        fleet = await self._executor.fleet()
        return preview(self._policy, FleetLook(fleet, LOCAL_FLEET), job, pin,
                       self.speed_model(job), self.in_flight(), self.held())  # fmt: skip

    def preview(self, look: FleetLook, job: JobRequest, pin: str | None) -> Decision:
        """What the policy would decide with the runners as `look` saw them."""
        return preview(self._policy, look, job, pin, self.speed_model(job), self.in_flight(),
                       self.held())  # fmt: skip

    def speed_model(self, job: JobRequest | None = None) -> SpeedModel | None:
        """The speed model on the ledger's delivered jobs; None without timings, and for a
        job that is not a transcription (the model knows how fast runners transcribe)."""
        if self.timings is None or (job is not None and job.kind != "transcribe"):
            return None
        return SpeedModel(self.timings.samples(), self._policy)

    def in_flight(self) -> list[JobRow]:
        if self.timings is None:
            return []
        return [r for r in self.timings.ledger.unfinished() if r.state in IN_FLIGHT]


def preview(
    policy: Policy, look: FleetLook, job: JobRequest, pin: str | None,
    speed: SpeedModel | None = None, in_flight: Iterable[JobRow] = (),
    held: Iterable[tuple[str, JobRow]] = (),
) -> Decision:  # fmt: skip
    """What the policy decides for `job` with the runners as `look` saw them (and, with a
    speed model, the jobs `in_flight` ahead of it and those `held` in relayq's queue for a
    busy target, each waiting behind the jobs running there)."""
    work = None
    if speed is not None:
        work = workloads(policy, in_flight, look.fleet, speed, time.time())
        for target, row in held:
            if target in policy.targets:
                was = work.get(target, Workload())
                queued = (*was.queued_s, _predicted(speed, target, row))
                work[target] = Workload(was.running_left_s, queued)
    return select(policy, job, look.fleet, pin, unknown=look.unknown or LOCAL_FLEET,
                  speed=speed, workloads=work)  # fmt: skip


def workloads(
    policy: Policy, rows: Iterable[JobRow], fleet: Fleet | None, speed: SpeedModel, now: float
) -> dict[str, Workload]:
    """The relayq work ahead on each target, from its jobs in flight, oldest first: as many
    as the target has busy runners (one when the runners are not known) are running, with
    their predicted time less their age left; the rest wait, each its predicted time. A
    summary counts as a job's start-up time. The age runs from the job's acceptance, so a
    job that waited is thought nearer its end than it is (its runner frees up sooner)."""
    held: dict[str, list[JobRow]] = {}
    for row in rows:
        if row.state in IN_FLIGHT and row.target in policy.targets:
            held.setdefault(row.target, []).append(row)
    out: dict[str, Workload] = {}
    for name, jobs in held.items():
        jobs.sort(key=lambda r: (r.created_at, r.seq))
        serving = fleet.serving(policy.targets[name].labels) if fleet is not None else ()
        running = 1 if fleet is None else sum(1 for r in serving if r.online and r.busy)
        took = [_predicted(speed, name, row) for row in jobs]
        left = [max(0.0, s - (now - row.created_at)) for s, row in zip(took, jobs, strict=True)]
        out[name] = Workload(tuple(left[:running]), tuple(took[running:]))
    return out


def _predicted(speed: SpeedModel, target: str, row: JobRow) -> float:
    if row.kind != "transcribe":
        return speed.predict(target, 0.0).seconds
    audio_s, _ = assumed_audio_s(row.duration_min, row.size_mb)
    return speed.predict(target, audio_s).seconds
