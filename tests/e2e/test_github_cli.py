"""`relayq dispatch --wait` and `relayq status` with RELAYQ_EXECUTOR=github, as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from jobs.quality import wer
from tests.e2e.conftest import MAC, PI4, TOKEN
from tests.emulators.github import GitHubEmulator
from tests.jobs.httpserver import body, serve

pytestmark = pytest.mark.slow


def relayq(
    *args: str, gh: GitHubEmulator, tmp_path: Path, **extra: str
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RELAYQ_")}
    env.update(RELAYQ_EXECUTOR="github", GITHUB_TOKEN=TOKEN, RELAYQ_GITHUB_REPO=gh.repo,
               RELAYQ_GITHUB_API_URL=gh.api_url, RELAYQ_STATE_DIR=str(tmp_path / "vm-state"),
               HOME=str(tmp_path / "home"), **extra)  # fmt: skip
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], env=env, capture_output=True,
                          text=True, timeout=240, check=False)  # fmt: skip


def test_dispatch_wait_brings_the_transcript_and_the_run_link_home(
    emulator: GitHubEmulator, tmp_path: Path, speech_ogg: Path, speech_text: str
) -> None:
    emulator.add_runner("mac-mini", MAC, os="macOS")
    emulator.add_runner("pi4", PI4)
    with serve({"/talk.ogg": body(speech_ogg.read_bytes())}) as (base, _):
        done = relayq("dispatch", "--url", f"{base}/talk.ogg", "--wait", "--out",
                      str(tmp_path / "out"), gh=emulator, tmp_path=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()  # the job id, a line per state, the run, the results
    job_id, (run_url, out) = lines[0], lines[-2:]
    assert "succeeded: done" in lines
    assert run_url.startswith("https://github.com/owner/relayq/actions/runs/")
    assert "transcribe → mac (Mac mini) via transcribe_mac.yml" in done.stderr
    assert "mac (Mac mini): online and idle — taken" in done.stderr
    assert wer(speech_text, (Path(out) / "transcript.txt").read_text()) <= 0.25
    assert emulator.runs()[0].inputs["request_id"] == job_id
    assert TOKEN not in done.stdout + done.stderr


def test_status_lists_runners_and_the_api_budget(emulator: GitHubEmulator, tmp_path: Path) -> None:
    emulator.add_runner("mac-mini", MAC, online=False, os="macOS")
    emulator.add_runner("pi4", PI4)
    done = relayq("status", "--json", gh=emulator, tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr
    status = json.loads(done.stdout)
    assert [(r["name"], r["status"]) for r in status["fleet"]] == [
        ("mac-mini", "offline"),
        ("pi4", "online"),
    ]
    assert status["api_budget"]["limit"] == 5000


def test_a_local_file_is_refused_with_the_github_executor(
    emulator: GitHubEmulator, tmp_path: Path, speech_ogg: Path
) -> None:
    done = relayq("dispatch", "--file", str(speech_ogg), gh=emulator, tmp_path=tmp_path)
    assert done.returncode == 2
    assert "takes links only" in done.stderr
    assert emulator.dispatches() == []


def test_the_runners_own_backend_setting_decides_not_the_vms(
    tmp_path: Path, speech_ogg: Path, speech_text: str
) -> None:
    """RELAYQ_BACKEND is a runner setting: a Mac told to use OpenAI uses it for the bot's jobs
    too, whatever the VM says (the dispatch leaves the backend input empty)."""
    from tests.e2e.conftest import job_env
    from tests.emulators.openai import OpenAIEmulator

    key = "sk-CANARY-runner-backend"
    with OpenAIEmulator(key) as api:
        runner = dict(job_env(tmp_path), RELAYQ_BACKEND="openai", OPENAI_API_KEY=key,
                      OPENAI_BASE_URL=api.base_url)  # fmt: skip
        with (
            GitHubEmulator(tmp_path / "gh", job_env=runner) as gh,
            serve({"/talk.ogg": body(speech_ogg.read_bytes())}) as (base, _),
        ):
            gh.add_runner("mac-mini", MAC, os="macOS")
            done = relayq("dispatch", "--url", f"{base}/talk.ogg", "--wait", "--out",
                          str(tmp_path / "out"), gh=gh, tmp_path=tmp_path,
                          RELAYQ_BACKEND="local")  # fmt: skip
            inputs = gh.runs()[0].inputs
        assert done.returncode == 0, done.stderr
        meta = json.loads((Path(done.stdout.split()[-1]) / "meta.json").read_text())
        assert inputs["backend"] == ""
        assert meta["backend"] == "openai" and len(api.transcriptions()) >= 1
        transcript = (Path(done.stdout.split()[-1]) / "transcript.txt").read_text()
        assert wer(speech_text, transcript) <= 0.3


ROOT = Path(__file__).resolve().parents[2]


def test_route_reads_the_live_runners_and_a_fleet_file_still_overrides_them(
    emulator: GitHubEmulator, tmp_path: Path
) -> None:
    emulator.add_runner("mac-mini", MAC, online=False, os="macOS")
    emulator.add_runner("pi4", PI4)
    live = relayq("route", "--json", gh=emulator, tmp_path=tmp_path)
    assert live.returncode == 0, live.stderr
    decision = json.loads(live.stdout)
    assert (decision["target"], decision["runners"]) == ("rpi4", "live")
    assert decision["reasons"][0]["reason"] == "mac (Mac mini): offline — falls through"
    idle = ROOT / "tests" / "fixtures" / "fleets" / "all_idle.json"
    given = relayq("route", "--json", "--fleet", str(idle), gh=emulator, tmp_path=tmp_path)
    assert json.loads(given.stdout)["target"] == "mac"


def test_route_with_github_silent_says_so_and_answers_with_the_runners_unknown(
    tmp_path: Path,
) -> None:
    import socket

    with socket.socket() as sock:  # a port where nothing listens
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("RELAYQ_")}
    env.update(RELAYQ_EXECUTOR="github", GITHUB_TOKEN=TOKEN, RELAYQ_GITHUB_REPO="owner/relayq",
               RELAYQ_GITHUB_API_URL=f"http://127.0.0.1:{port}", HOME=str(tmp_path))  # fmt: skip
    done = subprocess.run([sys.executable, "-m", "bot.cli", "route", "--json"], env=env,
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stderr.startswith(
        "relayq: GitHub is not answering, so the runners' state is unknown"
    )
    decision = json.loads(done.stdout)
    assert decision["runners"] == "unknown: GitHub is not answering"
    assert decision["reasons"][0]["reason"].startswith(
        "mac (Mac mini): runner state unknown (GitHub is not answering) — taken"
    )
