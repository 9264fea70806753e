"""Benchmark: relayq's transcription path against a naive faster-whisper call.

    make bench            (or: .venv/bin/python bench/transcribe.py)

On the same speech file (espeak-ng, about 4 minutes, known text: bench/speech_long.txt) and in
one process, it times `relayq transcribe`'s code path (decode, load, batched pipeline with VAD,
outputs; cache off) and a naive call (decode, load, `WhisperModel.transcribe`, beam_size=5, no
batching, same model and compute type), best of two runs each, alternating. It prints both wall
times, their ratio and both word error rates. Bar: ratio <= 0.6 with WER no worse than naive.
"""

from __future__ import annotations

import os
import platform
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from faster_whisper import WhisperModel, decode_audio  # noqa: E402

from jobs.backends.local import bundled_model_path  # noqa: E402
from jobs.quality import wer  # noqa: E402
from jobs.transcribe import TranscribeConfig, transcribe  # noqa: E402
from tools.make_speech import synthesize  # noqa: E402

RATIO_BAR = 0.6
RUNS = 2


def speech_file() -> tuple[Path, str]:
    text = (HERE / "speech_long.txt").read_text(encoding="utf-8")
    cache = HERE / ".cache"
    cache.mkdir(exist_ok=True)
    audio = cache / "speech_long.ogg"
    if not audio.exists():
        synthesize(text, audio)
    return audio, text


def run_relayq(audio: Path) -> tuple[float, str]:
    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        transcribe(str(audio), Path(out), TranscribeConfig(cache_dir=None))
        wall = time.perf_counter() - t0
        return wall, (Path(out) / "transcript.txt").read_text(encoding="utf-8")


def run_naive(audio: Path, model_path: str) -> tuple[float, str]:
    t0 = time.perf_counter()
    samples = decode_audio(str(audio))
    model = WhisperModel(model_path, device="cpu", compute_type="int8")
    segments, _ = model.transcribe(samples, beam_size=5)
    text = " ".join(s.text.strip() for s in segments)
    return time.perf_counter() - t0, text


def main() -> int:
    audio, known = speech_file()
    model = bundled_model_path()
    assert model is not None, "install relayq[runner]: it bundles tiny.en"
    duration = len(decode_audio(str(audio))) / 16000
    print(f"audio: {audio.name}, {duration / 60:.1f} min of espeak-ng speech; model tiny.en int8")
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}"
    )
    relayq_runs, naive_runs = [], []
    for _ in range(RUNS):
        relayq_runs.append(run_relayq(audio))
        naive_runs.append(run_naive(audio, str(model)))
    relayq_wall, relayq_text = min(relayq_runs)
    naive_wall, naive_text = min(naive_runs)
    relayq_wer, naive_wer = wer(known, relayq_text), wer(known, naive_text)
    ratio = relayq_wall / naive_wall
    print(f"relayq transcribe (batched, VAD, beam 5): {relayq_wall:6.1f} s  WER {relayq_wer:.3f}")
    print(f"naive WhisperModel.transcribe (beam 5):   {naive_wall:6.1f} s  WER {naive_wer:.3f}")
    rtf = relayq_wall / duration
    print(
        f"ratio relayq/naive: {ratio:.2f} (bar <= {RATIO_BAR}); relayq real-time factor {rtf:.3f}"
    )
    ok = ratio <= RATIO_BAR and relayq_wer <= naive_wer
    print("PASS" if ok else "FAIL", "— ratio <= 0.6 and WER no worse than naive")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
