"""Private jobs through the bot: real python-telegram-bot against the Bot API emulator, jobs
through the local executor and the real model, the runner set up to transcribe with OpenAI
(the stand-in on 127.0.0.1, which counts every call). /private and #private keep a job on
this machine with the local model; an ordinary job sent the same way reaches the stand-in."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.app import run_bot
from bot.ledger import Ledger
from tests.e2e.test_telegram_bot import OWNER, TOKEN, bot_settings, wait_for
from tests.e2e.test_telegram_commands import answer_to
from tests.emulators.openai import OpenAIEmulator
from tests.emulators.telegram import BotApiEmulator
from tests.jobs.httpserver import body, serve

pytestmark = pytest.mark.slow
KEY = "sk-CANARY-private-e2e-key"


def delivered(tg: BotApiEmulator, n: int) -> object:
    done = [s for s in tg.to_chat(OWNER) if s.text.startswith("✅")]
    return done if len(done) >= n else None


async def test_a_private_job_never_reaches_openai_and_says_where_it_stayed(
    tmp_path: Path, speech_ogg: Path, monkeypatch: pytest.MonkeyPatch, cached_transcripts: Path
) -> None:
    with (
        BotApiEmulator(TOKEN) as tg,
        OpenAIEmulator(KEY) as api,
        serve({"/talk.ogg": body(speech_ogg.read_bytes())}) as (base, _),
    ):
        # The runner's settings send every job to OpenAI, and fall back to OpenRouter.
        monkeypatch.setenv("RELAYQ_BACKEND", "openai")
        monkeypatch.setenv("RELAYQ_BACKEND_FALLBACK", "openrouter")
        monkeypatch.setenv("OPENAI_API_KEY", KEY)
        monkeypatch.setenv("OPENAI_BASE_URL", api.base_url)
        monkeypatch.setenv("OPENROUTER_API_KEY", KEY)
        monkeypatch.setenv("RELAYQ_OPENROUTER_BASE_URL", api.openrouter_url)
        monkeypatch.setenv("RELAYQ_ALLOW_PRIVATE_URLS", "1")
        monkeypatch.setenv("RELAYQ_STATE_DIR", str(tmp_path / "state"))
        settings = bot_settings(tg, tmp_path, RELAYQ_EXECUTOR="local")
        stop = asyncio.Event()
        task = asyncio.create_task(run_bot(settings, stop=stop))
        try:
            maybe = await answer_to(tg, "/private maybe")
            asked = await answer_to(tg, "/private")
            tg.user_sends(OWNER, f"#private {base}/talk.ogg")
            (kept,) = await wait_for(tg, lambda: delivered(tg, 1))  # type: ignore[misc]
            await wait_for(tg, lambda: [s for s in tg.to_chat(OWNER) if s.document])  # its .srt
            calls_while_private = api.calls
            on = await answer_to(tg, "/private on")
            status = await answer_to(tg, "/status")
            route = await answer_to(tg, "/route")
            off = await answer_to(tg, "/private off")
            tg.user_sends(OWNER, f"{base}/talk.ogg")  # an ordinary job: to OpenAI
            done = await wait_for(tg, lambda: delivered(tg, 2))
        finally:
            stop.set()
            await asyncio.wait_for(task, 60)
    assert maybe.text.startswith("/private wants on or off, not 'maybe'. /private takes on or off")
    assert asked.text.startswith("Private is off: your jobs go where the policy sends them.")
    head = kept.text.split("\n\n", 1)[0]
    assert "🔒 stayed on your machines · this machine" in head.splitlines()
    assert "local tiny.en" in head
    assert calls_while_private == 0  # not one call to OpenAI or OpenRouter, of any kind
    assert on.text.startswith("🔒 Private on: your new jobs stay on your machines")
    assert any(line.startswith("Your defaults: ") and line.endswith("· 🔒 private (/private off "
               "to stop)") for line in status.text.splitlines())  # fmt: skip
    assert "private: stays on your machines — only mac (Mac mini)" in route.text
    assert off.text.startswith("Private off:")
    ordinary = done[1].text.split("\n\n", 1)[0]  # type: ignore[index]
    assert "🔒" not in ordinary and "openai" in ordinary
    assert len(api.transcriptions()) >= 1  # the same runner settings did reach the stand-in
    rows = Ledger(settings.state_dir / "ledger.sqlite3").all_jobs()
    assert [r.private for r in rows] == [1, 0]
    assert KEY not in " ".join(t for s in tg.sent for t in s.texts)
