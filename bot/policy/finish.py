"""When each candidate would finish a job: the arithmetic behind `choose: earliest_finish`.

Pure, like the engine: the speed model (anything with `predict`, bot/speed.py's SpeedModel)
and the work ahead of each target (`Workload`, from the bot's ledger) are inputs. A target's
expected start is when the first of its online runners is free after the relayq jobs already
running there and those committed or held for it; its finish is that plus the predicted time.
A runner the fleet shows busy with no relayq job on it (someone else's work) is assumed free
in `BUSY_UNKNOWN_S`. An offline target, or one no runner serves, has no expected start.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.fleet import Fleet
from bot.policy.schema import Policy

__all__ = [
    "ASSUMED_AUDIO_S",
    "BUSY_UNKNOWN_S",
    "MB_PER_AUDIO_MIN",
    "Expectation",
    "Predicted",
    "Predictor",
    "Workload",
    "assumed_audio_s",
    "earliest",
    "expect",
]

BUSY_UNKNOWN_S = 300.0
# Near-ties go to the earlier target in preference order: a finish this close to the best is
# within what the speed model can tell apart.
TIE_S, TIE_FRACTION = 30.0, 0.05
# A link whose length is not known yet: from its size at 128 kbit/s (a podcast's MP3, about
# 1 MB a minute), else half an hour (a long voice note and a short podcast alike).
MB_PER_AUDIO_MIN = 0.96
ASSUMED_AUDIO_S = 1800.0


class Predicted(Protocol):
    @property
    def seconds(self) -> float: ...
    @property
    def basis(self) -> str: ...
    @property
    def n(self) -> int: ...
    @property
    def note(self) -> str: ...


class Predictor(Protocol):
    def predict(
        self, target: str, audio_s: float, *, runner: str | None = None,
        model: str | None = None, backend: str | None = None, audio_assumed: str | None = None,
    ) -> Predicted: ...  # fmt: skip


@dataclass(frozen=True)
class Workload:
    """The relayq work ahead of a new job on one target, as the bot knows it."""

    running_left_s: tuple[float, ...] = ()  # each relayq job running there: seconds left
    queued_s: tuple[float, ...] = ()  # each job committed or held for it: predicted seconds


@dataclass(frozen=True)
class Expectation:
    """One candidate's expected start and finish, in seconds from now (None: not foreseeable)."""

    target: str
    start_in_s: float | None
    run_s: float
    finish_in_s: float | None
    basis: str  # "measured" or "default"
    n: int
    note: str

    def to_json(self) -> dict[str, object]:
        return {
            "target": self.target,
            "start_in_s": _round(self.start_in_s),
            "run_s": round(self.run_s, 1),
            "finish_in_s": _round(self.finish_in_s),
            "basis": self.basis,
            "n": self.n,
            "note": self.note,
        }


def assumed_audio_s(duration_min: float | None, size_mb: float | None) -> tuple[float, str | None]:
    """The audio length to plan with, and why it is a guess (None when it is known)."""
    if duration_min is not None:
        return duration_min * 60, None
    if size_mb:
        minutes = size_mb / MB_PER_AUDIO_MIN
        return minutes * 60, f"length assumed from its size (about {minutes:.0f} min)"
    return ASSUMED_AUDIO_S, f"length unknown, assumed {ASSUMED_AUDIO_S / 60:.0f} min"


def expect(
    policy: Policy, name: str, audio_s: float, audio_assumed: str | None, fleet: Fleet | None,
    speed: Predictor, workload: Workload | None,
) -> Expectation:  # fmt: skip
    """The expected start, run time and finish of a job of `audio_s` seconds on target `name`."""
    work = workload or Workload()
    target = policy.targets[name]
    runners = fleet.serving(target.labels) if fleet is not None else ()
    online = [r for r in runners if r.online]
    # The run time: on the one runner when only one serves the target; a pool's job may land
    # on any of its runners, so the slowest of them.
    who: list[str | None] = [r.name for r in (online or runners)] or [None]
    guesses = [speed.predict(name, audio_s, runner=r, audio_assumed=audio_assumed) for r in who]
    guess = max(guesses, key=lambda g: g.seconds)
    if fleet is None:
        slots = [max(work.running_left_s, default=0.0)]
    elif not online:
        return Expectation(name, None, guess.seconds, None, guess.basis, guess.n, guess.note)
    else:
        busy = sum(1 for r in online if r.busy)
        left = sorted((max(0.0, s) for s in work.running_left_s), reverse=True)[:busy]
        left += [BUSY_UNKNOWN_S] * (busy - len(left))
        slots = left + [0.0] * (len(online) - busy)
    heapq.heapify(slots)
    for queued in work.queued_s:
        heapq.heappush(slots, heapq.heappop(slots) + max(0.0, queued))
    start = slots[0]
    return Expectation(
        name, start, guess.seconds, start + guess.seconds, guess.basis, guess.n, guess.note
    )


def earliest(order: Sequence[str], expected: Mapping[str, Expectation]) -> str | None:
    """The candidate expected to finish first; near-ties go to the earlier one in `order`."""
    finishes = {n: f for n in order if n in expected and (f := expected[n].finish_in_s) is not None}
    if not finishes:
        return None
    best = min(finishes.values())
    margin = max(TIE_S, TIE_FRACTION * best)
    return next(n for n in order if n in finishes and finishes[n] <= best + margin)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)
