"""The job carries its target's longest recording (the policy's max_duration_min) to the
executor, so a runner refuses a longer media page before downloading it and the job is routed
once more — through the lifecycle with the in-memory chat and a scripted executor."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.executors.base import JobSpec, JobState, Phase, Unavailable
from bot.lifecycle import driving
from tests.bot.lifecycle_fakes import ScriptedExecutor, result_folder
from tests.bot.test_lifecycle_reroute import MAC_BUSY, refusing, run


def delivering(tmp_path: Path) -> ScriptedExecutor:
    def script(spec: JobSpec) -> list[JobState]:
        folder = result_folder(tmp_path / spec.job_id)
        return [JobState(spec.job_id, Phase.SUCCEEDED, "done", result_dir=folder)]

    return ScriptedExecutor(script, fleet_now=MAC_BUSY)


async def test_the_job_carries_the_chosen_targets_longest_recording(tmp_path: Path) -> None:
    executor = delivering(tmp_path)
    await run(tmp_path, executor)
    (spec,) = executor.submitted
    assert (spec.target, spec.max_duration_min) == ("rpi4", 90.0)


async def test_a_job_routed_once_more_carries_the_new_targets_limit(tmp_path: Path) -> None:
    executor = refusing(tmp_path, 3 * 3600, 90 * 60, where={"rpi4"})
    await run(tmp_path, executor)
    assert [(s.target, s.max_duration_min) for s in executor.submitted] == [
        ("rpi4", 90.0),
        ("mac", 600.0),
    ]


async def test_the_local_executor_is_given_no_limit(tmp_path: Path) -> None:
    """It runs every job on this machine, which the policy's targets do not describe."""
    executor = delivering(tmp_path)
    executor.name = "local"
    await run(tmp_path, executor)
    (spec,) = executor.submitted
    assert spec.max_duration_min is None


async def test_a_job_taken_up_again_still_carries_its_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GitHub silent at dispatch: the job is taken up again (resumed), limit and all."""
    monkeypatch.setattr(driving, "OUTAGE_FIRST_S", 0.0)  # not the 30 s pause of the real thing
    executor = delivering(tmp_path)
    executor.fail_submit.append(Unavailable("GitHub did not answer after 6 tries"))
    await run(tmp_path, executor)
    (spec,) = executor.resumed
    assert (spec.target, spec.max_duration_min) == ("rpi4", 90.0)
