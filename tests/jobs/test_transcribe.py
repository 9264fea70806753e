"""`relayq transcribe`, run the way a runner runs it: accuracy, outputs, cache, refusals."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from jobs.backends.local import LocalWhisper
from jobs.errors import ConfigError
from jobs.quality import wer
from jobs.transcribe import TranscribeConfig, transcribe
from tests.jobs.httpserver import body, serve
from tests.jobs.media import silence, video_only

ENTRY = Path(__file__).resolve().parents[2] / "jobs" / "transcribe.sh"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    clean = {k: v for k, v in os.environ.items() if not k.startswith("RELAYQ_")}
    bin_dir = str(Path(sys.executable).parent)
    return dict(
        clean,
        TMPDIR=str(tmp),
        RELAYQ_STATE_DIR=str(tmp_path / "state"),
        HF_HUB_OFFLINE="1",
        PATH=f"{bin_dir}:{clean.get('PATH', '')}",
    )


def run_job(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Through jobs/transcribe.sh, as the workflows and the local executor call it."""
    return subprocess.run(
        ["bash", str(ENTRY), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def assert_no_temp_left(env: dict[str, str]) -> None:
    # onnxruntime (faster-whisper's VAD) keeps a 51-byte session id in $TMPDIR/.ses for the
    # life of the machine; it is the library's, not a leftover of the job.
    assert [p.name for p in Path(env["TMPDIR"]).iterdir() if p.name != ".ses"] == []


@pytest.mark.slow
def test_the_sample_is_transcribed_accurately_into_five_files(
    speech_ogg: Path, speech_text: str, tmp_path: Path, env: dict[str, str]
) -> None:
    out = tmp_path / "out"
    done = run_job(str(speech_ogg), "--out", str(out), env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(out)
    assert wer(speech_text, (out / "transcript.txt").read_text()) <= 0.25
    segments = json.loads((out / "segments.json").read_text())
    assert len(segments) >= 3, "subtitles should be sentence-sized, not one 30-second cue"
    assert all(a["end"] <= b["start"] + 0.01 for a, b in itertools.pairwise(segments))
    assert segments[-1]["end"] <= 26.0
    meta = json.loads((out / "meta.json").read_text())
    assert meta["backend"] == "local" and meta["model"] == "tiny.en" and meta["cached"] is False
    assert meta["duration_s"] == pytest.approx(25.55, abs=0.1)
    assert len(meta["sha256"]) == 64 and meta["real_time_factor"] > 0 and meta["host"]
    assert (out / "transcript.srt").read_text().startswith("1\n00:00:00")
    assert (out / "transcript.vtt").read_text().startswith("WEBVTT")
    steps = [line.split()[1] for line in done.stderr.splitlines()]
    assert steps[:4] == ["read", "decode", "transcribe", "write"]
    assert_no_temp_left(env)

    again = run_job(str(speech_ogg), "--out", str(tmp_path / "again"), env=env)
    assert again.returncode == 0
    assert "reuse the transcript made at" in again.stderr
    meta2 = json.loads((tmp_path / "again" / "meta.json").read_text())
    assert meta2["cached"] is True and meta2["sha256"] == meta["sha256"]
    assert (tmp_path / "again" / "transcript.txt").read_text() == (
        out / "transcript.txt"
    ).read_text()


@pytest.mark.slow
def test_a_link_is_fetched_and_transcribed(
    speech_ogg: Path, speech_text: str, tmp_path: Path, env: dict[str, str]
) -> None:
    env = dict(env, RELAYQ_ALLOW_PRIVATE_URLS="1")
    with serve({"/episode.ogg": body(speech_ogg.read_bytes())}) as (base, hits):
        done = run_job(f"{base}/episode.ogg?token=s3cr3t", "--out", str(tmp_path / "o"), env=env)
    assert done.returncode == 0, done.stderr
    assert hits == ["/episode.ogg?token=s3cr3t"]
    meta = json.loads((tmp_path / "o" / "meta.json").read_text())
    assert meta["source"] == f"{base}/episode.ogg"
    assert "s3cr3t" not in done.stderr + (tmp_path / "o" / "meta.json").read_text()
    assert wer(speech_text, (tmp_path / "o" / "transcript.txt").read_text()) <= 0.25
    assert_no_temp_left(env)


def test_the_same_audio_with_the_same_settings_never_loads_the_model_twice(
    speech_ogg: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = TranscribeConfig(cache_dir=tmp_path / "cache")
    # Seed the cache with a finished result as if an earlier run had made it.
    first = tmp_path / "first"
    loads: list[int] = []
    original = LocalWhisper._load

    def counting_load(self: LocalWhisper) -> object:
        loads.append(1)
        return original(self)

    monkeypatch.setattr(LocalWhisper, "_load", counting_load)
    transcribe(str(speech_ogg), first, config)
    outcome = transcribe(str(speech_ogg), tmp_path / "second", config)
    assert loads == [1]
    assert outcome.cached
    other = transcribe(
        str(speech_ogg),
        tmp_path / "third",
        TranscribeConfig(cache_dir=tmp_path / "cache", beam_size=1),
    )
    assert not other.cached and loads == [1, 1]


@pytest.mark.parametrize(
    ("make_source", "expected_code", "expected_text"),
    [
        (lambda d: d / "missing.mp3", 3, "no such file"),
        (lambda d: d, 2, "is a folder"),
        (
            lambda d: _write(d / "notes.mp3", b"not audio " * 100),
            4,
            "notes.mp3 is not audio we can read",
        ),
        (lambda d: _write(d / "zero.m4a", b""), 4, "zero.m4a is empty (0 bytes)"),
        (lambda d: video_only(d / "clip.mp4"), 4, "clip.mp4 has no sound in it"),
        (lambda d: "http://127.0.0.1:9/a.mp3", 6, "127.0.0.1 is a loopback address"),
        (lambda d: "http://169.254.169.254/latest/meta-data/", 6, "link-local"),
        (lambda d: "ftp://example.org/a.mp3", 6, "only http and https"),
        (lambda d: "file:///etc/passwd", 6, "only http and https"),
    ],
)
def test_bad_input_is_refused_in_one_line_with_its_exit_code(
    tmp_path: Path, env: dict[str, str], make_source: object, expected_code: int, expected_text: str
) -> None:
    source = make_source(tmp_path)  # type: ignore[operator]
    done = run_job(str(source), "--out", str(tmp_path / "out"), env=env)
    assert done.returncode == expected_code, done.stderr
    last = done.stderr.splitlines()[-1]
    assert last.startswith("relayq: ") and expected_text in last
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "out").exists()
    assert_no_temp_left(env)


def test_a_download_over_the_cap_is_refused_with_exit_5(
    speech_ogg: Path, tmp_path: Path, env: dict[str, str]
) -> None:
    env = dict(env, RELAYQ_ALLOW_PRIVATE_URLS="1", RELAYQ_MAX_DOWNLOAD_MB="0.05")
    with serve({"/big.ogg": body(speech_ogg.read_bytes())}) as (base, _):
        done = run_job(f"{base}/big.ogg", "--out", str(tmp_path / "out"), env=env)
    assert done.returncode == 5
    assert "larger than the 0.05 MB limit" in done.stderr.splitlines()[-1]
    assert_no_temp_left(env)


def test_an_unreachable_link_exits_3(tmp_path: Path, env: dict[str, str]) -> None:
    with serve({}) as (base, _):
        pass
    done = run_job(f"{base}/gone.mp3", env=dict(env, RELAYQ_ALLOW_PRIVATE_URLS="1"))
    assert done.returncode == 3
    assert "could not connect" in done.stderr


@pytest.mark.parametrize(
    ("args", "extra_env", "expected_code", "expected_text"),
    [
        (["--backend", "openai"], {}, 8, "the openai backend is not part of this version yet"),
        (["--model", "no-such-model"], {}, 8, "could not load the whisper model 'no-such-model'"),
        ([], {"RELAYQ_WHISPER_BEAM_SIZE": "99"}, 8, "setting RELAYQ_WHISPER_BEAM_SIZE is invalid"),
    ],
)
def test_configuration_problems_exit_8(
    speech_ogg: Path, tmp_path: Path, env: dict[str, str],
    args: list[str], extra_env: dict[str, str], expected_code: int, expected_text: str,
) -> None:  # fmt: skip
    done = run_job(
        str(speech_ogg), "--no-cache", *args, "--out", str(tmp_path / "o"), env={**env, **extra_env}
    )
    assert done.returncode == expected_code, done.stderr
    assert expected_text in done.stderr.splitlines()[-1]
    assert "Traceback" not in done.stderr
    assert_no_temp_left(env)


@pytest.mark.slow
def test_a_silent_file_gives_an_empty_transcript_not_an_error(
    tmp_path: Path, env: dict[str, str]
) -> None:
    quiet = silence(tmp_path / "quiet.ogg", seconds=120)
    done = run_job(str(quiet), "--out", str(tmp_path / "o"), env=env)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "o" / "transcript.txt").read_text() == ""
    assert json.loads((tmp_path / "o" / "meta.json").read_text())["segments"] == 0


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupting_a_job_removes_its_temp_files_and_exits_130(
    speech_ogg: Path, tmp_path: Path, env: dict[str, str], sig: signal.Signals
) -> None:
    with subprocess.Popen(
        ["bash", str(ENTRY), str(speech_ogg), "--no-cache", "--out", str(tmp_path / "o")],
        env=env, stderr=subprocess.PIPE, text=True, start_new_session=True,
    ) as proc:  # fmt: skip
        assert proc.stderr is not None
        for line in proc.stderr:
            if line.startswith("relayq: decode"):
                break
        time.sleep(0.3)
        os.killpg(proc.pid, sig)
        rest = proc.stderr.read()
        code = proc.wait(timeout=60)
    assert code == 130
    assert rest.strip().splitlines()[-1] == "relayq: interrupted; nothing was left behind"
    assert "Traceback" not in rest
    assert not (tmp_path / "o" / "meta.json").exists()
    assert_no_temp_left(env)


def test_remote_backends_are_refused_honestly_for_now() -> None:
    from jobs.backends import make_backend

    with pytest.raises(ConfigError, match="openrouter backend is not part of this version yet"):
        make_backend(
            "openrouter", model=None, compute_type="int8", beam_size=5, batch_size=8, cpu_threads=0
        )


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path
