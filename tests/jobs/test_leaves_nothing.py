"""A transcription leaves nothing behind: not in TMPDIR, not in HOME, not in the working
folder, success or failure, local model or remote API — and no device identifier anywhere.

Each case runs the real `relayq transcribe` in its own process, with TMPDIR, HOME and the
working folder set to fresh empty folders and the results (`--out`) and the cache
(RELAYQ_STATE_DIR) elsewhere. onnxruntime (faster-whisper's VAD, used by every backend)
writes `$TMPDIR/.ses` and `~/.cache/Microsoft/DeveloperTools/.onnxruntime/deviceid` when its
telemetry is on; relayq turns it off before anything can load it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.emulators.openai.server import OpenAIEmulator

KEY = "sk-canary-leftovers-0123456789"
RELAYQ = Path(sys.executable).with_name("relayq")
# Variables that would send a library's files somewhere other than HOME or TMPDIR, and the
# switch under test: the job must turn telemetry off itself, not inherit it from this process.
_SCRUBBED = ("XDG_", "HF_", "HUGGINGFACE_", "ORT_", "TMP", "TEMP", "RELAYQ_", "OPENAI_")


@pytest.fixture(scope="module")
def api() -> Iterator[OpenAIEmulator]:
    with OpenAIEmulator(KEY) as emulator:
        yield emulator


def run_job(
    tmp_path: Path, source: Path, extra: dict[str, str]
) -> tuple[subprocess.CompletedProcess[str], list[Path]]:
    """Run one job; returns it and every path it left in TMPDIR, HOME and the working folder."""
    roots = {name: tmp_path / name for name in ("tmp", "home", "cwd")}
    for root in roots.values():
        root.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(_SCRUBBED)}
    env.update(TMPDIR=str(roots["tmp"]), HOME=str(roots["home"]),
               RELAYQ_STATE_DIR=str(tmp_path / "state"), **extra)  # fmt: skip
    done = subprocess.run(
        [str(RELAYQ), "transcribe", "--out", str(tmp_path / "out"), "--", str(source)],
        cwd=roots["cwd"], env=env, capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    left = sorted(p for root in roots.values() for p in root.rglob("*"))
    return done, left


@pytest.mark.parametrize("backend", ["local", "openai"])
def test_a_finished_transcription_leaves_nothing_behind(
    tmp_path: Path, speech_ogg: Path, api: OpenAIEmulator, backend: str
) -> None:
    remote = {"OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": api.base_url}
    done, left = run_job(tmp_path, speech_ogg, {"RELAYQ_BACKEND": backend, **remote})
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out" / "meta.json").is_file()
    assert left == []


@pytest.mark.parametrize(
    ("backend", "source", "code"),
    [("local", "not-audio", 4), ("openai", "speech", 8)],
    ids=["local-not-audio", "openai-wrong-key"],
)
def test_a_failed_transcription_leaves_nothing_behind(
    tmp_path: Path, speech_ogg: Path, api: OpenAIEmulator, backend: str, source: str, code: int
) -> None:
    if source == "not-audio":
        path = tmp_path / "notes.mp3"
        path.write_bytes(b"this is not audio\n" * 100)
    else:
        path = speech_ogg  # the VAD cuts it, then the API refuses the key
    remote = {"OPENAI_API_KEY": "sk-wrong", "OPENAI_BASE_URL": api.base_url}
    done, left = run_job(tmp_path, path, {"RELAYQ_BACKEND": backend, **remote})
    assert done.returncode == code, done.stderr
    assert left == []
    assert not list(tmp_path.rglob("deviceid"))
