"""The bot learns from delivered jobs: each delivered transcription leaves one speed sample in
the ledger, and routing's expected finishes (/route) come from those samples and the jobs in
flight. In-memory chat and scripted executor (tests/bot/lifecycle_fakes.py)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.chat import ChatUnavailable
from bot.executors.base import JobSpec, JobState, Phase
from bot.fleet import Fleet, Runner
from bot.lifecycle import FleetLook, JobService, driving
from bot.policy import JobRequest
from bot.render import render_decision, speed_lines
from bot.speed import Sample
from tests.bot.lifecycle_fakes import MemoryChat, ScriptedExecutor, result_folder
from tests.bot.test_lifecycle import LINK, MAC, POLICY, accept, make_service

TIMED = {"duration_s": 600.0, "backend": "local", "model": "tiny.en", "host": "mac-mini",
         "wall_time_s": 75.0, "fetch_time_s": 2.0, "decode_time_s": 1.0,
         "transcribe_time_s": 60.0}  # fmt: skip


@pytest.fixture(autouse=True)
def _no_outage_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(driving, "OUTAGE_FIRST_S", 0.0)


def timed_script(root: Path, meta: dict[str, object]) -> ScriptedExecutor:
    def script(spec: JobSpec) -> list[JobState]:
        folder = result_folder(root / spec.job_id)
        (folder / "meta.json").write_text(json.dumps(meta))  # a summary's too: kind decides
        if spec.kind == "summarize":
            (folder / "summary.md").write_text("A greeting.\n")
        return [JobState(spec.job_id, Phase.SUCCEEDED, "done", result_dir=folder)]

    return ScriptedExecutor(script)


@pytest.fixture
async def made(tmp_path: Path) -> AsyncIterator[tuple[JobService, MemoryChat]]:
    chat = MemoryChat()
    service = make_service(tmp_path, chat, timed_script(tmp_path, TIMED))
    yield service, chat
    await service.close()
    service.ledger.close()


def samples(service: JobService) -> list[Sample]:
    assert service.routing.timings is not None
    return service.routing.timings.samples()


async def test_a_delivered_transcription_records_its_runner_model_length_and_times(
    made: tuple[JobService, MemoryChat],
) -> None:
    service, _ = made
    (job,) = accept(service)
    await service.driver.drained()
    assert service.ledger.get(job).state == "delivered"
    (sample,) = samples(service)
    assert (sample.target, sample.runner, sample.model, sample.backend) == (
        "mac", "mac-mini", "tiny.en", "local")  # fmt: skip
    assert (sample.audio_s, sample.wall_s, sample.fetch_s, sample.decode_s,
            sample.transcribe_s) == (600.0, 75.0, 2.0, 1.0, 60.0)  # fmt: skip


async def test_a_job_delivered_again_after_a_restart_mid_delivery_records_one_sample(
    tmp_path: Path,
) -> None:
    chat = MemoryChat(fail={"attach": [ChatUnavailable("Telegram is away")] * 50})
    first = make_service(tmp_path, chat, timed_script(tmp_path, TIMED))
    (job,) = accept(first)
    for _ in range(200):  # the text is shown, the files wait for the chat
        await driving.asyncio.sleep(0)
        if first.ledger.get(job).state == "delivering":
            break
    assert first.ledger.get(job).state == "delivering"
    assert len(samples(first)) == 1
    await first.close()
    first.ledger.close()

    chat.fail.clear()  # the bot starts again and delivers the job once more
    again = make_service(tmp_path, chat, timed_script(tmp_path, TIMED))
    assert again.resume_all() == 1
    await again.driver.drained()
    assert again.ledger.get(job).state == "delivered"
    assert len(samples(again)) == 1
    await again.close()
    again.ledger.close()


@pytest.mark.parametrize(
    "meta",
    [
        pytest.param({**TIMED, "cached": True}, id="a cached result"),
        pytest.param({"duration_s": 600.0, "host": "mac-mini"}, id="no wall time (an old runner)"),
    ],
)
async def test_a_cached_or_untimed_result_records_no_sample(
    tmp_path: Path, meta: dict[str, object]
) -> None:
    service = make_service(tmp_path, MemoryChat(), timed_script(tmp_path, meta))
    (job,) = accept(service)
    await service.driver.drained()
    assert service.ledger.get(job).state == "delivered"
    assert samples(service) == []
    await service.close()
    service.ledger.close()


async def test_a_summary_records_no_sample(made: tuple[JobService, MemoryChat]) -> None:
    service, _ = made
    (job,) = accept(service)
    await service.driver.drained()
    (summary,) = service.intake.accept(chat_id=7, user_id=7, message_id=2,
                                       sources=[f"job:{job}"], kind="summarize")  # fmt: skip
    await service.driver.drained()
    assert service.ledger.get(summary.id).state == "delivered"
    assert len(samples(service)) == 1  # the transcription's alone


MAC_FREE = Fleet((Runner("mac-mini", "macOS", True, False, MAC),))
HOUR = JobRequest(kind="transcribe", duration_min=60)


async def test_history_changes_the_expected_finish_route_shows(
    made: tuple[JobService, MemoryChat],
) -> None:
    service, _ = made
    look = FleetLook(MAC_FREE, "")
    before = service.routing.preview(look, HOUR, None)
    mac = before.expectation("mac")
    assert mac is not None and mac.basis == "default"  # 20 s + 0.08 * 3600 s: the policy
    assert "Mac mini: starts now, done in about 5 min (first job on this runner)" in (
        render_decision(before, POLICY).splitlines()[-len(before.expected):][0])  # fmt: skip

    accept(service)  # 600 s of audio transcribed in 60 s on mac-mini: a factor of 0.1
    await service.driver.drained()
    after = service.routing.preview(look, HOUR, None)
    mac = after.expectation("mac")
    assert mac is not None and mac.basis == "measured" and mac.n == 1
    assert after.target == before.target == "mac"  # first_free: the same decision
    assert after.reasons == before.reasons
    assert "  Mac mini: starts now, done in about 6 min (measured on 1 job)" in (
        render_decision(after, POLICY).splitlines()
    )


async def test_a_job_in_flight_on_a_target_delays_the_next_ones_start_there(
    made: tuple[JobService, MemoryChat],
) -> None:
    service, _ = made
    busy = Fleet((Runner("mac-mini", "macOS", True, True, MAC),))
    (held,) = service.ledger.accept("held1", chat_id=7, user_id=7, message_id=9, seq=0,
                                    kind="transcribe", source=LINK, pin=None,
                                    duration_min=60),  # fmt: skip
    service.ledger.update(held.id, state="dispatched", target="mac", workflow="transcribe_mac.yml")
    mac = service.routing.preview(FleetLook(busy, ""), HOUR, None).expectation("mac")
    assert mac is not None and mac.start_in_s is not None
    assert 290 < mac.start_in_s <= 308  # the hour ahead of it, less the moments it has run
    assert "starts in about 5 min, done in about 10 min" in render_decision(
        service.routing.preview(FleetLook(busy, ""), HOUR, None), POLICY
    )


def test_status_speeds_say_the_measured_and_the_policys_default() -> None:
    measured = Sample("mac", "mac-mini", "tiny.en", "local", 600.0, 75.0, 2.0, 1.0, 60.0, 1.0)
    lines = speed_lines(POLICY, [measured])
    assert lines[:2] == ["Speeds:",
                         "• Mac mini (mac-mini): 1 h of audio in about 6 min (measured on 1 job)"]  # fmt: skip
    assert "• Raspberry Pi 4: 1 h of audio in about 25 min (the policy's default: no job " \
        "measured yet)" in lines  # fmt: skip
    assert speed_lines(POLICY, [], defaults=False) == []
