"""How long a job will take: a speed model fitted on finished jobs, pure and table-tested.

    sample_from_meta(meta, target=..., runner=..., at=...) -> Sample | None
    SpeedModel(samples, policy).predict(target, audio_s, runner=None, model=None, backend=None)
        -> Prediction(seconds, basis "measured"|"default", n, ...)
    eta_left_s(prediction, elapsed_s, fraction) -> seconds left of a running job

The fit, per key, over the last `RECENT` finished jobs: a job takes
`startup + realtime_factor * audio seconds`. The real-time factor is the **median** of
`transcribe_s / audio_s` (the transcription phase alone, which the runner times apart, is the
part that grows with the audio), and the start-up cost is the **median** of what is left,
`wall_s - factor * audio_s`, floored at 0. Medians, because one job that waited on a cold
disk or a throttled CPU must not move the estimate; not a least-squares (or Theil-Sen) line
through wall times, because a runner's recent jobs are often of similar lengths, which leaves
a fitted slope unstable, while the transcription time measures the slope directly and one job
is already a usable estimate. Keys, most specific first: (runner, model, backend), the runner
with any model, (target, model, backend), the target with any model; with none of those, the
policy's `speed` for the target, reported as `default`.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from bot.policy.finish import ASSUMED_AUDIO_S, MB_PER_AUDIO_MIN, assumed_audio_s
from bot.policy.schema import Policy

__all__ = [
    "ASSUMED_AUDIO_S",
    "MB_PER_AUDIO_MIN",
    "RECENT",
    "Prediction",
    "Sample",
    "SpeedModel",
    "assumed_audio_s",
    "eta_left_s",
    "sample_from_meta",
]

RECENT = 20  # jobs per key: a runner's speed changes with its model and its OS updates


@dataclass(frozen=True)
class Sample:
    """One finished job's timings. `wall_s` is the job's time on the runner, start to results."""

    target: str
    runner: str
    model: str
    backend: str
    audio_s: float
    wall_s: float
    fetch_s: float | None
    decode_s: float | None
    transcribe_s: float | None
    at: float  # when it finished (epoch seconds): the newest RECENT per key are kept


@dataclass(frozen=True)
class Prediction:
    """A job's expected time on a target, and what it rests on."""

    seconds: float
    realtime_factor: float
    startup_s: float
    basis: str  # "measured" or "default"
    n: int  # jobs it was fitted on (0 for default)
    scope: str  # what was measured: "runner mac-mini", "target mac", or "policy default"
    audio_s: float
    audio_assumed: str | None = None  # why the audio length is a guess, when it is

    @property
    def note(self) -> str:
        """A few words for a card or /route: `measured on 12 jobs` / `first job on this runner`."""
        said = (
            f"measured on {self.n} job{'s' if self.n != 1 else ''}"
            if self.basis == "measured"
            else "first job on this runner"
        )
        return said if self.audio_assumed is None else f"{said}; {self.audio_assumed}"


def sample_from_meta(
    meta: Mapping[str, object], *, target: str, runner: str | None, at: float,
    wall_s: float | None = None,
) -> Sample | None:  # fmt: skip
    """A sample from a job's meta.json (`runner` from GitHub's runner_name, else meta's host;
    `wall_s` from GitHub's job timings when known, else meta's wall_time_s). Anything
    missing, negative or not a number (a cached result, an old runner) is no sample."""
    audio = _number(meta.get("duration_s"))
    wall = wall_s if wall_s is not None else _number(meta.get("wall_time_s"))
    name = runner or meta.get("host")
    if meta.get("cached") is True or not audio or wall is None or not isinstance(name, str):
        return None
    if not name or not (math.isfinite(wall) and wall >= 0):
        return None
    model, backend = meta.get("model"), meta.get("backend")
    return Sample(
        target=target,
        runner=name,
        model=model if isinstance(model, str) else "",
        backend=backend if isinstance(backend, str) else "",
        audio_s=audio,
        wall_s=wall,
        fetch_s=_number(meta.get("fetch_time_s")),
        decode_s=_number(meta.get("decode_time_s")),
        transcribe_s=_number(meta.get("transcribe_time_s")),
        at=at,
    )


class SpeedModel:
    """Predictions from recent finished jobs, falling back to the policy's expected speeds."""

    def __init__(self, samples: Iterable[Sample], policy: Policy) -> None:
        self._policy = policy
        self._fits: dict[tuple[str, str, str, str], tuple[float, float, int]] = {}
        grouped: dict[tuple[str, str, str, str], list[Sample]] = {}
        for s in sorted(samples, key=lambda s: s.at, reverse=True):
            for key in _keys(s):
                kept = grouped.setdefault(key, [])
                if len(kept) < RECENT:
                    kept.append(s)
        for key, kept in grouped.items():
            self._fits[key] = (*_fit(kept), len(kept))

    def predict(
        self, target: str, audio_s: float, *, runner: str | None = None,
        model: str | None = None, backend: str | None = None, audio_assumed: str | None = None,
    ) -> Prediction:  # fmt: skip
        """The expected time of `audio_s` seconds of audio on `target` (on `runner`, if known)."""
        audio_s = max(0.0, audio_s)
        wanted: list[tuple[str, str, str, str]] = []
        if runner is not None:
            if model is not None and backend is not None:
                wanted.append(("runner", runner, model, backend))
            wanted.append(("runner", runner, "*", "*"))
        if model is not None and backend is not None:
            wanted.append(("target", target, model, backend))
        wanted.append(("target", target, "*", "*"))
        for key in wanted:
            if key in self._fits:
                factor, startup, n = self._fits[key]
                return Prediction(
                    startup + factor * audio_s, factor, startup, "measured", n,
                    f"{key[0]} {key[1]}", audio_s, audio_assumed,
                )  # fmt: skip
        speed = self._policy.targets[target].speed
        return Prediction(
            speed.startup_s + speed.realtime_factor * audio_s, speed.realtime_factor,
            speed.startup_s, "default", 0, "policy default", audio_s, audio_assumed,
        )  # fmt: skip

    def measured(self) -> dict[str, tuple[float, int]]:
        """Each runner's measured real-time factor and job count, for /status."""
        return {
            k[1]: (f, n) for k, (f, _, n) in self._fits.items() if k[0] == "runner" and k[2] == "*"
        }


def eta_left_s(
    prediction: Prediction, elapsed_s: float, fraction: float | None,
    *, transcribing_s: float | None = None,
) -> float:  # fmt: skip
    """Seconds left of a running job, from its prediction and the progress it reports.

    `fraction` is the share of the audio transcribed; `transcribing_s` the time spent
    transcribing so far (from the first progress record of that phase), else the elapsed
    time less the predicted start-up. The pace seen is blended with the model's, trusting what
    is seen more as the job goes on (at 25 % they weigh the same). A fraction that is
    missing, out of range or not a number leaves the model's figure alone.
    """
    left_by_model = max(0.0, prediction.seconds - max(0.0, elapsed_s))
    if fraction is None or not math.isfinite(fraction) or not 0 < fraction < 1:
        return left_by_model
    audio = prediction.audio_s
    working = elapsed_s - prediction.startup_s if transcribing_s is None else transcribing_s
    if audio <= 0 or not math.isfinite(working) or working <= 0:
        return left_by_model
    seen_factor = working / (fraction * audio)
    weight = fraction / (fraction + 0.25)
    factor = (1 - weight) * prediction.realtime_factor + weight * seen_factor
    return factor * (1 - fraction) * audio


def _keys(s: Sample) -> tuple[tuple[str, str, str, str], ...]:
    return (
        ("runner", s.runner, s.model, s.backend),
        ("runner", s.runner, "*", "*"),
        ("target", s.target, s.model, s.backend),
        ("target", s.target, "*", "*"),
    )


def _fit(samples: list[Sample]) -> tuple[float, float]:
    """(real-time factor, start-up seconds): medians, see the module's docstring."""
    factors = [
        (s.transcribe_s if s.transcribe_s is not None else s.wall_s) / s.audio_s for s in samples
    ]
    factor = statistics.median(factors)
    startup = statistics.median(max(0.0, s.wall_s - factor * s.audio_s) for s in samples)
    return factor, startup


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) and number >= 0 else None
