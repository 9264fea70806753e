"""The fault suite's storms: the bot killed with SIGKILL at 50 random moments while jobs are
under way, and a state folder that cannot be written. Nothing accepted is lost or doubled,
and the ledger stays whole."""

from __future__ import annotations

import os
import random
import shutil
import sqlite3
import time
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from tests.e2e import test_bot_restarts as restarts
from tests.e2e.test_bot_restarts import OWNER, deliveries, settle
from tests.suites import Tally

pytestmark = [pytest.mark.slow, pytest.mark.fault]
world = restarts.world  # the same bot process, Bot API emulator and audio server
KILLS = 50
JOBS = 5


def _polls(tg: Any) -> int:
    return sum(1 for _, method, _ in tg.calls.log if method == "getUpdates")


def test_killed_at_50_random_moments_every_job_is_delivered_exactly_once(
    world: Any, tally: Tally
) -> None:
    tg, bot, link, state = world
    rng = random.Random(20261124)  # noqa: S311 - kill times, not secrets
    bot.start()
    for n in range(JOBS):
        tg.user_sends(OWNER, f"job {n}: {link}?n={n}")
    mid_job = 0
    for _ in range(KILLS):
        # Once the bot is up (it polls Telegram), let it work a random while, then kill it.
        polls = _polls(tg)
        tg.wait_for(lambda polls=polls: _polls(tg) > polls, 60)
        time.sleep(rng.uniform(0.0, 2.5))
        bot.kill()
        mid_job += _unfinished(state) > 0
        bot.start()
    rows = settle(tg, state, jobs=JOBS, timeout=240)
    done, srts = deliveries(tg)
    tally.add("bot kills (SIGKILL at random moments)", KILLS)
    tally.add("bot kills while a job was unfinished", mid_job)
    tally.add("jobs under way across the kills", JOBS)
    tally.add("jobs lost after kills", JOBS - sum(r.state == "delivered" for r in rows))
    tally.add("jobs delivered twice after kills", max(0, done - JOBS) + max(0, srts - JOBS))
    assert len({r.id for r in rows}) == JOBS
    assert (done, srts) == (JOBS, JOBS)
    _assert_whole(state / "ledger.sqlite3")


# Run as root in a private mount namespace, the bot's state folder is made read-only, or
# replaced by a copy on a tmpfs then filled up; the real folder is untouched outside.
READ_ONLY = 'mount --bind "$S" "$S" && mount -o remount,ro,bind "$S" && exec "$@"'
FULL = (
    'cp -a "$S" "$S.copy" && mount -t tmpfs -o "size=$(($(du -sk "$S.copy" | cut -f1) + 256))k" '
    'tmpfs "$S" && cp -a "$S.copy/." "$S/" '
    '&& rm -rf "$S.copy" && { dd if=/dev/zero of="$S/filler" bs=4k 2>/dev/null; true; } '
    '&& exec "$@"'
)


@pytest.mark.parametrize(
    ("script", "says"),
    [(READ_ONLY, "it is read-only"), (FULL, "the disk is full")],
    ids=["read-only", "full"],
)
def test_a_state_folder_that_cannot_be_written_stops_the_bot_with_one_sentence(
    world: Any, tally: Tally, script: str, says: str
) -> None:
    tg, bot, link, state = world
    assert shutil.which("unshare") and os.geteuid() == 0, "needs root and unshare (util-linux)"
    bot.start()
    tg.user_sends(OWNER, link)
    settle(tg, state, jobs=1)
    bot.stop()
    before = len(bot.log_text())
    bot.start(wrapper=["unshare", "-m", "sh", "-c", script.replace("$S", str(state)), "sh"])
    assert bot.proc is not None
    code = bot.proc.wait(60)
    tally.add("faults injected: state folder read-only or full", 1)
    said = bot.log_text()[before:]
    assert code == 8, said
    assert said.strip() == (
        f"relayq: cannot write the ledger in {state} ({says}); make RELAYQ_STATE_DIR a "
        "writable folder with free space, then start relayq again"
    )
    _assert_whole(state / "ledger.sqlite3")
    bot.start()  # writable again: nothing was lost, and the bot works on
    tg.user_sends(OWNER, f"{link}?again")
    rows = settle(tg, state, jobs=2)
    assert deliveries(tg) == (2, 2) and all(r.state == "delivered" for r in rows)


def _unfinished(state: Path) -> int:
    with closing(sqlite3.connect(state / "ledger.sqlite3")) as db:
        query = "SELECT COUNT(*) FROM jobs WHERE state NOT IN ('delivered', 'failed', 'cancelled')"
        return int(db.execute(query).fetchone()[0])


def _assert_whole(ledger: Path) -> None:
    with closing(sqlite3.connect(ledger)) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
