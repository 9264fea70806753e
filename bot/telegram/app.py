"""The Telegram bot: one function wires it, a poll loop that never loses an update runs it.

python-telegram-bot's own Updater confirms updates to Telegram as soon as it fetches them,
before any handler runs, so a hard kill in between would lose a message. Here the Application
runs without an Updater: the loop fetches with the offset stored in the ledger, lets the
handlers write their job rows, and only then stores the next offset.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable

from telegram import BotCommand
from telegram.error import NetworkError, RetryAfter, TimedOut
from telegram.ext import Application, ApplicationBuilder

from bot.dispatching import build_executor, resolve_policy_path
from bot.health import watch_fleet
from bot.ledger import Ledger
from bot.policy import load_policy_file
from bot.service import JobService
from bot.settings import Settings
from bot.telegram.handlers import register_handlers
from bot.telegram.messenger import Messenger
from jobs.errors import ConfigError

__all__ = ["build_application", "run_bot"]

log = logging.getLogger(__name__)

COMMANDS = [
    ("start", "what this bot does"),
    ("help", "how to use it"),
    ("status", "runners, queue and your jobs"),
    ("route", "where a job would run, and why"),
    ("pin", "run your jobs on mac, rpi4 or pool"),
    ("unpin", "let the policy choose again"),
    ("jobs", "your recent jobs"),
    ("cancel", "stop a job: /cancel <job>"),
    ("summarize", "summarize a transcript: /summarize [job]"),
]
ALLOWED_UPDATES = ["message", "callback_query"]


def build_application(settings: Settings) -> tuple[Application, JobService]:  # type: ignore[type-arg]
    if settings.telegram_bot_token is None:
        raise ConfigError(
            "TELEGRAM_BOT_TOKEN is not set; put the token from @BotFather in /etc/relayq/env"
        )
    if not settings.allowed_user_ids:
        raise ConfigError(
            "RELAYQ_ALLOWED_USERS is empty; add your Telegram user id so the bot answers you"
        )
    base = settings.telegram_api_base.rstrip("/")
    app = (
        ApplicationBuilder()
        .token(settings.telegram_bot_token.get_secret_value())
        .base_url(f"{base}/bot")
        .base_file_url(f"{base}/file/bot")
        # A send that times out may still have arrived, and is sent again (a second copy):
        # PTB's 5 s to answer is short for a file from a small VM, so give Telegram longer.
        .read_timeout(30)
        .write_timeout(30)
        .media_write_timeout(60)
        .updater(None)
        .build()
    )
    ledger = Ledger(settings.state_dir / "ledger.sqlite3")
    service = JobService(
        ledger=ledger,
        executor=build_executor(settings),
        policy=load_policy_file(resolve_policy_path(settings)),
        settings=settings,
        messenger=Messenger(app.bot),
    )
    register_handlers(app, service, settings)
    return app, service


async def run_bot(settings: Settings, *, stop: asyncio.Event | None = None) -> None:
    """Run until SIGTERM/SIGINT (or `stop`): resume unfinished jobs, then poll."""
    app, service = build_application(settings)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    async with app:
        await app.bot.delete_webhook()
        await app.bot.set_my_commands([BotCommand(c, d) for c, d in COMMANDS])
        resumed = service.resume_all()
        log.info("relayq bot started; %d job(s) resumed", resumed)
        watch = asyncio.create_task(
            watch_fleet(service.fleet, service.ledger, service.policy, _alerts(service, settings),
                        settings.fleet_check_s, stop)
        )  # fmt: skip
        try:
            await _poll(app, service.ledger, stop)
        finally:
            stop.set()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await watch
            await service.close()
            service.ledger.close()


async def _poll(app: Application, ledger: Ledger, stop: asyncio.Event) -> None:  # type: ignore[type-arg]
    stopping = asyncio.create_task(stop.wait())
    try:
        while not stop.is_set():
            fetch = asyncio.create_task(
                app.bot.get_updates(
                    offset=ledger.offset() or None, timeout=20, allowed_updates=ALLOWED_UPDATES
                )
            )
            await asyncio.wait({fetch, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if not fetch.done():  # stopping: nothing fetched is lost, the offset was not moved
                fetch.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await fetch
                return
            try:
                updates = fetch.result()
            except RetryAfter as err:
                await asyncio.sleep(_seconds(err.retry_after))
                continue
            except (TimedOut, NetworkError):
                await asyncio.sleep(1.0)
                continue
            for update in updates:
                await app.process_update(update)
                # Only now is the update's work on disk: confirm it with the next poll.
                ledger.set_offset(update.update_id + 1)
    finally:
        stopping.cancel()


def _alerts(service: JobService, settings: Settings) -> Callable[[str], Awaitable[None]]:
    async def notify(text: str) -> None:
        for user_id in settings.alert_user_ids:
            await service.messenger.send(user_id, text)

    return notify


def _seconds(value: object) -> float:
    total = getattr(value, "total_seconds", None)
    return float(total()) if callable(total) else float(str(value))
