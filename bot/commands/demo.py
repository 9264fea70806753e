"""`relayq demo`: the whole path on this machine with the bundled sample, no credentials."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

import jobs
from bot.commands.demo_chat import chat_demo, missing_part
from bot.commands.dispatch import _run
from bot.dispatching import local_jobs_dir, new_job_id, resolve_policy_path
from bot.executors.base import JobSpec, Phase
from bot.executors.local import LocalExecutor
from bot.lifecycle.routing import LOCAL_FLEET
from bot.policy import JobRequest, load_policy_file, select
from bot.render import render_decision
from bot.settings import Settings
from jobs.errors import BackendFailed
from jobs.quality import wer

SAMPLES = Path(jobs.__file__).resolve().parent / "samples"
WER_BAR = 0.25


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "demo",
        help="run the bundled speech sample end to end on this machine",
        description="Route the bundled sample, run it through the local executor, print the "
        "transcript and its word error rate against the known text; then send it to the real "
        "Telegram bot, talking to a Bot API emulator, and print the conversation.",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    audio = SAMPLES / "speech.ogg"
    known = (SAMPLES / "speech.txt").read_text(encoding="utf-8").strip()
    policy = load_policy_file(resolve_policy_path(settings))
    job = JobRequest(kind="transcribe", size_mb=audio.stat().st_size / 1_000_000)
    decision = select(policy, job, None, unknown=LOCAL_FLEET)
    _heading("1. route")
    print("No GitHub settings, so the job runs on this machine (the local executor).")
    print("With GitHub, the policy would choose:")
    print(render_decision(decision))

    _heading("2. run")
    spec = JobSpec(
        job_id=new_job_id(),
        kind="transcribe",
        source=str(audio),
        target=decision.target,
        workflow=decision.workflow,
        labels=tuple(decision.labels),
        backend=settings.backend,
    )
    executor = LocalExecutor(local_jobs_dir(settings))
    sys.stdout.flush()
    final = asyncio.run(_run(executor, spec, quiet=False, stream=sys.stdout))
    if final.phase is not Phase.SUCCEEDED or final.result_dir is None:
        raise BackendFailed(f"the demo job {final.phase.value}: {final.detail}")

    _heading("3. transcript")
    text = (final.result_dir / "transcript.txt").read_text(encoding="utf-8").strip()
    print(text)

    _heading("4. check")
    score = wer(known, text)
    print(f"word error rate against the sample's known text: {score:.3f} (bar {WER_BAR})")
    print(f"all outputs: {final.result_dir}")

    _heading("5. the Telegram bot")
    missing = missing_part()
    if missing is not None:
        print(f"skipped: {missing}")
        return 0 if score <= WER_BAR else 1
    print("the real bot (python-telegram-bot) against a Bot API emulator on 127.0.0.1:")
    delivered = chat_demo(settings, audio)
    chat_score = wer(known, delivered)
    print(f"word error rate of the transcript the bot delivered: {chat_score:.3f} (bar {WER_BAR})")
    return 0 if max(score, chat_score) <= WER_BAR else 1


def _heading(title: str) -> None:
    print(f"\n== {title} ==", flush=True)
