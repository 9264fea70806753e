"""Languages in the chat, end to end: real python-telegram-bot against the Bot API emulator,
jobs through the local executor. The runner here is a stand-in with the entry's calling
convention that says it heard German (the real model's detection is the runner's tests'):
the card names the language and model, offers Translate to English, and the button makes
one translation job whose result says it was translated."""

from __future__ import annotations

import json
import re
import stat
from pathlib import Path

import pytest

from bot.ledger import Ledger
from jobs.quality import normalize_words, wer
from tests.e2e.test_telegram_bot import OWNER, TOKEN, bot_settings, running, wait_for
from tests.emulators.telegram import BotApiEmulator

pytestmark = pytest.mark.slow

# SOURCE comes last, after `--`; --out DIR first; --task translate when translating.
GERMAN_RUNNER = r"""#!/usr/bin/env bash
set -euo pipefail
out="$2"; task=transcribe
for ((i = 1; i <= $#; i++)); do
  if [[ "${!i}" == --task ]]; then j=$((i + 1)); task="${!j}"; fi
done
mkdir -p "$out"
if [[ "$task" == translate ]]; then text="Good day, everyone."; else text="Guten Tag, alle."; fi
echo "$text" > "$out/transcript.txt"
printf '1\n00:00:00,000 --> 00:00:02,000\n%s\n' "$text" > "$out/transcript.srt"
printf 'WEBVTT\n\n00:00.000 --> 00:02.000\n%s\n' "$text" > "$out/transcript.vtt"
probability=0.94; [[ "$task" == translate ]] && probability=null
cat > "$out/meta.json" <<JSON
{"duration_s": 2.0, "backend": "local", "model": "base", "host": "box", "language": "de",
 "language_probability": $probability, "task": "$task"}
JSON
"""


async def test_a_german_transcript_says_so_and_its_translate_button_makes_one_translation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.executors import local

    entry = tmp_path / "german.sh"
    entry.write_text(GERMAN_RUNNER)
    entry.chmod(entry.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setattr(local, "job_entry", lambda: entry)
    with BotApiEmulator(TOKEN) as tg:
        settings = bot_settings(tg, tmp_path, RELAYQ_EXECUTOR="local")
        async with running(settings):
            tg.user_sends(OWNER, "https://example.org/rede.ogg")
            done = await wait_for(tg, lambda: next((s for s in tg.to_chat(OWNER)
                                                    if s.text.startswith("✅")), None))  # fmt: skip
            keys = [k for row in done.reply_markup["inline_keyboard"] for k in row]  # type: ignore[attr-defined]
            assert [k["text"] for k in keys] == ["Summarize", "Translate to English"]
            tg.user_presses(OWNER, done, keys[1]["callback_data"])  # type: ignore[arg-type]
            tg.user_presses(OWNER, done, keys[1]["callback_data"])  # type: ignore[arg-type]
            translated = await wait_for(tg, lambda: next((s for s in tg.to_chat(OWNER)
                                                          if "(translation)" in s.text), None))  # fmt: skip
            await wait_for(tg, lambda: len(tg.callback_answers) >= 2, 30)
            ledger = Ledger(settings.state_dir / "ledger.sqlite3")
            await wait_for(tg, lambda: [r.state for r in ledger.all_jobs()] == ["delivered"] * 2)
    assert re.search(r"\nDetected: German \(\d+%\) · base\n", done.text)  # type: ignore[attr-defined]
    assert done.text.endswith("\n\nGuten Tag, alle.")  # type: ignore[attr-defined]
    assert "\nTranslated from German to English · base\n" in translated.text  # type: ignore[attr-defined]
    assert translated.text.endswith("\n\nGood day, everyone.")  # type: ignore[attr-defined]
    assert not translated.reply_markup["inline_keyboard"][0][1:]  # type: ignore[attr-defined]  # Summarize only
    rows = ledger.all_jobs()
    assert [(r.task, r.state, r.language, r.heard) for r in rows] == [
        ("transcribe", "delivered", None, "de"),
        ("translate", "delivered", "de", "de"),
    ]
    first, again = (a["text"] for a in tg.callback_answers)
    assert first == f"Translating job {rows[0].id} as job {rows[1].id}."
    assert again in (first, f"The translation of job {rows[0].id} is job {rows[1].id}, already "
                            "in this chat.")  # fmt: skip
    spec = json.loads((settings.state_dir / "local-jobs" / rows[1].id / "spec.json").read_text())
    assert (spec["task"], spec["language"]) == ("translate", "de")


TOO_LONG_RUNNER = r"""#!/usr/bin/env bash
mkdir -p "$2"
echo '{"reason": "too_long", "duration_s": 10920, "max_duration_s": 7200}' > "$2/refusal.json"
echo "relayq: the page says 3 h 2 min; this runner takes up to 2 h" >&2
exit 10
"""


async def test_a_recording_too_long_for_this_machine_fails_with_one_sentence_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the local executor every target is this machine: nowhere to send it on."""
    from bot.executors import local

    entry = tmp_path / "long.sh"
    entry.write_text(TOO_LONG_RUNNER)
    monkeypatch.setattr(local, "job_entry", lambda: entry)
    with BotApiEmulator(TOKEN) as tg:
        settings = bot_settings(tg, tmp_path, RELAYQ_EXECUTOR="local")
        async with running(settings):
            tg.user_sends(OWNER, "https://example.org/long-talk")
            failed = await wait_for(tg, lambda: next((s for s in tg.to_chat(OWNER)
                                                      if "❌" in s.text), None))  # fmt: skip
    assert failed.text.splitlines()[1] == "https://example.org/long-talk"  # type: ignore[attr-defined]
    assert failed.text.endswith(  # type: ignore[attr-defined]
        "\n❌ failed: the recording is 3 h 2 min long; this machine takes up to 2 h; send a "
        "shorter recording"
    )
    (row,) = Ledger(settings.state_dir / "ledger.sqlite3").all_jobs()
    assert (row.state, row.duration_min) == ("failed", 182.0)


async def test_german_speech_is_detected_and_translated_by_the_real_models_from_the_chat(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The runner for real (local executor, relayq transcribe, the bundled models): German
    speech is told apart and transcribed with base, and its Translate button brings English."""
    from tests import speech
    from tests.jobs.httpserver import body, serve

    wav = speech.speak("de", tmp_path)
    monkeypatch.setenv("RELAYQ_ALLOW_PRIVATE_URLS", "127.0.0.1/32")
    monkeypatch.setenv("RELAYQ_STATE_DIR", str(tmp_path / "state"))
    with BotApiEmulator(TOKEN) as tg, serve({"/rede.wav": body(wav.read_bytes())}) as (base, _):
        settings = bot_settings(tg, tmp_path, RELAYQ_EXECUTOR="local")
        async with running(settings):
            tg.user_sends(OWNER, f"{base}/rede.wav")
            done = await wait_for(tg, lambda: next((s for s in tg.to_chat(OWNER)
                                                    if s.text.startswith("✅")), None), 180)  # fmt: skip
            keys = [k for row in done.reply_markup["inline_keyboard"] for k in row]  # type: ignore[attr-defined]
            assert [k["text"] for k in keys] == ["Summarize", "Translate to English"]
            tg.user_presses(OWNER, done, keys[1]["callback_data"])  # type: ignore[arg-type]
            translated = await wait_for(tg, lambda: next((s for s in tg.to_chat(OWNER)
                                                          if "(translation)" in s.text), None), 180)  # fmt: skip
    assert re.search(r"\nDetected: German \(\d+%\) · base\n", done.text)  # type: ignore[attr-defined]
    german = done.text.split("\n\n", 1)[1]  # type: ignore[attr-defined]
    assert wer(speech.text("de"), german) <= 0.35
    assert "\nTranslated from German to English · base\n" in translated.text  # type: ignore[attr-defined]
    english = set(normalize_words(translated.text.split("\n\n", 1)[1]))  # type: ignore[attr-defined]
    assert {"good", "morning", "weather", "berlin"} <= english
    assert not english & {"guten", "morgen", "wetter", "und", "wochenende"}
