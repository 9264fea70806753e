"""`relayq status`: fleet, queue and recent jobs."""

from __future__ import annotations

import argparse
import json
import time

from bot.dispatching import local_jobs_dir
from bot.executors.local import read_job_states
from bot.settings import Settings


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("status", help="fleet, queue and recent jobs")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--limit", type=int, default=10, help="how many recent jobs (default 10)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
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
