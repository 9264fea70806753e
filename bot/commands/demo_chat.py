"""The Telegram part of `relayq demo`: the real bot, talking to the Bot API emulator.

The emulator is a test fixture (`tests/emulators/telegram`), so this part needs a checkout of
the repository and the `bot` extra (python-telegram-bot); without them the demo says so and
skips it. The bot runs exactly as `relayq bot` does, with the local executor.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import sys
import tempfile
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from bot.settings import Settings

__all__ = ["chat_demo", "missing_part"]

ROOT = Path(__file__).resolve().parents[2]
USER = 1111
# A made-up token in the Bot API's shape: the emulator checks it like Telegram does.
TOKEN = "100000:relayq-demo-token"  # noqa: S105  (not a secret: the emulator's)


def missing_part() -> str | None:
    """Why the Telegram part cannot run here, or None when it can."""
    if importlib.util.find_spec("telegram") is None:
        return "python-telegram-bot is not installed (pip install 'relayq[bot]')"
    if not (ROOT / "tests" / "emulators" / "telegram" / "server.py").is_file():
        return "the Bot API emulator ships with the repository, not the package; run it there"
    return None


def chat_demo(settings: Settings, audio: Path, timeout_s: float = 300) -> str:
    """Send `audio` to the real bot as a voice message; returns the transcript it delivered."""
    return asyncio.run(_chat(settings, audio, timeout_s))


async def _chat(settings: Settings, audio: Path, timeout_s: float) -> str:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from bot.app import run_bot

    # Found at run time in the checkout (a test fixture, not part of the package).
    BotApiEmulator = importlib.import_module("tests.emulators.telegram").BotApiEmulator

    with (
        tempfile.TemporaryDirectory(prefix="relayq-demo-bot-") as state,
        BotApiEmulator(TOKEN) as tg,
    ):
        bot_settings = settings.model_copy(
            update={
                "telegram_bot_token": SecretStr(TOKEN),
                "allowed_users": str(USER),
                "alert_users": "none",
                "telegram_api_base": tg.base,
                "executor": "local",
                "state_dir": Path(state),
                "cache_dir": None,
            }
        )
        stop = asyncio.Event()
        bot = asyncio.create_task(run_bot(bot_settings, stop=stop))
        try:
            await asyncio.to_thread(tg.wait_for, lambda: tg.commands, 30)
            _say("you", f"(a voice message: {audio.name}, {audio.stat().st_size // 1024} KB)")
            tg.user_uploads(USER, audio.read_bytes(), kind="voice", mime_type="audio/ogg")
            done = await asyncio.to_thread(tg.wait_for, lambda: _delivered(tg), timeout_s)
            tg.user_sends(USER, "/status")
            await asyncio.to_thread(
                tg.wait_for, lambda: any(s.text.startswith("Executor") for s in tg.sent), 30
            )
        finally:
            stop.set()
            await asyncio.wait_for(bot, 60)
        for sent in tg.sent:
            if sent.text.startswith("Executor"):
                _say("you", "/status")
            _show(sent)
        return str(done.text).split("\n\n", 1)[-1]


def _delivered(tg: Any) -> Any:
    """The transcript message, once the subtitles have followed it."""
    sent = tg.to_chat(USER)
    done = next((s for s in sent if s.text.startswith("✅")), None)
    srt = any(s.document is not None and s.document[0] == "transcript.srt" for s in sent)
    return done if srt else None


def _show(sent: Any) -> None:
    if sent.document is not None:
        name, data = sent.document
        _say("bot", f"(a document: {name}, {len(data)} bytes)")
        return
    first, *edits = sent.texts
    _say("bot", first)
    for text in edits:
        _say("bot ✎", text)


def _say(who: str, text: str) -> None:
    lines = text.splitlines() or [""]
    print(f"{who:>6} │ {lines[0]}")
    for line in lines[1:]:
        print(f"{'':>6} │ {line}")
    sys.stdout.flush()
