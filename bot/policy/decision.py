"""What the policy decided, and the small facts every way of choosing shares.

`Decision` and its reasons are what `select` returns; the helpers here (a target's state in a
fleet, the limits an input breaks, the words for both) are used by first_free, earliest_finish
and pins alike (bot/policy/engine.py, bot/policy/quickest.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from bot.fleet import Fleet
from bot.policy.finish import Expectation
from bot.policy.schema import Policy, Route, Target, privacy_problem, unmet_requirement
from jobs.errors import UsageError

__all__ = [
    "NO_FLEET",
    "CandidateReason",
    "Decision",
    "JobRequest",
    "State",
    "Verdict",
    "availability",
    "input_problem",
    "keeps_private",
    "label",
    "limit_problem",
    "make_decision",
    "private_problem",
    "state_text",
    "unknown_size_note",
]

Verdict = Literal["taken", "constraint", "offline", "busy", "no-runner", "later"]
State = Literal["free", "busy", "offline", "no-runner", "unknown"]


@dataclass(frozen=True)
class JobRequest:
    """What the policy needs to know about a job. An unknown size or duration passes limits."""

    kind: str
    size_mb: float | None = None
    duration_min: float | None = None
    # The audio must stay on the owner's machines (/private, #private): only a target whose
    # runners are self-hosted and transcribe locally may take it (schema.privacy_problem).
    private: bool = False

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
    # With a speed model: every candidate that passed the constraints, in chain order.
    expected: tuple[Expectation, ...] = ()
    private: bool = False  # the job is private: `keeps_private` are the targets that may take it
    keeps_private: tuple[str, ...] = ()

    def expectation(self, target: str) -> Expectation | None:
        """The expected start and finish on `target`, when a speed model was given."""
        return next((e for e in self.expected if e.target == target), None)

    @property
    def summary(self) -> str:
        """The reason of the candidate that took the job: one line for a progress message."""
        return self.reasons[-1].text

    def _private_json(self) -> dict[str, object]:
        """A private job's: the targets that may take it (said only for one)."""
        if not self.private:
            return {}
        return {"private": True, "keeps_private": list(self.keeps_private)}

    def to_json(self) -> dict[str, object]:
        expected = {"expected": [e.to_json() for e in self.expected]} if self.expected else {}
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
            **self._private_json(),
            "reasons": [
                {"target": r.target, "verdict": r.verdict, "reason": r.text} for r in self.reasons
            ],
            **expected,
        }


NO_FLEET = "no fleet information"


def make_decision(
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
        private=job.private,
        keeps_private=keeps_private(policy, job.kind) if job.private else (),
    )


def keeps_private(policy: Policy, kind: str) -> tuple[str, ...]:
    """The route's targets that may take a private job, in order."""
    return tuple(n for n in policy.chain(kind) if privacy_problem(policy.targets[n]) is None)


def label(name: str, target: Target) -> str:
    return f"{name} ({target.description})"


def limit_problem(target: Target, route: Route, job: JobRequest) -> str | None:
    """The hard limit `target` fails for this job, or None."""
    return (
        private_problem(target, job)
        or unmet_requirement(target.capabilities, route.requires)
        or input_problem(target, job)
    )


def private_problem(target: Target, job: JobRequest) -> str | None:
    """Why `target` may not take this job because it is private, or None."""
    if not job.private:
        return None
    problem = privacy_problem(target)
    return None if problem is None else f"a private job stays on your machines, and it {problem}"


def input_problem(target: Target, job: JobRequest) -> str | None:
    caps = target.capabilities
    if job.size_mb is not None and job.size_mb > caps.max_input_mb:
        return f"the input of {job.size_mb:g} MB is over its {caps.max_input_mb:g} MB limit"
    if job.duration_min is not None and job.duration_min > caps.max_duration_min:
        limit = caps.max_duration_min
        return f"{job.duration_min:g} minutes of audio is over its {limit:g}-minute limit"
    return None


def unknown_size_note(target: Target, job: JobRequest) -> str:
    if job.size_mb is not None:
        return ""
    return f" (size unknown, so its {target.capabilities.max_input_mb:g} MB limit was not checked)"


def availability(target: Target, fleet: Fleet | None) -> State:
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


def state_text(state: State, target: Target, unknown: str) -> str:
    if state == "no-runner":
        return "no runner has the labels " + ", ".join(target.labels)
    return {
        "free": "online and idle",
        "busy": "busy",
        "offline": "offline",
        "unknown": f"runner state unknown ({unknown})",
    }[state]
