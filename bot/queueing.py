"""The bot's own queue, pure: who goes next, and whether a job goes now or waits for a runner.

    fair_order(waiting, in_flight, user_max_active=..., last_served=...) -> [Waiting, ...]
    fair_order(..., backlog=True)                 # each user's later jobs too, for a pass
    plan(decision) -> Plan("dispatch", target) | Plan("hold", target)
    Round(policy, fleet, running=..., held=..., in_flight=..., user_max_active=...)
        # one pass: workloads(), may_dispatch(user), settle(decision, user=...)

Fair share: when jobs wait, the user served longest ago goes first (one never served before
anyone), then the next user, round robin; a user's own jobs go oldest first; a user with
`user_max_active` jobs in flight (RELAYQ_USER_MAX_ACTIVE) has none dispatched until one ends.
The others stay waiting, visibly, never dropped.

Decide late: a decision that would queue (its target's runners all busy, or offline) is held
in the bot's queue for that target instead of being committed to GitHub's queue, and routed
again when something changes; a runner that frees up then takes the job that finishes first.
A pass over the waiting jobs (`Round`) counts each job it dispatched or held as work ahead of
the next one, so the tenth job held for the Mac mini sees nine ahead of it and may go to the
Pi 4 instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal, Protocol

from bot.fleet import Fleet
from bot.policy.decision import Decision
from bot.policy.finish import Workload
from bot.policy.schema import Policy

__all__ = ["Plan", "Round", "Waiting", "fair_order", "plan", "user_limit"]


@dataclass(frozen=True)
class Waiting:
    """A job in the bot's queue: accepted, not yet dispatched."""

    job_id: str
    user: str
    arrival_s: float  # when it was accepted (any clock, the same for every job)


@dataclass(frozen=True)
class Plan:
    """What to do with a routed job now."""

    action: Literal["dispatch", "hold"]
    target: str
    run_s: float | None  # its predicted time there, when a speed model was given

    @property
    def text(self) -> str:
        """For a card: `sent to mac` / `waiting in relayq's queue for mac`."""
        if self.action == "dispatch":
            return f"sent to {self.target}"
        return f"waiting in relayq's queue for {self.target}"


class _HasLimit(Protocol):
    @property
    def user_max_active(self) -> int: ...


def user_limit(settings: _HasLimit) -> int:
    """The per-user limit of jobs in flight, from the settings (RELAYQ_USER_MAX_ACTIVE)."""
    return settings.user_max_active


def fair_order(
    waiting: Iterable[Waiting], in_flight: Mapping[str, int], *, user_max_active: int,
    last_served: Mapping[str, float] | None = None, backlog: bool = False,
) -> list[Waiting]:  # fmt: skip
    """The waiting jobs that may be dispatched now, in the order to try them; a job not in the
    list waits for its user's jobs in flight to end. With `backlog`, every waiting job of a
    user with room, turn by turn (each user's oldest, then each user's second, ...): the
    caller dispatches a user's jobs only while they have room (`Round.may_dispatch`) and
    routes the rest, so a job held for a busy runner does not keep the next one from a free
    runner."""
    served = last_served or {}
    mine: dict[str, list[Waiting]] = {}
    for job in sorted(waiting, key=lambda j: (j.arrival_s, j.job_id)):
        mine.setdefault(job.user, []).append(job)
    room = {user: max(0, user_max_active - in_flight.get(user, 0)) for user in mine}
    users = sorted(
        (u for u in mine if room[u] > 0),
        key=lambda u: (served.get(u, float("-inf")), mine[u][0].arrival_s, u),
    )
    order: list[Waiting] = []
    listed = {u: len(mine[u]) if backlog else min(room[u], len(mine[u])) for u in users}
    for turn in range(max(listed.values(), default=0)):
        order += [mine[u][turn] for u in users if turn < listed[u]]
    return order


def plan(decision: Decision) -> Plan:
    """Dispatch a job whose target has a free runner (or whose runners' state is unknown);
    hold one that would queue, for the target it would wait for."""
    expected = decision.expectation(decision.target)
    run_s = expected.run_s if expected is not None else None
    if decision.queued:
        return Plan("hold", decision.waiting_for or decision.target, run_s)
    return Plan("dispatch", decision.target, run_s)


class Round:
    """One pass over the waiting jobs in fair order: each job's plan changes what the next
    sees (a dispatched job makes a runner busy; a held one is work ahead of its target)."""

    def __init__(
        self, policy: Policy, fleet: Fleet | None, *, running: Mapping[str, float] | None = None,
        held: Mapping[str, Sequence[float]] | None = None,
        in_flight: Mapping[str, int] | None = None, user_max_active: int | None = None,
    ) -> None:  # fmt: skip
        self.policy = policy
        self.fleet = fleet
        self._running = dict(running or {})  # runner name → seconds left of its relayq job
        self._held = {target: list(times) for target, times in (held or {}).items()}
        self._in_flight = dict(in_flight or {})  # user → jobs in flight, with this pass's
        self._limit = user_max_active

    def may_dispatch(self, user: str) -> bool:
        """Whether one more of `user`'s jobs may be dispatched in this pass (always, without
        a `user_max_active`)."""
        return self._limit is None or self._in_flight.get(user, 0) < self._limit

    def workloads(self) -> dict[str, Workload]:
        """The relayq work ahead on each target: jobs running on its runners, jobs held for it."""
        out = {}
        for name, target in self.policy.targets.items():
            serving = self.fleet.serving(target.labels) if self.fleet is not None else ()
            left = tuple(self._running[r.name] for r in serving if r.name in self._running)
            if self.fleet is None:  # no runners to tell apart: the work is kept per target
                left = (self._running[name],) if name in self._running else ()
            out[name] = Workload(running_left_s=left, queued_s=tuple(self._held.get(name, ())))
        return out

    def settle(
        self, decision: Decision, *, runner: str | None = None, user: str | None = None
    ) -> Plan:
        """The plan for a routed job, and its effect on the rest of the pass. `runner` is where
        a dispatched job landed, when known (else the first free runner that serves it);
        `user` whose job it is (a dispatched one counts against their room)."""
        chosen = plan(decision)
        run_s = chosen.run_s if chosen.run_s is not None else 0.0
        if chosen.action == "hold":
            self._held.setdefault(chosen.target, []).append(run_s)
            return chosen
        if user is not None:
            self._in_flight[user] = self._in_flight.get(user, 0) + 1
        if self.fleet is None:
            self._running[chosen.target] = self._running.get(chosen.target, 0.0) + run_s
            return chosen
        free = [r for r in self.fleet.serving(decision.labels) if r.online and not r.busy]
        taken = next((r for r in free if r.name == runner), free[0] if free else None)
        if taken is not None:
            runners = tuple(replace(r, busy=True) if r is taken else r for r in self.fleet.runners)
            self.fleet = Fleet(runners)
            self._running[taken.name] = run_s
        return chosen
