"""Benchmark: relayq's transcription path against a naive faster-whisper call.

    make bench            (or: .venv/bin/python bench/transcribe.py)

On the same speech file (espeak-ng, about 4 minutes, known text: bench/speech_long.txt; made
once and kept in bench/.cache/) and in one process, it times `relayq transcribe`'s code path
with the settings as configured (decode, load, batched pipeline with VAD, outputs; cache off)
and a naive call (decode, load, `WhisperModel.transcribe`, beam_size=5, no batching, same model
and compute type), best of two runs each, alternating. It prints both wall times, their ratio
and both word error rates. Bar: ratio <= 0.6 with WER no worse than naive; exit 1 on FAIL.
"""

from __future__ import annotations

import hashlib
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

from bot.commands.transcribe import build_config  # noqa: E402
from bot.settings import load_settings  # noqa: E402
from jobs.backends.local import resolve_model  # noqa: E402
from jobs.config import TranscribeConfig  # noqa: E402
from jobs.quality import wer  # noqa: E402
from jobs.transcribe import transcribe  # noqa: E402
from tools.make_speech import synthesize  # noqa: E402

RATIO_BAR = 0.6
RUNS = 2


def speech_file() -> tuple[Path, str]:
    """The long recording, made once per text (the file name carries the text's hash)."""
    text = (HERE / "speech_long.txt").read_text(encoding="utf-8")
    digest = hashlib.sha256(text.encode()).hexdigest()[:12]
    audio = HERE / ".cache" / f"speech_long-{digest}.ogg"
    if not audio.exists():
        audio.parent.mkdir(exist_ok=True)
        print(f"synthesizing {audio.name} with espeak-ng ...", flush=True)
        partial = audio.with_suffix(".partial.ogg")
        synthesize(text, partial)
        partial.replace(audio)
    return audio, text


def run_relayq(audio: Path, config: TranscribeConfig) -> tuple[float, str]:
    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        transcribe(str(audio), Path(out), config)
        wall = time.perf_counter() - t0
        return wall, (Path(out) / "transcript.txt").read_text(encoding="utf-8")


def run_naive(audio: Path, model_ref: str, compute_type: str) -> tuple[float, str]:
    t0 = time.perf_counter()
    samples = decode_audio(str(audio))
    model = WhisperModel(model_ref, device="cpu", compute_type=compute_type)
    segments, _ = model.transcribe(samples, beam_size=5)
    text = " ".join(s.text.strip() for s in segments)
    return time.perf_counter() - t0, text


def main() -> int:
    audio, known = speech_file()
    config = build_config(load_settings(), use_cache=False)
    model_ref, model_name, _ = resolve_model(config.model)
    duration = len(decode_audio(str(audio))) / 16000
    words = len(known.split())
    print(f"audio: {audio.name}, {duration / 60:.1f} min of espeak-ng speech, {words} words")
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}"
    )
    print(
        f"relayq settings: model {model_name}, {config.compute_type}, beam {config.beam_size}, "
        f"batch {config.batch_size}, cpu_threads {config.cpu_threads or 'library default'}"
    )
    relayq_runs, naive_runs = [], []
    for _ in range(RUNS):
        relayq_runs.append(run_relayq(audio, config))
        naive_runs.append(run_naive(audio, model_ref, config.compute_type))
    relayq_wall, relayq_text = min(relayq_runs)
    naive_wall, naive_text = min(naive_runs)
    relayq_wer, naive_wer = wer(known, relayq_text), wer(known, naive_text)
    ratio = relayq_wall / naive_wall
    print(f"all runs (s): relayq {[round(r[0], 1) for r in relayq_runs]}, "
          f"naive {[round(r[0], 1) for r in naive_runs]}")  # fmt: skip
    print(
        f"relayq transcribe (batched {config.batch_size}, VAD, beam {config.beam_size}): "
        f"{relayq_wall:6.1f} s  WER {relayq_wer:.3f}"
    )
    print(f"naive WhisperModel.transcribe (beam 5):     {naive_wall:6.1f} s  WER {naive_wer:.3f}")
    print(
        f"ratio relayq/naive: {ratio:.2f} (bar <= {RATIO_BAR}); "
        f"relayq real-time factor {relayq_wall / duration:.3f}"
    )
    ratio_ok, wer_ok = ratio <= RATIO_BAR, relayq_wer <= naive_wer
    ok = ratio_ok and wer_ok
    print(
        f"{'PASS' if ok else 'FAIL'}: ratio {ratio:.3f} {'<=' if ratio_ok else '>'} {RATIO_BAR}, "
        f"WER {relayq_wer:.3f} {'<=' if wer_ok else '>'} naive {naive_wer:.3f}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
