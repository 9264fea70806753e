"""A job a runner refused as too long for it (its `refusal.json`, exit code 10): the
recording's length is recorded on the job, and the policy routes it once more with that
length known, to a target that takes it. Never more than once: a job sent again for this
carries REROUTE_SEQ in its seq. When the policy has nowhere else (the same target again, or
none at all), the job fails with one sentence saying so.

    refused ─► duration recorded ─► routed again ─┬─► another target: a new job (seq + REROUTE_SEQ)
                                                   └─► the same one, or none: failed, one sentence
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.executors.base import Refusal
from bot.ledger import JobRow
from bot.policy import Decision

__all__ = ["REROUTE_SEQ", "Plan", "length", "plan", "refused", "rerouted", "sending"]

# A job sent again after its runner refused it as too long has its original's seq plus this
# (at most once). It is apart from REQUEUE_SEQ (1000): a job may be sent again once for each.
REROUTE_SEQ = 2000


def rerouted(row: JobRow) -> bool:
    """The job is already the one sent again after a refusal."""
    return (row.seq // REROUTE_SEQ) % 2 == 1


def length(seconds: float) -> str:
    """ "3 h 2 min", "2 h", "45 min": a recording's length, or a runner's limit."""
    minutes = max(round(seconds / 60), 1)
    if minutes < 60:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    return f"{hours} h" + (f" {rest} min" if rest else "")


@dataclass(frozen=True)
class Plan:
    """What becomes of a refused job: sent to `decision`'s target, or failed with `why`."""

    said: str  # what the refusal was: "the recording is 3 h 2 min long; rpi4 takes up to 2 h"
    decision: Decision | None = None
    why: str | None = None


def refused(row: JobRow, refusal: Refusal, *, local: bool = False) -> str:
    where = "this machine" if local else row.target
    limit = (f"; {where} takes up to {length(refusal.max_duration_s)}"
             if refusal.max_duration_s is not None else f"; too long for {where}")  # fmt: skip
    return f"the recording is {length(refusal.duration_s)} long{limit}"


def plan(row: JobRow, refusal: Refusal, decision: Decision | None, no_route: str | None,
         *, local: bool = False) -> Plan:  # fmt: skip
    """Where the refused job goes: `decision` is the policy's choice with the length known
    (None when it refused, `no_route` saying why). With the local executor every target is
    this machine, so there is nowhere else to send it."""
    said = refused(row, refusal, local=local)
    if local:
        return Plan(said, why=f"{said}; send a shorter recording")
    if rerouted(row):
        return Plan(said, why=f"{said}, and it was already sent on once for its length; "
                              "send a shorter recording, or raise the targets' limits")  # fmt: skip
    if decision is None:
        return Plan(said, why=f"{said}, and no other target takes it: {no_route}")
    if decision.target == row.target:
        return Plan(said, why=f"{said}, and the policy has no other target for it; correct "
                              f"{row.target}'s max_duration_min in the policy, or send a shorter "
                              "recording")  # fmt: skip
    return Plan(said, decision=decision)


def sending(said: str, decision: Decision, again: str) -> str:
    """The refused job's last word: why, and where it goes now, as which job."""
    machine = decision.description or decision.target
    machine = machine if machine.lower().startswith("the ") else f"the {machine}"
    return f"{said} — sending it to {machine} as job {again}"
