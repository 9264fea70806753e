"""The person's own name for what they sent is in every message about it — accepted, routed,
running, failed, delivered, translated, sent on after a refusal — and never a file name of the
bot's (F6.bin) or the chat's file id."""

from __future__ import annotations

import json
from pathlib import Path

from bot.executors.base import JobSpec, JobState, Phase, Refusal
from bot.lifecycle import Answer, Upload
from bot.telegram.card_texts import card_text
from tests.bot.lifecycle_fakes import MemoryChat, ScriptedExecutor, result_folder, settled
from tests.bot.test_lifecycle import make_service
from tests.bot.test_lifecycle_reroute import ALL_FREE, MAC_BUSY


async def test_every_card_of_an_upload_and_of_the_jobs_made_from_it_names_it_as_the_person_did(
    tmp_path: Path,
) -> None:
    def script(spec: JobSpec) -> list[JobState]:
        if spec.target == "rpi4":  # too long for the Pi: sent on to the Mac
            return [JobState(spec.job_id, Phase.FAILED, "too long", exit_code=10,
                             refusal=Refusal("too_long", 6000.0, 5400.0))]  # fmt: skip
        if spec.task == "translate":
            return [JobState(spec.job_id, Phase.RUNNING, "running: transcribe"),
                    JobState(spec.job_id, Phase.FAILED, "meeting.m4a: the runner said no")]  # fmt: skip
        folder = result_folder(tmp_path / spec.job_id, "Guten Tag.")
        (folder / "meta.json").write_text(json.dumps({"model": "base", "language": "de",
                                                      "language_probability": 0.9}))  # fmt: skip
        return [JobState(spec.job_id, Phase.RUNNING, "running: transcribe"),
                JobState(spec.job_id, Phase.SUCCEEDED, "done", result_dir=folder)]  # fmt: skip

    chat = MemoryChat()
    executor = ScriptedExecutor(script, fleet_now=MAC_BUSY)
    service = make_service(tmp_path, chat, executor)
    row = service.intake.accept_upload(chat_id=7, user_id=7, message_id=1,
                                       upload=Upload("F6", name="meeting.m4a"))  # fmt: skip
    await settled(service)  # sent on to the busy Mac: it waits in relayq's queue ...
    assert service.driver.queue.holding()
    executor.fleet_now = ALL_FREE  # ... until someone else's job there ends
    service.driver.queue.wake()
    await service.driver.drained()
    delivered = next(r for r in service.ledger.all_jobs() if r.state == "delivered")
    earlier = service.intake.translatable(delivered.id, 7)
    assert not isinstance(earlier, Answer)
    service.intake.translate(earlier, chat_id=7, message_id=9)
    await service.driver.drained()
    await service.close()
    jobs = service.ledger.all_jobs()
    assert [(r.task, r.state) for r in jobs] == [("transcribe", "failed"),
                                                 ("transcribe", "delivered"),
                                                 ("translate", "failed")]  # fmt: skip
    assert {s.name for s in executor.submitted} == {"meeting.m4a"}
    texts = [card_text(shown.card) for shown in chat.shown]
    assert len(texts) >= 9 and row.id in texts[0]
    for text in texts:
        assert "meeting.m4a" in text, text
        assert "F6" not in text and ".bin" not in text, text
