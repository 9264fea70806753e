"""A runner refuses a job as too long for it (refusal.json, exit 10): the length is recorded,
the job is routed once more with it known, and the person is told why — through the
lifecycle with the in-memory chat and a scripted executor."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.executors.base import JobSpec, JobState, Phase, Refusal, read_refusal
from bot.fleet import Fleet, Runner
from bot.lifecycle import JobService
from bot.lifecycle.rerouting import REROUTE_SEQ, length
from bot.telegram.card_texts import card_text
from tests.bot.lifecycle_fakes import MemoryChat, ScriptedExecutor, result_folder, settled
from tests.bot.test_lifecycle import MAC, accept, make_service

PI4 = frozenset({"self-hosted", "rpi4", "audio", "light"})
# The Mac is busy, so a job of unknown length goes to the Pi 4 first.
MAC_BUSY = Fleet((Runner("mac-mini", "macOS", True, True, MAC),
                  Runner("pi4", "Linux", True, False, PI4)))  # fmt: skip
ALL_FREE = Fleet((Runner("mac-mini", "macOS", True, False, MAC),
                  Runner("pi4", "Linux", True, False, PI4)))  # fmt: skip
HOURS_3_2 = 3 * 3600 + 2 * 60


def refusing(tmp_path: Path, duration_s: float, max_s: float, where: set[str]) -> ScriptedExecutor:
    """Targets in `where` refuse every job as too long; the others deliver it."""

    def script(spec: JobSpec) -> list[JobState]:
        if spec.target in where:
            refusal = Refusal("too_long", duration_s, max_s)
            return [JobState(spec.job_id, Phase.FAILED, "too long for this runner",
                             exit_code=10, refusal=refusal)]  # fmt: skip
        folder = result_folder(tmp_path / spec.job_id)
        return [JobState(spec.job_id, Phase.SUCCEEDED, "done", result_dir=folder)]

    return ScriptedExecutor(script, fleet_now=MAC_BUSY)


async def run(tmp_path: Path, executor: ScriptedExecutor) -> tuple[JobService, MemoryChat]:
    chat = MemoryChat()
    service = make_service(tmp_path, chat, executor)
    accept(service)
    await settled(service)  # a job sent on to the busy Mac waits in relayq's queue ...
    executor.fleet_now = ALL_FREE  # ... until someone else's job there ends
    service.driver.queue.wake()
    await service.driver.drained()
    await service.close()
    return service, chat


async def test_too_long_for_the_pi_it_is_recorded_and_sent_to_the_mac_once_saying_why(
    tmp_path: Path,
) -> None:
    executor = refusing(tmp_path, HOURS_3_2, 2 * 3600, where={"rpi4"})
    service, chat = await run(tmp_path, executor)
    first, again = service.ledger.all_jobs()
    assert [s.target for s in executor.submitted] == ["rpi4", "mac"]
    assert (first.state, first.duration_min) == ("failed", 182.0)
    assert first.detail == (
        f"the recording is 3 h 2 min long; rpi4 takes up to 2 h — sending it to the Mac mini "
        f"as job {again.id}"
    )
    assert (again.seq, again.state, again.duration_min) == (REROUTE_SEQ, "delivered", 182.0)
    shown = chat.last(first.id)
    assert shown.state is not None and shown.state.detail == first.detail
    assert shown.sent_on == again.id
    assert card_text(shown).endswith(f"\n↪️ {first.detail}")


async def test_refused_again_after_being_sent_on_the_job_fails_and_is_not_sent_a_third_time(
    tmp_path: Path,
) -> None:
    executor = refusing(tmp_path, HOURS_3_2, 2 * 3600, where={"rpi4", "mac"})
    service, _ = await run(tmp_path, executor)
    rows = service.ledger.all_jobs()
    assert [(r.seq, r.state) for r in rows] == [(0, "failed"), (REROUTE_SEQ, "failed")]
    assert rows[1].detail == (
        "the recording is 3 h 2 min long; mac takes up to 2 h, and it was already sent on "
        "once for its length; send a shorter recording, or raise the targets' limits"
    )
    assert len(executor.submitted) == 2


async def test_longer_than_any_target_takes_it_fails_with_the_policys_sentence(
    tmp_path: Path,
) -> None:
    executor = refusing(tmp_path, 11 * 3600, 2 * 3600, where={"rpi4"})
    service, _ = await run(tmp_path, executor)
    (row,) = service.ledger.all_jobs()
    assert row.state == "failed" and row.duration_min == 660.0
    assert row.detail.startswith(
        "the recording is 11 h long; rpi4 takes up to 2 h, and no other target takes it: this "
        "660-minute recording is too long for every transcribe target; the longest accepted is "
        "600 minutes, by mac (Mac mini)"
    )


async def test_when_the_policy_would_send_it_to_the_same_target_it_fails_saying_so(
    tmp_path: Path,
) -> None:
    """The runner takes up to 30 min, the policy believes 90: the job would go round."""
    executor = refusing(tmp_path, 45 * 60, 30 * 60, where={"rpi4"})
    service, _ = await run(tmp_path, executor)
    (row,) = service.ledger.all_jobs()
    assert row.detail == (
        "the recording is 45 min long; rpi4 takes up to 30 min, and the policy has no other "
        "target for it; correct rpi4's max_duration_min in the policy, or send a shorter "
        "recording"
    )
    assert len(executor.submitted) == 1


async def test_a_pinned_job_that_is_too_long_for_its_pin_fails_with_the_pins_sentence(
    tmp_path: Path,
) -> None:
    executor = refusing(tmp_path, HOURS_3_2, 2 * 3600, where={"rpi4"})
    chat = MemoryChat()
    service = make_service(tmp_path, chat, executor)
    service.ledger.pin(7, "rpi4")
    accept(service)
    await service.driver.drained()
    await service.close()
    (row,) = service.ledger.all_jobs()
    assert row.detail.startswith("the recording is 3 h 2 min long; rpi4 takes up to 2 h, and no "
                                 "other target takes it: pinned to rpi4 (Raspberry Pi 4), but "
                                 "182 minutes of audio is over its 90-minute limit")  # fmt: skip


async def test_with_the_local_executor_there_is_nowhere_else_so_it_fails_at_once(
    tmp_path: Path,
) -> None:
    executor = refusing(tmp_path, HOURS_3_2, 2 * 3600, where={"rpi4", "mac", "pool"})
    executor.name = "local"
    service, _ = await run(tmp_path, executor)
    (row,) = service.ledger.all_jobs()
    assert (row.state, row.duration_min) == ("failed", 182.0)
    assert row.detail == (
        "the recording is 3 h 2 min long; this machine takes up to 2 h; send a shorter recording"
    )


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [(10, "1 min"), (45 * 60, "45 min"), (3600, "1 h"), (HOURS_3_2, "3 h 2 min"),
     (2 * 3600 + 29, "2 h")],
)  # fmt: skip
def test_a_length_is_said_in_hours_and_minutes(seconds: float, expected: str) -> None:
    assert length(seconds) == expected


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ('{"reason": "too_long", "duration_s": 10920.5, "max_duration_s": 7200}',
         Refusal("too_long", 10920.5, 7200.0)),
        ('{"reason": "too_long", "duration_s": 60}', Refusal("too_long", 60.0, None)),
        ('{"reason": "other", "duration_s": 60}', None),
        ('{"reason": "too_long", "duration_s": "long"}', None),
        ('{"reason": "too_long", "duration_s": true}', None),
        ("not json", None),
        (None, None),
    ],
)  # fmt: skip
def test_a_refusal_is_read_from_the_results_when_it_is_one_relayq_knows(
    tmp_path: Path, written: str | None, expected: Refusal | None
) -> None:
    if written is not None:
        (tmp_path / "refusal.json").write_text(written)
    assert read_refusal(tmp_path) == expected
