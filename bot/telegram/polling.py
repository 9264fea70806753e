"""The Telegram connection: the Application, its start, and a poll loop that never loses an
update.

python-telegram-bot's own Updater confirms updates to Telegram as soon as it fetches them,
before any handler runs, so a hard kill in between would lose a message. Here the Application
runs without an Updater: the loop fetches with the offset stored in the ledger, lets the
handlers write their job rows, and only then stores the next offset.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from telegram import BotCommand
from telegram.error import InvalidToken, NetworkError, RetryAfter, TimedOut
from telegram.ext import Application, ApplicationBuilder

from bot.errors import StateFull, state_full
from bot.ledger import Ledger
from bot.settings import Settings
from bot.telegram.handlers import Redo
from jobs.errors import ConfigError

__all__ = ["ALLOWED_UPDATES", "COMMANDS", "connect", "poll", "telegram_application"]

log = logging.getLogger(__name__)

COMMANDS = [
    ("start", "what this bot does"),
    ("help", "how to use it"),
    ("status", "runners, queue and your jobs"),
    ("route", "where a job would run, and why"),
    ("pin", "run your jobs on mac, rpi4 or pool"),
    ("unpin", "let the policy choose again"),
    ("jobs", "your recent jobs"),
    ("find", "search your transcripts: /find words"),
    ("get", "a transcript again: /get <job>"),
    ("forget", "delete a transcript for good: /forget <job>"),
    ("cancel", "stop a job: /cancel <job>"),
    ("summarize", "summarize a transcript: /summarize [job]"),
    ("translate", "translate a transcript to English: /translate [job]"),
    ("lang", "your jobs' language: /lang auto or /lang de"),
    ("formats", "what transcripts come as: /formats txt,srt,vtt"),
    ("private", "keep your jobs on your machines: /private on|off"),
]
ALLOWED_UPDATES = ["message", "callback_query"]
# Telegram unreachable at start: try again after a pause doubling from the first to the
# longest, and say so in the log at most once a minute (systemd sees a running service, not
# a crash loop).
CONNECT_FIRST_S = 1.0
CONNECT_LONGEST_S = 60.0
SAY_EVERY_S = 60.0
NO_ROOM_FIRST_S = 30.0  # an update that found the disk full is fetched again after this
NO_ROOM_LONGEST_S = 300.0


def telegram_application(settings: Settings) -> Application:  # type: ignore[type-arg]
    """The PTB Application for the configured bot (not yet connected)."""
    if settings.telegram_bot_token is None:
        raise ConfigError(
            "TELEGRAM_BOT_TOKEN is not set; put the token from @BotFather in /etc/relayq/env"
        )
    if not settings.allowed_user_ids:
        raise ConfigError(
            "RELAYQ_ALLOWED_USERS is empty; add your Telegram user id so the bot answers you"
        )
    base = settings.telegram_api_base.rstrip("/")
    return (
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


async def connect(app: Application, stop: asyncio.Event, where: str) -> bool:  # type: ignore[type-arg]
    """Initialize `app` and announce the commands, for as long as Telegram takes to answer.
    A token Telegram refuses is one ConfigError without the token; False when `stop` came
    first."""
    pause, said_at = CONNECT_FIRST_S, 0.0
    while not stop.is_set():
        try:
            await app.initialize()
            await app.bot.delete_webhook()
            await app.bot.set_my_commands([BotCommand(c, d) for c, d in COMMANDS])
            return True
        except InvalidToken:
            # PTB's own message quotes the token: never let it out.
            raise ConfigError(
                "Telegram refused TELEGRAM_BOT_TOKEN; copy the bot's token from @BotFather "
                "into /etc/relayq/env and start relayq again"
            ) from None
        except (NetworkError, TimedOut, RetryAfter) as err:
            if time.monotonic() - said_at >= SAY_EVERY_S:
                said_at = time.monotonic()
                log.warning("Telegram is not answering at %s (%s); relayq keeps trying",
                            where, type(err).__name__)  # fmt: skip
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), pause)
            pause = min(CONNECT_LONGEST_S, pause * 2)
    return False


async def poll(app: Application, ledger: Ledger, stop: asyncio.Event,  # type: ignore[type-arg]
               redo: Redo | None = None) -> None:  # fmt: skip
    """Fetch updates and hand them to the handlers until `stop`; an update is confirmed only
    once its work is on disk. One whose work found the disk full (`redo`) is not confirmed:
    it and those after it are fetched again after a pause."""
    redo = redo or Redo()
    pause = NO_ROOM_FIRST_S
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
                try:
                    if update.update_id in redo.updates:
                        raise state_full(ledger.folder)
                    # Only now is the update's work on disk: confirm it with the next poll.
                    ledger.set_offset(update.update_id + 1)
                except StateFull as err:
                    log.warning("update %d kept for later: %s", update.update_id, err)
                    redo.updates.discard(update.update_id)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), pause)
                    pause = min(NO_ROOM_LONGEST_S, pause * 2)
                    break
            else:
                pause = NO_ROOM_FIRST_S
                redo.told.clear()
    finally:
        stopping.cancel()


def _seconds(value: object) -> float:
    total = getattr(value, "total_seconds", None)
    return float(total()) if callable(total) else float(str(value))
