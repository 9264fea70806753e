"""The owner hears once when a runner cannot copy results to its NAS.

A delivered transcription's meta.json says whether its runner copied it to the NAS
(`"nas": {"copied": false, "reason": "the NAS is full"}`, jobs/nas.py); the delivered
message says so to whoever sent the job. The owner (the chat's alerts: RELAYQ_ALERT_USERS,
by default the first of RELAYQ_ALLOWED_USERS) hears it once per runner and reason: the same
reason again is not told again until a copy on that runner succeeds; a new reason is told.
What was told is kept in the ledger (its meta table, `nas_told:<runner>`), so a restart or a
delivery shown again tells nobody twice.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3

from bot.chat import Card, Chat, NasNotice
from bot.errors import StateFull
from bot.ledger import JobRow, Ledger
from jobs.errors import RelayqError

__all__ = ["NasWatch"]

log = logging.getLogger(__name__)
TOLD = "nas_told:"  # the ledger's meta key, per runner: the reason last told to the owner


class NasWatch:
    def __init__(self, ledger: Ledger, chat: Chat) -> None:
        self._ledger = ledger
        self._chat = chat

    async def delivered(self, row: JobRow, card: Card) -> None:
        """After a transcription is delivered: tell the owner of a failed copy not yet told,
        forget what was told once a copy succeeded again."""
        result = card.result
        if result is None or not isinstance(result.meta.get("nas"), dict):
            return
        host = result.meta.get("host")
        host = host if isinstance(host, str) and host else None
        key = TOLD + (host or row.target or "?")
        told = self._ledger.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        reason = result.nas_failure
        if reason is None:
            if told is not None:
                self._write("DELETE FROM meta WHERE key = ?", (key,))
            return
        if told is not None and told[0] == reason:
            return
        machine = card.machine if card.machine and not card.local else None
        notice = NasNotice(machine=machine, host=host, local=card.local, reason=reason,
                           job_id=row.id)  # fmt: skip
        try:
            await self._chat.notify_owner(notice)
        except RelayqError as err:  # the job is delivered; the next failed copy tells it
            log.warning("nas: could not tell the owner (%s)", err)
            return
        self._write("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, reason))

    def _write(self, sql: str, values: tuple[str, ...]) -> None:
        # A full state folder: the owner may hear it once more, which is no harm.
        with contextlib.suppress(StateFull, sqlite3.Error), self._ledger.transaction():
            self._ledger.db.execute(sql, values)
