"""The policy file: pydantic models (unknown fields refused) and a loader that names bad fields.

Every problem becomes one `ConfigError` sentence that starts with the file and the field path,
`policy/policy.yaml: routes.transcribe.prefer[1]: unknown target 'macc' (expected one of: ...)`.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from jobs.errors import ConfigError

__all__ = [
    "Capabilities",
    "Pins",
    "Policy",
    "Requires",
    "Route",
    "Speed",
    "Target",
    "load_policy",
    "load_policy_file",
    "privacy_problem",
]


class _Strict(BaseModel):
    # strict: YAML already yields real numbers and booleans, so a quoted "16" is a mistake.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Capabilities(_Strict):
    """A target's hard limits: what its weakest runner can do."""

    ffmpeg: bool = False
    memory_gb: float = Field(gt=0)
    max_input_mb: float = Field(gt=0)
    max_duration_min: float = Field(gt=0)


class Speed(_Strict):
    """How fast a target is expected to be before any job has been measured on it (bot/speed.py).

    A job's predicted time is `startup_s + realtime_factor * audio seconds`; a pool declares
    its slowest member's figure, since a pooled job may land there.
    """

    realtime_factor: float = Field(default=0.5, gt=0, le=20)  # seconds of work per audio second
    startup_s: float = Field(default=30, ge=0, le=3600)  # fetch, decode, model load, outputs


class Target(_Strict):
    """Somewhere a job can run: a workflow per job kind and the runners its labels select."""

    description: str = Field(min_length=1)
    labels: list[str] = Field(min_length=1)  # the workflows' runs-on labels
    runner_labels: list[str] = Field(default_factory=list)  # as registered; docs and /status
    workflows: dict[str, str] = Field(min_length=1)
    capabilities: Capabilities
    speed: Speed = Field(default_factory=Speed)
    # The transcription backend its runners are set up with (their RELAYQ_BACKEND): a target
    # whose runners send audio to OpenAI or OpenRouter never takes a private job (a job that
    # may take the local backend is forced to it, with no remote fallback: docs/PRIVACY.md).
    backend: Literal["auto", "local", "openai", "openrouter"] = "auto"


class Requires(_Strict):
    """What every candidate of a route must have, whatever the input."""

    ffmpeg: bool = False
    min_memory_gb: float = Field(default=0, ge=0)


class Route(_Strict):
    """One job kind: targets in order of preference, and the fallback when none is free."""

    prefer: list[str] = Field(min_length=1)
    requires: Requires = Field(default_factory=Requires)
    fallback: str
    # A run whose runner goes offline in the middle: route the job again (once; a pinned job
    # goes back to its pin and waits), or fail it with the reason.
    on_runner_lost: Literal["requeue", "fail"] = "requeue"
    # first_free: the first target in `prefer` with an idle runner (then the fallback).
    # earliest_finish: the candidate expected to finish first, given a speed model and the work
    # ahead of each target (bot/policy/finish.py); preference order breaks near-ties.
    choose: Literal["first_free", "earliest_finish"] = "first_free"


class Pins(_Strict):
    allowed: list[str] = Field(default_factory=list)


class Policy(_Strict):
    version: Literal[1]
    targets: dict[str, Target] = Field(min_length=1)
    routes: dict[str, Route] = Field(min_length=1)
    pins: Pins = Field(default_factory=Pins)

    def chain(self, kind: str) -> tuple[str, ...]:
        """The targets a route considers, in order: its preferences, then its fallback."""
        route = self.routes[kind]
        return tuple(dict.fromkeys([*route.prefer, route.fallback]))


# -- loading ------------------------------------------------------------------------------------


def load_policy_file(path: Path) -> Policy:
    """Read and validate a policy file; every problem is a ConfigError naming `path`."""
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
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 -- a SafeLoader subclass
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
        raise ConfigError(f"{source}: {_field_path(error['loc'])}: {_explain(error)}") from None
    for path, problem in _cross_reference_problems(policy):
        raise ConfigError(f"{source}: {path}: {problem}")
    return policy


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice (PyYAML would silently keep the last)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        seen: set[object] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, Hashable) and key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep)


def _field_path(loc: Sequence[int | str]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _explain(error: Any) -> str:
    kind, got = error.get("type"), error.get("input")
    if kind == "extra_forbidden":
        return "unknown field (see policy/SCHEMA.md for the fields a policy may have)"
    if kind == "missing":
        return "required field is missing"
    if kind == "literal_error" and tuple(error["loc"]) == ("version",):
        return f"unsupported version {got!r} (expected 1)"
    return f"{error['msg']} (got {got!r})"


def _cross_reference_problems(policy: Policy) -> Iterator[tuple[str, str]]:
    """Names that must point at targets, and limits that must agree, with the field path."""
    expected = f"(expected one of: {', '.join(sorted(policy.targets))})"

    for name, target in policy.targets.items():
        for kind, workflow in target.workflows.items():
            if not workflow.endswith((".yml", ".yaml")) or "/" in workflow or "\\" in workflow:
                yield (
                    f"targets.{name}.workflows.{kind}",
                    f"expected a workflow file name like x.yml, got {workflow!r}",
                )
        if target.runner_labels:
            missing = _lower(target.labels) - _lower(target.runner_labels)
            if missing:
                yield (
                    f"targets.{name}.runner_labels",
                    f"must include every runs-on label of the target (missing: "
                    f"{', '.join(sorted(missing))})",
                )
        yield from _pool_limit_problems(policy, name, target)

    for kind, route in policy.routes.items():
        refs = [(f"routes.{kind}.prefer[{i}]", n) for i, n in enumerate(route.prefer)]
        for path, name in [*refs, (f"routes.{kind}.fallback", route.fallback)]:
            if name not in policy.targets:
                yield path, f"unknown target {name!r} {expected}"
            elif kind not in policy.targets[name].workflows:
                yield path, f"target {name!r} has no workflow for {kind} jobs"
        capable = [
            n
            for n in policy.chain(kind)
            if unmet_requirement(policy.targets[n].capabilities, route.requires) is None
        ]
        if not capable:
            yield f"routes.{kind}.requires", "no target of this route meets these requirements"

    for index, name in enumerate(policy.pins.allowed):
        if name not in policy.targets:
            yield f"pins.allowed[{index}]", f"unknown target {name!r} {expected}"


def _pool_limit_problems(policy: Policy, name: str, pool: Target) -> Iterator[tuple[str, str]]:
    """A target whose labels other targets' runners also carry must not promise more than they do.

    The pooled workflow (`runs-on: [self-hosted, audio]`) may land on the Pi 4, so a pool that
    declared the Mac mini's limits would send the Pi inputs it cannot handle.
    """
    wanted = _lower(pool.labels)
    for member_name, member in policy.targets.items():
        if member_name == name or not wanted <= _lower(member.runner_labels):
            continue
        mine, theirs = pool.capabilities, member.capabilities
        for field in ("memory_gb", "max_input_mb", "max_duration_min"):
            if getattr(mine, field) > getattr(theirs, field):
                yield (
                    f"targets.{name}.capabilities.{field}",
                    f"{getattr(mine, field):g} is more than {member_name} allows "
                    f"({getattr(theirs, field):g}); its runners also carry the labels "
                    f"{', '.join(pool.labels)}, so this target must declare its weakest "
                    "member's limits",
                )
        declared = "speed" in pool.model_fields_set and "speed" in member.model_fields_set
        if declared and pool.speed.realtime_factor < member.speed.realtime_factor:
            yield (
                f"targets.{name}.speed.realtime_factor",
                f"{pool.speed.realtime_factor:g} is faster than {member_name}'s "
                f"{member.speed.realtime_factor:g}; its runners also carry the labels "
                f"{', '.join(pool.labels)}, so this target must declare its slowest member's "
                "speed",
            )
        if mine.ffmpeg and not theirs.ffmpeg:
            yield (
                f"targets.{name}.capabilities.ffmpeg",
                f"true, but {member_name} has no ffmpeg and its runners also carry the labels "
                f"{', '.join(pool.labels)}",
            )


REMOTE_BACKENDS = {"openai": "OpenAI", "openrouter": "OpenRouter"}


def privacy_problem(target: Target) -> str | None:
    """Why `target` cannot take a private job (the audio must stay on the owner's machines),
    or None: its runners are not self-hosted, or they send audio to a remote backend."""
    if "self-hosted" not in _lower(target.labels):
        return "runs on GitHub's machines, not yours (no self-hosted label)"
    if target.backend in REMOTE_BACKENDS:
        said = REMOTE_BACKENDS[target.backend]
        return f"sends the audio to {said} (backend: {target.backend})"
    return None


def unmet_requirement(caps: Capabilities, requires: Requires) -> str | None:
    """Why a target cannot serve a route whatever the input, or None."""
    if requires.ffmpeg and not caps.ffmpeg:
        return "has no ffmpeg, which this job needs"
    if caps.memory_gb < requires.min_memory_gb:
        return f"has {caps.memory_gb:g} GB of memory, the job needs {requires.min_memory_gb:g} GB"
    return None


def _lower(labels: Sequence[str]) -> set[str]:
    return {label.lower() for label in labels}
