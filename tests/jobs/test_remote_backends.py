"""The OpenAI and OpenRouter backends, through the real `openai` client, against an
OpenAI-compatible server on 127.0.0.1 that really transcribes (tiny.en)."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from jobs.backends import backend_chain
from jobs.config import TranscribeConfig
from jobs.errors import BackendFailed, ConfigError
from jobs.quality import wer
from jobs.transcribe import transcribe
from tests.emulators.openai.server import Fault, OpenAIEmulator
from tests.jobs.media import silence

KEY = "sk-canary-remote-0123456789"
WER_BAR = 0.3


@pytest.fixture
def api() -> Iterator[OpenAIEmulator]:
    with OpenAIEmulator(KEY) as emulator:
        yield emulator


def config(api: OpenAIEmulator, backend: str = "openai", **changes: object) -> TranscribeConfig:
    base = TranscribeConfig(
        backend=backend,
        openai_api_key=KEY,
        openai_base_url=api.base_url,
        openrouter_api_key=KEY,
        openrouter_base_url=api.openrouter_url,
        api_retries=2,
        api_timeout_s=60,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def run(
    speech_ogg: Path, out: Path, cfg: TranscribeConfig
) -> tuple[dict[str, object], str, list[str]]:
    lines: list[str] = []
    transcribe(str(speech_ogg), out, cfg, progress=lines.append)
    meta = json.loads((out / "meta.json").read_text())
    return meta, (out / "transcript.txt").read_text(), lines


def srt_times(out: Path) -> list[tuple[float, float]]:
    segments = json.loads((out / "segments.json").read_text())
    return [(s["start"], s["end"]) for s in segments]


def assert_no_key_in(out: Path, *texts: str) -> None:
    for path in out.iterdir():
        assert KEY not in path.read_text(errors="replace"), path.name
    for text in texts:
        assert KEY not in text


@pytest.mark.parametrize(
    ("backend", "changes", "path", "sent"),
    [
        ("openai", {}, "/v1/audio/transcriptions", {"model": "gpt-transcribe", "response_format": "json"}),
        ("openai", {"openai_model": "whisper-1"}, "/v1/audio/transcriptions",
         {"model": "whisper-1", "response_format": "verbose_json"}),
        ("openrouter", {}, "/api/v1/audio/transcriptions", {"model": "openai/whisper-large-v3"}),
        ("openrouter", {"openrouter_endpoint": "chat", "openrouter_model": "google/gemini-2.5-flash"},
         "/api/v1/chat/completions", {"model": "google/gemini-2.5-flash"}),
    ],
    ids=["openai-gpt-transcribe", "openai-whisper-1", "openrouter-stt", "openrouter-chat-audio"],
)  # fmt: skip
def test_each_remote_backend_transcribes_the_sample(
    api: OpenAIEmulator,
    speech_ogg: Path,
    speech_text: str,
    tmp_path: Path,
    backend: str,
    changes: dict[str, object],
    path: str,
    sent: dict[str, str],
) -> None:
    out = tmp_path / "out"
    meta, text, lines = run(speech_ogg, out, config(api, backend, **changes))
    assert wer(speech_text, text) <= WER_BAR
    assert (meta["backend"], meta["model"], meta["failed"]) == (backend, sent["model"], [])
    requests = [r for r in api.requests if r.path == path]
    assert requests and len(requests) == meta["requests"]
    assert all(sent.items() <= r.body.items() for r in requests)
    if path.startswith("/api/v1/audio"):  # OpenRouter's documented JSON shape
        assert requests[0].body["input_audio"]["format"] == "wav"
    times = srt_times(out)
    assert times[0][0] >= 0 and times[-1][1] <= 25.7
    assert all(a[1] <= b[0] and b[0] <= b[1] for a, b in itertools.pairwise(times))
    assert_no_key_in(out, *lines)


def test_long_audio_goes_in_chunks_a_few_at_a_time_without_losing_words(
    api: OpenAIEmulator, speech_ogg: Path, speech_text: str, tmp_path: Path
) -> None:
    cfg = config(api, "openai", remote_chunk_s=8.0, remote_concurrency=2)
    meta, text, _ = run(speech_ogg, tmp_path / "out", cfg)
    sizes = [r.body["file_bytes"] for r in api.transcriptions()]
    assert len(sizes) >= 3 and meta["requests"] == len(sizes)
    assert max(sizes) <= 44 + 8 * 32_000  # 8 s of 16 kHz 16-bit mono WAV
    assert api.max_in_flight <= 2
    assert wer(speech_text, text) <= WER_BAR


def test_a_chunk_the_server_calls_too_large_is_split_and_sent_again(
    api: OpenAIEmulator, speech_ogg: Path, speech_text: str, tmp_path: Path
) -> None:
    api.max_bytes = 300_000  # about 9 s of audio; the plan sends 25 s at once
    meta, text, _ = run(speech_ogg, tmp_path / "out", config(api, "openai"))
    sizes = [r.body["file_bytes"] for r in api.transcriptions()]
    assert max(sizes) > 300_000  # it was refused first ...
    assert meta["requests"] == len(sizes) > 3  # ... then halved until every part went through
    assert wer(speech_text, text) <= WER_BAR


@pytest.mark.parametrize(
    ("backend", "variable"),
    [("openai", "OPENAI_BASE_URL"), ("openrouter", "RELAYQ_OPENROUTER_BASE_URL")],
)
def test_a_server_that_calls_any_audio_too_large_is_named_by_its_own_setting(
    api: OpenAIEmulator, speech_ogg: Path, tmp_path: Path, backend: str, variable: str
) -> None:
    api.max_bytes = 1_000  # not even a second of audio: that is no size limit, a wrong server
    with pytest.raises(BackendFailed) as caught:
        run(speech_ogg, tmp_path / "out", config(api, backend))
    assert f"check that {variable} points at a transcription API" in str(caught.value)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "fault",
    [
        Fault(429, times=1, retry_after=3),
        Fault(500, times=2),
        Fault(200, times=1, delay_s=12.0),  # slower than the client waits: a timeout, retried
    ],
    ids=["429-retry-after", "500-twice", "slow-answer"],
)
def test_passing_trouble_is_retried_and_the_job_completes(
    api: OpenAIEmulator, speech_ogg: Path, speech_text: str, tmp_path: Path, fault: Fault
) -> None:
    injected = min(fault.times, 2)  # the emulator counts it down
    api.faults.append(fault)
    # Short chunks one at a time (none waits behind another in the emulator), each answered
    # in a second or two, well under the client's 8 s, except the one held back 12 s.
    cfg = config(api, "openai", api_timeout_s=8.0, remote_chunk_s=10.0, remote_concurrency=1)
    meta, text, _ = run(speech_ogg, tmp_path / "out", cfg)
    assert len(api.transcriptions()) == meta["requests"] + injected
    assert not api.faults
    assert wer(speech_text, text) <= WER_BAR
    if fault.retry_after:  # waited as told (the client's own backoff is under a second)
        first, again = api.transcriptions()[:2]
        assert again.at - first.at >= fault.retry_after


@pytest.mark.parametrize(
    ("setup", "changes", "error", "says"),
    [
        (Fault(429, times=50, retry_after=0), {}, BackendFailed, "too many requests' (429) after 2 retries"),
        (Fault(503, times=50), {}, BackendFailed, "answered HTTP 503 to the transcription request"),
        (None, {"openai_api_key": "sk-wrong"}, ConfigError, "refused the key in OPENAI_API_KEY"),
        (None, {"openai_model": "gpt-9-listen"}, ConfigError, "set RELAYQ_OPENAI_MODEL"),
        (None, {"openai_api_key": None}, ConfigError, "set OPENAI_API_KEY"),
        (None, {"openai_base_url": "http://127.0.0.1:9/v1"}, BackendFailed, "check the runner's network, or OPENAI_BASE_URL"),
        (None, {"backend": "openrouter", "openrouter_api_key": None}, ConfigError, "set OPENROUTER_API_KEY"),
        (None, {"backend": "openrouter", "openrouter_endpoint": "chat"}, ConfigError, "set RELAYQ_OPENROUTER_MODEL"),
    ],
    ids=["429-forever", "503-forever", "wrong-key", "unknown-model", "no-key", "unreachable",
         "openrouter-no-key", "openrouter-chat-no-model"],
)  # fmt: skip
def test_failures_are_one_sentence_that_names_what_to_change(
    api: OpenAIEmulator,
    speech_ogg: Path,
    tmp_path: Path,
    setup: Fault | None,
    changes: dict[str, object],
    error: type[Exception],
    says: str,
) -> None:
    if setup is not None:
        api.faults.append(setup)
    out = tmp_path / "out"
    with pytest.raises(error) as caught:
        run(speech_ogg, out, config(api, **{"backend": "openai", "api_retries": 2, **changes}))
    message = str(caught.value)
    assert says in message and "\n" not in message and KEY not in message
    assert not out.exists()


def test_two_hours_of_silence_cost_no_request(api: OpenAIEmulator, tmp_path: Path) -> None:
    quiet = silence(tmp_path / "quiet.flac", 7200)
    meta, text, _ = run(quiet, tmp_path / "out", config(api, "openai"))
    assert (text.strip(), meta["requests"], api.requests) == ("", 0, [])


def test_a_failing_backend_hands_the_job_to_the_fallback_and_says_so(
    api: OpenAIEmulator, speech_ogg: Path, speech_text: str, tmp_path: Path
) -> None:
    api.faults.append(Fault(500, times=1000))
    cfg = config(api, "openai", fallback=("local",), api_retries=1)
    meta, text, lines = run(speech_ogg, tmp_path / "out", cfg)
    assert meta["backend"] == "local" and wer(speech_text, text) <= WER_BAR
    (failed,) = meta["failed"]  # type: ignore[misc]
    assert failed["backend"] == "openai" and "HTTP 500" in failed["error"]
    assert any("openai failed" in line and "trying local instead" in line for line in lines)


def test_a_transcript_reused_from_the_cache_does_not_repeat_an_earlier_jobs_failures(
    api: OpenAIEmulator, speech_ogg: Path, tmp_path: Path
) -> None:
    """The second job asked for the local model and got the first job's result: what failed
    for the first job is not this one's story (the bot would warn about it)."""
    api.faults.append(Fault(500, times=1000))
    cache = tmp_path / "cache"
    first, _, _ = run(speech_ogg, tmp_path / "a", config(api, "openai", fallback=("local",),
                                                         api_retries=0, cache_dir=cache))  # fmt: skip
    second, _, _ = run(speech_ogg, tmp_path / "b", config(api, "local", cache_dir=cache))
    assert [f["backend"] for f in first["failed"]] == ["openai"]  # type: ignore[union-attr]
    assert second["cached"] is True and second["failed"] == []


def test_when_every_backend_fails_the_error_names_each(
    api: OpenAIEmulator, speech_ogg: Path, tmp_path: Path
) -> None:
    api.faults.append(Fault(500, times=1000))
    cfg = config(api, "openai", fallback=("openrouter",), api_retries=0)
    with pytest.raises(BackendFailed) as caught:
        run(speech_ogg, tmp_path / "out", cfg)
    assert "tried before: openai:" in str(caught.value)


@pytest.mark.parametrize(
    ("backend", "fallback", "expected"),
    [
        ("openai", ("local", "openai", "local"), ["openai", "local"]),
        ("local", (), ["local"]),
        ("auto", ("openrouter",), ["local", "openrouter"]),  # faster-whisper and tiny.en are here
    ],
)
def test_the_backend_chain_is_the_choice_then_each_fallback_once(
    backend: str, fallback: tuple[str, ...], expected: list[str]
) -> None:
    assert backend_chain(TranscribeConfig(backend=backend, fallback=fallback)) == expected


def test_the_cli_takes_the_backend_and_its_settings_from_the_environment(
    api: OpenAIEmulator, speech_ogg: Path, speech_text: str, tmp_path: Path
) -> None:
    env = {
        "PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin",
        "HOME": str(tmp_path),
        "RELAYQ_STATE_DIR": str(tmp_path / "state"),
        "RELAYQ_BACKEND": "openrouter",
        "OPENROUTER_API_KEY": KEY,
        "RELAYQ_OPENROUTER_BASE_URL": api.openrouter_url,
        "RELAYQ_REMOTE_CHUNK_S": "10",
    }
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "transcribe", str(speech_ogg), "--out", str(tmp_path / "o")],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    meta = json.loads((tmp_path / "o" / "meta.json").read_text())
    assert meta["backend"] == "openrouter" and meta["requests"] >= 3
    assert wer(speech_text, (tmp_path / "o" / "transcript.txt").read_text()) <= WER_BAR
    assert KEY not in done.stderr + done.stdout
