"""Telegram handlers for the library: /find, /get, the Get button under /find's matches, and
/forget.
Thin, as the others are: parse the update, ask the shelf (bot/lifecycle/shelf.py), answer in
library_texts' words."""

from __future__ import annotations

from telegram import Message, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

from bot.lifecycle import Answer, JobService
from bot.telegram import library_texts, texts
from bot.telegram.messenger import Messenger

__all__ = ["register_library"]

Context = ContextTypes.DEFAULT_TYPE
EVERYONE = "--all"


def register_library(
    app: Application,  # type: ignore[type-arg]
    service: JobService,
    messenger: Messenger,
) -> None:
    """Add the library's handlers (before the catch-all ones: the first that matches wins)."""
    shelf, ledger = service.shelf, service.ledger

    async def find(update: Update, context: Context) -> None:
        message, user_id = _message(update), _user(update)
        # The words as typed (not context.args, which PTB splits but does not unquote).
        words = (message.text or "").partition(" ")[2].strip()
        everyone = words.split(maxsplit=1)[:1] == [EVERYONE]
        if everyone:
            words = words.removeprefix(EVERYONE).strip()
        if not any(c.isalnum() for c in words):
            await messenger.send(message.chat_id, library_texts.FIND_USAGE)
            return
        search = shelf.find(words, user_id, everyone=everyone)
        if search is Answer.NOT_OWNER:
            await messenger.send(message.chat_id, library_texts.not_owner())
            return
        assert not isinstance(search, Answer)
        text, buttons = library_texts.found_text(search)
        await messenger.send(message.chat_id, text, buttons)

    async def get(update: Update, context: Context) -> None:
        message, args = _message(update), context.args or []
        if len(args) != 1:
            await messenger.send(message.chat_id, library_texts.GET_USAGE)
            return
        user_id = _user(update)
        answer = await shelf.get(args[0], user_id, message.chat_id,
                                 ledger.prefs(user_id).formats)  # fmt: skip
        if isinstance(answer, Answer):  # sent again, the line above the files says so
            await messenger.send(message.chat_id, library_texts.get_answer(answer, args[0]))

    async def get_button(update: Update, context: Context) -> None:
        query = update.callback_query
        assert query is not None
        job_id = (query.data or "").removeprefix("get:")
        if not isinstance(query.message, Message):  # too old for Telegram to say where
            await messenger.answer(query.id, "That button is no longer in use.")
            return
        user_id = _user(update)
        answer = await shelf.get(job_id, user_id, query.message.chat_id,
                                 ledger.prefs(user_id).formats)  # fmt: skip
        said = library_texts.get_answer(answer, job_id)
        await messenger.answer(query.id, said[: texts.MAX_ANSWER])

    async def forget(update: Update, context: Context) -> None:
        message, args = _message(update), context.args or []
        if len(args) != 1:
            await messenger.send(message.chat_id, library_texts.FORGET_USAGE)
            return
        answer = await service.forgetter.forget(args[0], _user(update))
        if isinstance(answer, Answer):
            await messenger.send(message.chat_id, library_texts.forget_answer(answer, args[0]))
        else:
            await messenger.send(message.chat_id, library_texts.forgot_text(answer))

    app.add_handler(CommandHandler("find", find))
    app.add_handler(CommandHandler("get", get))
    app.add_handler(CommandHandler("forget", forget))
    app.add_handler(CallbackQueryHandler(get_button, pattern=r"^get:"))


def _message(update: Update) -> Message:
    assert update.effective_message is not None
    return update.effective_message


def _user(update: Update) -> int:
    assert update.effective_user is not None
    return update.effective_user.id
