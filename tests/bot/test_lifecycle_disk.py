"""The VM's disk fills up: the bot keeps every job, says so with the folder to clear, and goes
on once there is room. The state folder sits on a real 2 MB tmpfs (this suite runs as root);
where mounting is not allowed the test says so and uses an ENOSPC raised by the executor."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.executors.base import JobSpec, JobState, Phase
from bot.ledger import Ledger
from bot.lifecycle import JobService, driving
from bot.policy import load_policy_file
from bot.settings import Settings
from tests.bot.lifecycle_fakes import MemoryChat, ScriptedExecutor, result_folder
from tests.suites import Tally

ROOT = Path(__file__).resolve().parents[2]
POLICY = load_policy_file(ROOT / "policy" / "policy.yaml")
pytestmark = pytest.mark.fault


@pytest.fixture(autouse=True)
def _no_outage_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(driving, "OUTAGE_FIRST_S", 0.05)


@contextlib.contextmanager
def small_disk(where: Path, size: str = "2m") -> Iterator[bool]:
    """`where` on a tmpfs of `size`; yields False (an ordinary folder) when mount is refused."""
    where.mkdir(parents=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                             capture_output=True, check=False).returncode == 0  # fmt: skip
    try:
        yield mounted
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(where)], check=False)


def fill(folder: Path) -> Path:
    """Write until the disk refuses; returns the filler (delete it to make room)."""
    filler = folder / "filler"
    with contextlib.suppress(OSError), filler.open("wb") as out:
        while True:
            out.write(b"\0" * 65536)
            out.flush()
            os.fsync(out.fileno())
    return filler


def script(results: Path):  # type: ignore[no-untyped-def]
    def play(spec: JobSpec) -> list[JobState]:
        return [JobState(spec.job_id, Phase.RUNNING, "running"),
                JobState(spec.job_id, Phase.SUCCEEDED, "done",
                         result_dir=result_folder(results / spec.job_id))]  # fmt: skip

    return play


async def test_a_full_state_disk_keeps_the_job_says_which_folder_and_goes_on_once_freed(
    tmp_path: Path, tally: Tally
) -> None:
    state = tmp_path / "state"
    with small_disk(state) as mounted:
        chat = MemoryChat()
        executor = ScriptedExecutor(script(tmp_path / "results"))
        if not mounted:  # no tmpfs here: the first dispatch meets a full disk instead
            executor.fail_submit.append(OSError(errno.ENOSPC, "No space left on device"))
        settings = Settings(_env_file=None, RELAYQ_STATE_DIR=state)  # type: ignore[call-arg]
        ledger = Ledger(state / "ledger.sqlite3")
        service = JobService(ledger=ledger, executor=executor, policy=POLICY, settings=settings,
                             chat=chat)  # fmt: skip
        (row,) = service.intake.accept(chat_id=7, user_id=7, message_id=1,
                                       sources=["https://example.org/a.mp3"])  # fmt: skip
        filler = fill(state) if mounted else None

        async def told_to_wait() -> None:
            while not any(c.retry_in_s is not None for c in chat.cards_of(row.id)):
                await asyncio.sleep(0.01)

        await asyncio.wait_for(told_to_wait(), 10)
        told = next(c for c in chat.cards_of(row.id) if c.retry_in_s is not None)
        assert told.state is not None
        assert told.state.detail.startswith(f"the disk holding {state} is full; free some space")
        assert not service.ledger.get(row.id).final  # kept
        if filler is not None:
            filler.unlink()
        await service.driver.drained()
        assert service.ledger.get(row.id).state == "delivered"
        assert len(executor.submitted) + len(executor.resumed) == 1  # dispatched once
        tally.add("faults injected: state folder read-only or full", 1)
        await service.close()
        ledger.close()


async def test_a_local_job_that_found_this_machines_disk_full_waits_and_runs_again(
    tmp_path: Path,
) -> None:
    from jobs.errors import NoSpace

    runs: list[str] = []

    def play(spec: JobSpec) -> list[JobState]:
        runs.append(spec.job_id)
        if len(runs) == 1:  # the first run: the job's own sentence, exit 9
            return [JobState(spec.job_id, Phase.FAILED, "the disk holding /tmp is full; free "
                             "some space there", exit_code=NoSpace.exit_code)]  # fmt: skip
        return script(tmp_path / "results")(spec)  # type: ignore[no-any-return]

    chat = MemoryChat()
    executor = ScriptedExecutor(play, name="local")
    settings = Settings(_env_file=None, RELAYQ_STATE_DIR=tmp_path / "state")  # type: ignore[call-arg]
    ledger = Ledger(tmp_path / "state" / "ledger.sqlite3")
    service = JobService(ledger=ledger, executor=executor, policy=POLICY, settings=settings,
                         chat=chat)  # fmt: skip
    (row,) = service.intake.accept(chat_id=7, user_id=7, message_id=1,
                                   sources=["https://example.org/a.mp3"])  # fmt: skip
    await service.driver.drained()
    told = [c for c in chat.cards_of(row.id) if c.retry_in_s is not None]
    assert told and told[0].state is not None
    assert told[0].state.detail.startswith("the disk holding /tmp is full")
    assert ledger.get(row.id).state == "delivered" and len(runs) == 2
    await service.close()
    ledger.close()
