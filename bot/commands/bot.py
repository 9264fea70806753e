"""`relayq bot` (also `python -m bot`): the Telegram bot service."""

from __future__ import annotations

import argparse
import asyncio
import logging

from bot.settings import Settings


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "bot",
        help="run the Telegram bot service (long polling)",
        description="Run the Telegram bot until SIGTERM or Ctrl-C: it takes links and files "
        "from the users in RELAYQ_ALLOWED_USERS, routes them with the policy and sends back "
        "the transcripts. Settings: TELEGRAM_BOT_TOKEN, RELAYQ_ALLOWED_USERS and the rest in "
        "jobs/env.example. Exit 8 when a setting is wrong (a token Telegram refuses).",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from bot.app import run_bot

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    # httpx logs every request URL at INFO, and a Bot API URL contains the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    asyncio.run(run_bot(settings))
    return 0
