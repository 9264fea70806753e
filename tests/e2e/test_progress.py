"""Live progress on the card, end to end: the real model's segments through the local
executor to the card in the Bot API emulator, and a stream of records paced as Telegram
allows (real python-telegram-bot, the real messenger)."""

from __future__ import annotations

import asyncio
import itertools
import re
from pathlib import Path

import pytest
from telegram import Bot
from telegram.request import HTTPXRequest

from bot.chat import Card
from bot.executors.base import JobState, Phase
from bot.telegram.chat import TelegramChat
from bot.telegram.messenger import Messenger
from jobs.progress import ProgressRecord
from tests.bot.test_language_texts import row
from tests.e2e.test_telegram_bot import OWNER, TOKEN, bot_settings, running, wait_for
from tests.emulators.telegram import BotApiEmulator
from tests.jobs.httpserver import body, serve
from tools.make_speech import synthesize

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
PERCENT = re.compile(r"^⚙️ transcribing on this machine · (\d+) %", re.M)


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About 70 s of speech: three of the batched pipeline's 30 s chunks."""
    text = (ROOT / "bench" / "speech_long.txt").read_text(encoding="utf-8")[:1100]
    return synthesize(text, tmp_path_factory.mktemp("speech") / "talk.ogg")


async def test_a_local_job_shows_increasing_percentages_on_its_card_before_delivery(
    tmp_path: Path, speech: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RELAYQ_ALLOW_PRIVATE_URLS", "1")
    monkeypatch.setenv("RELAYQ_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("RELAYQ_CACHE_DIR", raising=False)
    # A record per batch of segments, and a batch per 30 s chunk: the shipped 15 s would
    # leave this short a job only its phase changes.
    monkeypatch.setenv("RELAYQ_PROGRESS_EVERY_S", "0")
    monkeypatch.setenv("RELAYQ_WHISPER_BATCH_SIZE", "1")
    with (
        BotApiEmulator(TOKEN) as tg,
        serve({"/talk.ogg": body(speech.read_bytes())}) as (base, _),
    ):
        settings = bot_settings(tg, tmp_path, RELAYQ_EXECUTOR="local")
        async with running(settings):
            tg.user_sends(OWNER, "/lang en")  # no language detection: no second model
            tg.user_sends(OWNER, f"{base}/talk.ogg")
            done = await wait_for(tg, lambda: next(
                (s for s in tg.to_chat(OWNER) if s.text.startswith("✅")), None), 60)  # fmt: skip
    texts: list[str] = done.texts  # type: ignore[attr-defined]
    shown = [int(m.group(1)) for t in texts for m in [PERCENT.search(t)] if m]
    assert len(set(shown)) >= 3, texts
    assert shown == sorted(shown)  # never backwards
    assert "relayq-progress" not in " ".join(texts)
    assert texts[-1].startswith("✅")


def card(fraction: float, left: float) -> Card:
    record = ProgressRecord("transcribe", fraction, None, 1.0, left)
    state = JobState("j1", Phase.RUNNING, "transcribe", progress=record)
    return Card(row(chat_id=OWNER, state="dispatched"), state, machine="Mac mini")


async def test_a_stream_of_records_makes_no_more_edits_than_telegram_allows() -> None:
    """A runner that reports far too often (500 records in moments, many that word the same)
    costs the chat at most one edit a second, and the card ends on the last one."""
    with BotApiEmulator(TOKEN) as tg:
        bot = Bot(TOKEN, base_url=f"{tg.base}/bot", base_file_url=f"{tg.base}/file/bot",
                  request=HTTPXRequest(connection_pool_size=8))  # fmt: skip
        async with bot:
            chat = TelegramChat(Messenger(bot, gap_s=1.0), ())
            card_id = await chat.show(card(0.0, 600), card_id=None)
            loop = asyncio.get_running_loop()
            started = loop.time()
            shows = [chat.show(card(i / 500, 600 - i), card_id=card_id) for i in range(501)]
            await asyncio.gather(*shows)
            took = loop.time() - started
            # The same text once more: no edit at all.
            before = len(tg.calls.log)
            await chat.show(card(1.0, 100), card_id=card_id)
            assert len(tg.calls.log) == before
    edits = [at for at, method, _ in tg.calls.log if method == "editMessageText"]
    assert len(edits) <= took / 1.0 + 2, (len(edits), took)
    gaps = [b - a for a, b in itertools.pairwise(edits)]
    assert all(gap >= 0.9 for gap in gaps), gaps
    (sent,) = tg.to_chat(OWNER)
    assert sent.text.endswith("transcribing on the Mac mini · 100 % · about 2 min left")
