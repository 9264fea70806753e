"""Benchmark: how much of GitHub's API budget a job costs, and how fast results come home.

    make bench            (or: .venv/bin/python bench/github_budget.py)

Against the GitHub emulator (tests/emulators/github) with the real PyGithub executor. Runs are
synthetic (no act, no model): each "10-minute" run is scaled down by SCALE, and the executor's
polling cadence is scaled by the same factor, so the count of requests is the one a real
10-minute run would cost. Counted requests are those GitHub counts against the bot's hourly
limit (a 304 to a conditional request is free, and counted apart). Progress is on: each run
writes its progress into its check run all the way through, as the runner's writer does (its
throttle, one write per 5 % or 15 s, scaled), and the bot reads it while the run is in
progress; those writes use the job's own GITHUB_TOKEN, not the bot's budget, and are counted
apart too. Bars: one job ≤ 25 counted requests; 50 concurrent jobs ≤ 1,000; run completed →
result files on disk ≤ 5 s median (measured unscaled).
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, replace
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
                   runners_every_s=p.runners_every_s / SCALE,
                   progress_every_s=p.progress_every_s / SCALE,
                   progress_reads_per_hour=p.progress_reads_per_hour * SCALE)  # fmt: skip


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


@dataclass(frozen=True)
class Cost:
    counted: int  # the bot's requests against its hourly limit
    free: int  # the bot's 304s
    progress_reads: int  # of the counted: reads of a check run that found new progress
    job_writes: int  # the jobs' check-run writes (their own GITHUB_TOKEN's limit)


def cost(gh: GitHubEmulator) -> Cost:
    bot = [h for h in gh.hits if TOKEN in (h.authorization or "")]
    return Cost(counted=sum(1 for h in bot if h.counted),
                free=sum(1 for h in bot if h.status == 304),
                progress_reads=sum(1 for h in bot if h.counted and "/check-runs/" in h.path),
                job_writes=len(gh.check_run_hits("PATCH")))  # fmt: skip


def say(what: str, spent: Cost, bar: int) -> None:
    print(f"{what}: {spent.counted} counted GitHub requests (bar <= {bar}), "
          f"{spent.progress_reads} of them progress reads; {spent.free} free 304s apart; "
          f"{spent.job_writes} check-run writes by the jobs (their own GITHUB_TOKEN)")  # fmt: skip


def main() -> int:
    default = Pacing()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        progress = {"synthetic_run_s": RUN_S / SCALE, "synthetic_progress_every_s": 15 / SCALE}
        with GitHubEmulator(tmp / "a", **progress) as gh:  # type: ignore[arg-type]
            gh.add_runner("mac-mini", MAC)
            asyncio.run(run_jobs(gh, tmp / "a", 1, scaled(default)))
            one_job = cost(gh)
        with GitHubEmulator(tmp / "b", groups=False, **progress) as gh:  # type: ignore[arg-type]
            for n in range(50):
                gh.add_runner(f"mac-{n}", MAC)
            asyncio.run(run_jobs(gh, tmp / "b", 50, scaled(default)))
            fifty = cost(gh)
        with GitHubEmulator(tmp / "c", synthetic_run_s=20.0, groups=False) as gh:
            for n in range(5):
                gh.add_runner(f"mac-{n}", MAC)
            latencies = asyncio.run(run_jobs(gh, tmp / "c", 5, default))
    median = statistics.median(latencies)
    say("one 10-minute job with progress", one_job, 25)
    say("50 concurrent 10-minute jobs with progress (within the hour)", fifty, 1000)
    print(f"run completed -> results on disk: median {median:.2f} s over {len(latencies)} jobs "
          f"at the default cadence (bar <= 5 s)")  # fmt: skip
    ok = one_job.counted <= 25 and fifty.counted <= 1000 and median <= 5
    print("PASS" if ok else "FAIL", "— API budget and result latency")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
