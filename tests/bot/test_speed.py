"""bot/speed.py: the speed model's fit, its fallbacks, samples from meta.json, and the ETA."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.policy import load_policy_file
from bot.speed import RECENT, Prediction, Sample, SpeedModel, eta_left_s, sample_from_meta

POLICY = load_policy_file(Path(__file__).resolve().parents[2] / "policy" / "policy.yaml")


def sample(audio: float, wall: float, transcribe: float | None, *, at: float = 0,
           runner: str = "mac-mini", target: str = "mac", model: str = "turbo") -> Sample:  # fmt: skip
    return Sample(target, runner, model, "local", audio, wall, 2.0, 3.0, transcribe, at)


def test_the_fit_is_the_median_factor_and_the_median_start_up() -> None:
    jobs = [sample(600, 80, 60), sample(1200, 140, 120), sample(300, 50, 30)]
    guess = SpeedModel(jobs, POLICY).predict("mac", 3600, runner="mac-mini")
    assert (guess.realtime_factor, guess.startup_s) == (pytest.approx(0.1), pytest.approx(20))
    assert (guess.seconds, guess.basis, guess.n) == (pytest.approx(380), "measured", 3)
    assert guess.note == "measured on 3 jobs"


def test_one_pathological_job_does_not_move_the_estimate() -> None:
    jobs = [sample(600, 80, 60, at=t) for t in range(4)] + [sample(600, 3000, 2900, at=9)]
    assert SpeedModel(jobs, POLICY).predict("mac", 600).seconds == pytest.approx(80)


def test_only_the_most_recent_jobs_count() -> None:
    old = [sample(600, 620, 600, at=t) for t in range(RECENT)]
    new = [sample(600, 80, 60, at=100 + t) for t in range(RECENT)]
    guess = SpeedModel(old + new, POLICY).predict("mac", 600)
    assert (guess.seconds, guess.n) == (pytest.approx(80), RECENT)


@pytest.mark.parametrize(
    ("target", "runner", "model", "expected"),
    [
        ("mac", "mac-mini", "turbo", ("measured", "runner mac-mini", 0.1)),
        ("mac", "mac-mini", "small", ("measured", "runner mac-mini", 0.1)),  # any model
        ("pool", "mac-mini", None, ("measured", "runner mac-mini", 0.1)),  # the runner, any target
        ("mac", "mac-mini-2", None, ("measured", "target mac", 0.1)),  # a new runner of the target
        ("rpi4", "pi4", None, ("default", "policy default", 0.4)),  # never seen: the policy's
        ("rpi4", None, None, ("default", "policy default", 0.4)),
    ],
)
def test_fallbacks(target: str, runner: str | None, model: str | None,
                   expected: tuple[str, str, float]) -> None:  # fmt: skip
    speed = SpeedModel([sample(600, 80, 60)], POLICY)
    guess = speed.predict(target, 600, runner=runner, model=model, backend="local")
    assert (guess.basis, guess.scope, guess.realtime_factor) == (
        expected[0], expected[1], pytest.approx(expected[2]))  # fmt: skip


def test_no_history_says_first_job_on_this_runner() -> None:
    guess = SpeedModel([], POLICY).predict(
        "rpi4", 600, audio_assumed="length unknown, assumed 30 min"
    )
    assert guess.seconds == pytest.approx(40 + 0.4 * 600)
    assert guess.note == "first job on this runner; length unknown, assumed 30 min"


def test_a_job_without_a_transcription_time_is_fitted_on_its_wall_time() -> None:
    guess = SpeedModel([sample(1000, 100, None)], POLICY).predict("mac", 1000)
    assert guess.seconds == pytest.approx(100)


META = {"duration_s": 600.0, "wall_time_s": 75.5, "transcribe_time_s": 60.1, "fetch_time_s": 3.2,
        "decode_time_s": 4.0, "model": "tiny.en", "backend": "local", "host": "mac-mini.local"}  # fmt: skip


@pytest.mark.parametrize(
    ("meta", "runner", "expected"),
    [
        (META, "mac-mini", ("mac-mini", 600.0, 75.5, 60.1, 3.2, 4.0)),
        (META, None, ("mac-mini.local", 600.0, 75.5, 60.1, 3.2, 4.0)),  # meta's host
        ({**META, "fetch_time_s": None, "decode_time_s": "x"}, "r", ("r", 600.0, 75.5, 60.1, None, None)),
        ({**META, "cached": True}, "r", None),  # a cached result measures nothing
        ({**META, "duration_s": 0}, "r", None),
        ({**META, "duration_s": "long"}, "r", None),
        ({**META, "wall_time_s": -1}, "r", None),
        ({**META, "wall_time_s": float("nan")}, "r", None),
        ({**META, "host": None}, None, None),
    ],
)  # fmt: skip
def test_samples_from_meta(meta: dict[str, object], runner: str | None,
                           expected: tuple[object, ...] | None) -> None:  # fmt: skip
    got = sample_from_meta(meta, target="mac", runner=runner, at=5.0)
    if expected is None:
        assert got is None
    else:
        assert got is not None
        assert (got.runner, got.audio_s, got.wall_s, got.transcribe_s, got.fetch_s,
                got.decode_s) == expected  # fmt: skip


PLAN = Prediction(20 + 0.1 * 1000, 0.1, 20, "measured", 5, "runner mac-mini", 1000)


@pytest.mark.parametrize(
    ("elapsed", "fraction", "expected"),
    [
        (0, None, 120),  # not started: the prediction
        (45, 0.25, 75),  # on the model's pace: 0.1 * 750 s of audio left
        (70, 0.25, 112.5),  # half as fast as the model so far: between the two paces
        (500, None, 0),  # over time, no progress known: never negative
        (45, 1.7, 75),  # garbage fraction: the model alone
        (45, float("nan"), 75),
        (10, 0.25, 110),  # still in the start-up: the model alone
    ],
)
def test_eta_left(elapsed: float, fraction: float | None, expected: float) -> None:
    assert eta_left_s(PLAN, elapsed, fraction) == pytest.approx(expected)


def test_eta_left_uses_the_time_spent_transcribing_when_known() -> None:
    # a slow start-up (60 s, not 20) says nothing about the pace: 25 s for 250 s of audio
    assert eta_left_s(PLAN, 85, 0.25, transcribing_s=25) == pytest.approx(75)
