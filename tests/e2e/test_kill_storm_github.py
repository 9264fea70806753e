"""The bot killed with SIGKILL at 50 random moments with the GitHub executor, the emulator's
runners running the real workflows with act: no job lost, delivered twice or dispatched twice."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pytest

from tests.e2e import test_bot_restarts as restarts
from tests.e2e.test_bot_restarts import OWNER, settle
from tests.e2e.test_kill_storm_local import JOBS, KILLS, account, assert_whole, storm
from tests.suites import Tally

pytestmark = [pytest.mark.slow, pytest.mark.fault]


def test_on_github_killed_at_50_random_moments_no_job_is_dispatched_twice(
    tmp_path: Path, speech_ogg: Path, tally: Tally
) -> None:
    """The same storm with the GitHub executor, the runners running the real workflows with
    act: a new job every ten kills, so kills land while jobs are accepted, dispatched,
    running and delivered. Each job has exactly one run."""
    from tests.e2e.conftest import MAC, job_env
    from tests.emulators.github import GitHubEmulator
    from tests.emulators.telegram import BotApiEmulator
    from tests.jobs.httpserver import body, serve

    rng = random.Random(20261201)  # noqa: S311 - kill times, not secrets
    state = tmp_path / "state"
    with (
        BotApiEmulator(restarts.TOKEN) as tg,
        serve({"/talk.ogg": body(speech_ogg.read_bytes())}) as (base, _),
        GitHubEmulator(tmp_path / "gh", job_env=job_env(tmp_path)) as gh,
    ):
        gh.add_runner("mac-mini", MAC, os="macOS")
        github = {"RELAYQ_EXECUTOR": "github", "GITHUB_TOKEN": "ghp_CANARY_storm",
                  "RELAYQ_GITHUB_REPO": gh.repo, "RELAYQ_GITHUB_API_URL": gh.api_url}  # fmt: skip
        env = restarts.bot_env(tg, state, tmp_path, **github)
        bot = restarts.BotProcess(env, tmp_path / "bot.log")

        def new_job_every_ten(kill: int) -> None:
            if kill % (KILLS // JOBS) == 0:
                tg.user_sends(OWNER, f"{base}/talk.ogg?n={kill}")

        try:
            bot.start()
            mid_job = storm(tg, bot, state, lambda: rng.uniform(0.0, 1.5), new_job_every_ten)
            rows = settle(tg, state, jobs=JOBS, timeout=240)
        finally:
            bot.stop()
        runs = Counter(r.inputs["request_id"] for r in gh.runs())
        account(tg, rows, tally, mid_job)
    twice = sum(n - 1 for n in runs.values())
    tally.add("jobs dispatched twice after kills (GitHub)", twice)
    assert sorted(runs) == sorted(r.id for r in rows) and twice == 0
    assert_whole(state / "ledger.sqlite3")
