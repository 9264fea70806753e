"""Keeping results for `RELAYQ_KEEP_DAYS` days: the retention sweep at start and every hour,
and the state directory's disk use for the owner's /status.

The sweep (bot/retention.py) reads the ledger here, on the loop, then removes folders in a
worker thread, so a sweep over thousands of folders never holds up the chat. Whatever goes
wrong in a sweep (a folder that cannot be removed, a full disk, a bug) is logged and the next
sweep comes all the same: retention never stops the bot.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from pathlib import Path

from bot.ledger import Ledger
from bot.retention import Finished, StateUse, state_use, sweep
from jobs.retention import SWEEP_EVERY_S, Swept

__all__ = ["Keeper"]

log = logging.getLogger(__name__)


class Keeper:
    def __init__(self, ledger: Ledger, state_dir: Path, *, keep_days: int,
                 cache_dir: Path | None, owner: int | None,
                 clock: Callable[[], float] = time.time) -> None:  # fmt: skip
        self._ledger = ledger
        self._state_dir = state_dir
        self.keep_days = keep_days
        self._cache_dir = cache_dir
        self._owner = owner
        self._clock = clock

    def sweep_now(self) -> Swept:
        """One sweep, here and now (tests, benchmarks)."""
        return self._logged(self._sweep(Finished.of(self._ledger)))

    async def sweep(self) -> Swept:
        """One sweep, its folders removed off the loop."""
        finished = Finished.of(self._ledger)
        return self._logged(await asyncio.to_thread(self._sweep, finished))

    async def run(self, stop: asyncio.Event, every_s: float = SWEEP_EVERY_S) -> None:
        """Sweep now, then every `every_s` seconds, until `stop`."""
        if self.keep_days <= 0:
            return
        while not stop.is_set():
            try:
                await self.sweep()
            except Exception:  # never fatal: the next sweep tries again
                log.exception("retention: the sweep failed; trying again in %.0f s", every_s)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every_s)

    async def use_for(self, user_id: int) -> StateUse | None:
        """The state directory's disk use, for the owner; None for anyone else."""
        if user_id != self._owner:
            return None
        return await asyncio.to_thread(state_use, self._state_dir, self.keep_days)

    def _sweep(self, finished: Finished) -> Swept:
        return sweep(self._state_dir, finished, keep_days=self.keep_days, now=self._clock(),
                     cache_dir=self._cache_dir)  # fmt: skip

    def _logged(self, swept: Swept) -> Swept:
        for failed in swept.failed:
            log.warning("retention: not removed: %s", failed)
        if swept.removed:
            log.info("retention: %d folder(s) older than %d days removed, %.1f MB freed",
                     swept.removed, self.keep_days, swept.freed / 1e6)  # fmt: skip
        return swept
