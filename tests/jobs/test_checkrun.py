"""The check-run progress writer: when it writes, what it writes, what it reads back, and that
the job's stderr passes through it untouched, against the GitHub emulator's check runs."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from jobs.checkrun import CheckRun, Reporter, Throttle, every_s, read_output, summary
from jobs.progress import EVERY_S, ProgressRecord
from tests.e2e.conftest import MAC
from tests.emulators.github import GitHubEmulator
from tests.emulators.github.server import Fault
from tests.emulators.github.state import Run


def rec(fraction: float, phase: str = "transcribe", left: float | None = 200.0) -> ProgressRecord:
    return ProgressRecord(phase, fraction, fraction * 600, fraction * 100, left)


@pytest.mark.parametrize(
    ("last", "last_at", "record", "now", "expected"),
    [
        (None, None, rec(0.0), 0.0, 0.0),  # the first record: at once
        (rec(0.10), 0.0, rec(0.12), 30.0, None),  # under 5 % further: never worth a write
        (rec(0.10), 0.0, rec(0.15), 30.0, 0.0),  # 5 % further, 15 s on: now
        (rec(0.10), 0.0, rec(0.50), 5.0, 10.0),  # far further, but only 5 s on: in 10 s
        (rec(0.90, "transcribe"), 0.0, rec(0.0, "outputs"), 20.0, 0.0),  # a new phase
        (rec(0.50), 0.0, rec(0.30), 60.0, None),  # backwards: nothing new to say
    ],
)
def test_a_record_is_written_at_most_once_per_5_percent_or_15_s_whichever_is_rarer(
    last: ProgressRecord | None,
    last_at: float | None,
    record: ProgressRecord,
    now: float,
    expected: float | None,
) -> None:
    assert Throttle(last=last, last_at=last_at).wait_s(record, now) == expected


def test_the_summary_says_numbers_only_and_the_bot_reads_the_record_back() -> None:
    record = rec(0.42)
    text = summary(record)
    assert text.startswith("**transcribe** 42% · 4 min 12 s of audio done · 42 s elapsed")
    assert read_output(record.title(), text, elapsed_s=5.0) == record


@pytest.mark.parametrize(
    ("title", "text", "expected"),
    [
        ("42% transcribe · 3 min left", None, ProgressRecord("transcribe", 0.42, None, 7.0, None)),
        # A record in the summary that disagrees with the title is not believed.
        ("42% transcribe", summary(rec(0.9)), ProgressRecord("transcribe", 0.42, None, 7.0, None)),
        ("101% transcribe", None, None),
        ("almost done", summary(rec(0.5)), None),
        (None, None, None),
        ("", "<!-- relayq-progress: {not json} -->", None),
    ],
)
def test_a_check_run_output_that_is_not_ours_is_no_progress(
    title: str | None, text: str | None, expected: ProgressRecord | None
) -> None:
    assert read_output(title, text, elapsed_s=7.0) == expected


def running(gh: GitHubEmulator) -> Run:
    gh.add_runner("mac-mini", MAC)
    run = gh.dispatch("transcribe_mac.yml", {"source": "x", "request_id": "w1"})
    deadline = time.monotonic() + 10
    while run.status != "in_progress":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    return run


def write(
    gh: GitHubEmulator, run: Run, lines: list[str], **env: str
) -> subprocess.CompletedProcess[bytes]:
    environment = dict(os.environ, RELAYQ_CHECK_RUN_ID=str(run.check_run_id),
                       RELAYQ_CHECKS_TOKEN=run.job_token, GITHUB_API_URL=gh.api_url,
                       GITHUB_REPOSITORY=gh.repo, NO_PROXY="127.0.0.1")  # fmt: skip
    environment.update(env)
    script = "".join(f"print({line!r}, flush=True); time.sleep(0.3)\n" for line in lines)
    job = subprocess.Popen([sys.executable, "-c", f"import time\n{script}"], stdout=subprocess.PIPE)
    done = subprocess.run([sys.executable, "-m", "jobs.checkrun"], stdin=job.stdout,
                          capture_output=True, env=environment, timeout=60, check=False)  # fmt: skip
    job.wait(10)
    assert job.stdout is not None
    job.stdout.close()
    return done


LINES = [
    "relayq: transcribe 16.2 s of audio with tiny.en",
    rec(0.1).line(),
    "relayq-progress: {garbage",
    rec(0.5).line(),
    rec(0.51).line(),  # not 5 % further: not written
    rec(0.9).line(),
]


@pytest.mark.slow
def test_the_writer_passes_every_line_on_and_writes_the_records_into_the_check_run(
    tmp_path: Path,
) -> None:
    with GitHubEmulator(tmp_path / "gh", synthetic_run_s=6.0) as gh:
        run = running(gh)
        done = write(gh, run, LINES)
        assert done.returncode == 0
        assert done.stderr.decode().splitlines() == LINES
        # The first record at once; the others came within 15 s of it: not written.
        assert len(gh.check_run_hits("PATCH", 200)) == 1
        assert run.check_output["title"] == "10% transcribe · 3 min left"
        assert run.check_output["summary"] == summary(rec(0.1))
        assert run.job_token not in done.stderr.decode()


@pytest.mark.slow
def test_the_reporter_writes_the_newest_record_each_time_the_throttle_lets_it(
    tmp_path: Path,
) -> None:
    with GitHubEmulator(tmp_path / "gh", synthetic_run_s=6.0) as gh:
        run = running(gh)
        target = CheckRun(api_url=gh.api_url, repo=gh.repo, check_run_id=str(run.check_run_id),
                          token=run.job_token)  # fmt: skip
        said: list[str] = []
        reporter = Reporter(target.write, said.append, every_s=0.5)
        for fraction in (0.1, 0.2, 0.3, 0.32, 0.6):  # 0.2 and 0.3 come within 0.5 s of 0.1
            reporter.offer(rec(fraction))
            time.sleep(0.2)
        time.sleep(0.6)
        reporter.close()
        assert (
            len(gh.check_run_hits("PATCH", 200)) == 3 and said == []
        )  # 0.1; then 0.3 (the newest, 0.5 s on); 0.6
        assert run.check_output["title"] == "60% transcribe · 3 min left"


@pytest.mark.slow
@pytest.mark.parametrize(
    ("fault", "says"),
    [
        (Fault("PATCH", "/check-runs/", 403, times=99,
               body={"message": "Resource not accessible by integration"}),
         "HTTP 403: Resource not accessible by integration"),
        (Fault("PATCH", "/check-runs/", 0, times=99, drop=True), "GitHub did not answer"),
    ],
    ids=["no-checks-write", "network"],
)  # fmt: skip
def test_a_failed_write_is_said_once_and_every_line_still_passes(
    tmp_path: Path, fault: Fault, says: str
) -> None:
    with GitHubEmulator(tmp_path / "gh", synthetic_run_s=6.0) as gh:
        run = running(gh)
        gh.inject(fault)
        done = write(gh, run, LINES)
        said = done.stderr.decode().splitlines()
        warnings = [line for line in said if line.startswith("relayq-checks: ")]
        assert done.returncode == 0 and [x for x in said if x not in warnings] == LINES
        assert len(warnings) == 1 and says in warnings[0]
        assert run.job_token not in done.stderr.decode()


@pytest.mark.slow
def test_only_the_jobs_own_token_may_write_its_check_run(tmp_path: Path) -> None:
    with GitHubEmulator(tmp_path / "gh", synthetic_run_s=6.0) as gh:
        run = running(gh)
        done = write(gh, run, LINES, RELAYQ_CHECKS_TOKEN="ghp_the_bots_token")
        assert "HTTP 403" in done.stderr.decode()
        assert run.check_output["title"] is None


def test_without_a_check_run_the_writer_only_passes_the_lines_on() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RELAYQ_CHECK")}
    done = subprocess.run([sys.executable, "-m", "jobs.checkrun"], input="\n".join(LINES).encode() + b"\n",
                          capture_output=True, env=env, timeout=30, check=False)  # fmt: skip
    assert done.returncode == 0 and done.stderr.decode().splitlines() == LINES


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, EVERY_S), ("4", 4.0), ("0", 0.0), ("2.5", 2.5), ("often", EVERY_S), ("-1", EVERY_S),
     ("nan", EVERY_S), ("inf", EVERY_S), ("3601", EVERY_S)],
)  # fmt: skip
def test_the_writes_keep_the_runners_progress_pace(value: str | None, expected: float) -> None:
    env = {} if value is None else {"RELAYQ_PROGRESS_EVERY_S": value}
    assert every_s(env) == expected
