"""The job lifecycle: from an accepted message to a delivered result, driven by the ledger
so that a restart picks every job up where it was. It speaks to the person only through the
chat port (`bot/chat.py`) and imports nothing of Telegram.

    intake.py    what a person sent becomes job rows; requests about a job are answered
    queue.py     relayq's own queue: fair turns, the per-user limit, waiting for a busy runner
    driving.py   a job's state machine: dispatch, watch, requeue, outages, restarts
    delivery.py  a finished job's result, then its files, each counted
    cards.py     a job's one card: shown, kept up to date, replaced when deleted
    routing.py   where a job would run now (the live runners, the policy)
    shelf.py     the library as a person asks it: /find, /get
    forgetting.py  /forget: a job's transcript, files, cache entries and words, gone
    keeping.py   results kept RELAYQ_KEEP_DAYS days: the sweep, the state directory's size
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from bot.chat import Chat
from bot.dispatching import github_results_dir, local_jobs_dir
from bot.errors import StateFull
from bot.executors.base import Executor
from bot.ledger import Ledger
from bot.lifecycle.driving import Driver
from bot.lifecycle.forgetting import Forgetter, Forgot
from bot.lifecycle.intake import MAX_LINKS, TRANSLATE_SEQ, Answer, Intake, Upload, find_links
from bot.lifecycle.keeping import Keeper
from bot.lifecycle.routing import FLEET_WAIT_S, FleetLook, Routing
from bot.lifecycle.shelf import Search, Shelf
from bot.policy import Policy
from bot.settings import Settings
from bot.timings import Timings

log = logging.getLogger(__name__)

__all__ = [
    "FLEET_WAIT_S",
    "MAX_LINKS",
    "TRANSLATE_SEQ",
    "Answer",
    "FleetLook",
    "Forgot",
    "JobService",
    "Keeper",
    "Search",
    "Shelf",
    "Upload",
    "find_links",
]


@dataclass
class JobService:
    """The lifecycle's parts, built together over one ledger, executor, policy and chat."""

    ledger: Ledger
    executor: Executor
    policy: Policy
    settings: Settings
    chat: Chat
    routing: Routing = field(init=False)
    driver: Driver = field(init=False)
    intake: Intake = field(init=False)
    shelf: Shelf = field(init=False)
    forgetter: Forgetter = field(init=False)
    keeper: Keeper = field(init=False)

    def __post_init__(self) -> None:
        self.routing = Routing(self.executor, self.policy, Timings(self.ledger))
        self.driver = Driver(self.ledger, self.executor, self.policy, self.chat, self.routing,
                             self.settings)  # fmt: skip
        self.intake = Intake(self.ledger, self.executor, self.driver,
                             allow_private=self.settings.allow_private_urls)  # fmt: skip
        self.shelf = Shelf(self.ledger, self.chat, self.policy, owner=self.settings.owner_id,
                           results=(local_jobs_dir(self.settings),
                                    github_results_dir(self.settings)))  # fmt: skip
        self.forgetter = Forgetter(
            self.ledger, self.shelf.library, self.executor, self.policy,
            owner=self.settings.owner_id, state_dir=self.settings.state_dir,
            results=(local_jobs_dir(self.settings), github_results_dir(self.settings)),
            cache_dir=self.settings.resolved_cache_dir,
        )  # fmt: skip
        self.keeper = Keeper(self.ledger, self.settings.state_dir,
                             keep_days=self.settings.keep_days,
                             cache_dir=self.settings.resolved_cache_dir,
                             owner=self.settings.owner_id)  # fmt: skip

    def resume_all(self) -> int:
        """Take up every job not yet final; returns how many. (First, once, the library
        indexes the transcripts delivered before it; on a full disk that waits for the next
        start, and the jobs are taken up all the same.)"""
        try:
            self.shelf.backfill()
        except StateFull as err:
            log.warning("library: earlier transcripts not indexed yet (%s)", err)
        return self.driver.resume_all()

    async def close(self) -> None:
        await self.driver.close()
        await self.executor.close()
