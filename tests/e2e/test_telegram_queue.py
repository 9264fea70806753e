"""relayq's own queue through the real python-telegram-bot and the Bot API emulator: a user
at RELAYQ_USER_MAX_ACTIVE sees their next job wait on its card, saying why, and then both are
delivered once (local executor, the sample served on 127.0.0.1)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.test_telegram_bot import OWNER, TOKEN, bot_settings, running, wait_for
from tests.emulators.telegram import BotApiEmulator
from tests.emulators.telegram.server import Sent
from tests.jobs.httpserver import body, serve

pytestmark = pytest.mark.slow


async def test_a_second_job_over_the_users_limit_says_it_waits_then_both_arrive(
    tmp_path: Path, speech_ogg: Path, monkeypatch: pytest.MonkeyPatch, cached_transcripts: Path
) -> None:
    monkeypatch.setenv("RELAYQ_ALLOW_PRIVATE_URLS", "1")  # the job fetches from the test server
    monkeypatch.setenv("RELAYQ_STATE_DIR", str(tmp_path / "state"))
    with (
        BotApiEmulator(TOKEN) as tg,
        serve({"/talk.ogg": body(speech_ogg.read_bytes())}) as (base, _),
    ):
        settings = bot_settings(tg, tmp_path, RELAYQ_EXECUTOR="local", RELAYQ_USER_MAX_ACTIVE=1)
        async with running(settings):
            tg.user_sends(OWNER, f"{base}/talk.ogg?first {base}/talk.ogg?second")
            done = await wait_for(tg, lambda: len(delivered(tg)) == 2 and delivered(tg))
    first, second = sorted(done, key=lambda s: "?second" in s.text)  # type: ignore[attr-defined]
    history = "\n".join(second.texts)
    assert "⏳ waiting: you have 1 job running (at most 1 at a time)\nheld in relayq's queue" in (
        history
    )
    assert "⏳ waiting" not in "\n".join(first.texts)
    assert len(delivered(tg)) == 2  # each once


def delivered(tg: BotApiEmulator) -> list[Sent]:
    return [s for s in tg.to_chat(OWNER) if s.text.startswith("✅")]
