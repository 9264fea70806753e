"""The bot's composition root: the one place that builds everything and runs it.

    settings ─► ledger, executor, policy ─► JobService (the lifecycle, bot/lifecycle)
                Telegram Application ─► Messenger ─► TelegramChat (the chat port)
                handlers (bot/telegram/handlers.py), the fleet watch (bot/health.py),
                the retention sweep (bot/lifecycle/keeping.py)

Only this module and `bot/telegram/` know Telegram; the lifecycle knows only the port.
`relayq bot` and `python -m bot` both end up in `run_bot`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from bot.chat import RunnerNotice
from bot.dispatching import build_executor, resolve_policy_path
from bot.health import watch_fleet
from bot.ledger import Ledger
from bot.lifecycle import JobService
from bot.policy import load_policy_file
from bot.settings import Settings
from bot.telegram.chat import TelegramChat
from bot.telegram.handlers import Redo, register_handlers
from bot.telegram.messenger import Messenger
from bot.telegram.polling import connect, poll, telegram_application

__all__ = ["run_bot"]

log = logging.getLogger(__name__)


async def run_bot(settings: Settings, *, stop: asyncio.Event | None = None) -> None:
    """Run until SIGTERM/SIGINT (or `stop`): connect, resume unfinished jobs, then poll."""
    app = telegram_application(settings)
    policy = load_policy_file(resolve_policy_path(settings))
    executor = build_executor(settings)
    ledger = Ledger(settings.state_dir / "ledger.sqlite3")
    messenger = Messenger(app.bot)
    chat = TelegramChat(messenger, settings.alert_user_ids)
    service = JobService(ledger=ledger, executor=executor, policy=policy, settings=settings,
                         chat=chat)  # fmt: skip
    redo = Redo()
    register_handlers(app, service, messenger, settings, redo)

    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    try:
        if not await connect(app, stop, settings.telegram_api_base):
            return
        resumed = service.resume_all()
        log.info("relayq bot started; %d job(s) resumed", resumed)

        async def runners_changed(notice: RunnerNotice) -> None:
            service.driver.queue.wake()  # a job held in relayq's queue may go now
            await chat.notify_owner(notice)

        watch = asyncio.create_task(
            watch_fleet(service.routing.fleet, ledger, policy, runners_changed,
                        settings.fleet_check_s, stop)
        )  # fmt: skip
        keep = asyncio.create_task(service.keeper.run(stop), name="relayq-retention")
        try:
            await poll(app, ledger, stop, redo)
        finally:
            stop.set()
            for task in (watch, keep):
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
    finally:
        await service.close()
        with contextlib.suppress(Exception):
            await app.shutdown()
        ledger.close()
