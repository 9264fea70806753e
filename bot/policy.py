"""The routing policy: a validated YAML file and a pure `select` over it.

    load_policy(text, source) -> Policy          # PyYAML + pydantic (extra="forbid")
    select(policy, job, fleet, pin) -> Decision  # no I/O, no GitHub or Telegram

Semantics (DESIGN.md): each job kind has an ordered preference of targets and a fallback.
A target that fails a hard constraint is skipped with its reason; an offline or busy one falls
through; when none is free the fallback takes the job and the decision says it will queue. A pin
overrides preference but never reroutes silently.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.fleet import Fleet
from jobs.errors import ConfigError, TooLarge, UsageError

__all__ = [
    "CandidateReason",
    "Decision",
    "JobRequest",
    "Policy",
    "load_policy",
    "load_policy_file",
    "select",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Capabilities(_Strict):
    ffmpeg: bool = False
    memory_gb: float = Field(gt=0)
    max_input_mb: float = Field(gt=0)
    max_duration_min: float = Field(gt=0)


class Target(_Strict):
    description: str
    labels: list[str] = Field(min_length=1)
    runner_labels: list[str] = Field(default_factory=list)
    workflows: dict[str, str] = Field(min_length=1)
    capabilities: Capabilities


class Requires(_Strict):
    ffmpeg: bool = False
    min_memory_gb: float = Field(default=0, ge=0)


class Route(_Strict):
    prefer: list[str] = Field(min_length=1)
    requires: Requires = Field(default_factory=Requires)
    fallback: str


class Pins(_Strict):
    allowed: list[str] = Field(default_factory=list)


class Policy(_Strict):
    version: Literal[1]
    targets: dict[str, Target] = Field(min_length=1)
    routes: dict[str, Route] = Field(min_length=1)
    pins: Pins = Field(default_factory=Pins)


# -- loading ------------------------------------------------------------------------------------


def load_policy_file(path: Path) -> Policy:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"no policy file at {path}; set RELAYQ_POLICY to its path") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the policy file {path}: {exc}") from None
    return load_policy(text, str(path))


def load_policy(text: str, source: str = "policy.yaml") -> Policy:
    """Parse and validate; any problem is a ConfigError naming `source` and the field path."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError(f"{source}: not valid YAML{where}: {problem}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping with version, targets and routes")
    try:
        policy = Policy.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        raise ConfigError(f"{source}: {_path(error['loc'])}: {_explain(error)}") from None
    for path, problem in _cross_reference_problems(policy):
        raise ConfigError(f"{source}: {path}: {problem}")
    return policy


def _path(loc: Sequence[int | str]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _explain(error: Any) -> str:
    kind = error.get("type")
    if kind == "extra_forbidden":
        return "unknown field (see policy/SCHEMA.md for the fields a policy may have)"
    if kind == "missing":
        return "required field is missing"
    if kind == "literal_error" and error["loc"] == ("version",):
        return f"unsupported version {error.get('input')!r} (expected 1)"
    return f"{error['msg']} (got {error.get('input')!r})"


def _cross_reference_problems(policy: Policy) -> list[tuple[str, str]]:
    known = sorted(policy.targets)
    expected = f"(expected one of: {', '.join(known)})"
    problems: list[tuple[str, str]] = []
    for kind, route in policy.routes.items():
        for index, name in enumerate(route.prefer):
            if name not in policy.targets:
                problems.append(
                    (f"routes.{kind}.prefer[{index}]", f"unknown target {name!r} {expected}")
                )
            elif kind not in policy.targets[name].workflows:
                problems.append(
                    (
                        f"routes.{kind}.prefer[{index}]",
                        f"target {name!r} has no workflow for {kind}",
                    )
                )
        if route.fallback not in policy.targets:
            problems.append(
                (f"routes.{kind}.fallback", f"unknown target {route.fallback!r} {expected}")
            )
        elif kind not in policy.targets[route.fallback].workflows:
            problems.append(
                (f"routes.{kind}.fallback", f"target {route.fallback!r} has no workflow for {kind}")
            )
    for index, name in enumerate(policy.pins.allowed):
        if name not in policy.targets:
            problems.append((f"pins.allowed[{index}]", f"unknown target {name!r} {expected}"))
    for name, target in policy.targets.items():
        for kind, workflow in target.workflows.items():
            if not workflow.endswith((".yml", ".yaml")) or "/" in workflow:
                problems.append(
                    (
                        f"targets.{name}.workflows.{kind}",
                        f"expected a workflow file name like x.yml, got {workflow!r}",
                    )
                )
    return problems


# -- selection ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class JobRequest:
    """What the policy needs to know about a job. Unknown size or duration passes limits."""

    kind: str
    size_mb: float | None = None
    duration_min: float | None = None


Verdict = Literal[
    "taken", "constraint", "offline", "busy", "no-runner", "no-workflow", "not-needed"
]


@dataclass(frozen=True)
class CandidateReason:
    target: str
    verdict: Verdict
    text: str


@dataclass(frozen=True)
class Decision:
    job: str
    target: str
    workflow: str
    labels: tuple[str, ...]
    queued: bool
    waiting_for: str | None
    pinned: bool
    reasons: tuple[CandidateReason, ...]
    chain: tuple[str, ...]
    description: str = ""
    notes: tuple[str, ...] = field(default=())

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
            "notes": list(self.notes),
        }


Availability = Literal["free", "busy", "offline", "no-runner", "unknown"]


def select(
    policy: Policy, job: JobRequest, fleet: Fleet | None, pin: str | None = None
) -> Decision:
    """Decide where `job` runs. Pure: the same inputs always give the same decision."""
    route = policy.routes.get(job.kind)
    if route is None:
        raise UsageError(
            f"unknown job kind {job.kind!r}; the policy has: {', '.join(sorted(policy.routes))}"
        )
    if pin is not None:
        return _pinned(policy, route, job, fleet, pin)

    chain = tuple(dict.fromkeys([*route.prefer, route.fallback]))
    reasons: list[CandidateReason] = []
    waitable: str | None = None
    for name in route.prefer:
        target = policy.targets[name]
        label = _label(name, target)
        problem = _constraint_problem(target, route, job)
        if problem is not None:
            reasons.append(CandidateReason(name, "constraint", f"{label}: {problem} — skipped"))
            continue
        state = _availability(target, fleet)
        if state in ("free", "unknown"):
            reasons.append(
                CandidateReason(name, "taken", f"{label}: {_state_text(state, target)} — taken")
            )
            reasons += _not_needed(policy, chain, name)
            return _decision(policy, job, name, reasons, chain, queued=False, waiting_for=None)
        verdict: Verdict = state  # type: ignore[assignment]  # busy, offline or no-runner here
        text = f"{label}: {_state_text(state, target)} — falls through"
        reasons.append(CandidateReason(name, verdict, text))
        waitable = waitable or name

    fallback = policy.targets[route.fallback]
    label = _label(route.fallback, fallback)
    problem = _constraint_problem(fallback, route, job)
    if route.fallback in route.prefer:
        problem = problem or "already considered"
    if problem is None:
        state = _availability(fallback, fleet)
        queued = state not in ("free", "unknown")
        runs = ", ".join(fallback.labels)
        text = f"{label}: {_state_text(state, fallback)} — taken as the fallback"
        if queued:
            text += f"; the job will queue until a runner with labels {runs} is free"
        reasons.append(CandidateReason(route.fallback, "taken", text))
        waiting = f"any runner with labels {runs}" if queued else None
        return _decision(
            policy, job, route.fallback, reasons, chain, queued=queued, waiting_for=waiting
        )
    reasons.append(CandidateReason(route.fallback, "constraint", f"{label}: {problem} — skipped"))

    if waitable is not None:
        target = policy.targets[waitable]
        reasons.append(
            CandidateReason(
                waitable,
                "taken",
                f"{_label(waitable, target)}: the first target that can take this input — "
                f"the job will wait for it",
            )
        )
        return _decision(policy, job, waitable, reasons, chain, queued=True, waiting_for=waitable)
    raise TooLarge(_too_large_sentence(policy, route, job))


def _pinned(
    policy: Policy, route: Route, job: JobRequest, fleet: Fleet | None, pin: str
) -> Decision:
    if pin not in policy.pins.allowed or pin not in policy.targets:
        allowed = ", ".join(policy.pins.allowed) or "(none)"
        raise UsageError(f"unknown pin {pin!r}; pin one of: {allowed}")
    target = policy.targets[pin]
    label = _label(pin, target)
    if job.kind not in target.workflows:
        raise UsageError(
            f"pinned to {pin}, which does not run {job.kind} jobs; unpin, or pin one of: "
            + ", ".join(n for n in policy.pins.allowed if job.kind in policy.targets[n].workflows)
        )
    problem = _constraint_problem(target, route, job)
    if problem is not None:
        raise TooLarge(f"pinned to {label}, but {problem}; unpin to let the policy choose")
    state = _availability(target, fleet)
    queued = state not in ("free", "unknown")
    text = f"pinned to {label}: {_state_text(state, target)}"
    text += " — the job will wait for it" if queued else " — taken"
    reasons = [CandidateReason(pin, "taken", text)]
    chain = (pin,)
    return _decision(
        policy,
        job,
        pin,
        reasons,
        chain,
        queued=queued,
        waiting_for=pin if queued else None,
        pinned=True,
    )


def _decision(
    policy: Policy,
    job: JobRequest,
    name: str,
    reasons: list[CandidateReason],
    chain: tuple[str, ...],
    *,
    queued: bool,
    waiting_for: str | None,
    pinned: bool = False,
) -> Decision:
    target = policy.targets[name]
    notes = []
    if job.size_mb is None:
        notes.append("input size unknown until it is fetched: size limits were not applied")
    return Decision(
        job=job.kind,
        target=name,
        workflow=target.workflows[job.kind],
        labels=tuple(target.labels),
        queued=queued,
        waiting_for=waiting_for,
        pinned=pinned,
        reasons=tuple(reasons),
        chain=chain,
        description=target.description,
        notes=tuple(notes),
    )


def _not_needed(policy: Policy, chain: tuple[str, ...], taken: str) -> list[CandidateReason]:
    rest = chain[chain.index(taken) + 1 :]
    return [
        CandidateReason(n, "not-needed", f"{_label(n, policy.targets[n])}: not needed")
        for n in rest
    ]


def _label(name: str, target: Target) -> str:
    return f"{name} ({target.description})"


def _constraint_problem(target: Target, route: Route, job: JobRequest) -> str | None:
    caps = target.capabilities
    if route.requires.ffmpeg and not caps.ffmpeg:
        return "has no ffmpeg, which this job needs"
    if caps.memory_gb < route.requires.min_memory_gb:
        need = route.requires.min_memory_gb
        return f"has {caps.memory_gb:g} GB of memory, the job needs {need:g} GB"
    if job.size_mb is not None and job.size_mb > caps.max_input_mb:
        return f"input of {job.size_mb:.0f} MB is over its {caps.max_input_mb:g} MB limit"
    if job.duration_min is not None and job.duration_min > caps.max_duration_min:
        limit = caps.max_duration_min
        return f"{job.duration_min:.0f} minutes of audio is over its {limit:g}-minute limit"
    return None


def _availability(target: Target, fleet: Fleet | None) -> Availability:
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


def _state_text(state: Availability, target: Target) -> str:
    return {
        "free": "online and idle",
        "busy": "busy",
        "offline": "offline",
        "no-runner": "no runner registered with labels " + ", ".join(target.labels),
        "unknown": "runner state unknown (no fleet information)",
    }[state]


def _too_large_sentence(policy: Policy, route: Route, job: JobRequest) -> str:
    names = dict.fromkeys([*route.prefer, route.fallback])
    caps = [policy.targets[n].capabilities for n in names]
    what = []
    if job.size_mb is not None:
        what.append(f"{job.size_mb:.0f} MB")
    if job.duration_min is not None:
        what.append(f"{job.duration_min:.0f} minutes")
    largest_mb = max(c.max_input_mb for c in caps)
    longest = max(c.max_duration_min for c in caps)
    return (
        f"this {job.kind} job ({', '.join(what) or 'input'}) is too big for every target; the most "
        f"any accepts is {largest_mb:g} MB and {longest:g} minutes — split the audio or raise a "
        "target's limits in the policy"
    )
