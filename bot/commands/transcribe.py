"""`relayq transcribe` (not built yet)."""

from __future__ import annotations

import argparse

from bot.settings import Settings
from jobs.errors import UsageError


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("transcribe", help="(not built yet)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    raise UsageError("'relayq transcribe' is not built yet")
