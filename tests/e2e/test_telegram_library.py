"""The transcript library through the real bot: python-telegram-bot against the Bot API
emulator, a transcript made by the local executor, then /find with its Get button and /get
sending the kept files again; another allowed user sees none of it."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from bot.ledger import Ledger
from tests.e2e.test_telegram_bot import OWNER, TOKEN, bot_settings, running, wait_for
from tests.emulators.telegram import BotApiEmulator
from tests.emulators.telegram.server import Sent
from tests.jobs.httpserver import body, serve, stall

pytestmark = pytest.mark.slow
OTHER = 2222


async def said_to(tg: BotApiEmulator, user: int, text: str, timeout: float = 30) -> Sent:
    """What the bot sends `user` next, after `user` sends `text`."""
    before = len(tg.to_chat(user))
    tg.user_sends(user, text)
    found = await wait_for(tg, lambda: tg.to_chat(user)[before:], timeout)
    return found[0]  # type: ignore[index,no-any-return]


async def sent_again(tg: BotApiEmulator, after: int, names: list[str]) -> tuple[Sent, list[Sent]]:
    """The "sent again" line the owner got after message `after`, and the files under it."""

    def arrived() -> tuple[Sent, list[Sent]] | None:
        new = tg.to_chat(OWNER)[after:]
        line = next((s for s in new if s.text.startswith("📄 ")), None)
        if line is None:
            return None
        files = [s for s in new if s.document is not None and s.reply_to == line.message_id]
        return (line, files) if len(files) == len(names) else None

    found = await wait_for(tg, arrived, 30)
    assert found is not None
    line, files = found  # type: ignore[misc]
    assert [s.document[0] for s in files if s.document] == names
    return line, files


async def test_find_answers_with_a_button_that_sends_the_transcript_again_and_get_does_too(
    tmp_path: Path, speech_ogg: Path, cached_transcripts: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RELAYQ_ALLOW_PRIVATE_URLS", "1")  # the job fetches from the test server
    with (
        BotApiEmulator(TOKEN) as tg,
        serve({"/talk.ogg": body(speech_ogg.read_bytes())}) as (base, _),
    ):
        settings = bot_settings(tg, tmp_path, RELAYQ_EXECUTOR="local",
                                RELAYQ_ALLOWED_USERS=f"{OWNER},{OTHER}")  # fmt: skip
        async with running(settings):
            tg.user_sends(OWNER, f"{base}/talk.ogg")
            done = await wait_for(tg, lambda: next(
                (s for s in tg.to_chat(OWNER) if s.text.startswith("✅")), None))  # fmt: skip
            await wait_for(tg, lambda: any(s.document for s in tg.to_chat(OWNER)), 60)
            (job,) = Ledger(settings.state_dir / "ledger.sqlite3").all_jobs()
            text = done.text.split("\n\n", 1)[1]  # type: ignore[attr-defined]
            word = max(re.findall(r"[a-z]+", text.lower()), key=len)  # a word it surely has

            found = await said_to(tg, OWNER, f"/find {word.upper()}")
            assert found.text.startswith("Found in your transcripts (1, best first):")
            assert f"/get {job.id}" in found.text and f"«{word}" in found.text.lower()
            (button,) = found.reply_markup["inline_keyboard"][0]
            assert button["callback_data"] == f"get:{job.id}"
            before = len(tg.to_chat(OWNER))
            tg.user_presses(OWNER, found, button["callback_data"])
            line, files = await sent_again(tg, before, ["transcript.txt", "transcript.srt"])
            assert line.text.endswith(f"job {job.id}, sent again")
            kept = settings.state_dir / "local-jobs" / job.id / "out"
            assert files[0].document == ("transcript.txt", (kept / "transcript.txt").read_bytes())
            await wait_for(tg, lambda: any(a.get("text", "").startswith(f"Sending job {job.id} again")
                                           for a in tg.callback_answers), 30)  # fmt: skip

            # /get, in the formats chosen now; nothing runs again.
            await said_to(tg, OWNER, "/formats txt,vtt")
            before = len(tg.to_chat(OWNER))
            tg.user_sends(OWNER, f"/get {job.id}")
            await sent_again(tg, before, ["transcript.txt", "transcript.vtt"])
            assert len(Ledger(settings.state_dir / "ledger.sqlite3").all_jobs()) == 1

            # Another allowed user can neither find nor get it; the owner finds it with --all.
            nothing = await said_to(tg, OTHER, f"/find {word}")
            assert nothing.text.startswith("Nothing in your transcripts matches")
            refused = await said_to(tg, OTHER, f"/get {job.id}")
            assert refused.text == f"There is no job {job.id} of yours; /jobs and /find list yours."
            tg.user_presses(OTHER, found, f"get:{job.id}")
            await wait_for(tg, lambda: any(a.get("text", "").startswith("There is no job")
                                           for a in tg.callback_answers), 30)  # fmt: skip
            assert not [s for s in tg.to_chat(OTHER) if s.document is not None]
            assert (await said_to(tg, OTHER, f"/find --all {word}")).text.startswith(
                "Only the owner can search everyone's"
            )
            everyone = await said_to(tg, OWNER, f'/find --all "{word}" * "')
            assert everyone.text.startswith("Found in anyone's transcripts (1, best first):")

            jobs = await said_to(tg, OWNER, "/jobs")
            assert jobs.text.splitlines()[1].startswith("• ")
            assert f"{job.id} · " in jobs.text and " s · delivered on this machine" in jobs.text
            assert [c["command"] for c in tg.commands if c["command"] in ("find", "get")] == [
                "find", "get"]  # fmt: skip

            # Its files swept, as retention does: /get sends its text from the library.
            words = (kept / "transcript.txt").read_text(encoding="utf-8").split()
            shutil.rmtree(kept.parent)
            before = len(tg.to_chat(OWNER))
            tg.user_sends(OWNER, f"/get {job.id}")
            line, (txt,) = await sent_again(tg, before, ["transcript.txt"])
            assert line.text.endswith("Its files are no longer kept here; this is its text.")
            assert txt.document is not None and txt.document[1].decode().split() == words


async def test_forget_through_the_bot_leaves_no_word_of_the_transcript_in_the_state_folder(
    tmp_path: Path, speech_ogg: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """/forget with each of its bad inputs, then for real: what it says, and a word of the
    transcript greped for in every file of the state folder (ledger, WAL, cache) afterwards.
    The job transcribes afresh into a cache inside the state folder (not the run's shared one,
    which other tests read while this one deletes from it)."""
    state = tmp_path / "state"
    monkeypatch.setenv("RELAYQ_ALLOW_PRIVATE_URLS", "1")
    monkeypatch.setenv("RELAYQ_CACHE_DIR", str(state / "cache"))
    with (
        BotApiEmulator(TOKEN) as tg,
        serve({"/talk.ogg": body(speech_ogg.read_bytes())}) as (base, _),
    ):
        settings = bot_settings(tg, tmp_path, RELAYQ_EXECUTOR="local",
                                RELAYQ_ALLOWED_USERS=f"{OWNER},{OTHER}")  # fmt: skip
        async with running(settings):
            tg.user_sends(OWNER, f"{base}/talk.ogg")
            done = await wait_for(tg, lambda: next(
                (s for s in tg.to_chat(OWNER) if s.text.startswith("✅")), None), 120)  # fmt: skip
            await wait_for(tg, lambda: any(s.document for s in tg.to_chat(OWNER)), 60)
            ledger = Ledger(settings.state_dir / "ledger.sqlite3")
            (job,) = ledger.all_jobs()
            # A word of the transcript, and not of the ledger's schema (its comments say
            # "transcript"): where it is found, it is the transcript's.
            schema = " ".join(
                r[0] or "" for r in ledger.db.execute("SELECT sql FROM sqlite_master")
            )
            ledger.close()
            text = done.text.split("\n\n", 1)[1]  # type: ignore[attr-defined]
            words = sorted(set(re.findall(r"[a-z]+", text.lower())), key=len, reverse=True)
            word = next(w for w in words if w not in schema.lower())
            assert files_with(state, word)  # the grep below can see it

            usage = await said_to(tg, OWNER, "/forget")
            assert usage.text == "Say which job to forget: /forget <job id> (see /jobs or /find)."
            strange = await said_to(tg, OTHER, f"/forget {job.id}")
            assert strange.text == f"There is no job {job.id} of yours; /jobs and /find list yours."
            huge = await said_to(tg, OWNER, "/forget " + "x" * 4000)
            assert huge.text.startswith("That is not a job id")

            forgot = await said_to(tg, OWNER, f"/forget {job.id}")
            first = forgot.text.splitlines()[0]
            assert first == (f"Forgot {base}/talk.ogg: the transcript, its 5 files, the cached "
                             "transcript and its words in your job list.")  # fmt: skip
            assert files_with(state, word) == []
            again = await said_to(tg, OWNER, f"/forget {job.id}")
            assert again.text == f"Job {job.id} is already forgotten; nothing of it is kept."
            gone = await said_to(tg, OWNER, f"/get {job.id}")
            assert gone.text.startswith(f"Job {job.id} was forgotten")
            nothing = await said_to(tg, OWNER, f"/find {word}")
            assert nothing.text.startswith("Nothing in your transcripts matches")
            assert "• (forgotten)" in (await said_to(tg, OWNER, "/jobs")).text
            assert "forget" in [c["command"] for c in tg.commands]


def files_with(folder: Path, word: str) -> list[str]:
    needles = (word.encode(), word.upper().encode(), word.capitalize().encode())
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")
                  if p.is_file() and any(n in p.read_bytes() for n in needles))  # fmt: skip


async def test_a_job_still_running_is_neither_sent_again_nor_forgotten_and_long_queries_are_words(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The library's bad inputs through the real bot while a job is on its way (its source
    stalls mid-download): /get and /forget of it say so and do nothing, a 4,000-character
    /find is an ordinary search that finds nothing, and the job, cancelled, is not lost."""
    monkeypatch.setenv("RELAYQ_ALLOW_PRIVATE_URLS", "1")
    head = b"HTTP/1.1 200 OK\r\nContent-Type: audio/ogg\r\nContent-Length: 900000\r\n\r\nOggS"
    with BotApiEmulator(TOKEN) as tg, serve({"/slow.ogg": stall(head)}) as (base, hits):
        settings = bot_settings(tg, tmp_path, RELAYQ_EXECUTOR="local")
        async with running(settings):
            tg.user_sends(OWNER, f"{base}/slow.ogg")
            await wait_for(tg, lambda: "/slow.ogg" in hits, 60)
            (job,) = Ledger(settings.state_dir / "ledger.sqlite3").all_jobs()

            get = await said_to(tg, OWNER, f"/get {job.id}")
            assert get.text == f"Job {job.id} is not delivered yet; /get sends it again once it is."
            forget = await said_to(tg, OWNER, f"/forget {job.id}")
            assert forget.text.startswith(f"Job {job.id} (or a summary of it) is still on its way")
            query = " ".join(['NEAR("x"', "*", "hello-world", '"'] * 400)[:4000]
            found = await said_to(tg, OWNER, f"/find {query}")
            assert found.text.startswith("Nothing in your transcripts matches")
            assert len(found.text) < 4096 and "Traceback" not in found.text

            (still,) = Ledger(settings.state_dir / "ledger.sqlite3").all_jobs()
            assert not still.final and still.forgotten_at is None
            tg.user_sends(OWNER, f"/cancel {job.id}")
            assert await wait_for(
                tg, lambda: state_of(settings.state_dir, job.id) == "cancelled", 60
            )
            assert not [s for s in tg.to_chat(OWNER) if s.document is not None]


def state_of(state_dir: Path, job_id: str) -> str:
    ledger = Ledger(state_dir / "ledger.sqlite3")
    try:
        return next(r.state for r in ledger.all_jobs() if r.id == job_id)
    finally:
        ledger.close()
