"""`relayq bot`: the Telegram bot service."""

from __future__ import annotations

import argparse

from bot.settings import Settings
from jobs.errors import ConfigError


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("bot", help="the Telegram bot service (not in this version yet)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    # Honest about the gap: the bot is built on top of this core in a later version.
    raise ConfigError(
        "the Telegram bot is not part of this version yet; use 'relayq dispatch' or 'relayq demo'"
    )
