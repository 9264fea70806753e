"""`choose: earliest_finish`: the candidate expected to finish first, with a reason for each.

The arithmetic is bot/policy/finish.py's; this builds the decision from it. A candidate whose
finish cannot be foreseen (offline, no runner) falls through; when none can be, the caller
applies first_free's rules (the fallback, or waiting for a target that can take the input).
"""

from __future__ import annotations

from dataclasses import replace

from bot.fleet import Fleet
from bot.policy.decision import (
    CandidateReason,
    Decision,
    JobRequest,
    availability,
    label,
    limit_problem,
    make_decision,
    state_text,
    unknown_size_note,
)
from bot.policy.finish import Expectation, earliest
from bot.policy.schema import Policy, Route

__all__ = ["about", "quickest"]


def quickest(
    policy: Policy, route: Route, job: JobRequest, fleet: Fleet | None, unknown: str,
    expected: dict[str, Expectation],
) -> Decision | None:  # fmt: skip
    """earliest_finish: the candidate expected to finish first, or None when no candidate's
    finish can be foreseen (all offline or without runners): then first_free's rules apply."""
    chain = policy.chain(job.kind)
    name = earliest(chain, expected)
    if name is None:
        return None
    best, best_label = expected[name], label(name, policy.targets[name])
    reasons: list[CandidateReason] = []
    for other in chain:
        target = policy.targets[other]
        problem = limit_problem(target, route, job)
        if problem is not None:
            role = " as the fallback" if other == route.fallback else ""
            text = f"{label(other, target)}: {problem} — skipped{role}"
            reasons.append(CandidateReason(other, "constraint", text))
            continue
        if other == name:
            continue
        state, mine = availability(target, fleet), expected[other]
        said = f"{label(other, target)}: {state_text(state, target, unknown)}"
        if mine.finish_in_s is None:
            reasons.append(CandidateReason(other, state, f"{said} — falls through"))  # type: ignore[arg-type]
            continue
        assert best.finish_in_s is not None
        than = (
            f"later than {name}" if mine.finish_in_s > best.finish_in_s
            else f"about as soon as {name}, which comes first in the preference order"
        )  # fmt: skip
        text = f"{said}, {_when(mine)} — {than}"
        reasons.append(CandidateReason(other, "later", text))
    state = availability(policy.targets[name], fleet)
    queued = state == "busy"
    outcome = "the job will wait for it: expected to finish first" if queued else "taken"
    text = f"{best_label}: {state_text(state, policy.targets[name], unknown)}, {_when(best)}"
    text += f" — {outcome}" + unknown_size_note(policy.targets[name], job)
    reasons.append(CandidateReason(name, "taken", text))
    decision = make_decision(policy, job, name, reasons, chain, queued=queued, pinned=False)
    return replace(decision, expected=tuple(expected.values()))


def _when(e: Expectation) -> str:
    start = "starts now" if not e.start_in_s else f"starts in {about(e.start_in_s)}"
    assert e.finish_in_s is not None
    return f"{start}, done in {about(e.finish_in_s)} ({e.note})"


def about(seconds: float) -> str:
    """`about 12 min`, `about 1 h 5 min`, `under a minute`: what a person plans with."""
    minutes = round(seconds / 60)
    if minutes < 1:
        return "under a minute"
    if minutes < 60:
        return f"about {minutes} min"
    hours, rest = divmod(minutes, 60)
    return f"about {hours} h" + (f" {rest} min" if rest else "")
