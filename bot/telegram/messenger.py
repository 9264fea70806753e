"""Sending to Telegram within its flood limits: one message per second per chat, 429s obeyed."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    ReplyParameters,
)
from telegram.error import BadRequest, NetworkError, RetryAfter, TimedOut

from bot.telegram.card_texts import Button

__all__ = ["Button", "Messenger"]

log = logging.getLogger(__name__)
T = TypeVar("T")
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


class Messenger:
    """The only sender: every call for a chat waits its turn and at least `gap_s` after the last."""

    def __init__(self, bot: Bot, *, gap_s: float = 1.0, attempts: int = 8) -> None:
        self._bot = bot
        self._gap_s = gap_s
        self._attempts = attempts
        self._locks: dict[int, asyncio.Lock] = {}
        self._last: dict[int, float] = {}
        self._latest_edit: dict[tuple[int, int], int] = {}
        self._edits = 0

    async def send(self, chat_id: int, text: str, buttons: list[Button] | None = None) -> int:
        markup = _markup(buttons)
        message = await self._paced(
            chat_id,
            lambda: self._bot.send_message(
                chat_id, text, reply_markup=markup, link_preview_options=NO_PREVIEW
            ),
        )
        assert message is not None  # never stale: only edits are ever skipped
        return message.message_id

    async def edit(
        self, chat_id: int, message_id: int, text: str, buttons: list[Button] | None = None
    ) -> None:
        # Only the newest text of a message matters: an edit still waiting for its turn when a
        # newer one arrives is dropped, so a busy chat is not flooded with stale progress.
        self._edits += 1
        ticket = self._edits
        key = (chat_id, message_id)
        self._latest_edit[key] = ticket

        async def call() -> None:
            try:
                await self._bot.edit_message_text(
                    text,
                    chat_id=chat_id,
                    message_id=message_id,
                    reply_markup=_markup(buttons),
                    link_preview_options=NO_PREVIEW,
                )
            except BadRequest as err:
                if "not modified" not in str(err).lower():  # the same text again: already there
                    raise

        await self._paced(chat_id, call, stale=lambda: self._latest_edit.get(key) != ticket)

    async def document(
        self, chat_id: int, name: str, data: bytes, caption: str = "",
        *, reply_to: int | None = None, sending: Callable[[bool], object] = lambda _: None,
    ) -> int:  # fmt: skip
        """Send a file, as a reply to message `reply_to` if given. `sending(True)` runs just
        before each attempt, `sending(False)` after one Telegram refused (429: it did not take
        the file): a caller that records these can tell, after a crash, whether the file may
        have reached the chat."""
        answering = (
            None
            if reply_to is None
            else ReplyParameters(message_id=reply_to, allow_sending_without_reply=True)
        )
        message = await self._paced(
            chat_id,
            lambda: self._bot.send_document(
                chat_id,
                document=data,
                filename=name,
                caption=caption or None,
                reply_parameters=answering,
            ),
            sending=sending,
        )
        assert message is not None  # never stale: only edits are ever skipped
        return message.message_id

    async def download(self, file_id: str, folder: Path) -> Path:
        """An uploaded file, through getFile, into `folder` under Telegram's own file name
        (`voice/file_12.oga` → `file_12.oga`). The file URL, which holds the token, stays here."""
        telegram_file = await self._retrying(lambda: self._bot.get_file(file_id))
        name = re.sub(r"[^\w.-]", "_", (telegram_file.file_path or "").rsplit("/", 1)[-1])
        dest = folder / (name.lstrip(".") or "upload")
        folder.mkdir(parents=True, exist_ok=True)
        await telegram_file.download_to_drive(dest)
        return dest

    async def answer(self, query_id: str, text: str) -> None:
        with contextlib.suppress(BadRequest):  # a query older than Telegram's window: nothing to do
            await self._retrying(lambda: self._bot.answer_callback_query(query_id, text=text))

    async def _paced(
        self,
        chat_id: int,
        call: Callable[[], Awaitable[T]],
        stale: Callable[[], bool] = lambda: False,
        sending: Callable[[bool], object] = lambda _: None,
    ) -> T | None:
        lock = self._locks.setdefault(chat_id, asyncio.Lock())
        async with lock:
            if stale():
                return None
            wait = self._last.get(chat_id, 0.0) + self._gap_s - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            try:
                return await self._retrying(call, sending)
            finally:
                self._last[chat_id] = time.monotonic()

    async def _retrying(
        self, call: Callable[[], Awaitable[T]], sending: Callable[[bool], object] = lambda _: None
    ) -> T:
        for attempt in range(self._attempts):
            try:
                sending(True)
                return await call()
            except RetryAfter as err:
                sending(False)
                delay = err.retry_after
                seconds = delay.total_seconds() if hasattr(delay, "total_seconds") else float(delay)
                log.warning("telegram asked to wait %.0f s", seconds)
                await asyncio.sleep(seconds)
            except (TimedOut, NetworkError) as err:
                if isinstance(err, BadRequest):
                    raise
                await asyncio.sleep(min(30.0, 0.5 * 2**attempt))
        sending(True)
        return await call()


def _markup(buttons: list[Button] | None) -> InlineKeyboardMarkup | None:
    if not buttons:
        return None
    keys = [
        InlineKeyboardButton(label, url=target)
        if target.startswith("http")
        else InlineKeyboardButton(label, callback_data=target)
        for label, target in buttons
    ]
    # Two to a row: three in one ("Summarize", "Translate to English", "Open run") are cut
    # short on a phone.
    return InlineKeyboardMarkup([keys[i : i + 2] for i in range(0, len(keys), 2)])
