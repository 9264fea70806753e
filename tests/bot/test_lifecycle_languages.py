"""A person's language and files for new jobs, and translation to English, through the
lifecycle with the in-memory chat and a scripted executor."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.executors.base import JobSpec, JobState, Phase
from bot.ledger import Prefs
from bot.lifecycle import TRANSLATE_SEQ, Answer, JobService, Upload
from bot.telegram.card_texts import card_buttons
from tests.bot.lifecycle_fakes import MemoryChat, ScriptedExecutor, result_folder
from tests.bot.test_lifecycle import accept, make_service


def heard_script(tmp_path: Path, meta: dict[str, object]) -> ScriptedExecutor:
    """Every job delivers "Hallo." with `meta` as its meta.json."""

    def script(spec: JobSpec) -> list[JobState]:
        folder = result_folder(tmp_path / spec.job_id, "Hallo.")
        (folder / "meta.json").write_text(json.dumps({"duration_s": 3.0, **meta}))
        return [JobState(spec.job_id, Phase.SUCCEEDED, "done", result_dir=folder)]

    return ScriptedExecutor(script)


GERMAN = {"model": "base", "language": "de", "language_probability": 0.94, "task": "transcribe"}


@pytest.fixture
async def german(tmp_path: Path) -> AsyncIterator[tuple[JobService, MemoryChat, ScriptedExecutor]]:
    chat, executor = MemoryChat(), heard_script(tmp_path, GERMAN)
    service = make_service(tmp_path, chat, executor)
    yield service, chat, executor
    await service.close()
    service.ledger.close()


async def test_new_jobs_take_the_persons_language_and_files_and_the_runner_is_told(
    german: tuple[JobService, MemoryChat, ScriptedExecutor],
) -> None:
    service, _, executor = german
    (before,) = accept(service, message_id=1)
    service.ledger.set_prefs(7, Prefs("fr", ("srt", "vtt")))
    (after,) = accept(service, message_id=2)
    await service.driver.drained()
    old, new = service.ledger.get(before), service.ledger.get(after)
    assert (old.language, old.result_formats, old.task) == (None, ("txt", "srt"), "transcribe")
    assert (new.language, new.result_formats) == ("fr", ("srt", "vtt"))
    assert [(s.language, s.task) for s in executor.submitted] == [(None, "transcribe"),
                                                                 ("fr", "transcribe")]  # fmt: skip


async def test_a_german_transcript_is_offered_a_translation_which_runs_its_source_again(
    german: tuple[JobService, MemoryChat, ScriptedExecutor],
) -> None:
    service, chat, executor = german
    row = service.intake.accept_upload(chat_id=7, user_id=7, message_id=1,
                                       upload=Upload("F1", name="besprechung.m4a"))  # fmt: skip
    await service.driver.drained()
    assert service.ledger.get(row.id).heard == "de"
    assert ("Translate to English", f"tr:{row.id}") in card_buttons(chat.last(row.id))
    earlier = service.intake.translatable(row.id, 7)
    assert not isinstance(earlier, Answer)
    card_message = 555  # the button is pressed under the transcript's card
    first = service.intake.translate(earlier, chat_id=7, message_id=card_message)
    again = service.intake.translate(earlier, chat_id=7, message_id=card_message)
    await service.driver.drained()
    assert first.id == again.id and first.seq == TRANSLATE_SEQ  # pressed twice: one job
    done = service.ledger.get(first.id)
    assert (done.kind, done.task, done.source, done.source_name, done.language) == (
        "transcribe", "translate", "tg:F1", "besprechung.m4a", "de")  # fmt: skip
    assert done.state == "delivered"
    spec = executor.submitted[-1]
    assert (spec.task, spec.language, spec.name) == ("translate", "de", "besprechung.m4a")
    # The translation is in English: no second translation, not offered, not the latest.
    assert service.intake.translatable(first.id, 7) is Answer.ENGLISH
    assert service.intake.latest_translatable(7) == service.ledger.get(row.id)


async def test_an_english_transcript_is_not_offered_a_translation(tmp_path: Path) -> None:
    chat = MemoryChat()
    english = {"model": "tiny.en", "language": "en", "language_probability": 0.99}
    service = make_service(tmp_path, chat, heard_script(tmp_path, english))
    (job,) = accept(service)
    await service.driver.drained()
    assert [label for label, _ in card_buttons(chat.last(job))] == ["Summarize", "Open run"]
    assert service.intake.translatable(job, 7) is Answer.ENGLISH
    assert service.intake.latest_translatable(7) is None
    await service.close()


@pytest.mark.parametrize(
    ("meta", "translate"),
    [
        ({}, False),  # results from before the runners said which language
        ({"language": None}, False),
        ({"language": "fr", "language_probability": None}, True),
        ({"language": "de", "task": "translate"}, False),
    ],
)
async def test_the_translate_button_needs_a_known_language_other_than_english(
    tmp_path: Path, meta: dict[str, object], translate: bool
) -> None:
    chat = MemoryChat()
    service = make_service(tmp_path, chat, heard_script(tmp_path, meta))
    (job,) = accept(service)
    await service.driver.drained()
    labels = [label for label, _ in card_buttons(chat.last(job))]
    assert ("Translate to English" in labels) is translate
    await service.close()


async def test_someone_elses_or_an_unfinished_job_is_not_translated(
    german: tuple[JobService, MemoryChat, ScriptedExecutor],
) -> None:
    service, _, _ = german
    (job,) = accept(service)
    assert service.intake.translatable(job, 7) is Answer.NOT_A_TRANSCRIPT  # not delivered yet
    await service.driver.drained()
    assert service.intake.translatable(job, 8) is Answer.NO_SUCH_JOB
    assert service.intake.translatable("nope", 7) is Answer.NO_SUCH_JOB
