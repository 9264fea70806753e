"""`relayq transcribe`, run the way a runner runs it: accuracy, outputs, cache, refusals."""

from __future__ import annotations

import itertools
import json
import os
import re
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest

from jobs.backends.local import LocalWhisper
from jobs.config import TranscribeConfig
from jobs.errors import NotAudio
from jobs.fetch import ALL_PRIVATE
from jobs.progress import LINE_PREFIX, parse
from jobs.quality import wer
from jobs.transcribe import transcribe
from tests.conftest import SAMPLES
from tests.jobs.httpserver import body, serve, status
from tests.jobs.media import reencode, silence, video_only

SAMPLE = SAMPLES / "speech.ogg"
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


STEP_WORDS = {
    "read", "fetch", "decode", "detect", "detected", "transcribe", "write", "reusing", "done"
}  # fmt: skip


def human(stderr: str) -> str:
    """The step lines and sentences, without the progress records between them (each of
    which must be one: jobs/progress.py)."""
    lines = stderr.splitlines()
    records = [line for line in lines if line.startswith(LINE_PREFIX)]
    assert all(parse(line) is not None for line in records), records
    return "".join(f"{line}\n" for line in lines if not line.startswith(LINE_PREFIX))


def step_words(stderr: str) -> list[str]:
    return [line.split()[1].rstrip(":") for line in human(stderr).splitlines()]


def last_line(stderr: str) -> str:
    return human(stderr).splitlines()[-1]


def assert_one_error_line(stderr: str, expected_text: str) -> None:
    """Progress lines, then exactly one line saying what was wrong; no traceback."""
    lines = human(stderr).splitlines()
    assert all(line.startswith("relayq: ") for line in lines), stderr
    errors = [line for line in lines if line.split()[1].rstrip(":") not in STEP_WORDS]
    assert errors == [lines[-1]], stderr
    assert expected_text in lines[-1]


def assert_no_temp_left(env: dict[str, str]) -> None:
    # Not even onnxruntime's $TMPDIR/.ses: relayq turns its telemetry off.
    assert [p.name for p in Path(env["TMPDIR"]).iterdir()] == []


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
    assert step_words(done.stderr) == [
        "read", "decode", "detect", "detected", "transcribe", "write", "done"
    ]  # fmt: skip
    assert meta["language"] == "en" and meta["language_probability"] > 0.5
    assert meta["task"] == "transcribe"
    assert re.fullmatch(r"relayq: done in \d+\.\d s \(RTF \d\.\d\d\)", last_line(done.stderr))
    assert meta["warnings"] == []
    # Where it was, as it went: every phase, each ending at 100 %, and its times in meta.json.
    records = [parse(line) for line in done.stderr.splitlines() if line.startswith(LINE_PREFIX)]
    assert [(r.phase, r.fraction) for r in records if r and r.fraction in (0, 1)] == [
        ("decode", 0.0), ("transcribe", 0.0), ("transcribe", 1.0), ("outputs", 0.0),
        ("outputs", 1.0),
    ]  # fmt: skip
    # meta.json's wall time is stamped as the outputs are written, so only the records before
    # that phase come within it (the outputs' own come after, by as long as the disk takes).
    before = [r for r in records if r and r.phase != "outputs"]
    assert before and all(r.elapsed_s <= meta["wall_time_s"] + 0.01 for r in before)
    assert 0 <= meta["fetch_time_s"] < 5 and 0 < meta["decode_time_s"] < meta["wall_time_s"]
    assert_no_temp_left(env)

    again = run_job(str(speech_ogg), "--out", str(tmp_path / "again"), env=env)
    assert again.returncode == 0
    made = datetime.fromisoformat(meta["created_at"]).astimezone()
    assert (
        f"relayq: reusing the transcript made on {made:%Y-%m-%d} at {made:%H:%M} for the same "
        "audio and settings\n"
    ) in again.stderr
    assert step_words(again.stderr) == ["read", "reusing", "write", "done"]
    assert last_line(again.stderr).endswith("(reused an earlier transcript)")
    meta2 = json.loads((tmp_path / "again" / "meta.json").read_text())
    assert meta2["cached"] is True and meta2["sha256"] == meta["sha256"]
    # Both name the cache entry, so that /forget can remove it.
    key = meta["cache_key"]
    assert meta2["cache_key"] == key and key.startswith(meta["sha256"][:32])
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
    loads: list[str] = []
    original = LocalWhisper._load

    def counting_load(self: LocalWhisper, which: str) -> object:
        if which not in self._pipelines:
            loads.append(which)
        return original(self, which)

    monkeypatch.setattr(LocalWhisper, "_load", counting_load)
    transcribe(str(speech_ogg), first, config)
    outcome = transcribe(str(speech_ogg), tmp_path / "second", config)
    assert loads == ["main", "multilingual"]  # tiny.en, and base to detect the language
    assert outcome.cached
    other = transcribe(
        str(speech_ogg),
        tmp_path / "third",
        TranscribeConfig(cache_dir=tmp_path / "cache", beam_size=1),
    )
    assert not other.cached and loads == ["main", "multilingual"] * 2


@pytest.mark.slow
def test_a_file_cut_short_is_transcribed_as_far_as_it_goes_and_says_so(
    speech_ogg: Path, tmp_path: Path
) -> None:
    cut = _half_of(reencode(speech_ogg, tmp_path / "memo.mp3", "libmp3lame", seconds=8.0))
    lines: list[str] = []
    outcome = transcribe(str(cut), tmp_path / "o", TranscribeConfig(), progress=lines.append)
    assert 3.0 < outcome.duration_s < 5.0 and outcome.segments >= 1
    [warning] = json.loads((tmp_path / "o" / "meta.json").read_text())["warnings"]
    assert "although the file announces 8.0 s (cut short?)" in warning
    assert f"decode: {warning}" in lines


@pytest.mark.parametrize(
    ("make_source", "expected_code", "expected_text"),
    [
        (lambda d: d / "missing.mp3", 3, "no such file"),
        (lambda d: d, 2, "is a folder"),
        (lambda d: "", 2, "no source given; give an http(s) link or an audio or video file"),
        (lambda d: "/dev/null", 2, "/dev/null is not a regular file"),
        (
            lambda d: _write(d / "notes.mp3", b"not audio " * 100),
            4,
            "notes.mp3 is not audio we can read",
        ),
        (lambda d: _write(d / "zero.m4a", b""), 4, "zero.m4a is empty (0 bytes)"),
        (lambda d: _half_of(reencode(SAMPLE, d / "w.m4a", "aac")), 4, "not audio we can read"),
        (lambda d: video_only(d / "clip.mp4"), 4, "clip.mp4 is not audio we can read (no audio"),
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
    assert_one_error_line(done.stderr, expected_text)
    assert not (tmp_path / "out").exists()
    assert_no_temp_left(env)


def test_a_download_over_the_cap_is_refused_with_exit_5(
    speech_ogg: Path, tmp_path: Path, env: dict[str, str]
) -> None:
    env = dict(env, RELAYQ_ALLOW_PRIVATE_URLS="1", RELAYQ_MAX_DOWNLOAD_MB="0.05")
    with serve({"/big.ogg": body(speech_ogg.read_bytes())}) as (base, _):
        done = run_job(f"{base}/big.ogg", "--out", str(tmp_path / "out"), env=env)
    assert done.returncode == 5
    assert_one_error_line(done.stderr, "larger than the 0.05 MB limit")
    assert_no_temp_left(env)


def test_an_unreachable_link_exits_3(tmp_path: Path, env: dict[str, str]) -> None:
    with serve({}) as (base, _):
        pass
    done = run_job(f"{base}/gone.mp3", env=dict(env, RELAYQ_ALLOW_PRIVATE_URLS="1"))
    assert done.returncode == 3
    assert_one_error_line(done.stderr, "could not connect")


@pytest.mark.parametrize(
    ("args", "extra_env", "expected_code", "expected_text"),
    [
        (["--backend", "openai"], {}, 8, "the openai backend needs a key: set OPENAI_API_KEY"),
        (["--model", "no-such-model"], {}, 8, "unknown whisper model 'no-such-model'"),
        (["--model", "/nope/model"], {}, 8, "there is no model folder at /nope/model"),
        # A known name that is not on this machine, with downloads off: say how to fix it.
        (["--model", "base.en"], {}, 8, "set RELAYQ_WHISPER_MODEL to a local model folder"),
        (["--language", "Klingon"], {}, 2, "--language wants auto or a language code such as en"),
        (["--language", "xx"], {}, 2, "--language wants auto or a language code such as en"),
        (["--task", "summarize"], {}, 2, "argument --task: invalid choice: 'summarize'"),
        ([], {"RELAYQ_WHISPER_BEAM_SIZE": "99"}, 8, "setting RELAYQ_WHISPER_BEAM_SIZE is invalid"),
    ],
)
def test_configuration_problems_are_refused_with_a_fix(
    speech_ogg: Path, tmp_path: Path, env: dict[str, str],
    args: list[str], extra_env: dict[str, str], expected_code: int, expected_text: str,
) -> None:  # fmt: skip
    env = {**env, **extra_env, "HF_HOME": str(tmp_path / "hf")}  # an empty model cache
    done = run_job(str(speech_ogg), "--no-cache", *args, "--out", str(tmp_path / "o"), env=env)
    assert done.returncode == expected_code, done.stderr
    assert_one_error_line(done.stderr, expected_text)
    assert not (tmp_path / "o").exists()
    assert_no_temp_left(env)


def test_an_output_folder_that_is_a_file_is_refused_before_any_work(
    speech_ogg: Path, tmp_path: Path, env: dict[str, str]
) -> None:
    (tmp_path / "taken").write_text("not a folder")
    done = run_job(str(speech_ogg), "--out", str(tmp_path / "taken"), env=env)
    assert done.returncode == 2
    assert_one_error_line(done.stderr, "is not a folder")
    assert step_words(done.stderr)[:-1] == []


@pytest.mark.slow
def test_a_playlist_is_not_followed_wherever_it_points(tmp_path: Path) -> None:
    playlist = b"#EXTM3U\nfile:///etc/passwd\nhttp://169.254.169.254/latest/meta-data/\n"
    with serve({"/radio.m3u": body(playlist, "audio/x-mpegurl")}) as (base, hits):
        with pytest.raises(NotAudio):
            transcribe(
                f"{base}/radio.m3u", tmp_path / "o",
                TranscribeConfig(allow_private_urls=ALL_PRIVATE, cache_dir=None),
            )  # fmt: skip
    assert hits == ["/radio.m3u"]  # fetched once, as a file; nothing else
    assert not (tmp_path / "o").exists()


def test_a_silent_file_gives_an_empty_transcript_not_an_error(
    tmp_path: Path, env: dict[str, str]
) -> None:
    quiet = silence(tmp_path / "quiet.flac", seconds=120)
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
    assert code == 130, rest
    assert rest.strip().splitlines()[-1] == "relayq: interrupted; nothing was left behind"
    assert "Traceback" not in rest
    assert not (tmp_path / "o" / "meta.json").exists()
    assert_no_temp_left(env)


def _half_of(path: Path) -> Path:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    return path


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


# -- what the messages call the source ------------------------------------------------------


def test_with_a_name_no_step_or_sentence_shows_the_files_own_name_or_a_path(
    speech_ogg: Path, tmp_path: Path, env: dict[str, str]
) -> None:
    """The bot keeps an upload as F1.bin in its own folders; the user called it meeting.m4a."""
    internal = tmp_path / "local-jobs" / "j1" / "F1.bin"
    internal.parent.mkdir(parents=True)
    clip = reencode(speech_ogg, tmp_path / "clip.ogg", "libopus", seconds=2.0)
    internal.write_bytes(clip.read_bytes())
    out = tmp_path / "local-jobs" / "j1" / "out"
    done = run_job("--name", "meeting.m4a", "--out", str(out), "--", str(internal), env=env)
    assert done.returncode == 0, done.stderr
    steps = human(done.stderr).splitlines()[:6]
    # The probability's last digit depends on the CPU's vector unit (82% or 85% here).
    assert re.fullmatch(r"relayq: detected English \(\d+%\)", steps[3]), steps
    assert steps[:3] + steps[4:] == [
        "relayq: read meeting.m4a",
        "relayq: decode meeting.m4a",
        "relayq: detect the language with base",
        "relayq: transcribe 2.0 s of audio with tiny.en",
        "relayq: write 1 segment",
    ]
    assert "F1.bin" not in done.stderr and "/" not in done.stderr
    assert json.loads((out / "meta.json").read_text())["source_name"] == "meeting.m4a"

    again = run_job("--name", "again.m4a", "--out", str(tmp_path / "o2"), str(internal), env=env)
    assert again.returncode == 0, again.stderr
    assert "F1.bin" not in again.stderr and "/" not in again.stderr
    assert "relayq: write 1 segment\n" in again.stderr  # reused, and still singular
    assert json.loads((tmp_path / "o2" / "meta.json").read_text())["source_name"] == "again.m4a"


@pytest.mark.parametrize(
    ("make_source", "expected_code", "expected_error"),
    [
        (lambda d: _write(d / "F6.bin", b"not audio " * 100), 4,
         "notes.mp3 is not audio we can read (not a media file, or cut short); send an audio or "
         "video file such as mp3, m4a, ogg, opus, wav, flac, webm or mp4"),
        (lambda d: _write(d / "F7.bin", b""), 4, "notes.mp3 is empty (0 bytes)"),
        (lambda d: d / "F8.bin", 3, "no such file: notes.mp3; check the path"),
        (lambda d: d, 2, "notes.mp3 is a folder; give one audio or video file"),
    ],
)  # fmt: skip
def test_with_a_name_a_failure_names_the_source_by_it(
    tmp_path: Path, env: dict[str, str], make_source: object, expected_code: int,
    expected_error: str,
) -> None:  # fmt: skip
    folder = tmp_path / "local-jobs" / "j6"
    folder.mkdir(parents=True)
    source = make_source(folder)  # type: ignore[operator]
    done = run_job("--name", "notes.mp3", "--out", str(tmp_path / "o"), str(source), env=env)
    assert done.returncode == expected_code, done.stderr
    assert_one_error_line(done.stderr, expected_error)
    assert "F6.bin" not in done.stderr and str(tmp_path) not in done.stderr


def test_without_a_name_a_file_is_called_by_its_base_name(
    tmp_path: Path, env: dict[str, str]
) -> None:
    (tmp_path / "deep").mkdir()
    source = _write(tmp_path / "deep" / "F6.bin", b"not audio " * 100)
    done = run_job("--out", str(tmp_path / "o"), str(source), env=env)
    assert done.returncode == 4
    assert human(done.stderr).splitlines()[:2] == ["relayq: read F6.bin",
                                                   "relayq: decode F6.bin"]  # fmt: skip
    assert_one_error_line(done.stderr, "relayq: F6.bin is not audio we can read")
    assert str(tmp_path) not in done.stderr


def test_a_link_is_called_by_its_safe_form_or_by_its_name(
    speech_ogg: Path, tmp_path: Path, env: dict[str, str]
) -> None:
    env = dict(env, RELAYQ_ALLOW_PRIVATE_URLS="1")
    with serve({"/gone.ogg": status(404)}) as (base, _):
        plain = run_job(f"{base}/gone.ogg?sig=SECRET", "--out", str(tmp_path / "o"), env=env)
        named = run_job("--name", "the talk", f"{base}/gone.ogg", "--out", str(tmp_path / "o"),
                        env=env)  # fmt: skip
    assert plain.stderr.splitlines() == [
        f"relayq: fetch {base}/gone.ogg",
        f"relayq: {base}/gone.ogg answered HTTP 404: the file is not there (any more); check the link",
    ]
    assert named.stderr.splitlines() == [
        "relayq: fetch the talk",
        "relayq: the talk answered HTTP 404: the file is not there (any more); check the link",
    ]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("meeting.m4a", "meeting.m4a"),
        ("  two  words ", "two words"),
        ("x\nrelayq: done in 0.1 s", "x relayq: done in 0.1 s"),  # cannot forge a step line
        ("evil\u202egpj.exe", "evil gpj.exe"),  # no right-to-left override
        ("tab\there\x00", "tab here"),
        ("", None),
        ("\n\u200b", None),
        ("a" * 200, "a" * 79 + "…"),
    ],
)
def test_a_name_is_shown_on_one_line_without_hidden_characters(
    name: str, expected: str | None
) -> None:
    from jobs.transcribe import clean_name

    assert clean_name(name) == expected
