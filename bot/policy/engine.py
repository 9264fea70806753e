"""`select`: where a job runs, and why. Pure: no I/O, the same inputs give the same decision."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from bot.fleet import Fleet
from bot.policy.schema import Policy, Route, Target, unmet_requirement
from jobs.errors import TooLarge, UsageError

__all__ = ["NO_FLEET", "CandidateReason", "Decision", "JobRequest", "Verdict", "select"]

Verdict = Literal["taken", "constraint", "offline", "busy", "no-runner"]
_State = Literal["free", "busy", "offline", "no-runner", "unknown"]
_WAIT_ORDER: tuple[_State, ...] = ("busy", "offline", "no-runner")


@dataclass(frozen=True)
class JobRequest:
    """What the policy needs to know about a job. An unknown size or duration passes limits."""

    kind: str
    size_mb: float | None = None
    duration_min: float | None = None

    def __post_init__(self) -> None:
        for what, value in (("size", self.size_mb), ("duration", self.duration_min)):
            if value is not None and not (math.isfinite(value) and value >= 0):
                raise UsageError(f"the input {what} must be a number of at least 0, not {value}")


@dataclass(frozen=True)
class CandidateReason:
    """One candidate target and what the policy made of it."""

    target: str
    verdict: Verdict
    text: str


@dataclass(frozen=True)
class Decision:
    """The target a job goes to. `reasons` covers every candidate considered; the last took it."""

    job: str
    target: str
    workflow: str
    labels: tuple[str, ...]
    queued: bool  # no runner that serves the target is free now: the job will wait
    waiting_for: str | None  # the target it waits for, when queued
    pinned: bool
    reasons: tuple[CandidateReason, ...]
    chain: tuple[str, ...]  # the route's targets in order (the pin alone when pinned)
    description: str = ""

    @property
    def summary(self) -> str:
        """The reason of the candidate that took the job: one line for a progress message."""
        return self.reasons[-1].text

    def to_json(self) -> dict[str, object]:
        return {
            "job": self.job,
            "target": self.target,
            "description": self.description,
            "workflow": self.workflow,
            "labels": list(self.labels),
            "queued": self.queued,
            "waiting_for": self.waiting_for,
            "pinned": self.pinned,
            "chain": list(self.chain),
            "reasons": [
                {"target": r.target, "verdict": r.verdict, "reason": r.text} for r in self.reasons
            ],
        }


NO_FLEET = "no fleet information"


def select(
    policy: Policy, job: JobRequest, fleet: Fleet | None, pin: str | None = None,
    *, unknown: str = NO_FLEET,
) -> Decision:  # fmt: skip
    """Decide where `job` runs; `fleet=None` means runner states are unknown, and `unknown`
    says why ("GitHub did not answer within 10 s")."""
    route = policy.routes.get(job.kind)
    if route is None:
        raise UsageError(
            f"unknown job kind {job.kind!r}; choose one of: {', '.join(sorted(policy.routes))}"
        )
    if pin is not None:
        return _pinned(policy, route, job, fleet, pin, unknown)

    chosen = _Chooser(policy, route, job, fleet, unknown)
    waitable: list[tuple[str, _State]] = []
    for name in route.prefer:
        state = chosen.consider(name)
        if state in ("free", "unknown"):
            return chosen.take(name, state, "taken", queued=False)
        if state is not None:
            waitable.append((name, state))

    # None free. The fallback takes the job if it can, and the job queues there.
    state = chosen.consider(route.fallback, as_fallback=True)
    if state in ("free", "unknown"):
        return chosen.take(route.fallback, state, "taken as the fallback", queued=False)
    if state is not None:
        return chosen.take(
            route.fallback,
            state,
            "taken as the fallback; the job will queue until one of its runners is free",
            queued=True,
        )
    # The fallback cannot take this input (its runners include weaker machines): wait for a
    # preferred target that can, rather than land where it would fail. A busy one frees up on
    # its own; an offline one needs its machine back; one with no runner may never come.
    if waitable:
        name, state = min(waitable, key=lambda candidate: _WAIT_ORDER.index(candidate[1]))
        return chosen.take(
            name,
            state,
            "the job will wait for it: it can take this input and the fallback cannot",
            queued=True,
        )
    raise TooLarge(_too_large_sentence(policy, route, job))


class _Chooser:
    """Walks a route's candidates, keeping the reasons in the order they were considered."""

    def __init__(
        self, policy: Policy, route: Route, job: JobRequest, fleet: Fleet | None, unknown: str
    ) -> None:
        self.policy, self.route, self.job, self.fleet = policy, route, job, fleet
        self.unknown = unknown
        self.reasons: list[CandidateReason] = []

    def consider(self, name: str, *, as_fallback: bool = False) -> _State | None:
        """The target's state, or None (with its reason recorded) when it cannot take the job."""
        target = self.policy.targets[name]
        problem = _limit_problem(target, self.route, self.job)
        if problem is not None:
            role = " as the fallback" if as_fallback else ""
            self.reasons.append(
                CandidateReason(
                    name, "constraint", f"{_label(name, target)}: {problem} — skipped{role}"
                )
            )
            return None
        state = _availability(target, self.fleet)
        if not as_fallback and (state == "busy" or state == "offline" or state == "no-runner"):
            said = _state_text(state, target, self.unknown)
            text = f"{_label(name, target)}: {said} — falls through"
            self.reasons.append(CandidateReason(name, state, text))
        return state

    def take(self, name: str, state: _State, outcome: str, *, queued: bool) -> Decision:
        target = self.policy.targets[name]
        text = f"{_label(name, target)}: {_state_text(state, target, self.unknown)} — {outcome}"
        text += _unknown_size_note(target, self.job)
        self.reasons.append(CandidateReason(name, "taken", text))
        return _decision(
            self.policy,
            self.job,
            name,
            self.reasons,
            self.policy.chain(self.job.kind),
            queued=queued,
            pinned=False,
        )


def _pinned(
    policy: Policy, route: Route, job: JobRequest, fleet: Fleet | None, pin: str, unknown: str
) -> Decision:
    """A pin overrides preference but never reroutes: it runs there, waits there, or is refused."""
    allowed = ", ".join(policy.pins.allowed) or "(none: this policy allows no pins)"
    if pin not in policy.targets:
        raise UsageError(f"unknown pin {pin!r}; pin one of: {allowed}")
    if pin not in policy.pins.allowed:
        raise UsageError(f"{pin!r} may not be pinned in this policy; pin one of: {allowed}")
    target = policy.targets[pin]
    label = _label(pin, target)
    if job.kind not in target.workflows:
        able = [n for n in policy.pins.allowed if job.kind in policy.targets[n].workflows]
        raise UsageError(
            f"pinned to {label}, which does not run {job.kind} jobs; unpin (/unpin in the bot) "
            f"or pin one of: {', '.join(able) or '(none)'}"
        )
    unmet = unmet_requirement(target.capabilities, route.requires)
    if unmet is not None:
        raise UsageError(
            f"pinned to {label}, which {unmet}; unpin (/unpin in the bot) to let the policy choose"
        )
    too_big = _input_problem(target, job)
    if too_big is not None:
        raise TooLarge(
            f"pinned to {label}, but {too_big}; unpin (/unpin in the bot) to let the policy choose"
        )
    state = _availability(target, fleet)
    queued = state not in ("free", "unknown")
    text = f"pinned to {label}: {_state_text(state, target, unknown)}"
    text += " — the job will wait for it" if queued else " — taken"
    text += _unknown_size_note(target, job)
    reasons = [CandidateReason(pin, "taken", text)]
    return _decision(policy, job, pin, reasons, (pin,), queued=queued, pinned=True)


def _decision(
    policy: Policy,
    job: JobRequest,
    name: str,
    reasons: list[CandidateReason],
    chain: tuple[str, ...],
    *,
    queued: bool,
    pinned: bool,
) -> Decision:
    target = policy.targets[name]
    return Decision(
        job=job.kind,
        target=name,
        workflow=target.workflows[job.kind],
        labels=tuple(target.labels),
        queued=queued,
        waiting_for=name if queued else None,
        pinned=pinned,
        reasons=tuple(reasons),
        chain=chain,
        description=target.description,
    )


def _label(name: str, target: Target) -> str:
    return f"{name} ({target.description})"


def _limit_problem(target: Target, route: Route, job: JobRequest) -> str | None:
    """The hard limit `target` fails for this job, or None."""
    return unmet_requirement(target.capabilities, route.requires) or _input_problem(target, job)


def _input_problem(target: Target, job: JobRequest) -> str | None:
    caps = target.capabilities
    if job.size_mb is not None and job.size_mb > caps.max_input_mb:
        return f"the input of {job.size_mb:g} MB is over its {caps.max_input_mb:g} MB limit"
    if job.duration_min is not None and job.duration_min > caps.max_duration_min:
        limit = caps.max_duration_min
        return f"{job.duration_min:g} minutes of audio is over its {limit:g}-minute limit"
    return None


def _unknown_size_note(target: Target, job: JobRequest) -> str:
    if job.size_mb is not None:
        return ""
    return f" (size unknown, so its {target.capabilities.max_input_mb:g} MB limit was not checked)"


def _availability(target: Target, fleet: Fleet | None) -> _State:
    if fleet is None:
        return "unknown"
    runners = fleet.serving(target.labels)
    if not runners:
        return "no-runner"
    if any(r.online and not r.busy for r in runners):
        return "free"
    if any(r.online for r in runners):
        return "busy"
    return "offline"


def _state_text(state: _State, target: Target, unknown: str) -> str:
    if state == "no-runner":
        return "no runner has the labels " + ", ".join(target.labels)
    return {
        "free": "online and idle",
        "busy": "busy",
        "offline": "offline",
        "unknown": f"runner state unknown ({unknown})",
    }[state]


def _too_large_sentence(policy: Policy, route: Route, job: JobRequest) -> str:
    """Which dimension no target accepts, and the most any accepts."""
    names = [
        n
        for n in policy.chain(job.kind)
        if unmet_requirement(policy.targets[n].capabilities, route.requires) is None
    ]
    caps = {n: policy.targets[n].capabilities for n in names}
    biggest = max(names, key=lambda n: caps[n].max_input_mb)
    longest = max(names, key=lambda n: caps[n].max_duration_min)
    advice = "split the audio, or raise a target's limits in the policy"
    if job.size_mb is not None and job.size_mb > caps[biggest].max_input_mb:
        return (
            f"this {job.size_mb:g} MB input is too big for every {job.kind} target; the largest "
            f"accepted is {caps[biggest].max_input_mb:g} MB, by "
            f"{_label(biggest, policy.targets[biggest])} — {advice}"
        )
    if job.duration_min is not None and job.duration_min > caps[longest].max_duration_min:
        return (
            f"this {job.duration_min:g}-minute recording is too long for every {job.kind} target; "
            f"the longest accepted is {caps[longest].max_duration_min:g} minutes, by "
            f"{_label(longest, policy.targets[longest])} — {advice}"
        )
    return (
        f"no {job.kind} target accepts {job.size_mb:g} MB and {job.duration_min:g} minutes "
        f"together — {advice}"
    )
