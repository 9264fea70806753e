"""The Telegram bot end to end: real python-telegram-bot against the Bot API emulator, jobs
through the local executor and the real model."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.app import run_bot
from bot.ledger import Ledger
from bot.settings import Settings
from jobs.quality import wer
from tests.emulators.telegram import BotApiEmulator
from tests.jobs.httpserver import body, serve
from tests.suites import Tally

pytestmark = pytest.mark.slow
TOKEN = "123456:CANARY-bot-token-never-shown"
OWNER, STRANGER = 1111, 9999
ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Harness:
    tg: BotApiEmulator
    settings: Settings
    base_url: str


def bot_settings(tg: BotApiEmulator, tmp_path: Path, **extra: object) -> Settings:
    values: dict[str, object] = {
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "RELAYQ_ALLOWED_USERS": str(OWNER),
        "RELAYQ_TELEGRAM_API_BASE": tg.base,
        "RELAYQ_STATE_DIR": tmp_path / "state",
        "RELAYQ_POLICY": ROOT / "policy" / "policy.yaml",
        # The tests' audio is served on 127.0.0.1: let the bot pass such links on (the
        # runners' own setting decides whether they fetch them).
        "RELAYQ_ALLOW_PRIVATE_URLS": True,
    }
    return Settings(_env_file=None, **{**values, **extra})  # type: ignore[call-arg,arg-type]


@contextlib.asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[None]:
    """The bot, in this process, for the block's length; then stopped as SIGTERM stops it."""
    stop = asyncio.Event()
    task = asyncio.create_task(run_bot(settings, stop=stop))
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, 60)


async def wait_for(tg: BotApiEmulator, predicate: object, timeout: float = 120) -> object:
    return await asyncio.to_thread(tg.wait_for, predicate, timeout)


async def test_a_link_becomes_a_progress_message_then_the_transcript(
    harness: Harness, speech_text: str
) -> None:
    tg = harness.tg
    tg.user_sends(OWNER, f"please transcribe {harness.base_url}/talk.ogg thanks")
    done = await wait_for(
        tg, lambda: next((s for s in tg.to_chat(OWNER) if s.text.startswith("✅")), None)
    )
    assert wer(speech_text, done.text.split("\n\n", 1)[1]) <= 0.25  # type: ignore[attr-defined]
    history = " | ".join(done.texts)  # type: ignore[attr-defined]
    # The local executor runs it here, and the card says so, with what GitHub would have done.
    assert "→ this machine (the local executor runs every job here)" in history
    assert "with GitHub the policy would choose mac (Mac mini) via transcribe_mac.yml" in history
    assert "· this machine (" in done.text  # type: ignore[attr-defined]
    assert "⚙️ " in history  # a running state was shown (older edits may be coalesced)
    srt = await wait_for(tg, lambda: next((s for s in tg.to_chat(OWNER) if s.document), None))
    assert srt.document[0] == "transcript.srt" and srt.document[1].startswith(b"1\n00:00:00")  # type: ignore[attr-defined]
    ledger = Ledger(harness.settings.state_dir / "ledger.sqlite3")
    for _ in range(50):
        if [j.state for j in ledger.all_jobs()] == ["delivered"]:
            break
        await asyncio.sleep(0.1)
    assert [j.state for j in ledger.all_jobs()] == ["delivered"]
    assert [c["command"] for c in tg.commands][:3] == ["start", "help", "status"]


async def test_an_upload_is_transcribed_too(
    harness: Harness, speech_ogg: Path, speech_text: str
) -> None:
    tg = harness.tg
    tg.user_uploads(OWNER, speech_ogg.read_bytes(), kind="voice", mime_type="audio/ogg")
    done = await wait_for(
        tg, lambda: next((s for s in tg.to_chat(OWNER) if s.text.startswith("✅")), None)
    )
    assert wer(speech_text, done.text.split("\n\n", 1)[1]) <= 0.25  # type: ignore[attr-defined]
    uploads = harness.settings.state_dir / "uploads"
    assert await wait_for(tg, lambda: uploads.is_dir() and not any(uploads.iterdir()), 30)


async def test_an_upload_whose_name_plays_unicode_tricks_is_just_the_file_you_sent(
    harness: Harness, speech_ogg: Path, speech_text: str
) -> None:
    tg = harness.tg
    trick = "\u202eggo.exe\u200b/../../etc/passwd\u202c.ogg"
    tg.user_uploads(OWNER, speech_ogg.read_bytes(), kind="document", file_name=trick)
    done = await wait_for(
        tg, lambda: next((s for s in tg.to_chat(OWNER) if s.text.startswith("✅")), None)
    )
    assert wer(speech_text, done.text.split("\n\n", 1)[1]) <= 0.25  # type: ignore[attr-defined]
    everything = " ".join(t for s in tg.to_chat(OWNER) for t in s.texts)
    assert "\u202e" not in everything and "\u200b" not in everything
    assert "../" not in everything and "etc/passwd" not in everything
    assert "\npasswd.ogg\n" in done.texts[0]  # type: ignore[attr-defined]  # its own name, cleaned
    assert not (harness.settings.state_dir.parent / "etc").exists()


async def test_an_upload_over_20_mb_is_explained_and_nothing_runs(
    harness: Harness, tmp_path: Path
) -> None:
    tg = harness.tg
    tg.user_uploads(OWNER, b"OggS", kind="audio", declared_size=25 * 1024 * 1024)
    reply = await wait_for(
        tg, lambda: next((s for s in tg.to_chat(OWNER) if "20 MB" in s.text), None), 30
    )
    assert "Send a link" in reply.text  # type: ignore[attr-defined]
    assert Ledger(harness.settings.state_dir / "ledger.sqlite3").all_jobs() == []


async def test_a_stranger_gets_their_id_and_nothing_else(harness: Harness) -> None:
    tg = harness.tg
    tg.user_sends(STRANGER, f"{harness.base_url}/talk.ogg")
    tg.user_sends(STRANGER, "/status")
    tg.user_sends(STRANGER, "/pin mac")
    tg.user_sends(
        STRANGER, f"{harness.base_url}/talk.ogg", forward_from=OWNER
    )  # the owner's, forwarded
    refusals = await wait_for(
        tg, lambda: len(tg.to_chat(STRANGER)) >= 4 and tg.to_chat(STRANGER), 30
    )
    assert all(f"Your Telegram id is {STRANGER}" in s.text for s in refusals)  # type: ignore[attr-defined]
    for data in ("sum:20261124-000000-abcdef", "cancel:20261124-000000-abcdef"):
        tg.user_presses(STRANGER, refusals[0], data)  # type: ignore[index]
    await wait_for(tg, lambda: len(tg.callback_answers) >= 2, 30)
    assert all(f"Your Telegram id is {STRANGER}" in a["text"] for a in tg.callback_answers)
    await asyncio.sleep(0.5)
    assert Ledger(harness.settings.state_dir / "ledger.sqlite3").all_jobs() == []


async def test_commands_answer(harness: Harness) -> None:
    tg = harness.tg
    tg.user_sends(OWNER, "/route")
    route = await wait_for(
        tg,
        lambda: next((s for s in tg.to_chat(OWNER) if s.text.startswith("transcribe →")), None),
        30,
    )
    assert "mac (Mac mini)" in route.text  # type: ignore[attr-defined]
    tg.user_sends(OWNER, "/pin rpi4")
    await wait_for(tg, lambda: any("Pinned" in s.text for s in tg.to_chat(OWNER)), 30)
    tg.user_sends(OWNER, "/route")
    pinned = await wait_for(
        tg, lambda: next((s for s in tg.to_chat(OWNER) if "[pinned]" in s.text), None), 30
    )
    assert "rpi4" in pinned.text  # type: ignore[attr-defined]
    tg.user_sends(OWNER, "/status")
    status = await wait_for(
        tg, lambda: next((s for s in tg.to_chat(OWNER) if s.text.startswith("Executor")), None), 30
    )
    assert "local" in status.text  # type: ignore[attr-defined]
    tg.user_sends(OWNER, "/jobs")
    await wait_for(tg, lambda: any("No jobs yet" in s.text for s in tg.to_chat(OWNER)), 30)


async def test_the_token_never_appears_in_what_the_bot_sends(harness: Harness) -> None:
    tg = harness.tg
    tg.user_sends(OWNER, f"{harness.base_url}/talk.ogg")
    await wait_for(tg, lambda: any(s.text.startswith("✅") for s in tg.to_chat(OWNER)))
    everything = " ".join(t for s in tg.sent for t in s.texts)
    assert TOKEN not in everything and TOKEN.split(":")[1] not in everything


async def test_429_floods_are_waited_out_and_everything_arrives(
    harness: Harness, speech_text: str
) -> None:
    from tests.emulators.telegram.server import Fault

    tg = harness.tg
    await wait_for(tg, lambda: tg.commands, 30)  # started
    tg.inject(Fault("*", 429, times=4, retry_after=1))
    tg.user_sends(OWNER, f"{harness.base_url}/talk.ogg")
    done = await wait_for(
        tg, lambda: next((s for s in tg.to_chat(OWNER) if s.text.startswith("✅")), None)
    )
    assert wer(speech_text, done.text.split("\n\n", 1)[1]) <= 0.25  # type: ignore[attr-defined]
    assert tg.faults[0].times == 0


@pytest.mark.parametrize("status", [500, 502])
async def test_a_5xx_storm_from_telegram_is_ridden_out_and_everything_arrives_once(
    harness: Harness, speech_text: str, status: int, tally: Tally
) -> None:
    from tests.emulators.telegram.server import Fault

    tg = harness.tg
    await wait_for(tg, lambda: tg.commands, 30)  # started
    tg.inject(Fault("*", status, times=8))  # polls, the progress message, edits, the delivery
    tg.user_sends(OWNER, f"{harness.base_url}/talk.ogg")
    done = await wait_for(
        tg, lambda: next((s for s in tg.to_chat(OWNER) if s.text.startswith("✅")), None)
    )
    srt = await wait_for(tg, lambda: [s for s in tg.to_chat(OWNER) if s.document], 60)
    await asyncio.sleep(1.5)  # anything sent twice would show by now
    tally.add(f"faults injected: Telegram HTTP {status}", 8)
    assert tg.faults[0].times == 0
    assert wer(speech_text, done.text.split("\n\n", 1)[1]) <= 0.25  # type: ignore[attr-defined]
    assert len([s for s in tg.to_chat(OWNER) if s.text.startswith("✅")]) == 1
    assert len(srt) == len([s for s in tg.to_chat(OWNER) if s.document]) == 1  # type: ignore[arg-type]


async def test_pinned_to_an_offline_mac_the_bot_says_it_waits_then_delivers(
    tmp_path: Path, speech_ogg: Path, speech_text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.e2e.conftest import MAC, PI4, job_env
    from tests.emulators.github import GitHubEmulator

    with (
        BotApiEmulator(TOKEN) as tg,
        GitHubEmulator(tmp_path / "gh", job_env=job_env(tmp_path)) as gh,
        serve({"/talk.ogg": body(speech_ogg.read_bytes())}) as (base, _),
    ):
        gh.add_runner("mac-mini", MAC, online=False, os="macOS")
        gh.add_runner("pi4", PI4)
        settings = bot_settings(
            tg,
            tmp_path,
            RELAYQ_EXECUTOR="github",
            GITHUB_TOKEN="ghp_CANARY_emulated",
            RELAYQ_GITHUB_REPO=gh.repo,
            RELAYQ_GITHUB_API_URL=gh.api_url,
            RELAYQ_FLEET_CHECK_S=1,
        )
        stop = asyncio.Event()
        task = asyncio.create_task(run_bot(settings, stop=stop))
        try:
            tg.user_sends(OWNER, "/pin mac")
            await wait_for(tg, lambda: any("Pinned" in s.text for s in tg.to_chat(OWNER)), 30)
            tg.user_sends(OWNER, f"{base}/talk.ogg")
            waiting = await wait_for(
                tg,
                lambda: next((s for s in tg.to_chat(OWNER) if "⏳" in s.text), None),
                60,
            )
            # Offline before the bot started: it can only say since when it has known.
            assert "⏳ waiting for the Mac mini — offline since at least " in waiting.text  # type: ignore[attr-defined]
            assert (
                gh.runs()[0].workflow_file == "transcribe_mac.yml"
                and gh.runs()[0].status == "queued"
            )
            gh.set_online("mac-mini", True)
            done = await wait_for(
                tg,
                lambda: next((s for s in tg.to_chat(OWNER) if s.text.startswith("✅")), None),
                120,
            )
            assert wer(speech_text, done.text.split("\n\n", 1)[1]) <= 0.25  # type: ignore[attr-defined]
            assert "https://github.com/owner/relayq/actions/runs/" in done.text  # type: ignore[attr-defined]
            assert len(gh.dispatches()) == 1
            assert any(
                s.text.startswith("🟢 Mac mini (mac-mini) is back online")
                for s in tg.to_chat(OWNER)
            )

            # The Mac goes away: the owner is told, and the next job says since when it waits.
            gh.set_online("mac-mini", False)
            alert = await wait_for(
                tg, lambda: next((s for s in tg.to_chat(OWNER) if "🔴" in s.text), None), 30
            )
            assert alert.text.startswith("🔴 Mac mini (mac-mini) went offline at ")  # type: ignore[attr-defined]
            went = alert.text.split(" at ")[1][:5]  # type: ignore[attr-defined]
            tg.user_sends(OWNER, "/status")
            status = await wait_for(
                tg, lambda: next((s for s in tg.to_chat(OWNER) if "Runners:" in s.text), None), 30
            )
            assert f"• mac-mini: offline since {went} — " in status.text  # type: ignore[attr-defined]
            assert "• pi4: online — " in status.text, status.text  # type: ignore[attr-defined]
            assert "GitHub API budget: " in status.text  # type: ignore[attr-defined]
            tg.user_sends(OWNER, f"{base}/talk.ogg?second")
            waiting = await wait_for(
                tg,
                lambda: next(
                    (
                        s
                        for s in tg.to_chat(OWNER)
                        if "⏳" in s.text and s.reply_markup and "?second" in s.text
                    ),
                    None,
                ),
                60,
            )
            assert f"waiting for the Mac mini — offline since {went}" in waiting.text  # type: ignore[attr-defined]
            job_button = waiting.reply_markup["inline_keyboard"][0][0]  # type: ignore[attr-defined]
            assert job_button["text"] == "Cancel"
            tg.user_presses(OWNER, waiting, job_button["callback_data"])  # type: ignore[arg-type]
            await wait_for(tg, lambda: "✖️ cancelled" in waiting.text, 60)  # type: ignore[attr-defined]
            assert gh.runs()[-1].conclusion == "cancelled"
            assert any("Cancelling job" in a.get("text", "") for a in tg.callback_answers)
        finally:
            stop.set()
            await asyncio.wait_for(task, 60)


async def test_an_upload_reaches_a_github_runner_and_the_token_shows_nowhere(
    tmp_path: Path, speech_ogg: Path, speech_text: str
) -> None:
    from tests.e2e.conftest import MAC, job_env
    from tests.emulators.github import GitHubEmulator

    with (
        BotApiEmulator(TOKEN) as tg,
        GitHubEmulator(tmp_path / "gh", job_env=job_env(tmp_path)) as gh,
    ):
        gh.add_runner("mac-mini", MAC, os="macOS")
        gh.secrets["TELEGRAM_BOT_TOKEN"] = TOKEN  # the runner's copy, as an Actions secret
        gh.variables["RELAYQ_TELEGRAM_API_BASE"] = tg.base
        settings = bot_settings(
            tg,
            tmp_path,
            RELAYQ_EXECUTOR="github",
            GITHUB_TOKEN="ghp_CANARY_emulated",
            RELAYQ_GITHUB_REPO=gh.repo,
            RELAYQ_GITHUB_API_URL=gh.api_url,
        )
        stop = asyncio.Event()
        task = asyncio.create_task(run_bot(settings, stop=stop))
        try:
            tg.user_uploads(OWNER, speech_ogg.read_bytes(), kind="voice", mime_type="audio/ogg")
            done = await wait_for(
                tg,
                lambda: next((s for s in tg.to_chat(OWNER) if s.text.startswith("✅")), None),
                180,
            )
        finally:
            stop.set()
            await asyncio.wait_for(task, 60)
        assert wer(speech_text, done.text.split("\n\n", 1)[1]) <= 0.25  # type: ignore[attr-defined]
        run = gh.runs()[0]
        assert run.inputs["source"].startswith(
            "tg:F"
        )  # the file id only: useless without the token
        assert not (tmp_path / "state" / "uploads").exists()  # the bot never downloaded it

        secret = TOKEN.split(":")[1]
        logs = " ".join(p.read_text() for p in (tmp_path / "gh").glob("act-*.log"))
        assert "fetch your voice message" in logs  # the runner fetched it itself
        artifacts = b"".join(p.read_bytes() for p in (tmp_path / "gh").rglob("*") if p.is_file())
        sent = " ".join(t for s in tg.sent for t in s.texts)
        where = {"run inputs": str(run.inputs), "run name": run.display_title, "act log": logs,
                 "messages": sent, "artifacts": artifacts.decode("latin-1")}  # fmt: skip
        assert [name for name, text in where.items() if secret in text] == []


async def test_the_summarize_button_sends_back_a_summary(
    tmp_path: Path, speech_ogg: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.emulators.openai import OpenAIEmulator

    key = "sk-CANARY-bot-summary-key"
    with (
        BotApiEmulator(TOKEN) as tg,
        OpenAIEmulator(key) as api,
        serve({"/talk.ogg": body(speech_ogg.read_bytes())}) as (base, _),
    ):
        # The job runs on this machine (local executor) and reads the runner's settings.
        monkeypatch.setenv("OPENAI_API_KEY", key)
        monkeypatch.setenv("OPENAI_BASE_URL", api.base_url)
        monkeypatch.setenv("RELAYQ_ALLOW_PRIVATE_URLS", "1")
        monkeypatch.setenv("RELAYQ_STATE_DIR", str(tmp_path / "state"))
        settings = bot_settings(tg, tmp_path, RELAYQ_EXECUTOR="local")
        stop = asyncio.Event()
        task = asyncio.create_task(run_bot(settings, stop=stop))
        try:
            tg.user_sends(OWNER, f"{base}/talk.ogg")
            done = await wait_for(
                tg, lambda: next((s for s in tg.to_chat(OWNER) if s.text.startswith("✅")), None)
            )
            button = done.reply_markup["inline_keyboard"][0][0]  # type: ignore[attr-defined]
            assert button["text"] == "Summarize"
            tg.user_presses(OWNER, done, button["callback_data"])  # type: ignore[arg-type]
            tg.user_presses(OWNER, done, button["callback_data"])  # twice: still one summary
            summary = await wait_for(
                tg,
                lambda: next((s for s in tg.to_chat(OWNER) if "(summary)" in s.text), None),
                120,
            )
            # The card is shown before the ledger records it (D14): stopped in between, the
            # summary would be shown again after a restart, so wait for the record.
            ledger = Ledger(settings.state_dir / "ledger.sqlite3")
            await wait_for(tg, lambda: [r.state for r in ledger.all_jobs()] == ["delivered"] * 2)
        finally:
            stop.set()
            await asyncio.wait_for(task, 60)
    assert summary.text.split("\n\n", 1)[1].startswith("- The quick brown fox")  # type: ignore[attr-defined]
    assert len(api.chats()) == 1
    assert any("Summarizing job" in a.get("text", "") for a in tg.callback_answers)
    rows = Ledger(settings.state_dir / "ledger.sqlite3").all_jobs()
    assert [(r.kind, r.state) for r in rows] == [
        ("transcribe", "delivered"),
        ("summarize", "delivered"),
    ]
    assert key not in " ".join(t for s in tg.sent for t in s.texts)


async def test_when_the_remote_backend_fails_the_fallback_transcribes_and_the_message_says_so(
    tmp_path: Path, speech_ogg: Path, speech_text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.emulators.openai import OpenAIEmulator

    with (
        BotApiEmulator(TOKEN) as tg,
        OpenAIEmulator("sk-the-right-key") as api,
        serve({"/talk.ogg": body(speech_ogg.read_bytes())}) as (base, _),
    ):
        # The runner's settings: OpenAI first, with a key the API refuses; then the local model.
        monkeypatch.setenv("RELAYQ_BACKEND", "openai")
        monkeypatch.setenv("RELAYQ_BACKEND_FALLBACK", "local")
        monkeypatch.setenv("OPENAI_API_KEY", "sk-CANARY-revoked-key")
        monkeypatch.setenv("OPENAI_BASE_URL", api.base_url)
        monkeypatch.setenv("RELAYQ_ALLOW_PRIVATE_URLS", "1")
        monkeypatch.setenv("RELAYQ_STATE_DIR", str(tmp_path / "state"))
        settings = bot_settings(tg, tmp_path, RELAYQ_EXECUTOR="local")
        stop = asyncio.Event()
        task = asyncio.create_task(run_bot(settings, stop=stop))
        try:
            tg.user_sends(OWNER, f"{base}/talk.ogg")
            done = await wait_for(
                tg, lambda: next((s for s in tg.to_chat(OWNER) if s.text.startswith("✅")), None)
            )
        finally:
            stop.set()
            await asyncio.wait_for(task, 60)
    head, text = done.text.split("\n\n", 1)  # type: ignore[attr-defined]
    assert "⚠️ openai failed, so local did it: 127.0.0.1 refused the key in OPENAI_API_KEY" in head
    assert wer(speech_text, text) <= 0.25
    assert len(api.transcriptions()) == 1
    assert "sk-CANARY-revoked-key" not in " ".join(t for s in tg.sent for t in s.texts)


async def test_a_summary_on_github_runs_on_the_pi_from_the_transcripts_run(
    tmp_path: Path, speech_ogg: Path
) -> None:
    from tests.e2e.conftest import MAC, PI4, job_env
    from tests.emulators.github import GitHubEmulator
    from tests.emulators.openai import OpenAIEmulator

    key = "sk-CANARY-runner-summary-key"
    with (
        BotApiEmulator(TOKEN) as tg,
        OpenAIEmulator(key) as api,
        serve({"/talk.ogg": body(speech_ogg.read_bytes())}) as (base, _),
    ):
        runner_env = dict(job_env(tmp_path), OPENAI_API_KEY=key, OPENAI_BASE_URL=api.base_url)
        with GitHubEmulator(tmp_path / "gh", job_env=runner_env) as gh:
            gh.add_runner("mac-mini", MAC, os="macOS")
            gh.add_runner("pi4", PI4)
            settings = bot_settings(
                tg,
                tmp_path,
                RELAYQ_EXECUTOR="github",
                GITHUB_TOKEN="ghp_CANARY_emulated",
                RELAYQ_GITHUB_REPO=gh.repo,
                RELAYQ_GITHUB_API_URL=gh.api_url,
            )
            stop = asyncio.Event()
            task = asyncio.create_task(run_bot(settings, stop=stop))
            try:
                tg.user_sends(OWNER, f"{base}/talk.ogg")
                done = await wait_for(
                    tg,
                    lambda: next((s for s in tg.to_chat(OWNER) if s.text.startswith("✅")), None),
                    180,
                )
                button = done.reply_markup["inline_keyboard"][0][0]  # type: ignore[attr-defined]
                tg.user_presses(OWNER, done, button["callback_data"])  # type: ignore[arg-type]
                summary = await wait_for(
                    tg,
                    lambda: next((s for s in tg.to_chat(OWNER) if "(summary)" in s.text), None),
                    180,
                )
            finally:
                stop.set()
                await asyncio.wait_for(task, 60)
            transcribed, summarized = gh.runs()
    assert summary.text.split("\n\n", 1)[1].startswith("- The quick brown fox")  # type: ignore[attr-defined]
    assert (transcribed.workflow_file, summarized.workflow_file) == (
        "transcribe_mac.yml", "summarize_rpi.yml")  # fmt: skip
    assert summarized.inputs["source"] == f"run:{transcribed.id}"
    assert summarized.runner == "pi4"
    assert key not in " ".join(t for s in tg.sent for t in s.texts)


async def test_fifty_links_or_a_wall_of_text_run_nothing_and_say_why(harness: Harness) -> None:
    tg = harness.tg
    tg.user_sends(OWNER, " ".join(f"https://example.org/{n}.mp3" for n in range(50)))
    tg.user_sends(OWNER, "\u202elol " * 1250)  # 5,000 characters, RTL override, no link
    replies = await wait_for(tg, lambda: len(tg.to_chat(OWNER)) >= 2 and tg.to_chat(OWNER), 30)
    texts = [s.text for s in replies]  # type: ignore[attr-defined]
    assert texts[0] == "That message has 50 links; send at most 10 at a time."
    assert texts[1].startswith("Send me an http(s) link to audio or video")
    await asyncio.sleep(0.5)
    assert Ledger(harness.settings.state_dir / "ledger.sqlite3").all_jobs() == []
