"""Where a job would run now: the live runners from the executor, and the policy over them.

Jobs wait as long as the executor's own retries take; a person asking (/route, /status,
`relayq route`) gets an answer within FLEET_WAIT_S, with the runners' state unknown and the
reason said when GitHub is silent.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from bot.executors.base import Executor, Unavailable
from bot.fleet import Fleet
from bot.policy import Decision, JobRequest, Policy, select

__all__ = ["FLEET_WAIT_S", "LOCAL_FLEET", "FleetLook", "Routing", "preview"]

# A command answers within this, GitHub or not: the executor's retries (a minute or more in
# an outage) are for jobs, which wait; the person who asked should not.
FLEET_WAIT_S = 10.0
LOCAL_FLEET = "the local executor runs every job on this machine"


@dataclass(frozen=True)
class FleetLook:
    """One look at the runners: `fleet` None when they are not known, `unknown` says why;
    `silent` when GitHub did not answer (the look goes on, the fleet watch keeps the last)."""

    fleet: Fleet | None
    unknown: str
    silent: bool = False


class Routing:
    def __init__(self, executor: Executor, policy: Policy) -> None:
        self._executor = executor
        self._policy = policy

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
                     duration_min: float | None = None) -> Decision:  # fmt: skip
        """Where a job goes: the executor's runners as they are now (waiting out an outage)."""
        job = JobRequest(kind=kind, size_mb=size_mb, duration_min=duration_min)
        fleet = await self._executor.fleet()
        return select(self._policy, job, fleet, pin, unknown=LOCAL_FLEET)

    def preview(self, look: FleetLook, job: JobRequest, pin: str | None) -> Decision:
        """What the policy would decide with the runners as `look` saw them."""
        return preview(self._policy, look, job, pin)


def preview(policy: Policy, look: FleetLook, job: JobRequest, pin: str | None) -> Decision:
    """What the policy decides for `job` with the runners as `look` saw them."""
    return select(policy, job, look.fleet, pin, unknown=look.unknown or LOCAL_FLEET)
