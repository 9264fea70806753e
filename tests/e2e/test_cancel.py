"""/cancel means cancelled, whenever it comes: here while the job is still being dispatched
(the bot fetching the upload from Telegram), when the executor does not know the job yet."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.ledger import Ledger
from tests.e2e.test_telegram_bot import OWNER, TOKEN, bot_settings, running, wait_for
from tests.emulators.telegram import BotApiEmulator
from tests.emulators.telegram.server import Fault

pytestmark = pytest.mark.slow


async def test_cancelled_while_being_dispatched_the_job_never_delivers(
    tmp_path: Path, speech_ogg: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RELAYQ_STATE_DIR", str(tmp_path / "state"))
    with BotApiEmulator(TOKEN) as tg:
        tg.faults.append(Fault("getFile", 200, delay_s=3.0))  # the upload comes slowly
        settings = bot_settings(tg, tmp_path, RELAYQ_EXECUTOR="local")
        async with running(settings):
            tg.user_uploads(OWNER, speech_ogg.read_bytes(), kind="voice", mime_type="audio/ogg")
            progress = await wait_for(
                tg,
                lambda: next(
                    (s for s in tg.to_chat(OWNER) if s.reply_markup and "→" in s.text), None
                ),
                30,
            )
            (row,) = Ledger(tmp_path / "state" / "ledger.sqlite3").all_jobs()
            assert row.state == "dispatching"
            tg.user_presses(OWNER, progress, f"cancel:{row.id}")  # type: ignore[arg-type]
            ended = await wait_for(
                tg, lambda: next((s for s in tg.to_chat(OWNER) if "cancelled" in s.text), None), 60
            )
            await asyncio.sleep(2.0)  # a transcript would arrive by now
    (row,) = Ledger(tmp_path / "state" / "ledger.sqlite3").all_jobs()
    assert row.state == "cancelled" and ended is not None
    assert not any(s.text.startswith("✅") or s.document for s in tg.to_chat(OWNER))
