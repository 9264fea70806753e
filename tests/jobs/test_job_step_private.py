"""A private job through the workflows: every dispatch workflow takes a `private` input (and
stays within workflow_dispatch's ten inputs), hands it to the shared job, which gives it to
run_job.sh only through `env:`; the script turns exactly "true" into `--private`."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml

JOBS = Path(__file__).resolve().parents[2] / "jobs"
WORKFLOWS = JOBS.parent / ".github" / "workflows"
DISPATCHED = sorted(p.name for p in WORKFLOWS.glob("*.yml") if not p.name.startswith("_"))
GITHUB_INPUT_LIMIT = 10  # workflow_dispatch's limit (25 on github.com since late 2025; GHES 10)


def run_job(tmp_path: Path, kind: str, private: str) -> list[str]:
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir(exist_ok=True)
    (fake_bin / "relayq").write_text('#!/usr/bin/env bash\nprintf "%s\\n" "$@"\n')
    (fake_bin / "relayq").chmod(0o755)
    env = dict(os.environ, PATH=f"{fake_bin}:{os.environ['PATH']}", RELAYQ_JOB=kind,
               RELAYQ_SOURCE="https://example.org/a.mp3", RELAYQ_OUT=str(tmp_path / "o"),
               RELAYQ_JOB_PRIVATE=private)  # fmt: skip
    env.pop("RELAYQ_VENV", None)
    done = subprocess.run(["bash", str(JOBS / "run_job.sh")], env=env, capture_output=True,
                          text=True, timeout=30, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout.split("\n")


@pytest.mark.parametrize("kind", ["transcribe", "summarize"])
@pytest.mark.parametrize(
    ("private", "passed"),
    [("true", True), ("", False), ("false", False), ("TRUE; id", False), ("1", False)],
)
def test_only_true_makes_the_job_private(
    tmp_path: Path, kind: str, private: str, passed: bool
) -> None:
    args = run_job(tmp_path, kind, private)
    assert ("--private" in args) is passed
    assert args[-3:-1] == ["--", "https://example.org/a.mp3"]  # the source stays last


@pytest.mark.parametrize("workflow", DISPATCHED)
def test_each_workflow_takes_private_and_hands_it_on(workflow: str) -> None:
    spec = yaml.safe_load((WORKFLOWS / workflow).read_text())
    dispatch = spec[True]["workflow_dispatch"]["inputs"]  # YAML 1.1 reads `on:` as True
    assert dispatch["private"].get("default") == "" and not dispatch["private"].get("required")
    assert len(dispatch) <= GITHUB_INPUT_LIMIT
    [job] = spec["jobs"].values()
    assert job["with"]["private"] == "${{ inputs.private }}"
    assert "secrets" not in dispatch["private"]


def test_the_shared_job_passes_private_to_the_script_only_through_env() -> None:
    spec = yaml.safe_load((WORKFLOWS / "_job.yml").read_text())
    assert spec[True]["workflow_call"]["inputs"]["private"]["type"] == "string"
    steps = spec["jobs"]["run"]["steps"]
    [step] = [s for s in steps if "RELAYQ_JOB_PRIVATE" in s.get("env", {})]
    assert step["env"]["RELAYQ_JOB_PRIVATE"] == "${{ inputs.private }}"
    assert all("inputs.private" not in s.get("run", "") for s in steps)
