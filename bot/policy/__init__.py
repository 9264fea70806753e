"""The routing policy: a validated YAML file and a pure `select` over it.

    load_policy(text, source) -> Policy          # schema.py: PyYAML + pydantic (extra="forbid")
    load_policy_file(path) -> Policy
    select(policy, job, fleet, pin) -> Decision  # engine.py: no I/O, no GitHub or Telegram
    select(..., speed=SpeedModel, workloads={target: Workload})  # + expected finishes (finish.py)

Semantics (DESIGN.md, docs/ROUTING_POLICY.md): each job kind has an ordered preference of
targets and a fallback. A target that fails a hard limit is skipped with its reason; an offline
or busy one falls through; when none is free the fallback takes the job and the decision says
it will queue. A pin overrides preference but never reroutes silently.
"""

from bot.policy.engine import CandidateReason, Decision, JobRequest, Verdict, select
from bot.policy.finish import Expectation, Workload
from bot.policy.schema import (
    Capabilities,
    Pins,
    Policy,
    Requires,
    Route,
    Speed,
    Target,
    load_policy,
    load_policy_file,
)

__all__ = [
    "CandidateReason",
    "Capabilities",
    "Decision",
    "Expectation",
    "JobRequest",
    "Pins",
    "Policy",
    "Requires",
    "Route",
    "Speed",
    "Target",
    "Verdict",
    "Workload",
    "load_policy",
    "load_policy_file",
    "select",
]
