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


# The Mac (its own model) and, as the fallback, a pool of runners set up for OpenAI: the loader
# takes it (no runner_labels on the Mac), and the policy knows the pool's backend.
POOLED_OPENAI = """
version: 1
targets:
  mac:
    description: Mac mini
    labels: [self-hosted, macmini]
    workflows: {transcribe: transcribe_mac.yml}
    capabilities: {ffmpeg: true, memory_gb: 16, max_input_mb: 2000, max_duration_min: 600}
    backend: local
  pool:
    description: the OpenAI runners
    labels: [self-hosted, audio]
    workflows: {transcribe: transcribe_audio.yml}
    capabilities: {ffmpeg: true, memory_gb: 4, max_input_mb: 200, max_duration_min: 90}
    backend: openai
routes:
  transcribe: {prefer: [mac], fallback: pool}
"""


async def test_with_the_mac_offline_a_private_job_waits_for_it_instead_of_the_openai_pool(
    tmp_path: Path, speech_ogg: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through the GitHub emulator and act running the real workflows: with the Mac offline,
    an ordinary job goes to the pool, whose runner sends it to OpenAI (the stand-in counts
    it); a #private job goes to the Mac's workflow and waits, and when the Mac is back it is
    transcribed there with the local model — the stand-in's count does not move, although
    every runner's settings say OpenAI, with OpenRouter as the fallback."""
    from tests.e2e.conftest import MAC, job_env
    from tests.emulators.github import GitHubEmulator

    policy = tmp_path / "policy.yaml"
    policy.write_text(POOLED_OPENAI)
    with (
        BotApiEmulator(TOKEN) as tg,
        OpenAIEmulator(KEY) as api,
        serve({"/talk.ogg": body(speech_ogg.read_bytes())}) as (base, _),
    ):
        runner_env = dict(job_env(tmp_path), RELAYQ_BACKEND="openai",
                          RELAYQ_BACKEND_FALLBACK="openrouter", OPENAI_API_KEY=KEY,
                          OPENAI_BASE_URL=api.base_url, OPENROUTER_API_KEY=KEY,
                          RELAYQ_OPENROUTER_BASE_URL=api.openrouter_url)  # fmt: skip
        with GitHubEmulator(tmp_path / "gh", job_env=runner_env) as gh:
            gh.add_runner("mac-mini", MAC, online=False, os="macOS")
            gh.add_runner("cloud-box", frozenset({"self-hosted", "audio"}))
            settings = bot_settings(
                tg, tmp_path, RELAYQ_POLICY=policy, RELAYQ_EXECUTOR="github",
                GITHUB_TOKEN="ghp_CANARY_emulated", RELAYQ_GITHUB_REPO=gh.repo,
                RELAYQ_GITHUB_API_URL=gh.api_url, RELAYQ_FLEET_CHECK_S=1,
            )  # fmt: skip
            stop = asyncio.Event()
            task = asyncio.create_task(run_bot(settings, stop=stop))
            try:
                tg.user_sends(OWNER, f"{base}/talk.ogg")
                (ordinary,) = await wait_for(tg, lambda: delivered(tg, 1), 180)  # type: ignore[misc]
                reached = api.calls
                tg.user_sends(OWNER, f"{base}/talk.ogg?again #private")
                waiting = await wait_for(
                    tg, lambda: next((s for s in tg.to_chat(OWNER) if "⏳" in s.text), None), 60
                )
                said_waiting = waiting.text  # type: ignore[attr-defined]  # (edited later)
                queued = [(r.workflow_file, r.status, r.inputs.get("private")) for r in gh.runs()]
                gh.set_online("mac-mini", True)
                done = await wait_for(tg, lambda: delivered(tg, 2), 180)
            finally:
                stop.set()
                await asyncio.wait_for(task, 60)
    assert "openai" in ordinary.text.split("\n\n", 1)[0] and reached > 0
    assert "waiting for the Mac mini" in said_waiting
    assert queued[-1] == ("transcribe_mac.yml", "queued", "true")
    head = done[1].text.split("\n\n", 1)[0]  # type: ignore[index]
    assert "🔒 stayed on your machines · Mac mini" in head.splitlines()
    assert "local tiny.en" in head
    assert api.calls == reached  # the private job made not one call
    assert [r.workflow_file for r in gh.runs()] == ["transcribe_audio.yml", "transcribe_mac.yml"]
    assert KEY not in " ".join(t for s in tg.sent for t in s.texts)
