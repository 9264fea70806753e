"""The local executor: FIFO per target, state stream, failure reasons, cancellation."""

from __future__ import annotations

import asyncio
import itertools
import os
import re
import stat
import sys
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from bot.executors.base import JobSpec, JobState, Phase, Refusal
from bot.executors.local import LocalExecutor, read_job_states

# A stand-in runner entry with the same calling convention as jobs/transcribe.sh
# (SOURCE --out DIR ...): it prints step lines and behaves as SOURCE says.
FAKE_ENTRY = r"""#!/usr/bin/env bash
set -euo pipefail
out="$2"; source="${*: -1}"
echo "started $source" >> "$RELAYQ_TEST_LOG"
# Before the first step line: a cancel may come as soon as the executor sees it.
if [[ "$source" == slow ]]; then trap 'echo "interrupted $source" >> "$RELAYQ_TEST_LOG"; exit 130' INT TERM; fi
echo "relayq: fetch $source" >&2
case "$source" in
  fail) echo "relayq: input.bin is not audio we can read; send an audio file" >&2; exit 4 ;;
  failafter) echo "relayq: input.bin is not audio we can read; send an audio file" >&2
    echo 'relayq-progress: {"phase":"decode","fraction":0,"elapsed_s":1}' >&2; exit 4 ;;
  progress) while read -r line; do echo "$line" >&2; sleep 0.01; done < "$RELAYQ_TEST_PROGRESS" ;;
  slow) for _ in $(seq 300); do sleep 0.1; done ;;
  *) sleep 0.2 ;;
esac
echo "relayq: write $out" >&2
mkdir -p "$out"; echo "text of $source" > "$out/transcript.txt"
echo "finished $source" >> "$RELAYQ_TEST_LOG"
"""


@pytest.fixture
def entry(tmp_path: Path) -> Path:
    path = tmp_path / "entry.sh"
    path.write_text(FAKE_ENTRY)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


@pytest.fixture
def log(tmp_path: Path) -> Path:
    return tmp_path / "order.log"


@pytest.fixture
async def executor(tmp_path: Path, entry: Path, log: Path) -> AsyncIterator[LocalExecutor]:
    env = dict(os.environ, RELAYQ_TEST_LOG=str(log))
    ex = LocalExecutor(tmp_path / "jobs", env=env, entry=entry)
    yield ex
    await ex.close()


def spec(job_id: str, source: str, target: str = "mac") -> JobSpec:
    return JobSpec(job_id=job_id, kind="transcribe", source=source, target=target, workflow="w.yml")


async def collect(executor: LocalExecutor, job_id: str) -> list[JobState]:
    return [state async for state in executor.watch(job_id)]


async def test_a_job_goes_queued_running_succeeded_with_its_outputs(
    executor: LocalExecutor,
) -> None:
    await executor.submit(spec("j1", "ok"))
    states = await asyncio.wait_for(collect(executor, "j1"), 10)
    phases = [s.phase for s in states]
    assert phases[0] is Phase.QUEUED
    assert Phase.RUNNING in phases
    assert phases[-1] is Phase.SUCCEEDED
    assert [s.step for s in states if s.step][1:3] == ["fetch", "write"]
    assert states[-1].result_dir is not None
    assert (states[-1].result_dir / "transcript.txt").read_text() == "text of ok\n"


async def test_jobs_on_one_target_run_one_at_a_time_in_submission_order(
    executor: LocalExecutor, log: Path
) -> None:
    for n in range(3):
        await executor.submit(spec(f"j{n}", f"job{n}"))
    await asyncio.wait_for(asyncio.gather(*(collect(executor, f"j{n}") for n in range(3))), 20)
    assert log.read_text().split("\n")[:-1] == [
        "started job0", "finished job0", "started job1", "finished job1",
        "started job2", "finished job2",
    ]  # fmt: skip


async def test_a_second_job_on_a_busy_target_says_how_many_are_ahead(
    executor: LocalExecutor,
) -> None:
    await executor.submit(spec("a", "ok"))
    await executor.submit(spec("b", "ok"))
    first = await anext(executor.watch("b"))
    assert first.phase is Phase.QUEUED
    assert "1 job(s) ahead on mac" in first.detail
    await asyncio.wait_for(collect(executor, "b"), 10)


async def test_a_failing_job_reports_its_last_line_and_exit_code(executor: LocalExecutor) -> None:
    await executor.submit(spec("bad", "fail"))
    final = (await asyncio.wait_for(collect(executor, "bad"), 10))[-1]
    assert final.phase is Phase.FAILED
    assert final.exit_code == 4
    assert final.detail == "input.bin is not audio we can read; send an audio file"


async def test_a_failing_jobs_reason_is_its_failure_not_a_step(executor: LocalExecutor) -> None:
    await executor.submit(spec("bad", "fail"))
    states = await asyncio.wait_for(collect(executor, "bad"), 10)
    said = "input.bin is not audio we can read; send an audio file"
    assert [s.phase for s in states if s.detail == said] == [Phase.FAILED]


PROGRESS = """\
relayq-progress: {"phase":"transcribe","fraction":0.1,"elapsed_s":1,"left_s":90}
relayq-progress: not json at all
relayq-progress: {"phase":"transcribe","fraction":0.3,"elapsed_s":2,"left_s":70}
relayq-progress: {"phase":"transcribe","fraction":0.2,"elapsed_s":3,"left_s":80}
relayq-progress: {"phase":"transcribe","fraction":1.7,"elapsed_s":4}
relayq-progress: {"phase":"transcribe","fraction":NaN,"elapsed_s":4}
relayq-progress: {"phase":"transcribe","fraction":-0.5,"elapsed_s":4}
relayq-progress: {"phase":"transcribe","fraction":"0.9","elapsed_s":4}
relayq-progress: {"phase":"dance","fraction":0.95,"elapsed_s":4}
relayq-progress: {"phase":"transcribe","fraction":0.6,"elapsed_s":5,"left_s":20}
relayq: transcribe 60.0 s of audio with tiny.en
relayq-progress: {"phase":"decode","fraction":1,"elapsed_s":6}
relayq-progress: {"phase":"outputs","fraction":0,"elapsed_s":7}
"""


async def test_progress_records_move_the_job_on_and_garbage_or_going_back_changes_nothing(
    executor: LocalExecutor, tmp_path: Path
) -> None:
    script = tmp_path / "progress.txt"
    script.write_text(PROGRESS)
    executor._env["RELAYQ_TEST_PROGRESS"] = str(script)
    await executor.submit(spec("p", "progress"))
    states = await asyncio.wait_for(collect(executor, "p"), 10)
    seen = [(s.progress.phase, s.progress.fraction) for s in states if s.progress]
    # Each record once (a later step line carries the last one): never one going backwards,
    # nor garbage, nor more than 100 %.
    assert list(dict.fromkeys(seen)) == [("transcribe", 0.1), ("transcribe", 0.3),
                                         ("transcribe", 0.6), ("outputs", 0.0)]  # fmt: skip
    assert states[-1].phase is Phase.SUCCEEDED
    assert not any("relayq-progress" in s.detail or "{" in s.detail for s in states)
    assert {s.step for s in states} >= {"fetch", "transcribe", "write"}


async def test_a_progress_record_after_the_failure_is_not_its_reason(
    executor: LocalExecutor,
) -> None:
    await executor.submit(spec("bad", "failafter"))
    final = (await asyncio.wait_for(collect(executor, "bad"), 10))[-1]
    assert final.phase is Phase.FAILED and final.exit_code == 4
    assert final.detail == "input.bin is not audio we can read; send an audio file"


async def test_a_job_that_failed_is_run_again_when_resumed(
    executor: LocalExecutor, log: Path
) -> None:
    """The lifecycle resumes a job whose failure was an outage (this machine's disk full)."""
    await executor.submit(spec("again", "fail"))
    await asyncio.wait_for(collect(executor, "again"), 10)
    await executor.resume(spec("again", "fail"))
    states = await asyncio.wait_for(collect(executor, "again"), 10)
    assert states[-1].phase is Phase.FAILED
    assert log.read_text().count("started fail") == 2


async def test_cancelling_a_queued_job_means_it_never_starts(
    executor: LocalExecutor, log: Path
) -> None:
    await executor.submit(spec("first", "ok"))
    await executor.submit(spec("second", "never"))
    await executor.cancel("second")
    await asyncio.wait_for(collect(executor, "first"), 10)
    final = (await collect(executor, "second"))[-1]
    assert final.phase is Phase.CANCELLED
    await asyncio.sleep(0.3)
    assert "never" not in log.read_text()


async def test_cancelling_a_running_job_interrupts_it(executor: LocalExecutor, log: Path) -> None:
    await executor.submit(spec("s", "slow"))
    async for state in executor.watch("s"):
        if state.step == "fetch":
            break
    await executor.cancel("s")
    final = (await asyncio.wait_for(collect(executor, "s"), 10))[-1]
    assert final.phase is Phase.CANCELLED
    assert "interrupted slow" in log.read_text()


async def test_different_targets_run_side_by_side(executor: LocalExecutor, log: Path) -> None:
    await executor.submit(spec("m", "slow", target="mac"))
    await executor.submit(spec("p", "ok", target="rpi4"))
    final = (await asyncio.wait_for(collect(executor, "p"), 10))[-1]
    assert final.phase is Phase.SUCCEEDED
    await executor.cancel("m")
    await asyncio.wait_for(collect(executor, "m"), 10)


async def test_recent_jobs_are_readable_after_the_executor_is_gone(
    executor: LocalExecutor, tmp_path: Path
) -> None:
    await executor.submit(spec("done", "ok"))
    await asyncio.wait_for(collect(executor, "done"), 10)
    rows = read_job_states(tmp_path / "jobs")
    assert [(r["job_id"], r["phase"], r["target"]) for r in rows] == [("done", "succeeded", "mac")]


async def test_a_summary_runs_the_workflows_job_step_with_its_environment(
    executor: LocalExecutor, tmp_path: Path
) -> None:
    step = tmp_path / "run_job.sh"  # beside the entry, as in jobs/
    step.write_text(
        'mkdir -p "$RELAYQ_OUT"\n'
        'echo "$RELAYQ_JOB|$RELAYQ_SOURCE|$RELAYQ_JOB_MODEL" > "$RELAYQ_OUT/summary.md"\n'
    )
    await executor.submit(JobSpec("s1", "summarize", "/r/out", "rpi4", "w.yml", model="m"))
    final = (await asyncio.wait_for(collect(executor, "s1"), 10))[-1]
    assert final.phase is Phase.SUCCEEDED and final.result_dir is not None
    assert (final.result_dir / "summary.md").read_text() == "summarize|/r/out|m\n"


async def test_an_unknown_job_kind_is_refused_with_a_sentence(executor: LocalExecutor) -> None:
    from jobs.errors import UsageError

    with pytest.raises(UsageError, match="unknown job kind 'translate'"):
        await executor.submit(JobSpec("x", "translate", "a.txt", "rpi4", "w.yml"))


async def test_the_job_runs_with_this_interpreters_relayq_first_on_path(
    tmp_path: Path, log: Path
) -> None:
    entry = tmp_path / "which.sh"
    entry.write_text('#!/usr/bin/env bash\nmkdir -p "$2"; command -v python3 > "$2/which"\n')
    ex = LocalExecutor(tmp_path / "j", env=dict(os.environ, PATH="/usr/bin:/bin"), entry=entry)
    await ex.submit(spec("w", "ok"))
    final = (await asyncio.wait_for(collect(ex, "w"), 10))[-1]
    await ex.close()
    assert final.result_dir is not None
    found = (final.result_dir / "which").read_text().strip()
    assert Path(found).parent == Path(sys.executable).parent


async def test_the_job_never_sees_the_bots_own_secrets(tmp_path: Path) -> None:
    entry = tmp_path / "env.sh"
    entry.write_text('#!/usr/bin/env bash\nmkdir -p "$2"; env > "$2/env"\n')
    env = dict(os.environ, TELEGRAM_BOT_TOKEN="1:canary-bot", GITHUB_TOKEN="ghp_canary",
               OPENAI_API_KEY="sk-runner-side")  # fmt: skip
    ex = LocalExecutor(tmp_path / "j", env=env, entry=entry)
    await ex.submit(spec("e", "ok"))
    final = (await asyncio.wait_for(collect(ex, "e"), 10))[-1]
    await ex.close()
    assert final.result_dir is not None
    seen = (final.result_dir / "env").read_text()
    assert "canary-bot" not in seen and "ghp_canary" not in seen
    assert "OPENAI_API_KEY=sk-runner-side" in seen  # the job's own settings still reach it


async def test_a_job_left_running_by_a_killed_bot_is_stopped_before_it_runs_again(
    tmp_path: Path, entry: Path, log: Path
) -> None:
    env = dict(os.environ, RELAYQ_TEST_LOG=str(log))
    before = LocalExecutor(tmp_path / "jobs", env=env, entry=entry)  # the bot that dies
    await before.submit(spec("left", "slow"))
    async for state in before.watch("left"):
        if state.step == "fetch":
            break
    after = LocalExecutor(tmp_path / "jobs", env=env, entry=entry)  # the one started next
    await after.resume(spec("left", "slow"), run_url=None, since=0)
    async for state in after.watch("left"):
        if state.step == "fetch":
            break
    assert log.read_text().splitlines() == ["started slow", "interrupted slow", "started slow"]
    await after.close()
    await before.close()


async def test_the_users_name_for_the_source_is_what_every_step_and_failure_says(
    tmp_path: Path,
) -> None:
    """Through the real job entry: the bot keeps uploads under its own names (F1.bin, in its
    state folder); the job's steps and its failure speak of the user's names only."""
    import jobs

    samples = Path(jobs.__file__).parent / "samples"
    uploads = tmp_path / "state" / "uploads"
    uploads.mkdir(parents=True)
    (uploads / "F1.bin").write_bytes((samples / "speech.ogg").read_bytes())
    (uploads / "F6.bin").write_bytes(b"not audio " * 100)
    env = {k: v for k, v in os.environ.items() if not k.startswith("RELAYQ_")}
    env["RELAYQ_STATE_DIR"] = str(tmp_path / "state")
    ex = LocalExecutor(tmp_path / "state" / "local-jobs", env=env)
    try:
        await ex.submit(JobSpec("n1", "transcribe", str(uploads / "F1.bin"), "mac", "w.yml",
                                name="meeting.m4a"))  # fmt: skip
        await ex.submit(JobSpec("n6", "transcribe", str(uploads / "F6.bin"), "mac", "w.yml",
                                name="notes.mp3"))  # fmt: skip
        good = await asyncio.wait_for(collect(ex, "n1"), 120)
        bad = await asyncio.wait_for(collect(ex, "n6"), 60)
    finally:
        await ex.close()
    # A progress record is a state with the step as it stands: each step once.
    running = [s.detail for s in good if s.phase is Phase.RUNNING and s.step != "start"]
    steps = [detail for detail, _ in itertools.groupby(running)]
    assert steps[:2] == ["read meeting.m4a", "decode meeting.m4a"]
    assert steps[2:4] == ["detect the language with base", steps[3]], steps
    assert re.fullmatch(r"detected English \(\d+%\)", steps[3]), steps
    assert re.fullmatch(r"write \d+ segments?", steps[5]), steps
    assert good[-1].phase is Phase.SUCCEEDED
    assert bad[-1].detail.startswith("notes.mp3 is not audio we can read")
    said = " ".join(s.detail for s in good + bad)
    assert "F1.bin" not in said and "F6.bin" not in said and str(tmp_path) not in said


@pytest.mark.parametrize(
    ("language", "task", "expected"),
    [
        (None, "transcribe", ["--out", "OUT", "--job-id", "a1", "--", "src"]),
        ("de", "transcribe", ["--out", "OUT", "--job-id", "a1", "--language", "de", "--", "src"]),
        ("de", "translate", ["--out", "OUT", "--job-id", "a1", "--language", "de", "--task",
                             "translate", "--", "src"]),
        (None, "translate", ["--out", "OUT", "--job-id", "a1", "--task", "translate", "--", "src"]),
    ],
)  # fmt: skip
async def test_the_jobs_language_and_task_are_on_its_command_line(
    tmp_path: Path, language: str | None, task: str, expected: list[str]
) -> None:
    entry = tmp_path / "argv.sh"
    entry.write_text('#!/usr/bin/env bash\nmkdir -p "$2"; printf "%s\\n" "$@" > "$2/argv"\n')
    ex = LocalExecutor(tmp_path / "j", env=dict(os.environ), entry=entry)
    try:
        await ex.submit(JobSpec("a1", "transcribe", "src", "mac", "w.yml", language=language,
                                task=task))  # fmt: skip
        final = (await asyncio.wait_for(collect(ex, "a1"), 10))[-1]
    finally:
        await ex.close()
    assert final.result_dir is not None
    out = str(final.result_dir)
    argv = (final.result_dir / "argv").read_text().splitlines()
    assert [a.replace(out, "OUT") for a in argv] == expected


async def test_a_limit_on_the_job_is_on_its_command_line(tmp_path: Path) -> None:
    """The lifecycle gives the local executor no limit (driving.py); a spec that has one (a
    caller of the executor's own) still reaches `relayq transcribe --max-duration-min`."""
    entry = tmp_path / "argv.sh"
    entry.write_text('#!/usr/bin/env bash\nmkdir -p "$2"; printf "%s\\n" "$@" > "$2/argv"\n')
    ex = LocalExecutor(tmp_path / "j", env=dict(os.environ), entry=entry)
    try:
        await ex.submit(JobSpec("a1", "transcribe", "src", "mac", "w.yml", max_duration_min=90.5))
        final = (await asyncio.wait_for(collect(ex, "a1"), 10))[-1]
    finally:
        await ex.close()
    assert final.result_dir is not None
    argv = (final.result_dir / "argv").read_text().splitlines()
    assert argv[2:] == ["--job-id", "a1", "--max-duration-min", "90.5", "--", "src"]


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, ["--out", "OUT", "--", "src"]),
        ({"RELAYQ_JOB_TASK": "transcribe"}, ["--out", "OUT", "--", "src"]),
        ({"RELAYQ_JOB_TASK": "translate", "RELAYQ_JOB_LANGUAGE": "fr"},
         ["--out", "OUT", "--language", "fr", "--task", "translate", "--", "src"]),
    ],
)  # fmt: skip
def test_the_workflows_job_step_passes_the_task_on_as_one_argument(
    tmp_path: Path, env: dict[str, str], expected: list[str]
) -> None:
    """jobs/run_job.sh, as the workflow runs it: the inputs arrive in the environment."""
    import subprocess

    import jobs

    here = tmp_path / "jobs"
    here.mkdir()
    (here / "run_job.sh").write_text((Path(jobs.__file__).parent / "run_job.sh").read_text())
    (here / "transcribe.sh").write_text('printf "%s\\n" "$@" > "$RELAYQ_TEST_ARGV"\n')
    out = tmp_path / "out"
    base = {"PATH": os.environ["PATH"], "RELAYQ_SOURCE": "src", "RELAYQ_OUT": str(out),
            "RELAYQ_TEST_ARGV": str(tmp_path / "argv")}  # fmt: skip
    subprocess.run(["bash", str(here / "run_job.sh")], env={**base, **env}, check=True)
    argv = (tmp_path / "argv").read_text().splitlines()
    assert [a.replace(str(out), "OUT") for a in argv] == expected


async def test_a_job_the_runner_refused_as_too_long_ends_with_its_refusal(tmp_path: Path) -> None:
    entry = tmp_path / "long.sh"
    entry.write_text(
        '#!/usr/bin/env bash\nmkdir -p "$2"\n'
        'echo \'{"reason": "too_long", "duration_s": 10920, "max_duration_s": 7200}\''
        ' > "$2/refusal.json"\n'
        'echo "relayq: the recording is 182 min long; this runner takes up to 120 min" >&2\n'
        "exit 10\n"
    )
    ex = LocalExecutor(tmp_path / "j", env=dict(os.environ), entry=entry)
    try:
        await ex.submit(spec("r1", "long"))
        final = (await asyncio.wait_for(collect(ex, "r1"), 10))[-1]
    finally:
        await ex.close()
    assert (final.phase, final.exit_code) == (Phase.FAILED, 10)
    assert final.refusal == Refusal("too_long", 10920.0, 7200.0)


@pytest.mark.parametrize("kind", ["transcribe", "summarize"])
async def test_a_private_job_reaches_the_job_as_the_local_backend_and_private(
    tmp_path: Path, kind: str
) -> None:
    """A transcription gets `--backend local --private`; a summary (through the workflows' job
    step, run_job.sh) RELAYQ_JOB_PRIVATE=true, which that script turns into `--private`."""
    record = (
        '#!/usr/bin/env bash\nprintf "%s\\n" "$@" "private=${RELAYQ_JOB_PRIVATE:-}" > "$ARGV"\n'
    )
    for name in ("entry.sh", "run_job.sh"):
        (tmp_path / name).write_text(record)
        (tmp_path / name).chmod(0o755)
    ex = LocalExecutor(tmp_path / "j", env=dict(os.environ, ARGV=str(tmp_path / "argv")),
                       entry=tmp_path / "entry.sh")  # fmt: skip
    try:
        await ex.submit(replace(spec("p1", "src"), kind=kind, backend="local", private=True))
        await asyncio.wait_for(collect(ex, "p1"), 10)
        said = (tmp_path / "argv").read_text().splitlines()
        await ex.submit(replace(spec("p2", "src"), kind=kind))
        await asyncio.wait_for(collect(ex, "p2"), 10)
        plain = (tmp_path / "argv").read_text().splitlines()
    finally:
        await ex.close()
    if kind == "transcribe":
        assert said[said.index("--backend") + 1] == "local" and "--private" in said
        assert "--private" not in plain and "--backend" not in plain
    else:
        assert said[-1] == "private=true" and plain[-1] == "private="
