"""The job lifecycle against an in-memory chat and a scripted executor: every path a job
takes through the ledger, in milliseconds. (The same paths through real PTB, PyGithub and
the emulators are in tests/e2e.)"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.chat import ChatRefused, ChatUnavailable
from bot.executors.base import JobSpec, JobState, Phase, Unavailable
from bot.fleet import Fleet, Runner
from bot.ledger import Ledger
from bot.lifecycle import Answer, JobService, Upload, driving
from bot.policy import load_policy_file
from bot.settings import Settings
from tests.bot.lifecycle_fakes import MemoryChat, ScriptedExecutor, result_folder

ROOT = Path(__file__).resolve().parents[2]
POLICY = load_policy_file(ROOT / "policy" / "policy.yaml")
LINK = "https://example.org/talk.mp3"
MAC = frozenset({"self-hosted", "macmini", "audio", "ffmpeg", "heavy"})


@pytest.fixture(autouse=True)
def _no_outage_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(driving, "OUTAGE_FIRST_S", 0.0)


def done_script(tmp_path: Path, text: str = "Hello there.") -> ScriptedExecutor:
    def script(spec: JobSpec) -> list[JobState]:
        folder = result_folder(tmp_path / spec.job_id, text)
        return [
            JobState(spec.job_id, Phase.QUEUED, "queued"),
            JobState(spec.job_id, Phase.RUNNING, "running: transcribe", step="transcribe"),
            JobState(spec.job_id, Phase.SUCCEEDED, "done", result_dir=folder),
        ]

    return ScriptedExecutor(script)


@pytest.fixture
def chat() -> MemoryChat:
    return MemoryChat()


@pytest.fixture
def executor(tmp_path: Path) -> ScriptedExecutor:
    return done_script(tmp_path)


def make_service(tmp_path: Path, chat: MemoryChat, executor: ScriptedExecutor) -> JobService:
    settings = Settings(_env_file=None, RELAYQ_STATE_DIR=tmp_path / "state")  # type: ignore[call-arg]
    ledger = Ledger(tmp_path / "state" / "ledger.sqlite3")
    return JobService(ledger=ledger, executor=executor, policy=POLICY, settings=settings,
                      chat=chat)  # fmt: skip


@pytest.fixture
async def service(
    tmp_path: Path, chat: MemoryChat, executor: ScriptedExecutor
) -> AsyncIterator[JobService]:
    service = make_service(tmp_path, chat, executor)
    yield service
    await service.close()
    service.ledger.close()


def accept(service: JobService, *links: str, message_id: int = 1) -> list[str]:
    rows = service.intake.accept(chat_id=7, user_id=7, message_id=message_id,
                                 sources=list(links or [LINK]))  # fmt: skip
    return [r.id for r in rows]


async def test_a_link_is_carded_routed_watched_and_delivered_with_its_files(
    service: JobService, chat: MemoryChat
) -> None:
    (job,) = accept(service)
    await service.driver.drained()
    cards = chat.cards_of(job)
    assert cards[0].state is None and cards[0].decision is None  # accepted
    assert cards[1].decision is not None and cards[1].decision.target == "mac"
    assert [c.state.phase for c in cards[2:-1] if c.state] == [Phase.QUEUED, Phase.RUNNING]
    assert cards[-1].result is not None and cards[-1].result.text == "Hello there."
    assert len({s.card_id for s in chat.shown}) == 1  # one card, edited in place
    assert [name for _, _, name in chat.files] == ["transcript.txt", "transcript.srt"]
    row = service.ledger.get(job)
    assert (row.state, row.files_sent, row.no_speech) == ("delivered", 2, 0)


async def test_a_message_seen_twice_is_one_job(
    service: JobService, executor: ScriptedExecutor
) -> None:
    first = accept(service)
    again = accept(service)
    await service.driver.drained()
    assert first == again and len(executor.submitted) == 1


async def test_a_deleted_card_is_replaced_and_the_new_one_is_kept_up_to_date(
    service: JobService, chat: MemoryChat
) -> None:
    chat.gone.add(101)  # the first card the chat opens
    (job,) = accept(service)
    await service.driver.drained()
    ids = [s.card_id for s in chat.shown if s.card.job.id == job]
    assert ids[0] == 101 and set(ids[1:]) == {102}
    assert service.ledger.get(job).progress_message_id == 102
    assert service.ledger.get(job).state == "delivered"


async def test_github_silent_at_dispatch_the_card_says_so_and_the_job_goes_once_it_answers(
    service: JobService, chat: MemoryChat, executor: ScriptedExecutor
) -> None:
    executor.fail_submit.append(Unavailable("GitHub did not answer after 6 tries"))
    (job,) = accept(service)
    await service.driver.drained()
    waited = [c for c in chat.cards_of(job) if c.retry_in_s is not None]
    assert waited and waited[0].state is not None
    assert waited[0].state.detail == "GitHub did not answer after 6 tries"
    # Taken up again as after a restart: resumed (found by its request id), never sent twice.
    assert len(executor.submitted) == 0 and len(executor.resumed) == 1
    assert service.ledger.get(job).state == "delivered"


async def test_the_chat_silent_while_delivering_keeps_the_job_and_sends_no_file_twice(
    service: JobService, chat: MemoryChat, executor: ScriptedExecutor
) -> None:
    chat.fail["attach"] = [ChatUnavailable("Telegram is not answering (TimedOut)")]
    (job,) = accept(service)
    await service.driver.drained()
    assert service.ledger.get(job).state == "delivered"
    # The silent attempt may have reached the chat, so it counts as sent (D14: a file in
    # flight may be lost, never doubled); the next attempt sends the rest.
    assert [name for _, _, name in chat.files] == ["transcript.srt"]
    assert not [c for c in chat.cards_of(job) if c.retry_in_s is not None]  # nothing to show it on


async def test_a_chat_that_refuses_the_card_fails_the_job_with_its_sentence(
    service: JobService, chat: MemoryChat, executor: ScriptedExecutor
) -> None:
    chat.fail["show"] = [ChatRefused("Telegram will not deliver to this chat (Forbidden)")]
    (job,) = accept(service)
    await service.driver.drained()
    row = service.ledger.get(job)
    assert (row.state, row.detail) == (
        "failed",
        "Telegram will not deliver to this chat (Forbidden)",
    )
    assert executor.submitted == []  # nothing ran that should not


async def test_cancelled_before_dispatch_nothing_runs(
    service: JobService, chat: MemoryChat, executor: ScriptedExecutor
) -> None:
    executor.fail_submit.append(Unavailable("GitHub did not answer"))
    gate = asyncio.Event()
    executor.gate = gate
    row = service.intake.accept(chat_id=7, user_id=7, message_id=1, sources=[LINK])[0]
    assert await service.intake.cancel(row.id, 7) is Answer.CANCELLED
    assert await service.intake.cancel(row.id, 7) is Answer.ENDED
    assert await service.intake.cancel(row.id, 8) is Answer.NO_SUCH_JOB  # someone else's
    gate.set()
    await service.driver.drained()
    assert service.ledger.get(row.id).state == "cancelled"
    assert executor.submitted == []
    assert chat.last(row.id).state is not None and chat.last(row.id).state.phase is Phase.CANCELLED


async def test_cancelled_while_running_the_executor_is_told_and_the_job_ends_cancelled(
    service: JobService, executor: ScriptedExecutor
) -> None:
    gate = asyncio.Event()
    executor.gate = gate
    (job,) = accept(service)
    while not executor.submitted:
        await asyncio.sleep(0)
    assert await service.intake.cancel(job, 7) is Answer.CANCELLING
    gate.set()
    await service.driver.drained()
    assert executor.cancelled == [job]
    row = service.ledger.get(job)
    assert (row.state, row.cancel_requested) == ("cancelled", 1)


async def test_a_lost_runner_routes_the_job_again_once(
    tmp_path: Path, service: JobService, executor: ScriptedExecutor
) -> None:
    def lost(spec: JobSpec) -> list[JobState]:
        return [JobState(spec.job_id, Phase.FAILED, "the runner mac-mini went offline",
                         runner_lost="mac-mini")]  # fmt: skip

    executor.script = lost
    accept(service)
    await service.driver.drained()
    rows = service.ledger.all_jobs()
    assert [(r.seq, r.state) for r in rows] == [(0, "failed"), (driving.REQUEUE_SEQ, "failed")]
    assert "sent again as job" in rows[0].detail and "sent again" not in rows[1].detail


async def test_a_restart_mid_delivery_sends_only_the_files_not_yet_sent(
    tmp_path: Path, service: JobService, chat: MemoryChat, executor: ScriptedExecutor
) -> None:
    (job,) = accept(service)
    await service.driver.drained()
    # As if the bot died after the first file: the row says one went.
    service.ledger.update(job, state="delivering", files_sent=1)
    chat.files.clear()
    assert service.resume_all() == 1
    await service.driver.drained()
    assert [name for _, _, name in chat.files] == ["transcript.srt"]
    assert service.ledger.get(job).state == "delivered"


async def test_silence_is_delivered_as_no_speech_and_is_not_offered_for_a_summary(
    tmp_path: Path, chat: MemoryChat
) -> None:
    service = make_service(tmp_path, chat, done_script(tmp_path, text=""))
    ledger = service.ledger
    (job,) = accept(service)
    await service.driver.drained()
    assert chat.last(job).result is not None and chat.last(job).result.no_speech
    assert ledger.get(job).no_speech == 1
    assert service.intake.summarizable(job, 7) is Answer.NO_SPEECH
    assert service.intake.latest_summarizable(7) is None
    await service.close()


async def test_an_upload_is_fetched_through_the_chat_for_the_local_executor_and_then_forgotten(
    tmp_path: Path, chat: MemoryChat
) -> None:
    executor = done_script(tmp_path)
    executor.name = "local"
    service = make_service(tmp_path, chat, executor)
    row = service.intake.accept_upload(chat_id=7, user_id=7, message_id=1,
                                       upload=Upload("F1", name="meeting.m4a", size_mb=1.0))  # fmt: skip
    await service.driver.drained()
    assert chat.uploads == ["F1"]
    spec = executor.submitted[0]
    assert spec.name == "meeting.m4a" and spec.source.endswith("upload.ogg")
    assert chat.last(row.id).local
    assert not (service.settings.state_dir / "uploads" / row.id).exists()
    await service.close()


async def test_routing_uses_the_live_runners(
    service: JobService, executor: ScriptedExecutor
) -> None:
    executor.fleet_now = Fleet((Runner("mac-mini", "macOS", False, False, MAC),))
    accept(service)
    await service.driver.drained()
    assert executor.submitted[0].target != "mac"  # the Mac is offline: not chosen


async def test_a_card_gone_twice_still_ends_the_job(service: JobService, chat: MemoryChat) -> None:
    chat.gone.update({101, 102})
    (job,) = accept(service)
    await service.driver.drained()
    assert service.ledger.get(job).final
