"""The bot's disk fills up under it: a message that cannot be recorded is kept (not
confirmed to Telegram), the person hears why once, and the job runs and is delivered once
there is room. Real PTB and the Bot API emulator; the state folder on a real 8 MB tmpfs."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.ledger import Ledger
from bot.telegram import polling
from tests.bot.test_lifecycle_disk import fill, small_disk
from tests.e2e.test_telegram_bot import OWNER, TOKEN, bot_settings, running, wait_for
from tests.emulators.telegram import BotApiEmulator
from tests.jobs.httpserver import body, serve
from tests.suites import Tally

pytestmark = [pytest.mark.slow, pytest.mark.fault]


async def test_a_message_that_finds_the_disk_full_is_kept_explained_and_done_once_freed(
    tmp_path: Path, speech_ogg: Path, monkeypatch: pytest.MonkeyPatch, tally: Tally
) -> None:
    monkeypatch.setattr(polling, "NO_ROOM_FIRST_S", 0.5)
    monkeypatch.setenv("RELAYQ_ALLOW_PRIVATE_URLS", "1")
    with small_disk(tmp_path / "state", "8m") as mounted:
        if not mounted:
            pytest.fail("this test needs a tmpfs (run as root); mount was refused here")
        with (
            BotApiEmulator(TOKEN) as tg,
            serve({"/talk.ogg": body(speech_ogg.read_bytes())}) as (base, _),
        ):
            settings = bot_settings(tg, tmp_path, RELAYQ_EXECUTOR="local")
            monkeypatch.setenv("RELAYQ_STATE_DIR", str(settings.state_dir))
            async with running(settings):
                await wait_for(tg, lambda: tg.commands, 30)
                filler = fill(settings.state_dir)
                tg.user_sends(OWNER, f"{base}/talk.ogg")
                said = await wait_for(
                    tg, lambda: next((s for s in tg.to_chat(OWNER) if "full" in s.text), None), 30
                )
                assert said.text.startswith(  # type: ignore[attr-defined]
                    f"I can't take that right now: the disk holding {settings.state_dir} is full"
                )
                await asyncio.sleep(2)  # tried again, still no room: told once, not again
                assert len([s for s in tg.to_chat(OWNER) if "full" in s.text]) == 1
                filler.unlink()
                done = await wait_for(
                    tg,
                    lambda: next((s for s in tg.to_chat(OWNER) if s.text.startswith("✅")), None),
                )
                assert done is not None
                await wait_for(tg, lambda: [s for s in tg.to_chat(OWNER) if s.document], 60)
                await asyncio.sleep(0.5)  # the ledger's last write after the file
            rows = Ledger(settings.state_dir / "ledger.sqlite3").all_jobs()
    assert [r.state for r in rows] == ["delivered"]
    tally.add("faults injected: state folder read-only or full", 1)
