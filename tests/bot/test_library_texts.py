"""The library's words (bot/telegram/library_texts.py): pure functions, checked as text."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from bot.chat import Again
from bot.ledger import JobRow
from bot.library import Found, Shelved
from bot.lifecycle import Answer, Forgot, Search
from bot.telegram import library_texts

AT = time.mktime((2026, 5, 3, 14, 2, 0, 0, 0, -1))


def shelved(job_id: str = "j1", **changes: object) -> Shelved:
    values: dict[str, object] = dict(job_id=job_id, user_id=7, chat_id=7, title="Gardening hour",
                                     task="transcribe", language="en", runner="Mac mini",
                                     duration_s=754.0, delivered_at=AT, folder=Path("/r"))  # fmt: skip
    return Shelved(**{**values, **changes})  # type: ignore[arg-type]


def test_find_lists_each_match_with_date_title_snippet_and_a_button() -> None:
    search = Search("tomato", [Found(shelved(), "…we planted «tomatoes» in…"),
                               Found(shelved("j2", title="Notes.m4a", duration_s=42.0,
                                             runner=None, language=None), "«tomato» soup")])  # fmt: skip
    text, buttons = library_texts.found_text(search)
    assert text.splitlines() == [
        "Found in your transcripts (2, best first):",
        "",
        "1. Gardening hour",
        "2026-05-03 · 13 min · Mac mini · en · /get j1",
        "…we planted «tomatoes» in…",
        "",
        "2. Notes.m4a",
        "2026-05-03 · 42 s · /get j2",
        "«tomato» soup",
    ]
    assert buttons == [("Get 1: Gardening hour", "get:j1"), ("Get 2: Notes.m4a", "get:j2")]
    assert all(len(data.encode()) <= 64 for _, data in buttons)  # Telegram's callback limit


def test_find_for_everyone_says_whose_and_a_long_query_says_what_was_searched() -> None:
    text, _ = library_texts.found_text(Search("x", [Found(shelved(), "s")], 3, everyone=True))
    assert text.startswith("Found in anyone's transcripts (1, best first):\n"
                           "(only the first 16 words were searched for)")  # fmt: skip
    assert "· user 7 · /get j1" in text


def test_no_match_is_one_sentence_saying_what_to_do() -> None:
    text, buttons = library_texts.found_text(Search("  purple   elephants ", []))
    assert text == ("Nothing in your transcripts matches 'purple elephants'. Try fewer or other "
                    "words; /jobs lists your recent jobs.")  # fmt: skip
    assert buttons == []


def test_find_stays_within_a_telegram_message() -> None:
    found = [Found(shelved(f"j{n}", title="t" * 300), "s" * 1000) for n in range(5)]
    text, _ = library_texts.found_text(Search("w" * 4000, found))
    assert len(text) <= 4096


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (Answer.NO_SUCH_JOB, "There is no job j9 of yours; /jobs and /find list yours."),
        (Answer.NOT_YET, "Job j9 is not delivered yet; /get sends it again once it is."),
        (Answer.FILES_GONE, "Job j9's files are no longer kept here, so it cannot be sent again."),
        (Answer.NOT_A_TRANSCRIPT, "Job j9 is not a delivered transcript; /jobs lists yours."),
    ],
)
def test_get_says_why_it_cannot_send_in_one_sentence(answer: Answer, expected: str) -> None:
    assert library_texts.get_answer(answer, "j9") == expected


def test_get_names_the_files_on_their_way_under_a_line_saying_what_they_are() -> None:
    again = Again(
        shelved(task="translate"), 7, (Path("/r/transcript.txt"), Path("/r/transcript.vtt"))
    )
    assert library_texts.get_answer(again, "j1") == (
        "Sending job j1 again: transcript.txt, transcript.vtt."
    )
    assert library_texts.again_text(again) == (
        "📄 Gardening hour (translation)\n2026-05-03 · 13 min · Mac mini · en · job j1, sent again"
    )


def test_get_of_a_swept_job_says_its_text_is_sent_in_place_of_its_files() -> None:
    again = Again(shelved(), 7, (), text="We planted tomatoes.")
    assert library_texts.get_answer(again, "j1") == (
        "Sending job j1 again: transcript.txt, from its text (its files are no longer kept here)."
    )
    assert library_texts.again_text(again).endswith(
        "job j1, sent again\nIts files are no longer kept here; this is its text."
    )


def test_jobs_shows_titles_dates_and_lengths() -> None:
    now = time.time()
    rows = [
        JobRow(id="j1", chat_id=7, user_id=7, message_id=1, seq=0, kind="transcribe",
               source="https://example.org/g.mp3", pin=None, state="delivered", target="mac",
               workflow=None, run_url=None, progress_message_id=None, detail="", files_sent=0,
               cancel_requested=0, size_mb=None, duration_min=None, source_name=None,
               no_speech=0, language=None, task="transcribe", formats=None, heard="en",
               created_at=AT, updated_at=now),
        JobRow(id="j2", chat_id=7, user_id=7, message_id=2, seq=0, kind="transcribe",
               source="tg:F", pin=None, state="dispatched", target="rpi4", workflow=None,
               run_url=None, progress_message_id=None, detail="", files_sent=0,
               cancel_requested=0, size_mb=None, duration_min=90.0, source_name="memo.ogg",
               no_speech=0, language=None, task="transcribe", formats=None, heard=None,
               created_at=AT, updated_at=now),
    ]  # fmt: skip
    said = library_texts.jobs_text(rows, {"j1": shelved()}, machines={"rpi4": "Raspberry Pi 4"})
    assert said.splitlines() == [
        "Your recent jobs:",
        "• Gardening hour",
        "  j1 · 2026-05-03 14:02 · 13 min · delivered on Mac mini",
        "• memo.ogg",
        "  j2 · 2026-05-03 14:02 · 1 h 30 min · dispatched on Raspberry Pi 4",
    ]
    here = library_texts.jobs_text(rows, {"j1": shelved()}, local=True).splitlines()
    # The local executor ran them here, whatever target the policy chose.
    assert here[2].endswith(" · delivered on this machine")
    assert here[4].endswith(" · dispatched on this machine")


def forgot(**changes: object) -> Forgot:
    values: dict[str, object] = dict(job_id="j1", title="Gardening hour", transcript=True,
                                     files=3, cached=True, audio=False, summaries=0,
                                     artifacts=1, artifact_refused=None, runner_cache=None)  # fmt: skip
    return Forgot(**{**values, **changes})  # type: ignore[arg-type]


def test_forget_says_what_it_deleted() -> None:
    lines = library_texts.forgot_text(forgot()).splitlines()
    assert lines[0] == ("Forgot Gardening hour: the transcript, its 3 files, the cached "
                        "transcript, the run's artifact on GitHub and its words in your job "
                        "list.")  # fmt: skip
    assert lines[1:] == ["The messages already in this chat stay; delete them in Telegram too "
                         "if you want them gone."]  # fmt: skip


def test_forget_says_plainly_what_it_could_not_delete() -> None:
    said = library_texts.forgot_text(forgot(
        files=1, cached=False, artifacts=0, summaries=2, runner_cache="Mac mini",
        artifact_refused="GitHub did not delete the run's artifact (the bot's token needs "
                         "Actions: read and write)"))  # fmt: skip
    lines = said.splitlines()
    assert lines[0] == ("Forgot Gardening hour: the transcript, its 1 file, its 2 summaries "
                        "and its words in your job list.")  # fmt: skip
    assert lines[1] == ("GitHub did not delete the run's artifact (the bot's token needs "
                        "Actions: read and write).")  # fmt: skip
    assert lines[2].startswith("The copy in the Mac mini's own transcript cache is not deleted")


def test_each_refusal_of_forget_is_its_own_sentence_a_strangers_job_the_same_as_gets() -> None:
    answers = [Answer.NO_SUCH_JOB, Answer.NOT_A_JOB_ID, Answer.STILL_RUNNING, Answer.FORGOTTEN]
    said = [library_texts.forget_answer(a, "j9") for a in answers]
    assert len(set(said)) == len(said)
    assert said[0] == library_texts.get_answer(Answer.NO_SUCH_JOB, "j9")
    assert "/cancel j9" in said[2]
    long = library_texts.forget_answer(Answer.NOT_A_JOB_ID, "x" * 4000)
    assert "xxx" not in long and len(long) < 120  # the 4,000 characters are not said back


def test_jobs_calls_a_forgotten_job_forgotten() -> None:
    row = JobRow(id="j3", chat_id=7, user_id=7, message_id=3, seq=0, kind="transcribe",
                 source="", pin=None, state="delivered", target="mac", workflow=None,
                 run_url=None, progress_message_id=None, detail="", files_sent=0,
                 cancel_requested=0, size_mb=None, duration_min=None, source_name=None,
                 no_speech=0, language=None, task="transcribe", formats=None, heard=None,
                 created_at=AT, updated_at=AT, forgotten_at=AT)  # fmt: skip
    assert library_texts.jobs_text([row], {}).splitlines()[1] == "• (forgotten)"
