"""`relayq dispatch`: route a job and run it through the configured executor."""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import TextIO

from bot.dispatching import (
    Source,
    build_executor,
    local_jobs_dir,
    new_job_id,
    resolve_policy_path,
)
from bot.executors.base import Executor, JobSpec, JobState, Phase
from bot.lifecycle.routing import Routing
from bot.policy import JobRequest, Policy, load_policy_file, select
from bot.render import render_decision
from bot.settings import Settings
from jobs import disk
from jobs.errors import ConfigError, RelayqError, UsageError
from jobs.outputs import RESULT_FILES, check_out_dir


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "dispatch",
        help="route a job and run it (prints the job id, or the run URL on GitHub)",
        description="Route a job with the policy and run it through the configured executor.",
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--url", help="an http(s) link to the audio")
    source.add_argument("--file", type=Path, help="an audio or video file on this machine")
    parser.add_argument("--job", default="transcribe", choices=["transcribe"], help="job kind")
    parser.add_argument("--target", help="run on this target (like /pin): mac, rpi4, rpi3, pool")
    parser.add_argument("--wait", action="store_true", help="follow the job until it ends")
    parser.add_argument("--out", type=Path, help="with --wait: copy the results into this folder")
    parser.add_argument(
        "--quiet", action="store_true", help="no routing decision, no line per state of the job"
    )
    parser.add_argument("--job-id", help=argparse.SUPPRESS)  # set by the detached child
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    source = Source.from_args(args.url, args.file)
    github = settings.resolved_executor == "github"
    if github and args.file is not None:
        raise UsageError(
            "the GitHub executor takes links only (runners cannot read this machine's files); "
            "send --url, or run with RELAYQ_EXECUTOR=local"
        )
    if github and args.out is not None and not args.wait:
        raise UsageError(
            "--out needs --wait with the GitHub executor (the results stay with the run "
            "otherwise); add --wait, or leave out --out"
        )
    if args.out is not None:
        check_out_dir(args.out)  # before any work, as `relayq transcribe` does
    policy = load_policy_file(resolve_policy_path(settings))
    if not github:  # checked once the job is known to be good, so bad input leaves nothing
        select(policy, JobRequest(kind=args.job, size_mb=source.size_mb), None, args.target)
        _check_state(local_jobs_dir(settings))
    if not args.wait and not github:
        return _detach(args, args.job_id or new_job_id(), source)
    return asyncio.run(_dispatch(args, settings, policy, source))


async def _dispatch(
    args: argparse.Namespace, settings: Settings, policy: Policy, source: Source
) -> int:
    executor = build_executor(settings)
    decision = await Routing(executor, policy).decide(args.job, args.target, source.size_mb)
    spec = JobSpec(
        job_id=args.job_id or new_job_id(),
        kind=args.job,
        source=source.value,
        target=decision.target,
        workflow=decision.workflow,
        labels=tuple(decision.labels),
    )
    if not args.quiet:
        if executor.name == "local":
            print("the local executor runs it on this machine; with GitHub the policy would "
                  "choose:", file=sys.stderr)  # fmt: skip
        print(render_decision(decision), file=sys.stderr)
    if not args.wait:  # GitHub keeps the run; print where to follow it
        print(await executor.submit(spec))
        return 0
    print(spec.job_id, flush=True)
    final = await _run(executor, spec, quiet=args.quiet)
    if final.url:
        print(final.url, flush=True)
    return _finish(final, args.out)


async def _run(
    executor: Executor, spec: JobSpec, *, quiet: bool, stream: TextIO | None = None
) -> JobState:
    final: JobState | None = None
    said = ""
    await executor.submit(spec)
    try:
        async for state in executor.watch(spec.job_id):
            # A job that failed or was cancelled is said once, by the last line (`_finish`).
            line = state_line(state)
            if not quiet and state.phase not in (Phase.FAILED, Phase.CANCELLED) and line != said:
                print(line, file=stream or sys.stdout, flush=True)
                said = line
            final = state
    except asyncio.CancelledError:  # pragma: no cover - Ctrl-C path
        await executor.cancel(spec.job_id)
        raise
    finally:
        await executor.close()
    assert final is not None
    return final


def state_line(state: JobState) -> str:
    """One line for a state: `running: transcribe 42% · about 3 min left` when the runner
    said where it is, else `running: fetch talk.ogg` (the step)."""
    record = state.progress
    if record is None or not record.sensible or state.phase is not Phase.RUNNING:
        return f"{state.phase.value}: {state.detail}"
    return f"{state.phase.value}: {record.said()}"


def _finish(final: JobState, out: Path | None) -> int:
    if final.phase is Phase.SUCCEEDED and final.result_dir is not None:
        result_dir = final.result_dir
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
            for name in RESULT_FILES:
                if (result_dir / name).exists():
                    shutil.copy2(result_dir / name, out / name)
            result_dir = out
        print(result_dir)
        return 0
    reason = final.detail or final.phase.value
    print(f"relayq: job {final.job_id} {final.phase.value}: {reason}", file=sys.stderr)
    if final.phase is Phase.CANCELLED:
        return 130
    return final.exit_code if final.exit_code not in (None, 0) else RelayqError.exit_code


def _check_state(folder: Path) -> None:
    """The local executor keeps each job's folder under RELAYQ_STATE_DIR: one it cannot write
    is said now, not lost in a background job that cannot start."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        disk.probe(folder)
    except OSError as exc:
        raise ConfigError(
            f"cannot write the job folders in {folder} (RELAYQ_STATE_DIR): {disk.why(exc)}; "
            "point RELAYQ_STATE_DIR at a folder this user can write"
        ) from None


def _detach(args: argparse.Namespace, job_id: str, source: Source) -> int:
    """Local executor without --wait: run the job in a detached `relayq dispatch --wait`."""
    argv = [sys.executable, "-m", "bot.cli", "dispatch", "--wait", "--quiet", "--job-id", job_id]
    argv += ["--url", source.value] if args.url else ["--file", source.value]
    if args.target:
        argv += ["--target", args.target]
    if args.out:
        argv += ["--out", str(Path(args.out).resolve())]
    subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        env=os.environ.copy(),
    )
    print(job_id)
    print(
        f"relayq: job {job_id} runs in the background on this machine; "
        "'relayq status' shows how it goes",
        file=sys.stderr,
    )
    return 0
