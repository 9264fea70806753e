"""Delivery: a finished job's result becomes its card, then its files follow one by one.

    dispatched ─► delivering (the text is in the chat) ─► delivered (every file has gone)

Showing the result twice is harmless (it replaces the card), so a restart mid-delivery never
shows it twice. Each file is counted in the ledger just before it goes, and un-counted when
the chat refused it without taking it, so a crash can lose at most the file then in flight,
and never sends one twice (D14).

A delivered transcription's timings (its meta.json) become a speed sample (bot/timings.py) in
the same transaction as the move to `delivering`, keyed by the job, so it is counted once;
and a delivered transcript goes into the library (bot/library.py) in that same transaction,
so it is indexed exactly once, whenever the bot is killed. A copy its runner could not make
on its NAS is told to the owner once (bot/lifecycle/nas.py).
"""

from __future__ import annotations

import time
from functools import partial

from bot.chat import Card, Chat, Result
from bot.ledger import JobRow, Ledger
from bot.library import Library, title_of
from bot.lifecycle.cards import Cards
from bot.lifecycle.nas import NasWatch
from bot.speed import Sample, sample_from_meta
from bot.timings import Timings

__all__ = ["Delivery"]


class Delivery:
    def __init__(self, ledger: Ledger, chat: Chat, cards: Cards, timings: Timings) -> None:
        self._ledger = ledger
        self._timings = timings
        self._library = Library(ledger)
        self._chat = chat
        self._cards = cards
        self._nas = NasWatch(ledger, chat)

    async def deliver(self, row: JobRow, result: Result) -> None:
        card = self._cards.card(row, result=result)
        await self._cards.show(card)
        # The text is there (its Summarize button works at once); the files follow.
        sample = _sample(row, result)
        with self._ledger.transaction():
            row = self._ledger.update(row.id, state="delivering", run_url=result.run_url,
                                      no_speech=int(result.no_speech), heard=result.heard,
                                      detail="delivering the files")  # fmt: skip
            if sample is not None:
                self._timings.record(row.id, sample)
            if row.kind == "transcribe":
                self._shelve(row, card)
        card_id = row.progress_message_id
        assert card_id is not None
        files = self._chat.attachments(card)
        for n, path in enumerate(files[row.files_sent :], start=row.files_sent):
            await self._chat.attach(card, card_id, path, partial(self._sending, row.id, n))
        if row.kind == "transcribe":
            await self._nas.delivered(row, card)  # a copy the runner could not make: once
        self._ledger.update(row.id, state="delivered", detail="delivered")

    def _shelve(self, row: JobRow, card: Card) -> None:
        result = card.result
        assert result is not None
        host = result.meta.get("host")
        runner = card.machine if card.machine and not card.local else host
        self._library.shelve(row, text=result.text, title=title_of(row, result.meta),
                             language=result.heard or row.language,
                             runner=runner if isinstance(runner, str) else None,
                             duration_s=result.duration_s, folder=result.folder)  # fmt: skip

    def _sending(self, job_id: str, before: int, going: bool) -> None:
        """Count the file after the first `before` as sent while it may be on its way."""
        self._ledger.update(job_id, files_sent=before + 1 if going else before)


def _sample(row: JobRow, result: Result) -> Sample | None:
    """A transcription's timings; none for a summary, a cached result or an unknown target."""
    if row.kind != "transcribe" or row.target is None:
        return None
    return sample_from_meta(result.meta, target=row.target, runner=None, at=time.time())
