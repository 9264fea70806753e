"""The target's longest recording goes to its runner as the `max_duration_min` input, and a
workflow that does not declare the input still gets the job — through the real PyGithub and
the GitHub emulator (synthetic runs: what is tested is the dispatch)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from bot.executors.base import JobSpec, Phase
from tests.e2e.conftest import MAC, executor_for
from tests.e2e.test_github_executor import follow, spec
from tests.emulators.github import GitHubEmulator

pytestmark = pytest.mark.slow

BASIC = {"source", "request_id", "backend", "model", "language"}


def limited(job_id: str, minutes: float | None, name: str = "") -> JobSpec:
    return replace(spec(job_id, "https://example.org/page"), max_duration_min=minutes, name=name)


async def test_the_targets_limit_goes_to_a_workflow_that_declares_it(tmp_path: Path) -> None:
    with GitHubEmulator(tmp_path / "gh", synthetic_run_s=1.0) as gh:  # the real workflows
        ex = executor_for(gh, tmp_path)
        await ex.submit(limited("req-limit", 90.0))
        await ex.submit(limited("req-open", None))
        limit_run, open_run = gh.runs()
        assert limit_run.inputs["max_duration_min"] == "90"
        assert "max_duration_min" not in open_run.inputs  # no limit: not sent at all
        assert len(gh.dispatches()) == 2


async def test_a_workflow_that_does_not_declare_the_limit_gets_the_job_without_it(
    tmp_path: Path,
) -> None:
    """An older ref answers 422 "Unexpected inputs provided" for both optional inputs: the job
    goes without them, and the next job to that workflow is not sent them again."""
    with GitHubEmulator(tmp_path / "gh", synthetic_run_s=1.0,
                        declared_inputs={"transcribe_mac.yml": BASIC}) as gh:  # fmt: skip
        gh.add_runner("mac-mini", MAC, os="macOS")
        ex = executor_for(gh, tmp_path)
        await ex.submit(limited("req-old-1", 600.0, name="talk.webm"))
        await ex.submit(limited("req-old-2", 600.0, name="call.ogg"))
        assert [h.status for h in gh.dispatches()] == [422, 200, 200]
        assert all(set(r.inputs) == BASIC for r in gh.runs()) and len(gh.runs()) == 2
        assert (await follow(ex, "req-old-1"))[-1].phase is Phase.SUCCEEDED


async def test_a_workflow_that_declares_the_name_but_not_the_limit_keeps_the_name(
    tmp_path: Path,
) -> None:
    with GitHubEmulator(tmp_path / "gh", synthetic_run_s=1.0,
                        declared_inputs={"transcribe_mac.yml": BASIC | {"name"}}) as gh:  # fmt: skip
        ex = executor_for(gh, tmp_path)
        await ex.submit(limited("req-half-1", 90.0, name="talk.webm"))
        await ex.submit(limited("req-half-2", 90.0, name="call.ogg"))
        assert [h.status for h in gh.dispatches()] == [422, 200, 200]
        assert [r.inputs.get("name") for r in gh.runs()] == ["talk.webm", "call.ogg"]
        assert all("max_duration_min" not in r.inputs for r in gh.runs())
