"""The NAS copy through the bot: real python-telegram-bot against the Bot API emulator, jobs
through the local executor and the real model (the run's shared cache), the runner's
RELAYQ_NAS_DIR a folder in the test's temporary folder. Not mounted: the transcript is
delivered, its message says why there is no copy, the owner hears it once; once the folder
is there, the next job's results are on it, named after its job."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from bot.app import run_bot
from bot.ledger import Ledger
from jobs.nas import NOT_MOUNTED
from tests.e2e.test_telegram_bot import OWNER, TOKEN, bot_settings, wait_for
from tests.emulators.telegram import BotApiEmulator
from tests.jobs.httpserver import body, serve

pytestmark = pytest.mark.slow


def delivered(tg: BotApiEmulator, n: int) -> object:
    done = [s for s in tg.to_chat(OWNER) if s.text.startswith("✅")]
    return done if len(done) >= n else None


async def test_a_missing_nas_is_said_once_and_a_mounted_one_gets_the_copy(
    tmp_path: Path, speech_ogg: Path, monkeypatch: pytest.MonkeyPatch, cached_transcripts: Path
) -> None:
    nas = tmp_path / "nas" / "relayq"  # not there yet: "not mounted"
    with (
        BotApiEmulator(TOKEN) as tg,
        serve({"/talk.ogg": body(speech_ogg.read_bytes())}) as (base, _),
    ):
        monkeypatch.setenv("RELAYQ_NAS_DIR", str(nas))
        monkeypatch.setenv("RELAYQ_ALLOW_PRIVATE_URLS", "1")
        monkeypatch.setenv("RELAYQ_STATE_DIR", str(tmp_path / "state"))
        settings = bot_settings(tg, tmp_path, RELAYQ_EXECUTOR="local")
        stop = asyncio.Event()
        task = asyncio.create_task(run_bot(settings, stop=stop))
        try:
            for n in (1, 2):
                tg.user_sends(OWNER, f"{base}/talk.ogg")
                await wait_for(tg, lambda n=n: delivered(tg, n))
            nas.mkdir(parents=True)  # the NAS is mounted now
            tg.user_sends(OWNER, f"{base}/talk.ogg")
            done = await wait_for(tg, lambda: delivered(tg, 3))
            # The notice would come after the files; the .srt of the last job ends it.
            await wait_for(tg, lambda: len([s for s in tg.to_chat(OWNER) if s.document]) >= 3)
        finally:
            stop.set()
            await asyncio.wait_for(task, 60)
    heads = [s.text.split("\n\n", 1)[0] for s in done]  # type: ignore[attr-defined]
    assert [f"⚠️ not copied to the NAS: {NOT_MOUNTED}" in h.splitlines() for h in heads] == [
        True, True, False
    ]  # fmt: skip
    assert all("NAS" not in line for line in heads[2].splitlines())  # a copy that worked
    rows = sorted(Ledger(settings.state_dir / "ledger.sqlite3").all_jobs(), key=lambda r: r.id)
    notices = [s.text for s in tg.to_chat(OWNER) if s.text.startswith("⚠️ NAS copy failed")]
    assert len(notices) == 1 and f"job {rows[0].id} — {NOT_MOUNTED}." in notices[0]
    # No message, nor any edit of a card on the way (its steps), names a folder of this host.
    assert not [t for s in tg.to_chat(OWNER) for t in s.texts if str(tmp_path) in t]
    (copy,) = [p for p in nas.rglob("*") if p.is_dir() and len(p.relative_to(nas).parts) == 3]
    assert copy.name.endswith(f"-talk-{rows[2].id}")
    meta = json.loads((copy / "meta.json").read_text())
    assert meta["nas"] == {"copied": True, "path": f"{copy.relative_to(nas)}/"}
    assert not [p for p in nas.rglob(".*")]  # no partial folder left
