"""Benchmark: what live progress costs a job on the runner (bar: at most 2 % of its wall time).

    .venv/bin/python bench/progress.py [--runs N]

On the benchmark's long speech file (bench/transcribe.py makes it once, about 4 minutes of
espeak-ng speech) and in one process, it runs `relayq transcribe`'s code path with progress
(a Reporter writing every record worth writing as its stderr line, here to a file, with the
throttle at its most eager: RELAYQ_PROGRESS_EVERY_S=0) and without (a Reporter that does
nothing), alternating, best of N each; prints both wall times side by side, the overhead,
and what the job's reporter calls cost by themselves (the figure the wall times are too
noisy to show on a busy machine). Exit 1 when the overhead is over the bar.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench.transcribe import speech_file  # noqa: E402
from bot.commands.transcribe import build_config  # noqa: E402
from bot.settings import load_settings  # noqa: E402
from jobs.config import TranscribeConfig  # noqa: E402
from jobs.progress import ProgressRecord, Reporter, Throttle  # noqa: E402
from jobs.transcribe import transcribe  # noqa: E402

BAR = 0.02


class Silent(Reporter):
    """No progress at all: every call returns at once."""

    def update(self, phase: str, fraction: float, *, audio_done_s: float | None = None) -> None:
        return


class Counting(Reporter):
    """Progress as the runner has it, counting the calls the job makes."""

    calls = 0

    def update(self, phase: str, fraction: float, *, audio_done_s: float | None = None) -> None:
        self.calls += 1
        super().update(phase, fraction, audio_done_s=audio_done_s)


def run(audio: Path, config: TranscribeConfig, reporter: Reporter) -> float:
    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        transcribe(str(audio), Path(out), config, reporter=reporter)
        return time.perf_counter() - t0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=2)
    runs = parser.parse_args().runs
    audio, _ = speech_file()
    config = build_config(load_settings(), use_cache=False)
    with tempfile.TemporaryFile("w") as sink:

        def write(record: ProgressRecord) -> None:
            sink.write(record.line() + "\n")
            sink.flush()

        run(audio, config, Silent())  # warm: the model loaded once, the file in the page cache
        timed: dict[str, list[float]] = {"without": [], "with": []}
        records = made = 0
        for _ in range(runs):
            timed["without"].append(run(audio, config, Silent()))
            counting = Counting(write, throttle=Throttle(every_s=0))
            timed["with"].append(run(audio, config, counting))
            records, made = counting.emitted, counting.calls
    without, with_ = min(timed["without"]), min(timed["with"])
    overhead = (with_ - without) / without
    calls = 100_000
    reporter = Reporter(lambda _: None)
    t0 = time.perf_counter()
    for i in range(calls):
        reporter.update("transcribe", i / calls)
    per_call_us = (time.perf_counter() - t0) / calls * 1e6
    print(f"audio: {audio.name}; best of {runs} runs each, alternating")
    print(f"{'':24}{'without progress':>18}{'with progress':>16}")
    print(f"{'wall time (s)':24}{without:>18.2f}{with_:>16.2f}")
    direct = made * per_call_us / 1e6
    print(
        f"reporter calls in a job: {made}, records written: {records}; one call: "
        f"{per_call_us:.2f} µs, so {direct * 1000:.2f} ms a job ({direct / with_ * 100:.3f} %)"
    )
    verdict = "PASS" if overhead <= BAR else "FAIL"
    print(f"overhead: {overhead * 100:+.2f} % of the wall time (bar {BAR * 100:.0f} %): {verdict}")
    return 0 if overhead <= BAR else 1


if __name__ == "__main__":
    raise SystemExit(main())
