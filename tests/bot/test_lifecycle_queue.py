"""relayq's own queue (bot/lifecycle/queue.py): fair turns across users, the per-user limit
of jobs in flight, jobs held for busy runners and routed again when something changes, and
what their cards say — through the lifecycle with the in-memory chat and a scripted executor."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.chat import InLine, UserLimit
from bot.executors.base import JobSpec, JobState, Phase
from bot.fleet import Fleet, Runner
from bot.ledger import Ledger
from bot.lifecycle import Answer, JobService, Upload
from bot.policy import JobRequest, load_policy
from bot.settings import Settings
from bot.telegram.card_texts import card_text
from tests.bot.lifecycle_fakes import MemoryChat, ScriptedExecutor, result_folder, settled
from tests.bot.test_lifecycle import LINK, MAC, ROOT, make_service

PI4 = frozenset({"self-hosted", "rpi4", "audio", "light"})


def fleet(mac_busy: bool, pi_busy: bool | None = None) -> Fleet:
    """The Mac mini (its labels serve the pool too) and, unless None, the Pi 4."""
    runners = [Runner("mac-mini", "macOS", True, mac_busy, MAC)]
    if pi_busy is not None:
        runners.append(Runner("pi4", "Linux", True, pi_busy, PI4))
    return Fleet(tuple(runners))


def delivering(tmp_path: Path, now: Fleet | None) -> ScriptedExecutor:
    def script(spec: JobSpec) -> list[JobState]:
        folder = result_folder(tmp_path / spec.job_id)
        return [JobState(spec.job_id, Phase.SUCCEEDED, "done", result_dir=folder)]

    return ScriptedExecutor(script, fleet_now=now)


def send(service: JobService, user: int, *links: str, message_id: int = 1) -> list[str]:
    rows = service.intake.accept(chat_id=user, user_id=user, message_id=message_id,
                                 sources=list(links))  # fmt: skip
    return [r.id for r in rows]


async def close(service: JobService) -> None:
    await service.close()
    service.ledger.close()


def submitted(executor: ScriptedExecutor) -> list[str]:
    return [s.job_id for s in executor.submitted]


async def test_a_user_with_two_jobs_in_flight_waits_and_another_users_job_goes_first(
    tmp_path: Path,
) -> None:
    executor = delivering(tmp_path, None)  # runners unknown: only the limit holds a job
    executor.gate = asyncio.Event()  # the jobs stay in flight until the gate opens
    chat = MemoryChat()
    service = make_service(tmp_path, chat, executor)
    a1, a2, a3 = send(service, 1, f"{LINK}?1", f"{LINK}?2", f"{LINK}?3")
    await settled_in_flight(service, 2)
    (b1,) = send(service, 2, f"{LINK}?b", message_id=2)
    await settled_in_flight(service, 3)
    assert submitted(executor) == [a1, a2, b1]
    assert service.ledger.get(a3).state == "accepted"
    assert service.driver.queue.holding() == {a3: UserLimit(running=2, ahead=0, limit=2)}
    card = chat.last(a3)
    assert card.held == UserLimit(2, 0, 2)
    assert card_text(card).splitlines()[-2:] == [
        "⏳ waiting: you have 2 jobs running (at most 2 at a time)",
        "held in relayq's queue, not yet sent to GitHub",
    ]
    executor.gate.set()  # A's jobs end: the third goes, and every job is delivered once
    await service.driver.drained()
    assert submitted(executor) == [a1, a2, b1, a3]
    assert {r.state for r in service.ledger.all_jobs()} == {"delivered"}
    await close(service)


async def settled_in_flight(service: JobService, count: int) -> None:
    for _ in range(2000):
        await asyncio.sleep(0)
        if sum(r.state == "dispatched" for r in service.ledger.unfinished()) == count:
            return
    raise AssertionError(f"not {count} jobs in flight")


async def test_three_users_take_turns_for_one_runner_oldest_first_within_each(
    tmp_path: Path,
) -> None:
    executor = delivering(tmp_path, fleet(mac_busy=True))  # someone else's job on it
    chat = MemoryChat()
    service = make_service(tmp_path, chat, executor)
    a = send(service, 1, f"{LINK}?a1", f"{LINK}?a2", f"{LINK}?a3")
    b = send(service, 2, f"{LINK}?b1", f"{LINK}?b2", message_id=2)
    c = send(service, 3, f"{LINK}?c1", message_id=3)
    await settled(service)
    held = service.driver.queue.holding()
    pool = "the pooled audio runners"  # the Mac busy, the Pi 4 not there: the fallback waits
    # Held jobs use none of their user's room (D34): A's third is in line too, behind B's.
    line = [held[j] for j in (a[0], b[0], c[0], a[1], b[1], a[2])]
    assert [(h.machine, h.position) for h in line if isinstance(h, InLine)] == [
        (pool, n) for n in range(1, 7)
    ]
    starts = [h.start_in_s for h in line if isinstance(h, InLine)]
    assert starts == sorted(starts) and starts[0] == 300  # each after the ones before it
    assert card_text(chat.last(b[0])).splitlines()[-2] == (
        "⏳ 2nd in line for the pooled audio runners · starts in about 18 min · done in about "
        "30 min (first job on this runner; length unknown, assumed 30 min)")  # fmt: skip
    assert card_text(chat.last(a[2])).splitlines()[-2].startswith(
        "⏳ 6th in line for the pooled audio runners · starts in about")  # fmt: skip
    assert executor.submitted == []
    executor.fleet_now = fleet(mac_busy=False)  # that job ends: ours go one at a time
    service.driver.queue.wake()
    await service.driver.drained()
    assert submitted(executor) == [a[0], b[0], c[0], a[1], b[1], a[2]]
    assert [s.target for s in executor.submitted] == ["mac"] * 6
    await close(service)


EARLIEST = load_policy(
    (ROOT / "policy" / "policy.yaml").read_text().replace(
        "    prefer: [mac, rpi4]\n", "    prefer: [mac, rpi4]\n    choose: earliest_finish\n"
    )
)  # fmt: skip


@pytest.mark.parametrize(
    ("freed", "expected"),
    [
        pytest.param(fleet(mac_busy=False, pi_busy=True), "mac", id="the Mac frees up"),
        pytest.param(fleet(mac_busy=True, pi_busy=False), "rpi4",
                     id="the Pi 4 frees up and finishes it first"),
    ],
)  # fmt: skip
async def test_a_held_job_goes_to_the_runner_that_will_finish_it_first_once_one_frees(
    tmp_path: Path, freed: Fleet, expected: str
) -> None:
    assert EARLIEST.routes["transcribe"].choose == "earliest_finish"
    executor = delivering(tmp_path, fleet(mac_busy=True, pi_busy=True))
    chat = MemoryChat()
    settings = Settings(_env_file=None, RELAYQ_STATE_DIR=tmp_path / "state")  # type: ignore[call-arg]
    service = JobService(ledger=Ledger(tmp_path / "state" / "ledger.sqlite3"),
                         executor=executor, policy=EARLIEST, settings=settings, chat=chat)  # fmt: skip
    row = service.intake.accept_upload(chat_id=7, user_id=7, message_id=1,
                                       upload=Upload("f1", "talk.ogg", duration_min=10))  # fmt: skip
    await settled(service)
    # Both busy with someone else's work (assumed free in 5 min): the Mac, 20 s + 0.08 x 600 s
    # after that, beats the Pi 4 (40 s + 0.4 x 600 s after it).
    (held,) = service.driver.queue.holding().values()
    assert isinstance(held, InLine) and (held.machine, held.position) == ("Mac mini", 1)
    assert card_text(chat.last(row.id)).splitlines()[-2:] == [
        "⏳ 1st in line for the Mac mini · starts in about 5 min · done in about 6 min "
        "(first job on this runner)",
        "held in relayq's queue, not yet sent to GitHub",
    ]
    assert executor.submitted == [] and service.ledger.get(row.id).state == "accepted"
    executor.fleet_now = freed
    service.driver.queue.wake()
    await service.driver.drained()
    assert [(s.job_id, s.target) for s in executor.submitted] == [(row.id, expected)]
    assert service.ledger.get(row.id).state == "delivered"
    await close(service)


async def test_route_counts_the_jobs_held_in_relayqs_queue_as_work_ahead(tmp_path: Path) -> None:
    """/route's expected finish on a busy Mac counts the job relayq holds for it: a second
    10-minute talk is expected one predicted job later than with nothing held (issue 15)."""
    executor = delivering(tmp_path, fleet(mac_busy=True, pi_busy=True))
    settings = Settings(_env_file=None, RELAYQ_STATE_DIR=tmp_path / "state")  # type: ignore[call-arg]
    service = JobService(ledger=Ledger(tmp_path / "state" / "ledger.sqlite3"),
                         executor=executor, policy=EARLIEST, settings=settings,
                         chat=MemoryChat())  # fmt: skip
    routing = service.routing
    look = await routing.look()
    talk = JobRequest("transcribe", duration_min=10)
    before = routing.preview(look, talk, None).expectation("mac")
    service.intake.accept_upload(chat_id=7, user_id=7, message_id=1,
                                 upload=Upload("f1", "talk.ogg", duration_min=10))  # fmt: skip
    await settled(service)
    assert [target for target, _ in service.driver.queue.held_rows()] == ["mac"]
    after = routing.preview(look, talk, None).expectation("mac")
    assert before is not None and after is not None
    assert before.finish_in_s is not None and after.finish_in_s is not None
    # The held job runs first: the new one starts when it is done, and takes as long.
    assert after.start_in_s == pytest.approx(before.finish_in_s, abs=2)
    assert after.finish_in_s - before.finish_in_s == pytest.approx(before.run_s, abs=2)
    await close(service)


async def test_held_jobs_survive_a_restart_and_each_is_dispatched_once(tmp_path: Path) -> None:
    first = delivering(tmp_path, None)
    first.gate = asyncio.Event()  # never opened: the bot is killed with two jobs in flight
    service = make_service(tmp_path, MemoryChat(), first)
    jobs = send(service, 1, f"{LINK}?1", f"{LINK}?2", f"{LINK}?3")
    await settled_in_flight(service, 2)
    assert service.ledger.get(jobs[2]).state == "accepted"
    await close(service)

    again = delivering(tmp_path, None)
    service = make_service(tmp_path, MemoryChat(), again)
    assert service.resume_all() == 3
    await service.driver.drained()
    assert submitted(first) == jobs[:2]
    assert [s.job_id for s in again.resumed] == jobs[:2]  # found again, not sent again
    assert submitted(again) == [jobs[2]]
    assert {r.state for r in service.ledger.all_jobs()} == {"delivered"}
    await close(service)


async def test_whose_turn_it_is_survives_a_restart(tmp_path: Path) -> None:
    """A was served before the restart and B never: after it, B's job goes before A's older
    one, as it would have without the restart (the turns are kept in the ledger)."""
    first = delivering(tmp_path, None)
    service = make_service(tmp_path, MemoryChat(), first)
    send(service, 1, f"{LINK}?a1")
    await service.driver.drained()
    await close(service)

    again = delivering(tmp_path, fleet(mac_busy=True))  # both wait for the Mac
    service = make_service(tmp_path, MemoryChat(), again)
    (a2,) = send(service, 1, f"{LINK}?a2", message_id=2)
    (b1,) = send(service, 2, f"{LINK}?b1", message_id=3)
    await settled(service)
    held = service.driver.queue.holding()
    assert [(held[j].machine, held[j].position) for j in (b1, a2)] == [
        ("the pooled audio runners", 1), ("the pooled audio runners", 2)]  # fmt: skip
    again.fleet_now = fleet(mac_busy=False)
    service.driver.queue.wake()
    await service.driver.drained()
    assert submitted(again) == [b1, a2]
    await close(service)


@pytest.mark.parametrize(
    "now", [pytest.param(fleet(mac_busy=True), id="held for a busy runner"),
            pytest.param(None, id="held by the user's limit")],
)  # fmt: skip
async def test_a_held_job_is_cancelled_at_once_and_nothing_is_sent(
    tmp_path: Path, now: Fleet | None
) -> None:
    executor = delivering(tmp_path, now)
    executor.gate = asyncio.Event()
    chat = MemoryChat()
    service = make_service(tmp_path, chat, executor)
    jobs = send(service, 1, f"{LINK}?1", f"{LINK}?2", f"{LINK}?3")
    await settled(service) if now is not None else await settled_in_flight(service, 2)
    gone = jobs[0] if now is not None else jobs[2]
    assert isinstance(service.driver.queue.holding()[gone], InLine if now else UserLimit)
    assert await service.intake.cancel(gone, 1) is Answer.CANCELLED
    assert service.ledger.get(gone).state == "cancelled"
    assert gone not in service.driver.queue.holding()
    assert card_text(chat.last(gone)).endswith("✖️ cancelled")
    executor.fleet_now = None
    executor.gate.set()
    service.driver.queue.wake()
    await service.driver.drained()
    assert gone not in submitted(executor) and gone not in executor.cancelled
    assert sorted(service.ledger.get(j).state for j in jobs) == [
        "cancelled", "delivered", "delivered"]  # fmt: skip
    await close(service)


async def test_the_local_executor_applies_the_limit_and_never_holds_for_runners(
    tmp_path: Path,
) -> None:
    executor = delivering(tmp_path, None)
    executor.name = "local"
    executor.gate = asyncio.Event()
    chat = MemoryChat()
    service = make_service(tmp_path, chat, executor)
    jobs = send(service, 1, f"{LINK}?1", f"{LINK}?2", f"{LINK}?3")
    await settled_in_flight(service, 2)
    assert service.driver.queue.holding() == {jobs[2]: UserLimit(2, 0, 2)}
    assert card_text(chat.last(jobs[2])).splitlines()[-1] == "held in relayq's queue"
    executor.gate.set()
    await service.driver.drained()
    assert submitted(executor) == jobs
    await close(service)
