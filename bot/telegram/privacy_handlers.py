"""Telegram handler for /private: on or off, stored in the person's defaults (the ledger's
prefs, as /lang and /formats are), copied by every job they send from then on."""

from __future__ import annotations

from dataclasses import replace

from telegram import Update
from telegram.ext import Application, CommandHandler, ContextTypes

from bot.lifecycle import JobService
from bot.telegram import privacy_texts
from bot.telegram.messenger import Messenger

__all__ = ["register_privacy"]

Context = ContextTypes.DEFAULT_TYPE


def register_privacy(
    app: Application,  # type: ignore[type-arg]
    service: JobService,
    messenger: Messenger,
) -> None:
    """Add /private (before the catch-all handlers: the first that matches wins)."""
    ledger = service.ledger

    async def private(update: Update, context: Context) -> None:
        assert update.effective_user is not None and update.effective_chat is not None
        args, user_id = context.args or [], update.effective_user.id
        prefs = ledger.prefs(user_id)
        chosen = privacy_texts.parse_private(args) if args else None
        if chosen is not None:
            ledger.set_prefs(user_id, replace(prefs, private=chosen))
        answer = privacy_texts.private_answer(args, chosen, prefs.private)
        await messenger.send(update.effective_chat.id, answer)

    app.add_handler(CommandHandler("private", private))
