"""A job's one card in the chat: built from the ledger row, shown, kept up to date, and
replaced by a new one when the person has deleted it."""

from __future__ import annotations

import logging

from bot.chat import Card, Chat, ChatGone, InLine, Result, UserLimit, Waiting
from bot.errors import disk_full
from bot.executors.base import JobState, Unavailable
from bot.ledger import JobRow, Ledger
from bot.policy import Decision, Policy

__all__ = ["Cards", "passing"]

log = logging.getLogger(__name__)


def passing(err: BaseException) -> bool:
    """GitHub or the chat did not answer, or the disk is full: nothing is decided about the
    job."""
    return isinstance(err, Unavailable) or disk_full(err)


class Cards:
    def __init__(self, ledger: Ledger, chat: Chat, policy: Policy, *, local: bool) -> None:
        self._ledger = ledger
        self._chat = chat
        self._policy = policy
        self._local = local

    def card(
        self, row: JobRow, state: JobState | None = None, *, decision: Decision | None = None,
        retry_in_s: float | None = None, result: Result | None = None,
        sent_on: str | None = None, held: InLine | UserLimit | None = None,
    ) -> Card:  # fmt: skip
        """The card of `row` as it stands, with what the fleet watch knows of a wait."""
        target = self._policy.targets.get(row.target or "")
        return Card(row, state, decision=decision, waiting=self._waiting(row, state),
                    retry_in_s=retry_in_s, result=result, local=self._local,
                    sent_on=sent_on, held=held,
                    machine=target.description if target else None)  # fmt: skip

    async def open(self, row: JobRow) -> JobRow:
        """The job's first card (once: a restart finds it recorded)."""
        if row.progress_message_id is not None:
            return row
        card_id = await self._chat.show(self.card(row), card_id=None)
        return self._ledger.update(row.id, progress_message_id=card_id)

    async def show(self, card: Card) -> None:
        """`card` in the job's card; a card the person deleted is replaced by a new one
        (the one kept up to date from then on)."""
        card_id = self._ledger.get(card.job.id).progress_message_id
        try:
            await self._chat.show(card, card_id=card_id)
        except ChatGone:
            log.info("job %s: its card is gone; showing a new one", card.job.id)
            card_id = await self._chat.show(card, card_id=None)
            self._ledger.update(card.job.id, progress_message_id=card_id)

    async def progress(self, card: Card) -> None:
        """A card update that an outage only postpones: the next state brings a new one."""
        try:
            await self.show(card)
        except Exception as err:
            if not passing(err):
                raise
            log.warning("job %s: progress not shown (%s)", card.job.id, err)

    def _waiting(self, row: JobRow, state: JobState | None) -> Waiting | None:
        """What a queued job waits for, when the executor says why."""
        if state is None or state.waiting_why is None or row.target not in self._policy.targets:
            return None
        target = self._policy.targets[row.target]
        seen = tuple(r for r in self._ledger.runners() if r.name in state.waiting_on)
        return Waiting(target.description, state.waiting_why, tuple(target.labels), seen,
                       state.at)  # fmt: skip
