"""Pure rendering of relayq's answers as text: `relayq route` and the bot's /route, and the
runners' measured speeds for /status."""

from __future__ import annotations

from collections.abc import Iterable

from bot.policy import Decision, Expectation, Policy
from bot.speed import Sample, SpeedModel

__all__ = ["about", "render_decision", "speed_lines"]

HOUR_S = 3600.0

# One mark per verdict, so a column of candidates reads at a glance.
_MARK = {
    "taken": "✔",
    "constraint": "✘",
    "busy": "…",
    "offline": "↓",
    "no-runner": "∅",
    "later": "›",  # earliest_finish: could take it, expected to finish later
}


def render_decision(decision: Decision, policy: Policy | None = None) -> str:
    """The chosen target and workflow, whether it queues, then one line per candidate, then
    (with a speed model) when each would finish; `policy` names the targets' machines."""
    head = f"{decision.job} → {decision.target} ({decision.description}) via {decision.workflow}"
    if decision.pinned:
        head += " [pinned]"
    labels = ", ".join(decision.labels)
    if decision.queued:
        status = f"queued: no runner with labels {labels} is free now; the job will wait for one"
    else:
        status = f"not queued: runs on a runner with labels {labels}"
    lines = [head, status]
    if decision.private:
        able = ", ".join(f"{n} ({_machine(n, policy)})" if policy else n
                         for n in decision.keeps_private)  # fmt: skip
        lines.append(f"private: stays on your machines — only {able} can take it")
    lines += [f"  {_MARK[r.verdict]} {r.text}" for r in decision.reasons]
    if decision.expected:
        lines.append("Expected finish:")
        lines += [f"  {_machine(e.target, policy)}: {_finish(e)}" for e in decision.expected]
    return "\n".join(lines)


def about(seconds: float) -> str:
    """ "about 4 min", "about 1 h 30 min", "under a minute"."""
    if seconds < 60:
        return "under a minute"
    minutes = round(seconds / 60)
    if minutes < 90:
        return f"about {minutes} min"
    hours, rest = divmod(minutes, 60)
    return f"about {hours} h" + (f" {rest} min" if rest else "")


def speed_lines(policy: Policy, samples: Iterable[Sample], *, defaults: bool = True) -> list[str]:
    """/status: how long an hour of audio takes on each runner measured, and (`defaults`) on
    each target with none measured, as the policy expects, said as such."""
    kept = list(samples)
    model = SpeedModel(kept, policy)
    measured = model.measured()
    where: dict[str, str] = {}
    for s in sorted(kept, key=lambda s: s.at):  # a runner under the target it last ran for
        if s.target in policy.targets:
            where[s.runner] = s.target
    lines = []
    for runner, target in sorted(where.items(), key=lambda rt: (list(policy.targets).index(rt[1]),
                                                                rt[0])):  # fmt: skip
        guess = model.predict(target, HOUR_S, runner=runner)
        n = measured[runner][1]
        jobs = f"{n} job{'s' if n != 1 else ''}"
        lines.append(f"• {_machine(target, policy)} ({runner}): 1 h of audio in "
                     f"{about(guess.seconds)} (measured on {jobs})")  # fmt: skip
    if defaults:
        for name in policy.targets:
            if name not in where.values():
                guess = model.predict(name, HOUR_S)
                lines.append(f"• {_machine(name, policy)}: 1 h of audio in {about(guess.seconds)} "
                             "(the policy's default: no job measured yet)")  # fmt: skip
    return ["Speeds:", *lines] if lines else []


def _machine(name: str, policy: Policy | None) -> str:
    target = policy.targets.get(name) if policy is not None else None
    return target.description if target is not None else name


def _finish(e: Expectation) -> str:
    """ "starts now, done in about 4 min (measured on 12 jobs)"."""
    if e.start_in_s is None or e.finish_in_s is None:
        return f"no runner online to start it; {about(e.run_s)} once one is ({e.note})"
    start = "starts now" if e.start_in_s < 60 else f"starts in {about(e.start_in_s)}"
    return f"{start}, done in {about(e.finish_in_s)} ({e.note})"
