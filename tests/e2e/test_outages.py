"""Outages decide nothing about a job: GitHub not answering for longer than its retries, or the
progress message deleted under the bot, and the job still ends delivered, once."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.executors import github as github_module
from bot.ledger import Ledger
from bot.lifecycle import driving
from jobs.quality import wer
from tests.e2e.test_telegram_bot import (
    OWNER,
    TOKEN,
    Harness,
    bot_settings,
    running,
    wait_for,
)
from tests.emulators.telegram import BotApiEmulator
from tests.jobs.httpserver import body, serve

pytestmark = [pytest.mark.slow, pytest.mark.fault]


async def delivered(tmp_path: Path, tg: BotApiEmulator) -> None:
    """Until the one job's files have gone too (its row says delivered)."""
    ledger = Ledger(tmp_path / "state" / "ledger.sqlite3")
    try:
        await wait_for(tg, lambda: ledger.all_jobs()[0].state == "delivered", 60)
    finally:
        ledger.close()


def done_message(tg: BotApiEmulator) -> object:
    return next((s for s in tg.to_chat(OWNER) if s.text.startswith("✅")), None)


async def test_github_silent_for_longer_than_its_retries_the_job_waits_and_is_delivered_once(
    tmp_path: Path, speech_ogg: Path, speech_text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The run is polled into a wall of 502s, twice as long as the executor's retries last:
    the job is not failed but taken up again (the run found by its request_id, not sent
    again), and the user is told it waits."""
    from tests.e2e.conftest import FAST, MAC, job_env
    from tests.emulators.github import GitHubEmulator
    from tests.emulators.github.server import Fault

    monkeypatch.setattr(github_module, "Pacing", lambda: FAST)
    monkeypatch.setattr(driving, "OUTAGE_FIRST_S", 0.5)
    with (
        BotApiEmulator(TOKEN) as tg,
        GitHubEmulator(tmp_path / "gh", job_env=job_env(tmp_path)) as gh,
        serve({"/talk.ogg": body(speech_ogg.read_bytes())}) as (base, _),
    ):
        gh.add_runner("mac-mini", MAC, os="macOS")
        gh.inject(Fault("GET", r"/actions/runs/\d+$", 502, times=2 * FAST.retries))
        settings = bot_settings(tg, tmp_path, RELAYQ_EXECUTOR="github", GITHUB_TOKEN="ghp_CANARY_outage",
                                RELAYQ_GITHUB_REPO=gh.repo, RELAYQ_GITHUB_API_URL=gh.api_url)  # fmt: skip
        async with running(settings):
            tg.user_sends(OWNER, f"{base}/talk.ogg")
            done = await wait_for(tg, lambda: done_message(tg), 180)
            await delivered(tmp_path, tg)
            await asyncio.sleep(1.5)  # anything sent twice would show by now
        runs = gh.runs()
    (row,) = Ledger(tmp_path / "state" / "ledger.sqlite3").all_jobs()
    progress = next(s for s in tg.sent if s.texts[0].startswith("🎧"))
    assert any("relayq tries again in" in text for text in progress.texts)
    assert row.state == "delivered" and len(runs) == 1
    assert len([s for s in tg.to_chat(OWNER) if s.text.startswith("✅")]) == 1
    assert wer(speech_text, done.text.split("\n\n", 1)[1]) <= 0.25  # type: ignore[attr-defined]


async def test_a_deleted_progress_message_is_replaced_and_the_transcript_still_arrives(
    harness: Harness, tmp_path: Path, speech_text: str
) -> None:
    tg = harness.tg
    tg.user_sends(OWNER, f"{harness.base_url}/talk.ogg")
    first = await wait_for(
        tg, lambda: next((s for s in tg.to_chat(OWNER) if s.text.startswith("🎧")), None)
    )
    first.deleted = True  # type: ignore[attr-defined]  # the user deletes it
    done = await wait_for(tg, lambda: done_message(tg), 180)
    srt = await wait_for(tg, lambda: next((s for s in tg.to_chat(OWNER) if s.document), None))
    await delivered(tmp_path, tg)
    (row,) = Ledger(tmp_path / "state" / "ledger.sqlite3").all_jobs()
    assert row.state == "delivered" and row.progress_message_id == done.message_id  # type: ignore[attr-defined]
    assert done.message_id != first.message_id  # type: ignore[attr-defined]
    assert srt.reply_to == done.message_id  # type: ignore[attr-defined]
    assert wer(speech_text, done.text.split("\n\n", 1)[1]) <= 0.25  # type: ignore[attr-defined]
