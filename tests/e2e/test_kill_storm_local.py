"""The bot killed with SIGKILL at 20 random moments while five jobs are under way (local
executor): nothing accepted is lost or delivered twice, and the ledger stays whole.

Twenty, not fifty: a kill comes every two seconds or so, and a local job needs longer than
that between two kills to finish (the restarted bot stops the job its predecessor left and
runs it again, D22), so from the seventh kill on every kill found the same thing, the first
job running and the others waiting; fifty kills tried that moment 43 times. Kills while a
job is being delivered are the GitHub storm's (its runs go on while the bot is down) and
test_bot_restarts.py's."""

from __future__ import annotations

import random
import sqlite3
import time
from collections import Counter
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from tests.e2e import test_bot_restarts as restarts
from tests.e2e.test_bot_restarts import OWNER, deliveries, settle, subtitles
from tests.suites import Tally

pytestmark = [pytest.mark.slow, pytest.mark.fault]
world = restarts.world  # the same bot process, Bot API emulator and audio server
KILLS = 20
JOBS = 5


def poll_count(tg: Any) -> int:
    return sum(1 for _, method, _ in tg.calls.log if method == "getUpdates")


def test_killed_at_20_random_moments_every_job_is_delivered_exactly_once(
    world: Any, tally: Tally
) -> None:
    tg, bot, link, state = world
    rng = random.Random(20261124)  # noqa: S311 - kill times, not secrets
    bot.start()
    for n in range(JOBS):
        tg.user_sends(OWNER, f"job {n}: {link}?n={n}")
    found = storm(tg, bot, state, KILLS, lambda: rng.uniform(0.0, 2.0))
    rows = settle(tg, state, jobs=JOBS, timeout=240)
    account(tg, rows, tally, found)
    assert_whole(state / "ledger.sqlite3")


def storm(
    tg: Any, bot: Any, state: Path, kills: int, pause: Callable[[], float],
    before: Callable[[int], None] = lambda kill: None,
) -> Counter[str]:  # fmt: skip
    """`kills` times: once the bot is up (it polls Telegram), let it work for `pause()`
    seconds, kill it with SIGKILL, start it again. Returns what the kills found: how many
    found a job unfinished ("unfinished"), how many one being delivered ("delivering")."""
    found: Counter[str] = Counter()
    for kill in range(kills):
        before(kill)
        polls = poll_count(tg)
        tg.wait_for(lambda polls=polls: poll_count(tg) > polls, 60)
        time.sleep(pause())
        bot.kill()
        states = unfinished(state)
        found.update(kills=1, unfinished=int(bool(states)), delivering=int("delivering" in states))
        bot.start()
    return found


def account(tg: Any, rows: list[Any], tally: Tally, found: Counter[str]) -> None:
    """Add a storm's figures, and hold it to the promise: every job's text delivered exactly
    once, no file sent twice. A subtitle file may be lost only to a kill inside its own send
    request (counted as on its way, D14): that is counted and printed, not hidden."""
    done, _ = deliveries(tg)
    files = subtitles(tg, rows)
    tally.add("bot kills (SIGKILL at random moments)", found["kills"])
    tally.add("bot kills while a job was unfinished", found["unfinished"])
    tally.add("bot kills while a job was being delivered", found["delivering"])
    tally.add("jobs under way across the kills", len(rows))
    tally.add("jobs lost after kills", len(rows) - sum(r.state == "delivered" for r in rows))
    tally.add("jobs delivered twice after kills",
              max(0, done - len(rows)) + sum(max(0, n - 1) for n in files.values()))  # fmt: skip
    tally.add(
        "subtitle files lost to a kill inside their send", sum(n == 0 for n in files.values())
    )
    assert all(r.state == "delivered" for r in rows)
    assert done == len(rows) and max(files.values()) == 1
    assert all(r.files_sent == 1 for r in rows if files[r.id] == 0)  # on its way when killed


def unfinished(state: Path) -> list[str]:
    """The states of the jobs not yet delivered, failed or cancelled."""
    if not (state / "ledger.sqlite3").exists():
        return []
    with closing(sqlite3.connect(state / "ledger.sqlite3")) as db:
        query = "SELECT state FROM jobs WHERE state NOT IN ('delivered', 'failed', 'cancelled')"
        return [str(row[0]) for row in db.execute(query)]


def assert_whole(ledger: Path) -> None:
    with closing(sqlite3.connect(ledger)) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
