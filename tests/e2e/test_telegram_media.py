"""A link to a media page, end to end through the bot: real python-telegram-bot against the
Bot API emulator, the local executor, yt-dlp on a page served on 127.0.0.1, and the run's
shared transcript cache (tests/jobs/test_transcribe.py runs the model)."""

from __future__ import annotations

from pathlib import Path

import pytest

from jobs.quality import wer
from tests.e2e.test_telegram_bot import OWNER, TOKEN, bot_settings, running, wait_for
from tests.emulators.telegram import BotApiEmulator
from tests.jobs.httpserver import Route, body, serve
from tests.jobs.media import hls_playlist, hls_segments

pytestmark = pytest.mark.slow
TITLE = "A talk about things"


def page(title: str, inner: str) -> bytes:
    return (
        f"<!DOCTYPE html><html><head><title>{title} - Example</title>"
        f'<meta property="og:title" content="{title}"></head>'
        f"<body><h1>{title}</h1>{inner}</body></html>"
    ).encode()


async def test_a_page_with_audio_is_transcribed_and_named_by_its_title(
    tmp_path: Path, speech_ogg: Path, speech_text: str, monkeypatch: pytest.MonkeyPatch,
    cached_transcripts: Path,
) -> None:  # fmt: skip
    monkeypatch.setenv("RELAYQ_ALLOW_PRIVATE_URLS", "127.0.0.1/32")  # the runner's own setting
    monkeypatch.setenv("RELAYQ_STATE_DIR", str(tmp_path / "state"))
    routes = {
        "/episode/7": body(page(TITLE, '<audio controls src="/media/talk.ogg"></audio>'),
                           "text/html; charset=utf-8"),
        "/media/talk.ogg": body(speech_ogg.read_bytes()),
    }  # fmt: skip
    with BotApiEmulator(TOKEN) as tg, serve(routes) as (base, hits):
        async with running(bot_settings(tg, tmp_path, RELAYQ_EXECUTOR="local")):
            link = f"{base}/episode/7"
            tg.user_sends(OWNER, f"transcribe {link} please")
            done = await wait_for(
                tg, lambda: next((s for s in tg.to_chat(OWNER) if s.text.startswith("✅")), None)
            )
    text: str = done.text  # type: ignore[attr-defined]
    head, transcript = text.split("\n\n", 1)
    assert TITLE in head and link not in head
    assert wer(speech_text, transcript) <= 0.25
    assert "/media/talk.ogg" in hits


async def test_an_hls_link_is_transcribed_through_the_chat(
    tmp_path: Path, speech_ogg: Path, speech_text: str, monkeypatch: pytest.MonkeyPatch,
    cached_transcripts: Path,
) -> None:  # fmt: skip
    monkeypatch.setenv("RELAYQ_ALLOW_PRIVATE_URLS", "127.0.0.1/32")
    monkeypatch.setenv("RELAYQ_STATE_DIR", str(tmp_path / "state"))
    segments = hls_segments(speech_ogg, tmp_path)
    routes: dict[str, Route] = {
        f"/live/{p.name}": body(p.read_bytes(), "video/mp2t") for p in segments
    }  # the playlist names them relative to itself
    routes["/live/talk.m3u8"] = body(
        hls_playlist([p.name for p in segments]), "application/vnd.apple.mpegurl"
    )
    with BotApiEmulator(TOKEN) as tg, serve(routes) as (base, hits):
        async with running(bot_settings(tg, tmp_path, RELAYQ_EXECUTOR="local")):
            tg.user_sends(OWNER, f"{base}/live/talk.m3u8")
            done = await wait_for(
                tg, lambda: next((s for s in tg.to_chat(OWNER) if s.text.startswith("✅")), None)
            )
    _head, transcript = done.text.split("\n\n", 1)  # type: ignore[attr-defined]
    assert wer(speech_text, transcript) <= 0.25
    assert {f"/live/{p.name}" for p in segments} <= set(hits)
