"""The bot killed with SIGKILL at 30 random moments with the GitHub executor, the emulator's
runners running the real workflows with act: no job lost, delivered twice or dispatched twice.

A new job every five kills: a job is through (dispatched, run, delivered) in six or seven, so
two are often under way at once and every kill finds one unfinished. One every ten kills left
a job delivered by the sixth or seventh kill and the next three or four kills with nothing to
interrupt (19 of 50)."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pytest

from tests.e2e import test_bot_restarts as restarts
from tests.e2e.test_bot_restarts import OWNER, settle
from tests.e2e.test_kill_storm_local import account, assert_whole, storm
from tests.suites import Tally

pytestmark = [pytest.mark.slow, pytest.mark.fault]
KILLS = 30
JOBS = 5
EVERY = 5  # kills between two new jobs


def test_on_github_killed_at_30_random_moments_no_job_is_dispatched_twice(
    tmp_path: Path, speech_ogg: Path, tally: Tally, cached_transcripts: Path
) -> None:
    """The same storm with the GitHub executor, the runners running the real workflows with
    act: a new job every five kills, so kills land while jobs are accepted, dispatched,
    running and delivered. Each job has exactly one run. The runners reuse the run's
    transcript of the sample (the storm is about the bot, not the model)."""
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

        def new_job_every_five(kill: int) -> None:
            if kill % EVERY == 0 and kill // EVERY < JOBS:
                tg.user_sends(OWNER, f"{base}/talk.ogg?n={kill}")

        try:
            bot.start()
            found = storm(tg, bot, state, KILLS, lambda: rng.uniform(0.0, 1.5), new_job_every_five)
            rows = settle(tg, state, jobs=JOBS, timeout=240)
        finally:
            bot.stop()
        runs = Counter(r.inputs["request_id"] for r in gh.runs())
        account(tg, rows, tally, found)
    twice = sum(n - 1 for n in runs.values())
    tally.add("jobs dispatched twice after kills (GitHub)", twice)
    assert sorted(runs) == sorted(r.id for r in rows) and twice == 0
    assert_whole(state / "ledger.sqlite3")
