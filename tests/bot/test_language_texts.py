"""What the chat says of languages, models, formats and a result's source: pure functions,
table-tested."""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import pytest

from bot.chat import Card, read_result
from bot.ledger import JobRow, Prefs
from bot.telegram import library_texts, texts
from bot.telegram.card_texts import attachments, language_line, result_source, result_text


@pytest.mark.parametrize(
    ("meta", "expected"),
    [
        ({"model": "base", "language": "de", "language_probability": 0.94},
         "Detected: German (94%) · base"),
        ({"model": "base", "language": "fr", "language_probability": None},
         "Language: French (chosen) · base"),
        ({"model": "base", "language": "fr"}, "Language: French (chosen) · base"),
        ({"model": "base", "language": "de", "language_probability": None, "task": "translate"},
         "Translated from German to English · base"),
        ({"language": "es", "language_probability": 1}, "Detected: Spanish (100%)"),
        ({"model": "x", "language": "qq", "language_probability": 0.5}, "Detected: qq (50%) · x"),
        ({"model": "tiny.en", "backend": "local"}, None),  # older results say nothing of it
        ({"language": None, "model": "base"}, None),
        ({"language": "", "model": "base"}, None),
    ],
)  # fmt: skip
def test_the_language_line_says_what_was_heard_and_how(
    meta: dict[str, object], expected: str | None
) -> None:
    assert language_line(meta) == expected


def row(**changes: object) -> JobRow:
    now = time.time()
    base = JobRow(
        id="j1", chat_id=7, user_id=7, message_id=1, seq=0, kind="transcribe",
        source="https://example.org/watch?v=1", pin=None, state="delivering", target="mac",
        workflow="transcribe_mac.yml", run_url=None, progress_message_id=5, detail="",
        files_sent=0, cancel_requested=0, size_mb=None, duration_min=None, source_name=None,
        no_speech=0, language=None, task="transcribe", formats=None, heard=None,
        created_at=now, updated_at=now,
    )  # fmt: skip
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("job", "meta", "expected"),
    [
        (row(), {"title": "A talk  on\nthings", "uploader": "Ada"}, "A talk on things — Ada"),
        (row(), {"title": "A talk"}, "A talk"),
        (row(), {"title": "  "}, "https://example.org/watch?v=1"),
        (row(), {}, "https://example.org/watch?v=1"),
        (row(source="tg:F6", source_name="meeting.m4a"), {}, "meeting.m4a"),
        (row(source="tg:F6", source_name=None), {}, "the file you sent"),
    ],
)  # fmt: skip
def test_a_result_names_its_source_by_the_pages_title_or_as_the_person_knows_it(
    job: JobRow, meta: dict[str, object], expected: str
) -> None:
    assert result_source(job, meta) == expected


def folder(tmp_path: Path, text: str = "Hallo.") -> Path:
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    (out / "transcript.txt").write_text(text + "\n")
    (out / "transcript.srt").write_text("1\n00:00:00,000 --> 00:00:01,000\nHallo\n")
    (out / "transcript.vtt").write_text("WEBVTT\n\n00:00.000 --> 00:01.000\nHallo\n")
    (out / "meta.json").write_text('{"model": "base", "language": "de", '
                                   '"language_probability": 0.9, "duration_s": 1}')  # fmt: skip
    return out


@pytest.mark.parametrize(
    ("formats", "long", "files", "text_shown"),
    [
        (None, False, ["transcript.srt"], True),
        ("txt,srt", False, ["transcript.srt"], True),
        ("txt,srt,vtt", False, ["transcript.srt", "transcript.vtt"], True),
        ("vtt", False, ["transcript.vtt"], False),
        ("txt", False, [], True),
        ("txt", True, ["transcript.txt"], False),
        ("txt,vtt", True, ["transcript.txt", "transcript.vtt"], False),
    ],
)
def test_the_files_that_follow_are_the_formats_the_person_chose(
    tmp_path: Path, formats: str | None, long: bool, files: list[str], text_shown: bool
) -> None:
    result = read_result(folder(tmp_path, "Hallo. " * 700 if long else "Hallo."), "transcribe")
    card = Card(row(formats=formats), result=result)
    assert [p.name for p in attachments(card)] == files
    assert ("Hallo." in result_text(card)[0].split("\n\n", 1)[1]) is text_shown
    assert "Detected: German (90%) · base" in result_text(card)[0]


def test_without_txt_the_card_says_where_the_text_is(tmp_path: Path) -> None:
    card = Card(row(formats="srt,vtt"), result=read_result(folder(tmp_path), "transcribe"))
    assert result_text(card)[0].endswith(
        "\n\nThe text is in transcript.srt, transcript.vtt below (/formats chooses)."
    )


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["txt,srt,vtt"], ("txt", "srt", "vtt")),
        (["vtt,", "TXT"], ("txt", "vtt")),
        ([".srt"], ("srt",)),
        (["srt,srt"], ("srt",)),
        (["pdf"], "/formats takes txt, srt and vtt, not 'pdf'; for example /formats txt,srt "
                  "(any of txt, srt, vtt)."),
        (["txt,docx"], "/formats takes txt, srt and vtt, not 'docx'; for example /formats "
                       "txt,srt (any of txt, srt, vtt)."),
        ([","], "/formats needs at least one format; for example /formats txt,srt (any of txt, "
                "srt, vtt)."),
    ],
)  # fmt: skip
def test_formats_are_parsed_or_refused_with_one_sentence(
    args: list[str], expected: tuple[str, ...] | str
) -> None:
    assert texts.parse_formats(args) == expected


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ([], "Your language: auto (detected). Set it with /lang CODE (de, fr, es, …), or "
             "/lang auto to detect it for each job."),
        (["auto"], "Language: auto — each new job's language is detected."),
        (["DE"], "Language: German (de) — your new jobs are transcribed as German. /lang auto "
                 "to detect it again."),
        (["french"], "Language: French (fr) — your new jobs are transcribed as French. /lang "
                     "auto to detect it again."),
        (["xx"], "/lang wants a language code such as de or fr, or auto; 'xx' is not a language "
                 "Whisper knows."),
        (["de", "fr"], "/lang wants a language code such as de or fr, or auto; 'de fr' is not a "
                       "language Whisper knows."),
    ],
)  # fmt: skip
def test_lang_sets_a_known_language_or_says_what_it_wants(args: list[str], expected: str) -> None:
    chosen = texts.parse_language(args) if args else None
    assert texts.lang_answer(args, chosen, Prefs()) == expected


def test_status_shows_the_persons_defaults() -> None:
    assert texts.prefs_line(Prefs()) == "Your defaults: language auto (detected) · files txt, srt"
    assert texts.prefs_line(Prefs("de", ("vtt",))) == (
        "Your defaults: language German (de) · files vtt"
    )


def test_help_and_the_menu_list_the_designs_commands() -> None:
    from bot.telegram.polling import COMMANDS

    design = ["status", "route", "pin", "unpin", "jobs", "cancel", "summarize", "lang",
              "translate", "formats", "find", "get"]  # fmt: skip
    menu = {name for name, _ in COMMANDS}
    assert [c for c in design if c not in menu] == []
    assert [c for c in design if f"/{c}" not in texts.HELP] == []


def test_jobs_tells_a_translation_from_its_transcript() -> None:
    said = library_texts.jobs_text(
        [row(id="j2", task="translate", source="tg:F1", source_name="a.m4a"),
         row(source="tg:F1", source_name="a.m4a")], {}).splitlines()  # fmt: skip
    assert said[1] == "• a.m4a (translation)"
    assert said[2].startswith("  j2 · ") and said[2].endswith(" · delivering on mac")
    assert said[3] == "• a.m4a"


@pytest.mark.parametrize(
    ("machine", "local", "host", "said"),
    [
        ("Mac mini", False, "Johns-Mac-mini.local", "local base · Mac mini (Johns-Mac-mini.local)"),
        ("Mac mini", False, None, "local base · Mac mini"),
        (None, False, "pi4", "local base · pi4"),  # a run the policy file no longer names
        (None, True, "vm-1", "local base · this machine (vm-1)"),
        (None, False, None, "local base · ?"),
    ],
)  # fmt: skip
def test_the_delivered_message_names_the_runner_by_its_friendly_name(
    tmp_path: Path, machine: str | None, local: bool, host: str | None, said: str
) -> None:
    out = folder(tmp_path)
    meta = {
        "model": "base",
        "backend": "local",
        "duration_s": 1,
        **({"host": host} if host else {}),
    }
    (out / "meta.json").write_text(json.dumps(meta))
    card = Card(row(), result=read_result(out, "transcribe"), machine=machine, local=local)
    assert f"1 s of audio · {said}" in result_text(card)[0]
