"""Pure rendering of relayq's answers as text (the CLI now, the Telegram bot's /route later)."""

from __future__ import annotations

from bot.policy import Decision

__all__ = ["render_decision"]

# One mark per verdict, so a column of candidates reads at a glance.
_MARK = {
    "taken": "✔",
    "constraint": "✘",
    "busy": "…",
    "offline": "↓",
    "no-runner": "∅",
    "later": "›",  # earliest_finish: could take it, expected to finish later
}


def render_decision(decision: Decision) -> str:
    """The chosen target and workflow, whether it queues, then one line per candidate."""
    head = f"{decision.job} → {decision.target} ({decision.description}) via {decision.workflow}"
    if decision.pinned:
        head += " [pinned]"
    labels = ", ".join(decision.labels)
    if decision.queued:
        status = f"queued: no runner with labels {labels} is free now; the job will wait for one"
    else:
        status = f"not queued: runs on a runner with labels {labels}"
    lines = [head, status]
    lines += [f"  {_MARK[r.verdict]} {r.text}" for r in decision.reasons]
    return "\n".join(lines)
