"""The bot's retention sweep (bot/retention.py, bot/lifecycle/keeping.py), on a fake clock:
what finished more than RELAYQ_KEEP_DAYS ago goes, nothing of a job in flight does, the
library keeps the text, and /status tells the owner the state directory's size."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.chat import Again
from bot.executors.base import JobSpec, JobState, Phase
from bot.ledger import Ledger
from bot.lifecycle import Answer, JobService
from bot.lifecycle.keeping import Keeper
from bot.retention import Finished, StateUse, state_use, sweep
from bot.settings import Settings
from bot.telegram import texts
from jobs.retention import DAY_S
from tests.bot.lifecycle_fakes import MemoryChat, ScriptedExecutor, result_folder
from tests.bot.test_lifecycle_library import OWNER, POLICY, A

NOW = 1_800_000_000.0  # the fake clock's "now"


def aged(path: Path, days: float) -> Path:
    """Every file and folder under `path` last changed `days` days before NOW."""
    when = NOW - days * DAY_S
    for top, dirs, files in os.walk(path):
        for name in dirs + files:
            os.utime(Path(top, name), (when, when), follow_symlinks=False)
    os.utime(path, (when, when))
    return path


def job_folder(state: Path, name: str, days: float) -> Path:
    folder = state / "local-jobs" / name
    result_folder(folder)
    (folder / "state.json").write_text("{}")
    return aged(folder, days)


def files_older_than(root: Path, days: float) -> list[Path]:
    before = NOW - days * DAY_S
    return [Path(top, n) for top, _d, files in os.walk(root) for n in files
            if Path(top, n).lstat().st_mtime < before and n != "ledger.sqlite3"]  # fmt: skip


NOTHING = Finished({}, {}, frozenset())


def test_folders_older_than_the_limit_go_by_mtime_when_the_ledger_does_not_know_them(
    tmp_path: Path,
) -> None:
    state = tmp_path / "state"
    old = [job_folder(state, f"old-{i}", 31 + i) for i in range(3)]
    young = job_folder(state, "young", 29)
    run = aged(result_folder(state / "github-results" / "123").parent, 45)
    journal = aged(result_folder(state / "github-results" / "dispatches"), 400)

    swept = sweep(state, NOTHING, keep_days=30, now=NOW)

    assert swept.removed == 4 and swept.kept == 1
    assert not any(p.exists() for p in [*old, run])
    assert young.exists() and journal.exists()  # the dispatch journal is no job's
    assert files_older_than(state / "local-jobs", 30) == []
    assert swept.freed > 0


def test_the_ledgers_finish_time_wins_over_the_folders_mtime(tmp_path: Path) -> None:
    state = tmp_path / "state"
    finished_long_ago = job_folder(state, "a", 0)  # touched today, finished 40 days ago
    finished_lately = job_folder(state, "b", 50)  # old files, finished 2 days ago
    run = aged(result_folder(state / "github-results" / "77").parent, 0)
    ledger_says = Finished({"a": NOW - 40 * DAY_S, "b": NOW - 2 * DAY_S, "c": NOW - 31 * DAY_S},
                           {"77": "c"}, frozenset())  # fmt: skip

    sweep(state, ledger_says, keep_days=30, now=NOW)

    assert not finished_long_ago.exists() and not run.exists()
    assert finished_lately.exists()


def test_a_job_in_flight_and_the_transcript_it_summarizes_are_never_touched(
    tmp_path: Path,
) -> None:
    state = tmp_path / "state"
    running = job_folder(state, "running", 200)
    earlier = job_folder(state, "earlier", 200)
    earlier_run = aged(result_folder(state / "github-results" / "9").parent, 200)
    upload = aged(result_folder(state / "uploads" / "running"), 200)
    cache_entry = aged(result_folder(state / "cache" / "ab" / "abcd"), 200)
    busy = Finished({"earlier": NOW - 100 * DAY_S}, {"9": "earlier"},
                    frozenset({"running", "earlier", "9"}))  # fmt: skip

    swept = sweep(state, busy, keep_days=1, now=NOW, cache_dir=state / "cache")

    assert swept.removed == 0
    assert all(p.exists() for p in (running, earlier, earlier_run, upload, cache_entry))


def test_finished_from_the_ledger_marks_unfinished_jobs_and_their_sources_busy(
    tmp_path: Path,
) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite3")
    try:
        done = ledger.accept("j-done", chat_id=1, user_id=1, message_id=1, seq=0,
                             kind="transcribe", source="https://x.org/a.mp3", pin=None)  # fmt: skip
        summary = ledger.accept("j-summary", chat_id=1, user_id=1, message_id=2, seq=0,
                                kind="summarize", source=f"job:{done.id}", pin=None)  # fmt: skip
        ledger.update(done.id, state="delivered", run_url="https://github.com/o/r/actions/runs/5")
        ledger.update(summary.id, state="dispatched")
        finished = Finished.of(ledger)
    finally:
        ledger.close()
    assert {summary.id, done.id, "5"} <= finished.busy
    assert finished.run_jobs == {"5": done.id} and done.id in finished.done_at


def test_a_folder_that_cannot_be_removed_is_reported_and_the_rest_still_go(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The failure is injected at the file layer (rmtree raising EACCES for one folder): the
    tests run as root, which a permission bit does not stop."""
    import shutil

    state = tmp_path / "state"
    stuck = job_folder(state, "stuck", 60)
    gone = job_folder(state, "gone", 60)
    rmtree = shutil.rmtree

    def refuse_stuck(path: object, *args: object, **kwargs: object) -> None:
        if Path(str(path)).name == "stuck":
            raise PermissionError(13, "Permission denied")
        rmtree(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr("jobs.retention.shutil.rmtree", refuse_stuck)
    swept = sweep(state, NOTHING, keep_days=30, now=NOW)

    assert swept.removed == 1 and not gone.exists() and stuck.exists()
    assert len(swept.failed) == 1 and "stuck: permission denied" in swept.failed[0]


def test_links_are_removed_as_links_and_never_followed_out_of_the_state_dir(
    tmp_path: Path,
) -> None:
    state = tmp_path / "state"
    outside = tmp_path / "outside"
    precious = aged(result_folder(outside / "precious"), 300)
    (state / "local-jobs").mkdir(parents=True)
    link = state / "local-jobs" / "link"
    link.symlink_to(outside / "precious", target_is_directory=True)
    os.utime(link, (NOW - 300 * DAY_S,) * 2, follow_symlinks=False)
    inner = job_folder(state, "inner", 300)
    (inner / "out" / "escape").symlink_to(outside, target_is_directory=True)
    (state / "github-results").symlink_to(outside, target_is_directory=True)
    aged(result_folder(outside / "4242"), 300)  # what github-results would lead to

    swept = sweep(state, NOTHING, keep_days=30, now=NOW)

    assert not link.is_symlink() and not inner.exists()
    assert (precious / "transcript.txt").is_file() and (outside / "4242").is_dir()
    assert any("a link out of the state directory" in f for f in swept.failed)


def test_cache_entries_older_than_the_limit_go_when_no_job_is_in_flight(tmp_path: Path) -> None:
    state = tmp_path / "state"
    old = aged(result_folder(state / "cache" / "ab" / "ab01"), 40).parent
    new = aged(result_folder(state / "cache" / "cd" / "cd01"), 3).parent

    sweep(state, NOTHING, keep_days=30, now=NOW, cache_dir=state / "cache")

    assert not old.exists() and not old.parent.exists() and new.exists()


def test_zero_keeps_everything_forever(tmp_path: Path) -> None:
    state = tmp_path / "state"
    ancient = job_folder(state, "ancient", 10_000)
    assert sweep(state, NOTHING, keep_days=0, now=NOW).removed == 0
    assert ancient.exists()


def test_state_use_counts_bytes_and_job_folders(tmp_path: Path) -> None:
    state = tmp_path / "state"
    for i in range(3):
        job_folder(state, f"j{i}", 0)
    result_folder(state / "github-results" / "12")
    (state / "github-results" / "dispatches").mkdir()
    use = state_use(state, 30)
    expected = sum(p.stat().st_size for p in state.rglob("*") if p.is_file())
    assert use == StateUse(expected, 4, 30)


@pytest.mark.parametrize(
    ("use", "expected"),
    [
        (StateUse(1_234_000_000, 340, 30), "State: 1.2 GB in 340 job folders · kept 30 days"),
        (StateUse(5_600_000, 1, 1), "State: 5.6 MB in 1 job folder · kept 1 day"),
        (StateUse(900, 0, 0), "State: 900 bytes in 0 job folders · kept forever"),
    ],
)
def test_the_state_line_in_words(use: StateUse, expected: str) -> None:
    assert texts.state_line(use) == expected


def test_status_shows_the_state_line_only_when_given() -> None:
    use = StateUse(2_000, 2, 30)
    with_it = texts.status_text(None, [], OWNER, None, "local", use=use)
    without = texts.status_text(None, [], A, None, "local")
    assert with_it.endswith("State: 2.0 kB in 2 job folders · kept 30 days")
    assert "State:" not in without


# -- through the lifecycle ---------------------------------------------------------------------


def make_service(root: Path, keep_days: int = 30,
                 executor: ScriptedExecutor | None = None) -> JobService:  # fmt: skip
    state = root / "state"

    def script(spec: JobSpec) -> list[JobState]:
        folder = result_folder(state / "local-jobs" / spec.job_id, "We planted tomatoes.")
        return [JobState(spec.job_id, Phase.SUCCEEDED, "done", result_dir=folder)]

    settings = Settings(_env_file=None, RELAYQ_STATE_DIR=state,  # type: ignore[call-arg]
                        RELAYQ_ALLOWED_USERS=f"{OWNER},{A}", RELAYQ_KEEP_DAYS=keep_days)  # fmt: skip
    return JobService(ledger=Ledger(state / "ledger.sqlite3"),
                      executor=executor or ScriptedExecutor(script),
                      policy=POLICY, settings=settings, chat=MemoryChat())  # fmt: skip


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[JobService]:
    service = make_service(tmp_path)
    yield service
    await service.close()
    service.ledger.close()


async def deliver(service: JobService, message_id: int) -> str:
    (row,) = service.intake.accept(chat_id=A, user_id=A, message_id=message_id,
                                   sources=[f"https://example.org/garden{message_id}.mp3"])  # fmt: skip
    await service.driver.drained()
    assert service.ledger.get(row.id).state == "delivered"
    return row.id


def keeper_at(service: JobService, now: float) -> Keeper:
    s = service.settings
    return Keeper(service.ledger, s.state_dir, keep_days=s.keep_days,
                  cache_dir=s.resolved_cache_dir, owner=s.owner_id, clock=lambda: now)  # fmt: skip


async def test_a_swept_transcript_is_still_found_and_get_sends_its_text(
    service: JobService,
) -> None:
    old, new = await deliver(service, 1), await deliver(service, 2)
    delivered_at = service.ledger.get(new).updated_at
    service.ledger.db.execute("UPDATE jobs SET updated_at = ? WHERE id = ?",
                              (delivered_at - 31 * DAY_S, old))  # fmt: skip

    swept = keeper_at(service, delivered_at + 60).sweep_now()

    state = service.settings.state_dir
    assert swept.removed == 1
    assert not (state / "local-jobs" / old).exists() and (state / "local-jobs" / new).exists()
    found = service.shelf.find("tomatoes", A)
    assert not isinstance(found, Answer)
    assert {f.shelved.job_id for f in found.found} == {old, new}  # the text is kept
    again = await service.shelf.get(old, A, A, ("txt",))  # its text, from the library
    assert isinstance(again, Again) and again.files == () and "tomatoes" in (again.text or "")
    assert not isinstance(await service.shelf.get(new, A, A, ("txt",)), Answer)


async def test_get_sends_the_text_when_the_sweep_takes_the_files_while_they_are_sent(
    service: JobService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hourly sweep runs in a thread: it may remove a transcript's folder after /get saw
    its files and before the chat read them. The person still gets the transcript's text."""
    import shutil

    old = await deliver(service, 1)
    folder = service.settings.state_dir / "local-jobs" / old
    chat = service.chat
    assert isinstance(chat, MemoryChat)
    sending = chat.send_again

    async def swept_meanwhile(again: Again) -> None:
        shutil.rmtree(folder, ignore_errors=True)  # the sweep's thread, in between
        await sending(again)

    monkeypatch.setattr(chat, "send_again", swept_meanwhile)
    again = await service.shelf.get(old, A, A, ("txt", "srt"))

    assert isinstance(again, Again) and again.files == () and "tomatoes" in (again.text or "")
    assert chat.again == [again]  # sent once, as text


async def test_a_swept_transcript_is_still_summarized_from_the_library_text(
    tmp_path: Path,
) -> None:
    """The local executor: the summary reads the library's text of a transcript whose files
    retention removed, from a copy of this job's that goes when the summary is done."""
    state = tmp_path / "state"
    read: list[str] = []

    def script(spec: JobSpec) -> list[JobState]:
        if spec.kind == "summarize":
            read.append(Path(spec.source).read_text())
            out = state / "local-jobs" / spec.job_id / "out"
            out.mkdir(parents=True)
            (out / "summary.md").write_text("- Tomatoes were planted.\n")
            (out / "meta.json").write_text('{"backend": "local", "model": "llm"}')
            return [JobState(spec.job_id, Phase.SUCCEEDED, "done", result_dir=out)]
        folder = result_folder(state / "local-jobs" / spec.job_id, "We planted tomatoes.")
        return [JobState(spec.job_id, Phase.SUCCEEDED, "done", result_dir=folder)]

    service = make_service(tmp_path, executor=ScriptedExecutor(script, name="local"))
    try:
        old = await deliver(service, 1)
        shutil.rmtree(state / "local-jobs" / old)  # retention's work, months later
        (summary,) = service.intake.accept(chat_id=A, user_id=A, message_id=2,
                                           sources=[f"job:{old}"], kind="summarize")  # fmt: skip
        await service.driver.drained()
        row = service.ledger.get(summary.id)
        assert row.state == "delivered", row.detail
        assert read == ["We planted tomatoes."]
        assert not (state / "uploads" / summary.id).exists()  # the copy went with the job
    finally:
        await service.close()
        service.ledger.close()


async def test_the_keeper_sweeps_at_start_and_again_on_its_timer(service: JobService) -> None:
    state = service.settings.state_dir
    first = job_folder(state, "cli-1", 100)
    stop = asyncio.Event()
    task = asyncio.create_task(service.keeper.run(stop, every_s=0.01))
    for _ in range(200):
        if not first.exists():
            break
        await asyncio.sleep(0.005)
    assert not first.exists()
    second = job_folder(state, "cli-2", 31 + (NOW - time.time()) / DAY_S)  # 31 days before now
    for _ in range(200):
        if not second.exists():
            break
        await asyncio.sleep(0.005)
    stop.set()
    await asyncio.wait_for(task, 1)
    assert not second.exists()


async def test_a_failing_sweep_is_logged_and_the_keeper_goes_on(
    service: JobService, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    calls = []

    def broken(*args: object, **kwargs: object) -> None:
        calls.append(1)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("bot.lifecycle.keeping.sweep", broken)
    stop = asyncio.Event()
    task = asyncio.create_task(service.keeper.run(stop, every_s=0.01))
    with caplog.at_level(logging.ERROR):
        for _ in range(200):
            if len(calls) >= 2:
                break
            await asyncio.sleep(0.005)
    stop.set()
    await asyncio.wait_for(task, 1)
    assert len(calls) >= 2 and "the sweep failed" in caplog.text


async def test_status_disk_use_is_the_owners_only(service: JobService) -> None:
    await deliver(service, 1)
    mine = await service.keeper.use_for(OWNER)
    assert mine is not None and mine.folders == 1 and mine.keep_days == 30 and mine.bytes > 0
    assert await service.keeper.use_for(A) is None
