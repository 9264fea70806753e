"""An hour of speech through the OpenAI backend, checked against the local backend.

The hour is bench/speech_long.txt spoken once by espeak-ng (four minutes) and repeated 15 times
with a second of silence after each (61 minutes, every repeat the same samples). The OpenAI
side transcribes the whole hour, in many requests. The local side transcribes one repeat: its
batched pipeline transcribes each of its VAD's regions on its own (no text carried from one to
the next), so one repeat is what it makes of every repeat, its cues `PERIOD` seconds apart.
Both use the same model (tiny.en) with the same greedy decoding (beam 1: the emulator's, and
RELAYQ_WHISPER_BEAM_SIZE=1 locally), so what differs is only how relayq cut, sent, timed and
stitched the audio. One module-scoped run of each, at the same time, then one assertion per
promise.
"""

from __future__ import annotations

import itertools
import json
import wave
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from jobs.quality import normalize_words, wer
from jobs.transcribe import TranscribeConfig, transcribe
from tests.emulators.openai.server import OpenAIEmulator
from tools.make_speech import synthesize

ROOT = Path(__file__).resolve().parents[2]
KEY = "sk-CANARY-long-hour"
REPEATS = 15
GAP_S = 1.0
OPENAI_LIMIT = 25 * 1024 * 1024
pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Hour:
    text: str  # the hour's
    once: str  # one repeat's
    duration_s: float
    period_s: float  # one repeat with its silence
    local: list[dict[str, object]]  # one repeat's cues
    remote: list[dict[str, object]]
    local_text: str
    remote_text: str
    sizes: list[int]  # every transcription request's body, in bytes


def repeated(once: Path, out: Path, times: int, gap_s: float) -> float:
    """`once` (a WAV) `times` over, each followed by `gap_s` of silence, into `out`; returns
    the period (one repeat and its gap) in seconds."""
    with wave.open(str(once), "rb") as src:
        params, frames = src.getparams(), src.readframes(src.getnframes())
    gap = b"\0" * (int(gap_s * params.framerate) * params.sampwidth * params.nchannels)
    with wave.open(str(out), "wb") as dst:
        dst.setparams(params)
        for _ in range(times):
            dst.writeframes(frames + gap)
    return (len(frames) + len(gap)) / (params.framerate * params.sampwidth * params.nchannels)


@pytest.fixture(scope="module")
def hour(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hour]:
    tmp = tmp_path_factory.mktemp("hour")
    once = (ROOT / "bench" / "speech_long.txt").read_text(encoding="utf-8")
    spoken = synthesize(once, tmp / "once.wav")  # WAV: no time spent encoding
    period_s = repeated(spoken, tmp / "hour.wav", REPEATS, GAP_S)
    repeated(spoken, tmp / "period.wav", 1, GAP_S)
    with OpenAIEmulator(KEY) as api, ThreadPoolExecutor(2) as both:
        # Side by side: the local model gets one thread, as the emulator's two workers have
        # one each.
        cfg = TranscribeConfig(backend="openai", openai_api_key=KEY, openai_base_url=api.base_url)
        remote = both.submit(transcribe, str(tmp / "hour.wav"), tmp / "remote", cfg)
        local = both.submit(transcribe, str(tmp / "period.wav"), tmp / "local",
                            TranscribeConfig(beam_size=1, cpu_threads=1))  # fmt: skip
        remote.result(), local.result()
        sizes = [int(r.headers["content-length"]) for r in api.transcriptions()]

    def read(side: str, name: str) -> str:
        return (tmp / side / name).read_text(encoding="utf-8")

    meta = json.loads(read("remote", "meta.json"))
    yield Hour(
        "\n\n".join([once] * REPEATS),
        once,
        float(meta["duration_s"]),
        period_s,
        json.loads(read("local", "segments.json")),
        json.loads(read("remote", "segments.json")),
        read("local", "transcript.txt"),
        read("remote", "transcript.txt"),
        sizes,
    )


def test_the_file_is_an_hour_long_and_went_in_many_requests(hour: Hour) -> None:
    assert hour.duration_s >= 3600
    assert len(hour.sizes) >= 60


def test_no_request_is_over_25_mb(hour: Hour) -> None:
    assert max(hour.sizes) < OPENAI_LIMIT


def test_subtitle_times_never_go_backwards(hour: Hour) -> None:
    times = [(float(str(s["start"])), float(str(s["end"]))) for s in hour.remote]
    assert all(start <= end for start, end in times)
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(times))
    assert times[-1][1] <= hour.duration_s


def test_no_words_are_lost_at_chunk_joins(hour: Hour) -> None:
    local, remote = wer(hour.once, hour.local_text), wer(hour.text, hour.remote_text)
    print(f"\nWER over {hour.duration_s / 60:.0f} min: local {local:.3f}, openai {remote:.3f}")
    assert remote <= local + 0.02


def test_sentences_start_within_a_second_and_a_half_of_the_local_backends(hour: Hour) -> None:
    """A remote cue and a local cue are the same sentence when they begin with the same four
    words within 30 s of each other (the text repeats every four minutes); the local cues
    are one repeat's, in every repeat."""
    starts: dict[tuple[str, ...], list[float]] = {}
    for cue, n in itertools.product(hour.local, range(REPEATS)):
        start = float(str(cue["start"])) + n * hour.period_s
        starts.setdefault(_opening(str(cue["text"])), []).append(start)
    deviations = []
    for cue in hour.remote:
        opening, start = _opening(str(cue["text"])), float(str(cue["start"]))
        near = (
            [t for t in starts.get(opening, []) if abs(t - start) < 30] if len(opening) == 4 else []
        )
        if near:
            deviations.append(min(abs(t - start) for t in near))
    deviations.sort()
    print(
        f"\n{len(deviations)} sentences matched; start differences: median "
        f"{deviations[len(deviations) // 2]:.2f} s, max {deviations[-1]:.2f} s"
    )
    assert len(deviations) >= 0.5 * len(hour.remote)
    assert deviations[-1] <= 1.5


def _opening(text: str) -> tuple[str, ...]:
    return tuple(normalize_words(text)[:4])
