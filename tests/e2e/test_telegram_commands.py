"""The bot's answers to commands and messages it cannot act on: real python-telegram-bot
against the Bot API emulator, each answer one sentence saying what was wrong and what to do."""

from __future__ import annotations

import asyncio
import re
import socket
from pathlib import Path

import pytest

from bot.ledger import Ledger
from bot.telegram import texts
from tests.e2e.test_telegram_bot import (
    OWNER,
    STRANGER,
    TOKEN,
    Harness,
    bot_settings,
    running,
    wait_for,
)
from tests.emulators.telegram import BotApiEmulator
from tests.emulators.telegram.server import Sent

pytestmark = pytest.mark.slow


async def answer_to(tg: BotApiEmulator, text: str, timeout: float = 30) -> Sent:
    """What the bot sends the owner next, after the owner sends `text`."""
    before = len(tg.to_chat(OWNER))
    tg.user_sends(OWNER, text)
    found = await wait_for(tg, lambda: tg.to_chat(OWNER)[before:], timeout)
    return found[0]  # type: ignore[index,no-any-return]


def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens (bound, then closed)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_status_and_route_say_github_is_not_answering_and_status_shows_the_ledger(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.executors import github
    from tests.e2e.conftest import FAST

    monkeypatch.setattr(github, "Pacing", lambda: FAST)  # give up in seconds, not a minute
    with BotApiEmulator(TOKEN) as tg:
        settings = bot_settings(
            tg,
            tmp_path,
            RELAYQ_EXECUTOR="github",
            GITHUB_TOKEN="ghp_CANARY_emulated",
            RELAYQ_GITHUB_REPO="owner/relayq",
            RELAYQ_GITHUB_API_URL=f"http://127.0.0.1:{closed_port()}",
        )
        async with running(settings):
            status = await answer_to(tg, "/status", 20)
            route = await answer_to(tg, "/route", 20)
    *lines, state = status.text.splitlines()
    assert lines == [
        texts.github_down("/status"),
        "Executor: github",
        "Queue: empty",
        "Your active jobs: none",
        "Your defaults: language auto (detected) · files txt, srt",
    ]
    assert re.fullmatch(r"State: [\d.]+ kB in 0 job folders · kept 90 days", state), state
    # /route still answers with the policy's choice, and says the runners could not be seen.
    assert route.text.startswith(texts.route_blind("GitHub is not answering") + "\n\n")
    assert "mac (Mac mini): runner state unknown (GitHub is not answering) — taken" in route.text
    assert "the job is kept" not in route.text


async def test_status_answers_in_seconds_while_github_is_slow(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GitHub takes 8 s to list the runners (a 30 s client timeout, so no error comes): the
    command does not wait for it, and the rest of the chat is not held up behind it."""
    from bot.lifecycle import routing
    from tests.emulators.github import GitHubEmulator
    from tests.emulators.github.server import Fault

    monkeypatch.setattr(routing, "FLEET_WAIT_S", 1.0)
    with (
        BotApiEmulator(TOKEN) as tg,
        GitHubEmulator(tmp_path / "gh", job_env={}) as gh,
    ):
        gh.inject(Fault("GET", r"/actions/runners$", 200, delay_s=8.0, apply_first=True, times=5))
        settings = bot_settings(tg, tmp_path, RELAYQ_EXECUTOR="github",
                                GITHUB_TOKEN="ghp_CANARY_emulated", RELAYQ_GITHUB_REPO=gh.repo,
                                RELAYQ_GITHUB_API_URL=gh.api_url)  # fmt: skip
        async with running(settings):
            status = await answer_to(tg, "/status", 5)
            jobs = await answer_to(tg, "/jobs", 5)
    assert status.text.splitlines()[0] == texts.github_down("/status")
    assert jobs.text  # answered at once, not after GitHub


async def test_a_pin_to_a_target_that_cannot_transcribe_is_refused(harness: Harness) -> None:
    refused = await answer_to(harness.tg, "/pin rpi3")
    assert refused.text == (
        "rpi3 (Raspberry Pi 3) takes only summaries, not transcriptions, so every one pinned "
        "there would fail; transcriptions run on mac, rpi4, pool: /pin one of those, or /unpin."
    )
    assert Ledger(harness.settings.state_dir / "ledger.sqlite3").pinned(OWNER) is None
    usage = await answer_to(harness.tg, "/pin")
    assert usage.text == (
        "No pin: the policy chooses where your jobs run. Pin one of: mac, rpi4, pool — for "
        "example /pin mac"
    )
    assert (await answer_to(harness.tg, "/pin nowhere")).text == (
        "'nowhere' is not a target you can pin. Pin one of: mac, rpi4, pool — for example /pin mac"
    )
    pinned = await answer_to(harness.tg, "/pin RPI4")  # as a phone capitalises it
    assert pinned.text.startswith("Pinned: your jobs now run on rpi4")
    assert (await answer_to(harness.tg, "/pin")).text.startswith(
        "Your jobs are pinned to rpi4 (Raspberry Pi 4); /unpin lets the policy choose. Pin one"
    )


async def test_unknown_commands_photos_and_other_files_get_one_sentence(
    harness: Harness,
) -> None:
    tg = harness.tg
    assert (await answer_to(tg, "/foo")).text == "I don't know /foo; /help lists what I can do."
    transcribe = await answer_to(tg, "/transcribe https://example.org/a.mp3")
    assert transcribe.text == "I don't know /transcribe; /help lists what I can do."
    assert (await answer_to(tg, "/help")).text == texts.HELP  # a real command still is one
    tg.user_uploads(OWNER, b"\x89PNG", kind="photo")
    tg.user_uploads(OWNER, b"%PDF-1.4", kind="document", file_name="a.pdf",
                    mime_type="application/pdf")  # fmt: skip
    replies = await wait_for(tg, lambda: len(tg.to_chat(OWNER)) >= 5 and tg.to_chat(OWNER)[3:])
    assert [s.text for s in replies] == [  # type: ignore[attr-defined]
        "That is a photo, and I transcribe speech: send me an audio or video file, or an "
        "http(s) link to one.",
        "That file (application/pdf) is not audio or video: send me an audio or video file, "
        "or an http(s) link to one.",
    ]
    assert Ledger(harness.settings.state_dir / "ledger.sqlite3").all_jobs() == []


async def test_audio_sent_as_a_plain_file_is_transcribed_whatever_type_the_app_gave_it(
    harness: Harness, tmp_path: Path
) -> None:
    """Telegram types an Ogg file application/ogg, and many apps send any file as
    application/octet-stream: those are media all the same (an octet-stream by its name)."""
    from tests.jobs.media import silence

    tg = harness.tg
    quiet = silence(tmp_path / "quiet.flac", 3.0).read_bytes()
    tg.user_uploads(OWNER, quiet, kind="document", file_name="Morning notes.ogg",
                    mime_type="application/ogg")  # fmt: skip
    tg.user_uploads(OWNER, quiet, kind="document", file_name="Call with Sam.FLAC",
                    mime_type="application/octet-stream")  # fmt: skip
    tg.user_uploads(OWNER, b"\0" * 64, kind="document", file_name="backup.bin",
                    mime_type="application/octet-stream")  # fmt: skip
    done = await wait_for(tg, lambda: (d := [s for s in tg.to_chat(OWNER)
                                             if s.text.startswith("✅")]) and len(d) == 2 and d)  # fmt: skip
    said = [d.texts[0] for d in done]  # type: ignore[attr-defined]
    assert sorted(n for n in ("Call with Sam.FLAC", "Morning notes.ogg")
                  if any(n in t for t in said)) == ["Call with Sam.FLAC", "Morning notes.ogg"]  # fmt: skip
    refused = [s.text for s in tg.to_chat(OWNER) if s.text.startswith("That file")]
    assert refused == ["That file (application/octet-stream) is not audio or video: send me an "
                       "audio or video file, or an http(s) link to one."]  # fmt: skip
    assert len(Ledger(harness.settings.state_dir / "ledger.sqlite3").all_jobs()) == 2


async def test_a_stranger_still_gets_only_the_refusal_for_unknown_commands_and_photos(
    harness: Harness,
) -> None:
    tg = harness.tg
    tg.user_sends(STRANGER, "/foo")
    tg.user_uploads(STRANGER, b"\x89PNG", kind="photo")
    refusals = await wait_for(tg, lambda: len(tg.to_chat(STRANGER)) >= 2 and tg.to_chat(STRANGER))
    await asyncio.sleep(0.5)  # a second answer to either would show by now
    assert [s.text for s in tg.to_chat(STRANGER)] == [texts.refusal(STRANGER)] * 2
    assert len(refusals) == 2  # type: ignore[arg-type]


async def test_route_takes_a_link_or_a_job_kind_and_refuses_anything_else(
    harness: Harness,
) -> None:
    tg = harness.tg
    link = await answer_to(tg, "/route https://example.org/talk.mp3")
    assert link.text.startswith("transcribe → mac (Mac mini) via transcribe_mac.yml")
    summarize = await answer_to(tg, "/route summarize")
    assert summarize.text.startswith("summarize → rpi4 (Raspberry Pi 4)")
    bogus = await answer_to(tg, "/route bogus")
    assert bogus.text == (
        "/route takes a link or a job kind (transcribe, summarize), not 'bogus'; "
        "for example /route summarize."
    )


async def test_the_summarize_button_after_a_failed_summary_says_it_failed_and_why(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("OPENAI_API_KEY", "OPENROUTER_API_KEY"):  # the summary fails: no API key
        monkeypatch.delenv(name, raising=False)
    tg = harness.tg
    tg.user_sends(OWNER, f"{harness.base_url}/talk.ogg")
    done = await wait_for(
        tg, lambda: next((s for s in tg.to_chat(OWNER) if s.text.startswith("✅")), None)
    )
    button = done.reply_markup["inline_keyboard"][0][0]  # type: ignore[attr-defined]
    assert button["text"] == "Summarize"
    tg.user_presses(OWNER, done, button["callback_data"])  # type: ignore[arg-type]
    await wait_for(tg, lambda: any("❌ failed" in s.text for s in tg.to_chat(OWNER)), 120)
    tg.user_presses(OWNER, done, button["callback_data"])  # type: ignore[arg-type]
    await wait_for(tg, lambda: len(tg.callback_answers) >= 2, 30)
    transcript_id = button["callback_data"].removeprefix("sum:")
    first, again = (a["text"] for a in tg.callback_answers)
    assert first.startswith(f"Summarizing job {transcript_id} as job ")
    assert again.startswith(f"The summary of job {transcript_id} failed: summaries need an API key")
    assert again.endswith(f". Send /summarize {transcript_id} to try again.")
    assert len(again) <= texts.MAX_ANSWER
    rows = Ledger(harness.settings.state_dir / "ledger.sqlite3").all_jobs()
    assert [(r.kind, r.state) for r in rows] == [
        ("transcribe", "delivered"),
        ("summarize", "failed"),
    ]


async def test_an_uploads_size_and_length_meet_the_policys_limits(
    tmp_path: Path, speech_ogg: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Telegram says how big and how long an upload is, so the policy's limits apply to it:
    pinned to the Pi 4 (200 MB), a 300 MB file is refused with the reason, and nothing runs.
    Before, every upload was "size unknown" and went wherever it was sent."""
    monkeypatch.setenv("RELAYQ_STATE_DIR", str(tmp_path / "state"))
    with BotApiEmulator(TOKEN) as tg:
        settings = bot_settings(tg, tmp_path, RELAYQ_EXECUTOR="local",
                                RELAYQ_TELEGRAM_DOWNLOAD_LIMIT_MB=2000)  # fmt: skip
        async with running(settings):
            assert "Pinned" in (await answer_to(tg, "/pin rpi4")).text
            tg.user_uploads(OWNER, speech_ogg.read_bytes(), kind="audio", mime_type="audio/ogg",
                            declared_size=300 * 1024 * 1024)  # fmt: skip
            failed = await wait_for(
                tg, lambda: next((s for s in tg.to_chat(OWNER) if "❌" in s.text), None), 60
            )
    (row,) = Ledger(tmp_path / "state" / "ledger.sqlite3").all_jobs()
    assert "over its 200 MB limit" in failed.text  # type: ignore[attr-defined]
    assert row.state == "failed" and row.size_mb == 300 and row.duration_min == 25 / 60
    assert not (tmp_path / "state" / "uploads").exists()  # nothing was fetched


async def test_silence_says_no_speech_offers_no_summary_and_summarize_skips_it(
    harness: Harness, tmp_path: Path
) -> None:
    from tests.jobs.media import silence

    tg = harness.tg
    quiet = silence(tmp_path / "quiet.flac", 10.0)
    tg.user_uploads(OWNER, quiet.read_bytes(), kind="audio", file_name="quiet.flac",
                    mime_type="audio/flac")  # fmt: skip
    done = await wait_for(
        tg, lambda: next((s for s in tg.to_chat(OWNER) if s.text.startswith("✅")), None)
    )
    assert done.text.endswith("\n\n🔇 no speech found in 10 s of audio")  # type: ignore[attr-defined]
    assert "quiet.flac" in done.texts[0]  # type: ignore[attr-defined]  # the person's own name
    assert not done.reply_markup  # type: ignore[attr-defined]  # no Summarize button
    assert (await answer_to(tg, "/summarize")).text == (
        "There is no finished transcript to summarize yet."
    )
    job = Ledger(harness.settings.state_dir / "ledger.sqlite3").all_jobs()[0]
    assert (await answer_to(tg, f"/summarize {job.id}")).text == (
        f"Job {job.id} found no speech, so there is nothing to summarize."
    )
    assert not [s for s in tg.to_chat(OWNER) if s.document]  # no empty subtitle file either


async def test_a_link_to_an_internal_address_is_refused_at_once_with_the_runners_sentence(
    tmp_path: Path,
) -> None:
    from jobs.fetch import literal_refusal

    metadata = "http://169.254.169.254/latest/meta-data/"
    with BotApiEmulator(TOKEN) as tg:
        settings = bot_settings(tg, tmp_path, RELAYQ_EXECUTOR="local",
                                RELAYQ_ALLOW_PRIVATE_URLS=False)  # fmt: skip
        async with running(settings):
            route = await answer_to(tg, f"/route {metadata}")
            sent = await answer_to(tg, f"summarize this {metadata} and http://2130706433/a.mp3")
            second = await wait_for(tg, lambda: tg.to_chat(OWNER)[2:], 30)
            password = await answer_to(tg, "http://ann:hunter2@example.org/a.mp3")
    said = literal_refusal(metadata)
    assert said is not None and said.startswith("refusing to fetch http://169.254.169.254/")
    assert route.text == sent.text == said[0].upper() + said[1:] + "."
    assert "2130706433 resolves to 127.0.0.1, which is a loopback address" in second[0].text  # type: ignore[index]
    assert password.text.startswith("Links with a user name or password in them are not")
    assert "hunter2" not in password.text
    assert Ledger(settings.state_dir / "ledger.sqlite3").all_jobs() == []  # nothing ran


async def test_lang_and_formats_are_kept_per_person_shown_in_status_and_bad_ones_explained(
    harness: Harness,
) -> None:
    tg = harness.tg
    assert (await answer_to(tg, "/lang xx")).text == (
        "/lang wants a language code such as de or fr, or auto; 'xx' is not a language "
        "Whisper knows."
    )
    assert (await answer_to(tg, "/formats pdf")).text == (
        "/formats takes txt, srt and vtt, not 'pdf'; for example /formats txt,srt (any of txt, "
        "srt, vtt)."
    )
    assert (await answer_to(tg, "/lang de")).text.startswith("Language: German (de) — ")
    assert (await answer_to(tg, "/formats srt,vtt")).text == (
        "Your new transcripts come as: srt, vtt."
    )
    status = await answer_to(tg, "/status")
    assert "Your defaults: language German (de) · files srt, vtt" in status.text.splitlines()
    assert (await answer_to(tg, "/lang auto")).text == (
        "Language: auto — each new job's language is detected."
    )
    prefs = Ledger(harness.settings.state_dir / "ledger.sqlite3").prefs(OWNER)
    assert (prefs.language, prefs.formats) == (None, ("srt", "vtt"))


async def test_translate_runs_the_same_source_again_as_a_translation_with_the_chosen_files(
    harness: Harness,
) -> None:
    """The plumbing end to end: /translate makes a job of task translate on the transcript's
    source, the local executor runs `relayq transcribe --task translate`, and the result comes
    with the files /formats chose. (Whether the words are English is the runner's part.)"""
    import json

    tg = harness.tg
    assert (await answer_to(tg, "/translate")).text == (
        "There is no finished transcript to translate yet."
    )
    from tests import speech
    from tests.jobs.httpserver import body, serve

    folder = harness.settings.state_dir.parent
    german = speech.speak("de", folder)  # English would be refused: it is already English
    with serve({"/rede.wav": body(german.read_bytes())}) as (base, _):
        tg.user_sends(OWNER, f"{base}/rede.wav")
        await wait_for(tg, lambda: [s for s in tg.to_chat(OWNER) if s.document], 120)
        assert (await answer_to(tg, "/formats txt,srt,vtt")).text.endswith("txt, srt, vtt.")
        said = await answer_to(tg, "/translate")
        ledger = Ledger(harness.settings.state_dir / "ledger.sqlite3")
        first, translation = ledger.all_jobs()
        assert said.text == f"Translating job {first.id} as job {translation.id}."
        done = await wait_for(
            tg, lambda: next((s for s in tg.to_chat(OWNER) if s.text.startswith(
                f"✅ job {translation.id} done (translation)")), None), 180,
        )  # fmt: skip

        def replies() -> list[str]:
            return [s.document[0] for s in tg.to_chat(OWNER)
                    if s.document and s.reply_to == done.message_id]  # type: ignore[attr-defined]  # fmt: skip

        files = await wait_for(tg, lambda: len(replies()) >= 2 and replies())
        assert files == ["transcript.srt", "transcript.vtt"]
        row = ledger.get(translation.id)
        assert (row.task, row.source, row.result_formats) == ("translate", first.source,
                                                              ("txt", "srt", "vtt"))  # fmt: skip
        spec = json.loads(
            (harness.settings.state_dir / "local-jobs" / row.id / "spec.json").read_text()
        )
        assert spec["task"] == "translate"
        assert (await answer_to(tg, f"/translate {row.id}")).text == (
            f"Job {row.id} is already in English; there is nothing to translate."
        )
        # Asked again (the button, then the command): the translation there is, not another.
        assert (await answer_to(tg, f"/translate {first.id}")).text == (
            f"The translation of job {first.id} is job {translation.id}, already in this chat."
        )
        assert len(ledger.all_jobs()) == 2


async def test_status_shows_each_runners_speed_and_route_each_candidates_expected_finish(
    tmp_path: Path,
) -> None:
    """One transcription delivered earlier (600 s of audio in 60 s on mac-mini): /status says
    what an hour takes there and, for the machines never measured, the policy's default;
    /route says when each candidate would finish and what the figure rests on."""
    from bot.speed import Sample
    from bot.timings import Timings

    with BotApiEmulator(TOKEN) as tg:
        settings = bot_settings(tg, tmp_path)
        ledger = Ledger(settings.state_dir / "ledger.sqlite3")
        Timings(ledger).record("earlier", Sample("mac", "mac-mini", "tiny.en", "local", 600.0,
                                                 75.0, 2.0, 1.0, 60.0, 1.0))  # fmt: skip
        ledger.close()
        async with running(settings):
            status = await answer_to(tg, "/status")
            route = await answer_to(tg, "/route")
    lines = status.text.splitlines()
    assert lines[lines.index("Speeds:") + 1] == (
        "• Mac mini (mac-mini): 1 h of audio in about 6 min (measured on 1 job)"
    )
    assert "• Raspberry Pi 4: 1 h of audio in about 25 min (the policy's default: no job " \
        "measured yet)" in lines  # fmt: skip
    said = route.text.splitlines()
    assert said[0].startswith("transcribe → mac (Mac mini)")  # first_free: as before
    finish = said[said.index("Expected finish:") + 1 :]
    assert finish[0] == ("  Mac mini: starts now, done in about 3 min (measured on 1 job; length "
                         "unknown, assumed 30 min)")  # fmt: skip
    assert finish[1] == ("  Raspberry Pi 4: starts now, done in about 13 min (first job on this "
                         "runner; length unknown, assumed 30 min)")  # fmt: skip
