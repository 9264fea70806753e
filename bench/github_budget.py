"""Benchmark: how much of GitHub's API budget a job costs, and how fast results come home.

    make bench            (or: .venv/bin/python bench/github_budget.py)

Against the GitHub emulator (tests/emulators/github) with the real PyGithub executor. Runs are
synthetic (no act, no model): each "10-minute" run is scaled down by SCALE, and the executor's
polling cadence is scaled by the same factor, so the count of requests is the one a real
10-minute run would cost. Counted requests are those GitHub counts against the hourly limit
(a 304 to a conditional request is free). Bars: one job ≤ 20 counted requests; 50 concurrent
jobs ≤ 1,000; run completed → result files on disk ≤ 5 s median (measured unscaled).
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.executors.base import JobSpec, Phase
from bot.executors.github import GitHubActionsExecutor, Pacing
from tests.emulators.github import GitHubEmulator

SCALE = 30.0  # 10 minutes → 20 seconds
RUN_S = 600.0
TOKEN = "ghp_emulator_only"  # noqa: S105  (a fake token the emulator accepts)
MAC = ["self-hosted", "macOS", "macmini", "audio", "ffmpeg", "heavy"]


def scaled(p: Pacing) -> Pacing:
    return replace(p, first_poll_s=p.first_poll_s / SCALE, max_poll_s=p.max_poll_s / SCALE,
                   max_poll_running_s=p.max_poll_running_s / SCALE,
                   runners_every_s=p.runners_every_s / SCALE)  # fmt: skip


async def run_jobs(gh: GitHubEmulator, tmp: Path, count: int, pacing: Pacing) -> list[float]:
    ex = GitHubActionsExecutor(token=TOKEN, repo=gh.repo, api_url=gh.api_url,
                               work_dir=tmp / "results", pacing=pacing)  # fmt: skip
    ids = [f"bench-{n}" for n in range(count)]
    latencies: list[float] = []

    async def one(job_id: str) -> None:
        await ex.submit(JobSpec(job_id, "transcribe", "https://example.org/a.mp3", "mac",
                                "transcribe_mac.yml", ("self-hosted", "macmini")))  # fmt: skip
        async for state in ex.watch(job_id):
            if state.phase.terminal:
                assert state.phase is Phase.SUCCEEDED, state.detail
                run = next(r for r in gh.runs() if r.inputs["request_id"] == job_id)
                assert run.finished_mono is not None
                latencies.append(time.monotonic() - run.finished_mono)

    await ex.fleet()  # routing looks at the runners once per dispatch
    await asyncio.gather(*(one(j) for j in ids))
    return latencies


def counted(gh: GitHubEmulator) -> int:
    return sum(1 for h in gh.hits if h.counted)


def main() -> int:
    default = Pacing()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        with GitHubEmulator(tmp / "a", synthetic_run_s=RUN_S / SCALE) as gh:
            gh.add_runner("mac-mini", MAC)
            asyncio.run(run_jobs(gh, tmp / "a", 1, scaled(default)))
            one_job = counted(gh)
        with GitHubEmulator(tmp / "b", synthetic_run_s=RUN_S / SCALE, groups=False) as gh:
            for n in range(50):
                gh.add_runner(f"mac-{n}", MAC)
            asyncio.run(run_jobs(gh, tmp / "b", 50, scaled(default)))
            fifty = counted(gh)
        with GitHubEmulator(tmp / "c", synthetic_run_s=20.0, groups=False) as gh:
            for n in range(5):
                gh.add_runner(f"mac-{n}", MAC)
            latencies = asyncio.run(run_jobs(gh, tmp / "c", 5, default))
    median = statistics.median(latencies)
    print(f"one 10-minute job: {one_job} counted GitHub requests (bar <= 20)")
    print(f"50 concurrent 10-minute jobs: {fifty} counted requests (bar <= 1000)")
    print(f"run completed -> results on disk: median {median:.2f} s over {len(latencies)} jobs "
          f"at the default cadence (bar <= 5 s)")  # fmt: skip
    ok = one_job <= 20 and fifty <= 1000 and median <= 5
    print("PASS" if ok else "FAIL", "— API budget and result latency")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
