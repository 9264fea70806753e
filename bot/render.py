"""Pure rendering of relayq's answers as text (the CLI now, the Telegram bot later)."""

from __future__ import annotations

from bot.policy import Decision

__all__ = ["render_decision"]

_MARK = {
    "taken": "✔",
    "constraint": "✘",
    "no-workflow": "✘",
    "offline": "↓",
    "busy": "…",
    "no-runner": "↓",
    "not-needed": "·",
}


def render_decision(decision: Decision) -> str:
    """The chosen target and why, one line per candidate considered."""
    head = f"{decision.job} → {decision.target} ({decision.description}) via {decision.workflow}"
    if decision.pinned:
        head += " [pinned]"
    lines = [head]
    if decision.queued:
        lines.append(f"queued: waiting for {decision.waiting_for}")
    else:
        lines.append("runs now" if decision.reasons else "")
    for reason in decision.reasons:
        lines.append(f"  {_MARK.get(reason.verdict, '-')} {reason.text}")
    for note in decision.notes:
        lines.append(f"  note: {note}")
    return "\n".join(lines)
