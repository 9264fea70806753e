"""The chat port for Telegram: cards worded by `card_texts`, sent by the `Messenger`, and
python-telegram-bot's errors turned into the port's few outcomes (gone, refused,
unavailable), so nothing above this module ever sees a PTB exception."""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from telegram.error import BadRequest, Forbidden, NetworkError, TelegramError

from bot.chat import (
    Again,
    Card,
    ChatGone,
    ChatRefused,
    ChatUnavailable,
    NasNotice,
    RunnerNotice,
)
from bot.telegram import card_texts, library_texts, nas_texts
from bot.telegram.messenger import Messenger

__all__ = ["TelegramChat", "telegram_outcomes"]

log = logging.getLogger(__name__)
_SHOWN_KEPT = 1000  # cards whose last text is remembered (a few hundred bytes each)


class TelegramChat:
    """A job's card is one Telegram message, edited in place; its files are replies to it."""

    def __init__(self, messenger: Messenger, alert_ids: tuple[int, ...]) -> None:
        self._messenger = messenger
        self._alert_ids = alert_ids
        # What each recent card last showed: a state that words the same (a new percentage
        # that rounds to the one shown) is worth no edit.
        self._shown: OrderedDict[tuple[int, int], tuple[str, list[card_texts.Button]]] = (
            OrderedDict()
        )

    async def show(self, card: Card, *, card_id: int | None) -> int:
        text = card_texts.card_text(card)
        buttons = card_texts.card_buttons(card)
        chat_id = card.job.chat_id
        async with telegram_outcomes():
            if card_id is None:
                card_id = await self._messenger.send(chat_id, text, buttons)
            elif self._shown.get((chat_id, card_id)) == (text, buttons):
                return card_id
            else:
                await self._messenger.edit(chat_id, card_id, text, buttons)
        self._shown[(chat_id, card_id)] = (text, buttons)
        self._shown.move_to_end((chat_id, card_id))
        while len(self._shown) > _SHOWN_KEPT:
            self._shown.popitem(last=False)
        return card_id

    def attachments(self, card: Card) -> list[Path]:
        return card_texts.attachments(card)

    async def attach(
        self, card: Card, card_id: int, path: Path, sending: Callable[[bool], None]
    ) -> None:
        async with telegram_outcomes():
            await self._messenger.document(card.job.chat_id, path.name, path.read_bytes(),
                                           reply_to=card_id, sending=sending)  # fmt: skip

    async def send_again(self, again: Again) -> None:
        # Read before anything is sent: files retention removes meanwhile are FileNotFoundError
        # with nothing said yet (the shelf then sends the text instead).
        contents = [(path.name, path.read_bytes()) for path in again.files]
        async with telegram_outcomes():
            above = await self._messenger.send(again.chat_id, library_texts.again_text(again))
            for name, data in contents:
                await self._messenger.document(again.chat_id, name, data, reply_to=above)
            if again.text is not None:
                await self._messenger.document(again.chat_id, "transcript.txt",
                                               again.text.encode(), reply_to=above)  # fmt: skip

    async def fetch_upload(self, file_id: str, folder: Path) -> Path:
        async with telegram_outcomes():
            return await self._messenger.download(file_id, folder)

    async def notify_owner(self, notice: RunnerNotice | NasNotice) -> None:
        if isinstance(notice, NasNotice):
            text = nas_texts.nas_notice_text(notice)
        else:
            text = card_texts.runner_change_text(notice)
        for user_id in self._alert_ids:
            async with telegram_outcomes():
                await self._messenger.send(user_id, text)


@asynccontextmanager
async def telegram_outcomes() -> AsyncIterator[None]:
    """PTB's errors as the port's outcomes. (BadRequest is a NetworkError too, but a
    refusal; a message that is no more is its own outcome.)"""
    try:
        yield
    except BadRequest as err:
        if _gone(err):
            raise ChatGone("the message is no more") from None
        raise ChatRefused(f"Telegram refused the message ({_said(err)})") from None
    except Forbidden as err:
        raise ChatRefused(f"Telegram will not deliver to this chat ({_said(err)})") from None
    except NetworkError as err:  # TimedOut, RetryAfter past the messenger's retries, 5xx
        raise ChatUnavailable(f"Telegram is not answering ({type(err).__name__})") from None
    except TelegramError as err:
        raise ChatRefused(f"Telegram refused the message ({_said(err)})") from None


def _gone(err: BadRequest) -> bool:
    """The message is no more (the person deleted it)."""
    text = str(err).lower()
    return "not found" in text or "can't be edited" in text or "message_id_invalid" in text


def _said(err: TelegramError) -> str:
    return " ".join(str(err).split())[:120]
