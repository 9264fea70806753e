"""`relayq status`: fleet, queue and recent jobs."""

from __future__ import annotations

import argparse
import asyncio
import json
import time

from bot.dispatching import build_github_executor, local_jobs_dir
from bot.executors.local import read_job_states
from bot.settings import Settings


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "status",
        help="fleet, queue and recent jobs",
        description="Show the runners (GitHub) or this machine (local executor), the jobs "
        "queued or running, and the most recent jobs.",
    )
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument(
        "--limit", type=_at_least_one, default=10, help="how many recent jobs (default 10)"
    )
    parser.set_defaults(func=run)


def _at_least_one(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, not {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def run(args: argparse.Namespace, settings: Settings) -> int:
    if settings.resolved_executor == "github":
        return asyncio.run(_github_status(args, settings))
    executor = settings.resolved_executor
    jobs = read_job_states(local_jobs_dir(settings), limit=args.limit)
    active = [j for j in jobs if j.get("phase") in ("queued", "running")]
    if args.json:
        print(
            json.dumps(
                {
                    "executor": executor,
                    "fleet": [{"name": "this machine", "status": "online", "targets": "all"}],
                    "queue": active,
                    "recent": jobs,
                },
                indent=2,
            )
        )
        return 0
    print(f"executor: {executor} (every target runs on this machine)")
    print(f"queue: {len(active)} job(s) queued or running")
    if not jobs:
        print("recent jobs: none yet — try 'relayq demo'")
        return 0
    print("recent jobs:")
    for job in jobs:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(float(str(job.get("at", 0)))))
        print(
            f"  {job.get('job_id')}  {when}  {job.get('target')}  {job.get('phase')}"
            f"  {job.get('detail', '')}"
        )
    return 0


async def _github_status(args: argparse.Namespace, settings: Settings) -> int:
    executor = build_github_executor(settings)
    fleet = await executor.fleet()
    remaining, limit = await executor.rate_limit()
    runners = [
        {"name": r.name, "os": r.os, "status": "online" if r.online else "offline",
         "busy": r.busy, "labels": sorted(r.labels)}
        for r in fleet.runners
    ]  # fmt: skip
    if args.json:
        budget = {"remaining": remaining, "limit": limit}
        payload = {"executor": "github", "repo": settings.github_repo, "fleet": runners}
        print(json.dumps({**payload, "api_budget": budget}, indent=2))
        return 0
    print(f"executor: github ({settings.github_repo})")
    if not runners:
        print("runners: none registered — see docs/SETUP_RUNNERS_mac.md")
    for r in runners:
        state = "busy" if r["busy"] else r["status"]
        print(f"  {r['name']:<16} {state:<8} {', '.join(r['labels'])}")  # type: ignore[arg-type]
    print(f"GitHub API budget: {remaining} of {limit} requests left this hour")
    return 0
