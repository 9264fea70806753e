"""`select`: where a job runs, and why. Pure: no I/O, the same inputs give the same decision.

A route chooses `first_free` (the first preferred target with an idle runner) or, when the
caller gives a speed model, `earliest_finish` (bot/policy/finish.py: the candidate expected to
finish first). Constraints, pins and the fallback's rules are the same for both.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from bot.fleet import Fleet
from bot.policy.decision import (
    NO_FLEET,
    CandidateReason,
    Decision,
    JobRequest,
    State,
    Verdict,
    availability,
    input_problem,
    keeps_private,
    label,
    limit_problem,
    make_decision,
    private_problem,
    state_text,
    unknown_size_note,
)
from bot.policy.finish import Expectation, Predictor, Workload, assumed_audio_s, expect
from bot.policy.quickest import quickest
from bot.policy.schema import Policy, Route, unmet_requirement
from jobs.errors import PrivateRefused, TooLarge, UsageError

__all__ = [
    "NO_FLEET",
    "CandidateReason",
    "Decision",
    "JobRequest",
    "Verdict",
    "Workload",
    "decision_chain",
    "select",
]

_WAIT_ORDER: tuple[State, ...] = ("busy", "offline", "no-runner")


def select(
    policy: Policy, job: JobRequest, fleet: Fleet | None, pin: str | None = None,
    *, unknown: str = NO_FLEET, speed: Predictor | None = None,
    workloads: Mapping[str, Workload] | None = None,
) -> Decision:  # fmt: skip
    """Decide where `job` runs; `fleet=None` means runner states are unknown, and `unknown`
    says why ("GitHub did not answer within 10 s"). With `speed` (and the relayq work ahead
    of each target, `workloads`), every candidate's expected finish is in the decision, and
    a route with `choose: earliest_finish` takes the one that finishes first; without it,
    every route chooses first_free."""
    route = policy.routes.get(job.kind)
    if route is None:
        raise UsageError(
            f"unknown job kind {job.kind!r}; choose one of: {', '.join(sorted(policy.routes))}"
        )
    if job.private and not keeps_private(policy, job.kind):
        raise PrivateRefused(
            f"this job is private, and no {job.kind} target keeps the audio on your machines "
            "(each one sends it to OpenAI or OpenRouter, or is not self-hosted); /private off "
            "to let it go there, or give a target the local backend in the policy"
        )
    if pin is not None:
        decision = _pinned(policy, route, job, fleet, pin, unknown)
        return _with_expected(decision, policy, job, fleet, speed, workloads)
    if speed is not None and route.choose == "earliest_finish":
        expected = _expected(policy, job, decision_chain(policy, route, job), fleet, speed,
                             workloads)  # fmt: skip
        fastest = quickest(policy, route, job, fleet, unknown, expected)
        if fastest is not None:
            return fastest
    decision = _first_free(policy, route, job, fleet, unknown)
    return _with_expected(decision, policy, job, fleet, speed, workloads)


def _first_free(
    policy: Policy, route: Route, job: JobRequest, fleet: Fleet | None, unknown: str
) -> Decision:
    chosen = _Chooser(policy, route, job, fleet, unknown)
    waitable: list[tuple[str, State]] = []
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
        private = private_problem(policy.targets[route.fallback], job) is not None
        why = ("it keeps the audio on your machines and the fallback does not" if private
               else "it can take this input and the fallback cannot")  # fmt: skip
        return chosen.take(name, state, f"the job will wait for it: {why}", queued=True)
    raise TooLarge(_too_large_sentence(policy, route, job))


def decision_chain(policy: Policy, route: Route, job: JobRequest) -> tuple[str, ...]:
    """The route's targets that pass its constraints for this job, in order."""
    chain = policy.chain(job.kind)
    return tuple(n for n in chain if limit_problem(policy.targets[n], route, job) is None)


def _expected(
    policy: Policy, job: JobRequest, names: tuple[str, ...], fleet: Fleet | None,
    speed: Predictor, workloads: Mapping[str, Workload] | None,
) -> dict[str, Expectation]:  # fmt: skip
    audio_s, assumed = assumed_audio_s(job.duration_min, job.size_mb)
    work = workloads or {}
    return {n: expect(policy, n, audio_s, assumed, fleet, speed, work.get(n)) for n in names}


def _with_expected(
    decision: Decision, policy: Policy, job: JobRequest, fleet: Fleet | None,
    speed: Predictor | None, workloads: Mapping[str, Workload] | None,
) -> Decision:  # fmt: skip
    if speed is None:
        return decision
    route = policy.routes[job.kind]
    names = decision.chain if decision.pinned else decision_chain(policy, route, job)
    expected = _expected(policy, job, names, fleet, speed, workloads)
    return replace(decision, expected=tuple(expected.values()))


class _Chooser:
    """Walks a route's candidates, keeping the reasons in the order they were considered."""

    def __init__(
        self, policy: Policy, route: Route, job: JobRequest, fleet: Fleet | None, unknown: str
    ) -> None:
        self.policy, self.route, self.job, self.fleet = policy, route, job, fleet
        self.unknown = unknown
        self.reasons: list[CandidateReason] = []

    def consider(self, name: str, *, as_fallback: bool = False) -> State | None:
        """The target's state, or None (with its reason recorded) when it cannot take the job."""
        target = self.policy.targets[name]
        problem = limit_problem(target, self.route, self.job)
        if problem is not None:
            role = " as the fallback" if as_fallback else ""
            self.reasons.append(
                CandidateReason(
                    name, "constraint", f"{label(name, target)}: {problem} — skipped{role}"
                )
            )
            return None
        state = availability(target, self.fleet)
        if not as_fallback and (state == "busy" or state == "offline" or state == "no-runner"):
            said = state_text(state, target, self.unknown)
            text = f"{label(name, target)}: {said} — falls through"
            self.reasons.append(CandidateReason(name, state, text))
        return state

    def take(self, name: str, state: State, outcome: str, *, queued: bool) -> Decision:
        target = self.policy.targets[name]
        text = f"{label(name, target)}: {state_text(state, target, self.unknown)} — {outcome}"
        text += unknown_size_note(target, self.job)
        self.reasons.append(CandidateReason(name, "taken", text))
        return make_decision(
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
    named = label(pin, target)
    if job.kind not in target.workflows:
        able = [n for n in policy.pins.allowed if job.kind in policy.targets[n].workflows]
        raise UsageError(
            f"pinned to {named}, which does not run {job.kind} jobs; unpin (/unpin in the bot) "
            f"or pin one of: {', '.join(able) or '(none)'}"
        )
    private = private_problem(target, job)
    if private is not None:
        able = [n for n in keeps_private(policy, job.kind) if n in policy.pins.allowed]
        raise PrivateRefused(
            f"pinned to {named}, but {private}; unpin (/unpin in the bot) or pin one of: "
            f"{', '.join(able) or '(none)'} — or /private off"
        )
    unmet = unmet_requirement(target.capabilities, route.requires)
    if unmet is not None:
        raise UsageError(
            f"pinned to {named}, which {unmet}; unpin (/unpin in the bot) to let the policy choose"
        )
    too_big = input_problem(target, job)
    if too_big is not None:
        raise TooLarge(
            f"pinned to {named}, but {too_big}; unpin (/unpin in the bot) to let the policy choose"
        )
    state = availability(target, fleet)
    queued = state not in ("free", "unknown")
    text = f"pinned to {named}: {state_text(state, target, unknown)}"
    text += " — the job will wait for it" if queued else " — taken"
    text += unknown_size_note(target, job)
    reasons = [CandidateReason(pin, "taken", text)]
    return make_decision(policy, job, pin, reasons, (pin,), queued=queued, pinned=True)


def _too_large_sentence(policy: Policy, route: Route, job: JobRequest) -> str:
    """Which dimension no target accepts, and the most any accepts."""
    names = [
        n
        for n in policy.chain(job.kind)
        if unmet_requirement(policy.targets[n].capabilities, route.requires) is None
        and private_problem(policy.targets[n], job) is None
    ]
    caps = {n: policy.targets[n].capabilities for n in names}
    biggest = max(names, key=lambda n: caps[n].max_input_mb)
    longest = max(names, key=lambda n: caps[n].max_duration_min)
    advice = "split the audio, or raise a target's limits in the policy"
    if job.size_mb is not None and job.size_mb > caps[biggest].max_input_mb:
        return (
            f"this {job.size_mb:g} MB input is too big for every {job.kind} target; the largest "
            f"accepted is {caps[biggest].max_input_mb:g} MB, by "
            f"{label(biggest, policy.targets[biggest])} — {advice}"
        )
    if job.duration_min is not None and job.duration_min > caps[longest].max_duration_min:
        return (
            f"this {job.duration_min:g}-minute recording is too long for every {job.kind} target; "
            f"the longest accepted is {caps[longest].max_duration_min:g} minutes, by "
            f"{label(longest, policy.targets[longest])} — {advice}"
        )
    return (
        f"no {job.kind} target accepts {job.size_mb:g} MB and {job.duration_min:g} minutes "
        f"together — {advice}"
    )
