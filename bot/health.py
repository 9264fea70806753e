"""The fleet watch: notices runners going offline and coming back, and tells the owner
(through the chat port: `notify` takes a `RunnerNotice`).

What it sees is kept in the ledger (runner, online, since), so "offline since 14:02" in a
waiting job's progress message and in /status survives a restart of the bot.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

from bot.chat import RunnerNotice
from bot.fleet import Fleet
from bot.ledger import Ledger
from bot.policy import Policy

__all__ = ["check_fleet", "machine_of", "watch_fleet"]

log = logging.getLogger(__name__)
Notify = Callable[[RunnerNotice], Awaitable[None]]


async def check_fleet(fleet: Fleet, ledger: Ledger, policy: Policy, notify: Notify) -> int:
    """Record one look at the fleet; tell `notify` of each change. Returns how many changed."""
    before = {r.name: r for r in ledger.runners()}
    changes = ledger.observe_runners({r.name: r.online for r in fleet.runners}, time.time())
    labels = {r.name: r.labels for r in fleet.runners}
    for change in changes:
        previous = before[change.name]
        machine = machine_of(labels.get(change.name, frozenset()), policy)
        await notify(RunnerNotice(change, machine, previous.since if previous.exact else None))
    return len(changes)


def machine_of(labels: frozenset[str], policy: Policy) -> str | None:
    """The machine a runner is ("Mac mini"): the description of the target its labels fit
    best (it has all the target's labels, and the most of those it registers with)."""
    best, overlap = None, 0
    for target in policy.targets.values():
        wanted = {label.lower() for label in target.labels}
        registered = {label.lower() for label in target.runner_labels} | wanted
        fit = len(registered & labels)
        if wanted <= labels and fit > overlap:
            best, overlap = target.description, fit
    return best


async def watch_fleet(
    look: Callable[[], Awaitable[Fleet | None]],
    ledger: Ledger,
    policy: Policy,
    notify: Notify,
    every_s: float,
    stop: asyncio.Event,
) -> None:
    """Look at the fleet every `every_s` seconds until `stop`; a failed look is tried again."""
    while not stop.is_set():
        try:
            fleet = await look()
            if fleet is None:
                return  # the local executor: no runners to watch
            await check_fleet(fleet, ledger, policy, notify)
        except asyncio.CancelledError:
            raise
        except Exception as err:  # GitHub down or rate-limited: the next look will tell
            log.warning("fleet check failed: %s", err)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every_s)
