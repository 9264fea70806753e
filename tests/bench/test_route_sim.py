"""bench/route_sim.py keeps its contract: --trace, --json's exact keys, one sentence for a bad trace."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SIM = Path(__file__).resolve().parents[2] / "bench" / "route_sim.py"
HEADER = "arrival_s,duration_s,size_mb,kind,user\n"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SIM), *args], capture_output=True, text=True,
                          timeout=120, check=False)  # fmt: skip


def test_a_tiny_trace_gives_exactly_the_contracts_keys(tmp_path: Path) -> None:
    trace = tmp_path / "tiny.csv"
    trace.write_text(HEADER + "0,3600,57.6,transcribe,1\n10,60,0.1,transcribe,2\n"
                     "20,600,0.05,summarize,1\n30,5400,86,transcribe,3\n")  # fmt: skip
    done = run("--trace", str(trace), "--json")
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout)
    assert set(figures) == {"static", "earliest_finish", "ratio_mean"}
    for policy in ("static", "earliest_finish"):
        assert set(figures[policy]) == {"mean_s", "p95_s"}
        assert 0 < figures[policy]["mean_s"] <= figures[policy]["p95_s"]
    assert figures["ratio_mean"] == pytest.approx(
        figures["earliest_finish"]["mean_s"] / figures["static"]["mean_s"], abs=0.001)  # fmt: skip


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("arrival,duration\n0,60\n", "the first line must be the header"),
        (HEADER + "0,sixty,1,transcribe,1\n", "line 2: arrival_s, duration_s and size_mb must be numbers"),
        (HEADER + "0,60,1,transcribe\n", "line 2: expected 5 fields, got 4"),
        (HEADER + "0,60,1,translate,1\n", "line 2: kind must be transcribe or summarize"),
        (HEADER + "0,-60,1,transcribe,1\n", "line 2: times and sizes must be at least 0"),
        (HEADER, "no jobs after the header"),
    ],
)  # fmt: skip
def test_a_malformed_trace_is_one_sentence_and_a_non_zero_exit(
    tmp_path: Path, text: str, says: str
) -> None:
    trace = tmp_path / "bad.csv"
    trace.write_text(text)
    done = run("--trace", str(trace), "--json")
    assert done.returncode == 2
    assert done.stdout == ""
    assert says in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr


def test_a_missing_trace_is_named(tmp_path: Path) -> None:
    done = run("--trace", str(tmp_path / "nope.csv"))
    assert done.returncode == 2 and "cannot read the trace" in done.stderr
