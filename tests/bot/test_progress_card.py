"""The card while a job runs: what the runner last said of where it is, in the card's words;
and `dispatch --wait`'s line for the same state."""

from __future__ import annotations

import asyncio
import math
from dataclasses import replace
from pathlib import Path

import pytest

from bot.chat import Card, InLine, UserLimit, Waiting
from bot.commands.dispatch import state_line
from bot.executors.base import JobSpec, JobState, Phase
from bot.lifecycle import JobService
from bot.telegram.card_texts import card_text, progress_line
from jobs.progress import ProgressRecord
from tests.bot.lifecycle_fakes import MemoryChat, ScriptedExecutor, result_folder
from tests.bot.test_language_texts import row
from tests.bot.test_lifecycle import accept, make_service


def running(record: ProgressRecord | None, detail: str = "transcribe 60.0 s of audio") -> JobState:
    return JobState("j1", Phase.RUNNING, detail, step="transcribe", progress=record)


def rec(phase: str, fraction: float, left: float | None = None) -> ProgressRecord:
    return ProgressRecord(phase, fraction, None, 10.0, left)


@pytest.mark.parametrize(
    ("record", "local", "machine", "expected"),
    [
        (rec("transcribe", 0.42, 180), False, "Mac mini",
         "⚙️ transcribing on the Mac mini · 42 % · about 3 min left"),
        (rec("transcribe", 0.42, 180), True, "Mac mini",
         "⚙️ transcribing on this machine · 42 % · about 3 min left"),
        (rec("transcribe", 0.97, 20), False, "the pooled audio runners",
         "⚙️ transcribing on the pooled audio runners · 97 % · under a minute left"),
        (rec("transcribe", 0.05), False, "Raspberry Pi 4",
         "⚙️ transcribing on the Raspberry Pi 4 · 5 %"),
        (rec("download", 0.3), False, "Mac mini", "⚙️ downloading on the Mac mini · 30 %"),
        (rec("decode", 0.0), False, "Mac mini", "⚙️ decoding on the Mac mini"),
        (rec("outputs", 1.0), True, None, "⚙️ writing the files on this machine"),
        (rec("transcribe", 0.5), False, None, "⚙️ transcribing on mac · 50 %"),  # no description
    ],
)  # fmt: skip
def test_a_running_card_says_what_the_runner_last_said(
    record: ProgressRecord, local: bool, machine: str | None, expected: str
) -> None:
    card = Card(row(state="dispatched"), running(record), local=local, machine=machine)
    assert card_text(card).splitlines()[-1] == expected


def test_a_translation_is_translating() -> None:
    card = Card(row(task="translate"), running(rec("transcribe", 0.5)), machine="Mac mini")
    assert card_text(card).splitlines()[-1] == "⚙️ translating on the Mac mini · 50 %"


def test_without_a_record_the_card_shows_the_step_as_before() -> None:
    card = Card(row(state="dispatched"), running(None), machine="Mac mini")
    line = card_text(card, now=row().created_at + 120).splitlines()[-1]
    assert line == "⚙️ transcribe 60.0 s of audio — 2 min"


@pytest.mark.parametrize(
    "record",
    [
        ProgressRecord("transcribe", 7.5, None, 1, None),  # more than 100 %
        ProgressRecord("transcribe", -0.5, None, 1, -30),  # negative
        ProgressRecord("transcribe", math.nan, math.nan, math.nan, math.nan),
        ProgressRecord("transcribe", 0.5, None, 1, math.inf),
        ProgressRecord("sing", 0.5, None, 1, 60),  # a phase nobody knows
    ],
)
def test_a_record_that_makes_no_sense_never_breaks_the_card(record: ProgressRecord) -> None:
    """Readers refuse such records (jobs.progress.parse); the card holds even if one passes."""
    line = card_text(Card(row(), running(record), machine="Mac mini")).splitlines()[-1]
    assert line.startswith("⚙️ ") and "nan" not in line and "inf" not in line
    assert progress_line(record, "on the Mac mini")


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        (running(rec("transcribe", 0.42, 180)), "running: transcribe 42% · about 3 min left"),
        (running(rec("download", 0.1)), "running: download 10%"),
        (running(None, "fetch talk.ogg"), "running: fetch talk.ogg"),
        (JobState("j1", Phase.QUEUED, "queued"), "queued: queued"),
        (JobState("j1", Phase.SUCCEEDED, "done", progress=rec("outputs", 1.0)), "succeeded: done"),
    ],
)
def test_dispatch_wait_says_the_percentage_as_the_design_has_it(
    state: JobState, expected: str
) -> None:
    assert state_line(state) == expected


# -- through the lifecycle ----------------------------------------------------------------------


async def test_a_stream_of_records_reaches_the_card_in_order_and_garbage_never_breaks_it(
    tmp_path: Path,
) -> None:
    """Every state the executor yields is a card; the card's percentages only go up, and the
    chat's edits are its own to pace (tests/e2e/test_progress.py: Telegram's)."""

    def script(spec: JobSpec) -> list[JobState]:
        job = spec.job_id
        states = [JobState(job, Phase.QUEUED, "queued")]
        states += [JobState(job, Phase.RUNNING, "transcribe 600.0 s of audio", step="transcribe",
                            progress=rec("transcribe", i / 100, 600 - 6 * i))
                   for i in range(0, 101, 2)]  # fmt: skip
        states.append(JobState(job, Phase.RUNNING, "odd", progress=rec("transcribe", math.nan)))
        states.append(JobState(job, Phase.SUCCEEDED, "done", result_dir=result_folder(tmp_path)))
        return states

    chat = MemoryChat()
    service: JobService = make_service(tmp_path, chat, ScriptedExecutor(script))
    try:
        (job,) = accept(service)
        await asyncio.wait_for(service.driver.drained(), 10)
    finally:
        await service.close()
        service.ledger.close()
    lines = [card_text(c).splitlines()[-1] for c in chat.cards_of(job) if c.state and
             c.state.phase is Phase.RUNNING]  # fmt: skip
    assert lines[0] == "⚙️ transcribing on the Mac mini · 0 % · about 10 min left"
    assert "⚙️ transcribing on the Mac mini · 42 % · about 6 min left" in lines
    shown = [int(line.split(" · ")[1].rstrip(" %")) for line in lines[:-1]]
    assert shown == sorted(shown) and len(set(shown)) >= 3
    assert chat.last(job).result is not None  # delivered


@pytest.mark.parametrize(
    ("held", "expected"),
    [
        (InLine("Mac mini", 2, 240, 660, "measured on 12 jobs"),
         "⏳ 2nd in line for the Mac mini · starts in about 4 min · done in about 11 min "
         "(measured on 12 jobs)"),
        (InLine("Mac mini", 1, 250, 560, "first job on this runner"),
         "⏳ 1st in line for the Mac mini · starts in about 4 min · done in about 9 min "
         "(first job on this runner)"),
        (InLine("the pooled audio runners", 3), "⏳ 3rd in line for the pooled audio runners"),
        (InLine("Raspberry Pi 4", 11, 10, 100), "⏳ 11th in line for the Raspberry Pi 4 · "
         "starts now · done in about 2 min"),
        (UserLimit(2, 0, 2), "⏳ waiting: you have 2 jobs running (at most 2 at a time)"),
        (UserLimit(1, 3, 1), "⏳ waiting: you have 1 job running (at most 1 at a time)"),
        (UserLimit(1, 1, 2),
         "⏳ waiting: you have 1 job running and 1 more in line before this one (at most 2 at a "
         "time)"),
        (UserLimit(0, 1, 2), "⏳ waiting: your earlier job goes first (at most 2 at a time)"),
        (UserLimit(0, 3, 3), "⏳ waiting: your 3 earlier jobs go first (at most 3 at a time)"),
    ],
)  # fmt: skip
def test_a_job_held_in_relayqs_queue_says_its_place_or_its_users_limit(
    held: InLine | UserLimit, expected: str
) -> None:
    lines = card_text(Card(row(state="accepted", target=None), held=held)).splitlines()
    assert lines[-2:] == [expected, "held in relayq's queue, not yet sent to GitHub"]
    local = card_text(Card(row(state="accepted", target=None), held=held, local=True))
    assert local.splitlines()[-2:] == [expected, "held in relayq's queue"]


def test_a_job_sent_on_to_github_and_waiting_there_says_it_is_in_githubs_queue() -> None:
    queued = JobState("j1", Phase.QUEUED, "queued", waiting_why="all busy")
    card = Card(row(state="dispatched"), queued, machine="Mac mini",
                waiting=Waiting("Mac mini", "all busy", ("self-hosted", "macmini"), (), 0))  # fmt: skip
    assert card_text(card).splitlines()[-1] == "in GitHub's queue"
    assert "in GitHub's queue" not in card_text(replace(card, local=True))
