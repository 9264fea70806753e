"""The whole path on this machine: route → local executor → `jobs/transcribe.sh` → outputs.

These run the real model on the bundled sample in subprocesses, the way a user runs them.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

import jobs
from jobs.quality import wer

SAMPLES = Path(jobs.__file__).resolve().parent / "samples"
KNOWN = (SAMPLES / "speech.txt").read_text(encoding="utf-8")
RELAYQ = [sys.executable, "-m", "bot.cli"]

pytestmark = pytest.mark.slow


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("RELAYQ_")}
    return dict(clean, RELAYQ_STATE_DIR=str(tmp_path / "state"), HOME=str(tmp_path / "home"))


def relayq(
    *args: str, env: dict[str, str], timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*RELAYQ, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def test_demo_prints_the_decision_progress_and_an_accurate_transcript(env: dict[str, str]) -> None:
    done = relayq("demo", env=env)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "== 1. route ==" in out and "mac" in out
    progress = out.split("== 2. run ==")[1].split("== 3. transcript ==")[0]
    assert "running: transcribe" in progress and "succeeded: done" in progress
    transcript = out.split("== 3. transcript ==")[1].split("== 4. check ==")[0]
    assert wer(KNOWN, transcript) <= 0.25
    figure = re.search(r"word error rate against the sample's known text: ([0-9.]+)", out)
    assert figure is not None and float(figure.group(1)) <= 0.25


def test_demo_then_talks_to_the_real_bot_and_prints_the_conversation(env: dict[str, str]) -> None:
    done = relayq("demo", env=env)
    assert done.returncode == 0, done.stderr
    chat = done.stdout.split("== 5. the Telegram bot ==")[1]
    assert "   you │ (a voice message: speech.ogg" in chat
    assert "bot ✎ │ ✅ job " in chat  # the progress message became the transcript
    assert "   bot │ (a document: transcript.srt" in chat
    assert "   you │ /status" in chat and "Executor: local" in chat
    figure = re.search(r"word error rate of the transcript the bot delivered: ([0-9.]+)", chat)
    assert figure is not None and float(figure.group(1)) <= 0.25


def test_dispatch_wait_copies_every_output_into_out(env: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "results"
    done = relayq(
        "dispatch", "--file", str(SAMPLES / "speech.ogg"), "--wait", "--out", str(out), env=env
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    job_id, result_dir = lines[0], lines[-1]
    assert Path(result_dir) == out
    # A line per change of state, the runner's percentage in it when it said one.
    states = lines[1:-1]
    assert states[0].startswith("queued: ") and states[-1] == "succeeded: done"
    assert "running: transcribe 100% · under a minute left" in states, states
    assert len(states) == len(set(states))
    assert {p.name for p in out.iterdir()} >= {
        "transcript.txt", "transcript.srt", "transcript.vtt", "segments.json", "meta.json",
    }  # fmt: skip
    assert wer(KNOWN, (out / "transcript.txt").read_text()) <= 0.25
    status = json.loads(relayq("status", "--json", env=env).stdout)
    assert [(j["job_id"], j["phase"]) for j in status["recent"]] == [(job_id, "succeeded")]


def test_dispatch_without_wait_returns_a_job_id_and_runs_in_the_background(
    env: dict[str, str], tmp_path: Path
) -> None:
    # A file the job cannot read ends fast, so this checks the background path, not the model.
    bogus = tmp_path / "notes.txt"
    bogus.write_text("not audio at all")
    done = relayq("dispatch", "--file", str(bogus), env=env)
    assert done.returncode == 0, done.stderr
    job_id = done.stdout.strip()
    deadline = time.monotonic() + 60
    phase = None
    while time.monotonic() < deadline:
        rows = json.loads(relayq("status", "--json", env=env).stdout)["recent"]
        if rows and rows[0]["phase"] in ("succeeded", "failed", "cancelled"):
            phase = rows[0]
            break
        time.sleep(0.5)
    assert phase is not None, "the background job never finished"
    assert phase["job_id"] == job_id
    assert phase["phase"] == "failed"
    assert phase["exit_code"] == 4
    assert "not audio" in str(phase["detail"])


def test_a_failed_dispatch_wait_says_its_reason_once(env: dict[str, str], tmp_path: Path) -> None:
    bogus = tmp_path / "notes.mp3"
    bogus.write_text("not audio at all")
    done = relayq("dispatch", "--file", str(bogus), "--wait", env=env)
    assert done.returncode == 4
    assert done.stderr.count("is not audio we can read") == 1
    assert done.stderr.splitlines()[-1].startswith("relayq: job ")


@pytest.mark.parametrize(
    ("args", "expected_code", "expected_text"),
    [
        (["dispatch", "--url", "ftp://example.org/a.mp3"], 2, "http(s) link"),
        (["dispatch", "--file", "/nonexistent/a.mp3"], 3, "no such file"),
        (["dispatch", "--url", "https://example.org/a.mp3", "--target", "moon"], 2, "moon"),
    ],
)
def test_dispatch_refuses_bad_input_in_one_line(
    env: dict[str, str], args: list[str], expected_code: int, expected_text: str
) -> None:
    done = relayq(*args, env=env, timeout=60)
    assert done.returncode == expected_code
    assert done.stderr.count("\n") == 1 and expected_text in done.stderr
    assert "Traceback" not in done.stderr
    assert not (Path(env["RELAYQ_STATE_DIR"]) / "local-jobs").exists()
