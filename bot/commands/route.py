"""`relayq route`: print the policy's decision without dispatching."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from bot.dispatching import build_executor, resolve_policy_path
from bot.fleet import load_fleet_file
from bot.lifecycle import FleetLook
from bot.lifecycle.routing import Routing, preview
from bot.policy import JobRequest, Policy, load_policy_file
from bot.render import render_decision
from bot.settings import Settings
from jobs.errors import UsageError


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "route",
        help="show where a job would run, and why, without dispatching",
        description="Print the routing policy's decision for a job without dispatching it.",
    )
    parser.add_argument("--job", default="transcribe", help="job kind: transcribe or summarize")
    parser.add_argument("--pin", help="force this target (mac, rpi4, rpi3, pool), like /pin")
    parser.add_argument("--size-mb", type=float, help="input size in MB, if known")
    parser.add_argument("--duration-min", type=float, help="audio length in minutes, if known")
    parser.add_argument(
        "--fleet",
        type=Path,
        help="runner states: JSON in the shape of GitHub's runners API (default: the "
        "configured executor's live runners)",
    )
    parser.add_argument(
        "--private",
        action="store_true",
        help="a private job, like /private on: only targets that keep the audio on your "
        "machines (self-hosted, not backend openai or openrouter) may take it",
    )
    parser.add_argument("--json", action="store_true", help="print the decision as JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    for name in ("size_mb", "duration_min"):
        value = getattr(args, name)
        if value is not None and value < 0:
            raise UsageError(f"--{name.replace('_', '-')} must not be negative")
    policy = load_policy_file(resolve_policy_path(settings))
    job = JobRequest(kind=args.job, size_mb=args.size_mb, duration_min=args.duration_min,
                     private=args.private)  # fmt: skip
    look = (FleetLook(load_fleet_file(args.fleet), "") if args.fleet is not None
            else asyncio.run(_look(settings, policy)))  # fmt: skip
    if look.silent:
        print(f"relayq: {look.unknown}, so the runners' state is unknown; this is the "
              "policy's choice as if each were free", file=sys.stderr)  # fmt: skip
    decision = preview(policy, look, job, args.pin)
    if args.json:
        runners = "live" if look.fleet is not None else f"unknown: {look.unknown}"
        runners = "from --fleet" if args.fleet is not None else runners
        print(json.dumps({**decision.to_json(), "runners": runners}, indent=2,
                         ensure_ascii=False))  # fmt: skip
    else:
        print(render_decision(decision))
    return 0


async def _look(settings: Settings, policy: Policy) -> FleetLook:
    """The runners as the configured executor sees them now (GitHub: within 10 s)."""
    executor = build_executor(settings, quick=True)
    try:
        return await Routing(executor, policy).look()
    finally:
        await executor.close()
