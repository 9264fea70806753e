"""A job's progress, through its check run: the real workflow (act) writes it, the real PyGithub
executor reads it conditionally while the job runs.

The job here is the real `relayq transcribe` behind a small entry that first reports progress
records on stderr, as the runner's own progress reports do (the entry is the runner venv's
`relayq`: RELAYQ_VENV is the one thing the test changes).
"""

from __future__ import annotations

import re
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from bot.executors.base import JobState, Phase
from jobs.progress import parse_title
from tests.e2e.conftest import FAST, MAC, executor_for, job_env
from tests.e2e.test_github_executor import follow, spec
from tests.emulators.github import GitHubEmulator
from tests.emulators.github.server import Fault

pytestmark = pytest.mark.slow

# The runner's pace, and the stand-in's records just further apart: each is worth a write.
EVERY_S = 2.0
FRACTIONS = (0.1, 0.4, 0.7)
WATCHING = replace(FAST, progress_every_s=0.3, progress_reads_per_hour=36_000)


def reporting_venv(tmp_path: Path, gap_s: float) -> Path:
    """A runner venv whose `relayq` reports progress for a few seconds, then is the real one;
    it fails should the checks token ever reach it."""
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    real = Path(sys.executable).parent
    records = "\n".join(
        f'echo \'relayq-progress: {{"phase":"transcribe","fraction":{f},'
        f'"audio_done_s":{f * 16:.1f},"elapsed_s":{f * 10:.1f},"left_s":90}}\' >&2; sleep {gap_s}'
        for f in FRACTIONS
    )
    script = venv / "bin" / "relayq"
    script.write_text(
        "#!/usr/bin/env bash\n"
        "if [[ -n \"${RELAYQ_CHECKS_TOKEN:-}\" ]]; then echo 'relayq: saw the token' >&2; exit 3; fi\n"
        f"{records}\nexec {real}/relayq \"$@\"\n"
    )  # fmt: skip
    script.chmod(0o755)
    (venv / "bin" / "python3").symlink_to(real / "python3")
    return venv


def emulator(tmp_path: Path, gap_s: float = EVERY_S + 0.5) -> GitHubEmulator:
    env = {**job_env(tmp_path), "RELAYQ_PROGRESS_EVERY_S": f"{EVERY_S:g}"}
    gh = GitHubEmulator(tmp_path / "gh", job_env=env)
    gh.variables["RELAYQ_VENV"] = str(reporting_venv(tmp_path, gap_s))
    return gh


def act_log(gh: GitHubEmulator, run_id: int) -> str:
    path = gh.work_dir / f"act-{run_id}.log"
    deadline = time.monotonic() + 10
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    return path.read_text()


def percents(states: list[JobState]) -> list[int]:
    """The percentages of the first phase the card saw, until the job moved to another (a
    percentage is of its phase: the next one starts again at 0)."""
    seen: list[int] = []
    phase = None
    for state in states:
        if state.progress is None:
            continue
        phase = phase or state.progress.phase
        if state.progress.phase != phase:
            break
        if not seen or seen[-1] != state.progress.percent:
            seen.append(state.progress.percent)
    return seen


async def test_the_card_sees_the_percentages_the_job_writes_into_its_check_run(
    tmp_path: Path, speech_ogg: Path
) -> None:
    with emulator(tmp_path) as gh:
        gh.add_runner("mac-mini", MAC, os="macOS")
        ex = executor_for(gh, tmp_path, WATCHING)
        await ex.submit(spec("req-progress", str(speech_ogg)))
        states = await follow(ex, "req-progress", timeout=240)
        (run,) = gh.runs()
        assert states[-1].phase is Phase.SUCCEEDED, (states[-1].detail, act_log(gh, run.id))
        seen = percents(states)
        assert len(seen) >= 3 and seen == sorted(set(seen)), seen
        running = [s for s in states if s.progress is not None]
        assert all(s.phase is Phase.RUNNING for s in running)
        # (the stand-in's records, then the real transcription's own, each phase from 0)
        assert any(re.fullmatch(r"running: transcribe \d+% · about 2 min left", s.detail)
                   for s in running), [s.detail for s in running]  # fmt: skip
        # The job wrote each record, the bot read them conditionally:
        # reads that found nothing new were 304s, and they stopped with the run (at most the
        # one under way as it ended: the bot had last seen the run in progress).
        writes = gh.check_run_hits("PATCH", 200)
        assert len(writes) >= len(FRACTIONS)  # the stand-in's, and the real transcription's own
        assert all(h.authorization == f"Bearer {run.job_token}" for h in writes)
        reads = gh.check_run_hits("GET")
        assert {h.status for h in reads} == {200, 304}
        assert len(gh.check_run_hits("GET", 200)) <= len(writes) + 1
        assert run.finished_mono is not None
        assert len([h for h in reads if h.at > run.finished_mono]) <= 1
        assert parse_title(run.check_output["title"]) is not None  # the last record it wrote
        transcript = (states[-1].result_dir / "transcript.txt").read_text()  # type: ignore[operator]
        words = {w for w in re.findall(r"[a-z]{5,}", transcript.lower())}
        written = f"{run.check_output['title']} {run.check_output['summary']}".lower()
        assert words and not [w for w in words if w in written]
        assert run.job_token not in act_log(gh, run.id)  # act masks github.token


async def test_a_refused_check_run_write_is_said_once_and_the_job_still_succeeds(
    tmp_path: Path, speech_ogg: Path
) -> None:
    with emulator(tmp_path, gap_s=1.0) as gh:
        gh.add_runner("mac-mini", MAC, os="macOS")
        gh.inject(Fault("PATCH", r"/check-runs/\d+$", 403, times=100,
                        body={"message": "Resource not accessible by integration"}))  # fmt: skip
        ex = executor_for(gh, tmp_path, WATCHING)
        await ex.submit(spec("req-refused", str(speech_ogg)))
        states = await follow(ex, "req-refused", timeout=240)
        (run,) = gh.runs()
        log = act_log(gh, run.id)
        assert states[-1].phase is Phase.SUCCEEDED, (states[-1].detail, log)
        warnings = [line for line in log.splitlines() if "relayq-checks:" in line]
        assert len(warnings) == 1 and "HTTP 403: Resource not accessible" in warnings[0]
        assert len(gh.check_run_hits("PATCH")) == 1  # a refusal waiting cannot mend: no more
        assert all(s.progress is None for s in states)  # the steps say it instead
        assert any(s.detail == "running: Run the job" for s in states)


async def test_a_token_github_will_not_show_check_runs_is_asked_once_and_the_steps_say_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A fine-grained token cannot be given the Checks permission: GitHub answers 403."""
    with GitHubEmulator(tmp_path / "gh", synthetic_run_s=3.0,
                        synthetic_progress_every_s=0.2) as gh:  # fmt: skip
        gh.add_runner("mac-mini", MAC, os="macOS")
        gh.inject(Fault("GET", r"/check-runs/\d+$", 403, times=99,
                        body={"message": "Resource not accessible by personal access token"}))  # fmt: skip
        ex = executor_for(gh, tmp_path, WATCHING)
        await ex.submit(spec("req-fine-grained", "https://example.org/a.mp3"))
        states = await follow(ex, "req-fine-grained")
        assert states[-1].phase is Phase.SUCCEEDED
        assert len(gh.check_run_hits("GET")) == 1 and len(gh.check_run_hits("PATCH", 200)) >= 3
        assert all(s.progress is None for s in states)
        assert any(s.detail.startswith("running: ") for s in states)
        assert [r.message for r in caplog.records].count(
            "GitHub does not show this token the jobs' check runs (HTTP 403): progress is shown "
            "as step names; see docs/SETUP_OCI_TRIGGER.md"
        ) == 1


async def test_progress_reads_without_act_see_the_synthetic_runs_percentages(
    tmp_path: Path,
) -> None:
    with GitHubEmulator(tmp_path / "gh", synthetic_run_s=3.0,
                        synthetic_progress_every_s=0.2) as gh:  # fmt: skip
        gh.add_runner("mac-mini", MAC, os="macOS")
        ex = executor_for(gh, tmp_path, WATCHING)
        await ex.submit(spec("req-synthetic", "https://example.org/a.mp3"))
        states = await follow(ex, "req-synthetic")
        assert states[-1].phase is Phase.SUCCEEDED
        seen = percents(states)
        assert len(seen) >= 3 and seen == sorted(set(seen)), seen
