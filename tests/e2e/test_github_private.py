"""A private job's dispatch through the real PyGithub and the GitHub emulator: it carries
`private: true` (with `backend: local`), an ordinary job no `private` at all, and a workflow
that does not declare the input refuses the dispatch — the job is never run as an ordinary
one (unlike `name`, `private` is not an input a job can do without)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from bot.executors.base import JobSpec, Phase
from jobs.errors import RelayqError
from tests.e2e.conftest import MAC, executor_for
from tests.e2e.test_github_executor import follow, spec
from tests.emulators.github import GitHubEmulator

pytestmark = pytest.mark.slow
OLD_INPUTS = {"source", "request_id", "backend", "model", "language", "name", "task"}


def private(job_id: str) -> JobSpec:
    return replace(spec(job_id, "https://example.org/a.ogg"), private=True, backend="local")


async def test_a_private_job_is_dispatched_with_private_true_and_the_local_backend(
    tmp_path: Path,
) -> None:
    with GitHubEmulator(tmp_path / "gh", synthetic_run_s=1.0) as gh:
        gh.add_runner("mac-mini", MAC, os="macOS")
        ex = executor_for(gh, tmp_path)
        await ex.submit(private("req-private"))
        await ex.submit(spec("req-plain", "https://example.org/b.ogg"))
        finals = [(await follow(ex, j))[-1] for j in ("req-private", "req-plain")]
    assert [f.phase for f in finals] == [Phase.SUCCEEDED] * 2
    inputs = {r.inputs["request_id"]: r.inputs for r in gh.runs()}
    assert (inputs["req-private"]["private"], inputs["req-private"]["backend"]) == ("true", "local")
    assert "private" not in inputs["req-plain"] and inputs["req-plain"]["backend"] == ""


async def test_a_workflow_without_the_private_input_refuses_the_job_rather_than_run_it(
    tmp_path: Path,
) -> None:
    with GitHubEmulator(tmp_path / "gh", synthetic_run_s=1.0,
                        declared_inputs={"transcribe_mac.yml": OLD_INPUTS}) as gh:  # fmt: skip
        gh.add_runner("mac-mini", MAC, os="macOS")
        ex = executor_for(gh, tmp_path)
        with pytest.raises(RelayqError) as caught:
            await ex.submit(private("req-old"))
        assert gh.runs() == []  # nothing ran, private or not
        assert [h.status for h in gh.dispatches()] == [422]
    said = str(caught.value)
    assert said == ('GitHub refused to start transcribe_mac.yml (HTTP 422: Unexpected inputs '
                    'provided: ["private"]); check the inputs')  # fmt: skip
