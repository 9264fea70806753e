"""The library through the lifecycle (in-memory chat, scripted executor): a delivered
transcript is indexed exactly once whenever the bot is killed, /find and /get answer only
with a person's own transcripts, /get sends the kept files without running anything, and
the deliveries from before the library are indexed once at start-up."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.chat import Again
from bot.executors.base import JobSpec, JobState, Phase
from bot.ledger import Ledger
from bot.lifecycle import Answer, JobService, Search, driving
from bot.lifecycle.shelf import BACKFILLED
from bot.policy import load_policy_file
from bot.settings import Settings
from tests.bot.lifecycle_fakes import MemoryChat, ScriptedExecutor, result_folder

ROOT = Path(__file__).resolve().parents[2]
POLICY = load_policy_file(ROOT / "policy" / "policy.yaml")
OWNER, A, B = 1, 7, 8
ALL = ("txt", "srt", "vtt")


@pytest.fixture(autouse=True)
def _no_outage_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(driving, "OUTAGE_FIRST_S", 0.0)


def done_script(root: Path, text: str = "We planted tomatoes in the garden.") -> ScriptedExecutor:
    def script(spec: JobSpec) -> list[JobState]:
        folder = result_folder(root / spec.job_id, text)
        (folder / "transcript.vtt").write_text("WEBVTT\n\n00:00.000 --> 00:01.000\nWe\n")
        (folder / "meta.json").write_text(
            '{"duration_s": 754.0, "backend": "local", "model": "tiny.en", "host": "mini",'
            ' "language": "en", "title": "Gardening  hour"}'
        )
        if spec.kind == "summarize":
            (folder / "summary.md").write_text("Tomatoes were planted.")
        return [JobState(spec.job_id, Phase.SUCCEEDED, "done", result_dir=folder)]

    return ScriptedExecutor(script)


def make_service(root: Path, chat: MemoryChat, executor: ScriptedExecutor) -> JobService:
    settings = Settings(_env_file=None, RELAYQ_STATE_DIR=root / "state",  # type: ignore[call-arg]
                        RELAYQ_ALLOWED_USERS=f"{OWNER},{A},{B}")  # fmt: skip
    ledger = Ledger(root / "state" / "ledger.sqlite3")
    return JobService(ledger=ledger, executor=executor, policy=POLICY, settings=settings,
                      chat=chat)  # fmt: skip


def accept(service: JobService, user: int = A, message_id: int = 1) -> str:
    (row,) = service.intake.accept(chat_id=user, user_id=user, message_id=message_id,
                                   sources=["https://example.org/garden.mp3"])  # fmt: skip
    return row.id


@pytest.fixture
def chat() -> MemoryChat:
    return MemoryChat()


@pytest.fixture
async def service(tmp_path: Path, chat: MemoryChat) -> AsyncIterator[JobService]:
    service = make_service(tmp_path, chat, done_script(tmp_path))
    yield service
    await service.close()
    service.ledger.close()


async def delivered(service: JobService, user: int = A, message_id: int = 1) -> str:
    job_id = accept(service, user, message_id)
    await service.driver.drained()
    assert service.ledger.get(job_id).state == "delivered"
    return job_id


def indexed(ledger: Ledger) -> tuple[int, int]:
    """Rows in the library and in its text index."""
    db = ledger.db
    return (db.execute("SELECT count(*) FROM library").fetchone()[0],
            db.execute("SELECT count(*) FROM library_text").fetchone()[0])  # fmt: skip


async def test_a_delivered_transcript_is_indexed_with_what_the_result_says(
    service: JobService,
) -> None:
    job_id = await delivered(service)
    shelved = service.shelf.library.get(job_id)
    assert shelved is not None
    assert (shelved.user_id, shelved.title, shelved.language, shelved.duration_s) == (
        A, "Gardening hour", "en", 754.0)  # fmt: skip
    assert shelved.runner == "Mac mini"  # the policy's name for the target, not the host
    assert (shelved.folder / "transcript.txt").is_file()
    search = service.shelf.find("tomatoes", A)
    assert isinstance(search, Search) and [f.shelved.job_id for f in search.found] == [job_id]


KILLED = """
import asyncio, os, sys
from pathlib import Path
from bot.library import Library
from tests.bot import test_lifecycle_library as t

root, point = Path(sys.argv[1]), sys.argv[2]
if point == "before the commit":  # the job's row and its index rows written, not committed
    real = Library.shelve
    def shelve(self, *args, **kwargs):
        real(self, *args, **kwargs)
        os._exit(9)
    Library.shelve = shelve
else:  # committed: the text is in the chat, the first file on its way
    async def attach(self, *args, **kwargs):
        os._exit(9)
    t.MemoryChat.attach = attach

async def main():
    service = t.make_service(root, t.MemoryChat(), t.done_script(root))
    t.accept(service)
    await service.driver.drained()

asyncio.run(main())
sys.exit(3)  # not killed: the test would be proving nothing
"""


@pytest.mark.parametrize(
    ("point", "state_after_kill", "indexed_after_kill"),
    [("before the commit", "dispatched", (0, 0)), ("after the commit", "delivering", (1, 1))],
)
async def test_a_bot_killed_mid_delivery_leaves_the_job_indexed_exactly_once(
    tmp_path: Path, point: str, state_after_kill: str, indexed_after_kill: tuple[int, int]
) -> None:
    killed = subprocess.run([sys.executable, "-c", KILLED, str(tmp_path), point], cwd=ROOT,
                            capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert killed.returncode == 9, killed.stderr
    ledger = Ledger(tmp_path / "state" / "ledger.sqlite3")
    (row,) = ledger.all_jobs()
    assert row.state == state_after_kill
    assert indexed(ledger) == indexed_after_kill
    ledger.close()
    # The bot starts again and takes the job up where the ledger has it.
    service = make_service(tmp_path, MemoryChat(), done_script(tmp_path))
    try:
        assert service.resume_all() == 1
        await service.driver.drained()
        assert service.ledger.get(row.id).state == "delivered"
        assert indexed(service.ledger) == (1, 1)
        search = service.shelf.find("tomatoes", A)
        assert isinstance(search, Search) and len(search.found) == 1
    finally:
        await service.close()
        service.ledger.close()


async def test_get_sends_the_kept_files_in_the_formats_asked_and_runs_nothing(
    service: JobService, chat: MemoryChat
) -> None:
    job_id = await delivered(service)
    submitted = len(service.executor.submitted)  # type: ignore[attr-defined]
    answer = await service.shelf.get(job_id, A, 70, ALL)
    assert isinstance(answer, Again) and chat.again == [answer]
    assert answer.chat_id == 70
    assert [p.name for p in answer.files] == ["transcript.txt", "transcript.srt", "transcript.vtt"]
    only_srt = await service.shelf.get(job_id, A, 70, ("srt",))
    assert isinstance(only_srt, Again) and [p.name for p in only_srt.files] == ["transcript.srt"]
    assert len(service.executor.submitted) == submitted  # type: ignore[attr-defined]


async def test_get_of_a_job_whose_files_are_gone_sends_its_text_from_the_library(
    service: JobService, chat: MemoryChat, tmp_path: Path
) -> None:
    job_id = await delivered(service)
    kept = (tmp_path / job_id / "out" / "transcript.txt").read_text(encoding="utf-8")
    for path in (tmp_path / job_id / "out").iterdir():
        path.unlink()
    for formats in (ALL, ("srt",)):  # the text is all there is, whatever the formats
        answer = await service.shelf.get(job_id, A, A, formats)
        assert isinstance(answer, Again) and answer.files == ()
        assert answer.text is not None and answer.text.split() == kept.split()
    assert len(chat.again) == 2


async def test_get_of_a_job_with_no_text_and_no_files_says_they_are_gone(
    service: JobService, chat: MemoryChat, tmp_path: Path
) -> None:
    job_id = await delivered(service)
    for path in (tmp_path / job_id / "out").iterdir():
        path.unlink()
    service.ledger.db.execute("UPDATE library_text SET text = '' WHERE rowid = "
                              "(SELECT n FROM library WHERE job_id = ?)", (job_id,))  # fmt: skip
    assert await service.shelf.get(job_id, A, A, ALL) is Answer.FILES_GONE
    assert chat.again == []


async def test_user_b_can_neither_find_nor_get_user_as_transcript(
    service: JobService, chat: MemoryChat
) -> None:
    job_id = await delivered(service, A)
    search = service.shelf.find("tomatoes", B)
    assert isinstance(search, Search) and search.found == []
    assert await service.shelf.get(job_id, B, B, ALL) is Answer.NO_SUCH_JOB
    assert service.shelf.find("tomatoes", B, everyone=True) is Answer.NOT_OWNER
    assert chat.again == []
    # The owner sees everyone's with --all, and may have it sent.
    everyone = service.shelf.find("tomatoes", OWNER, everyone=True)
    assert isinstance(everyone, Search) and [f.shelved.job_id for f in everyone.found] == [job_id]
    mine = service.shelf.find("tomatoes", OWNER)
    assert isinstance(mine, Search) and mine.found == []
    assert isinstance(await service.shelf.get(job_id, OWNER, OWNER, ALL), Again)


async def test_get_of_a_running_failed_or_unknown_job_says_which(
    tmp_path: Path, chat: MemoryChat
) -> None:
    executor = done_script(tmp_path)
    executor.gate = asyncio.Event()  # the job runs until the gate opens
    service = make_service(tmp_path, chat, executor)
    try:
        job_id = accept(service)
        for _ in range(100):
            if service.ledger.get(job_id).state == "dispatched":
                break
            await asyncio.sleep(0.01)
        assert await service.shelf.get(job_id, A, A, ALL) is Answer.NOT_YET
        assert await service.shelf.get(job_id, B, B, ALL) is Answer.NO_SUCH_JOB
        assert await service.shelf.get("nope", A, A, ALL) is Answer.NO_SUCH_JOB
        service.ledger.update(job_id, state="failed", detail="x")
        assert await service.shelf.get(job_id, A, A, ALL) is Answer.NOT_A_TRANSCRIPT
        assert chat.again == []
    finally:
        await service.close()
        service.ledger.close()


async def test_a_summary_is_not_a_transcript_in_the_library(service: JobService) -> None:
    job_id = await delivered(service)
    (summary,) = service.intake.accept(chat_id=A, user_id=A, message_id=2,
                                       sources=[f"job:{job_id}"], kind="summarize")  # fmt: skip
    await service.driver.drained()
    assert service.ledger.get(summary.id).state == "delivered", service.ledger.get(summary.id)
    assert indexed(service.ledger) == (1, 1)


async def test_a_summary_or_translation_asked_twice_is_made_once(service: JobService) -> None:
    """The button, then the command (two messages): the one made or under way is the answer.
    One that failed does not count: asking again makes another."""
    job_id = await delivered(service)
    earlier = service.ledger.get(job_id)
    assert service.intake.made_from(earlier, kind="summarize") is None
    (summary,) = service.intake.accept(chat_id=A, user_id=A, message_id=2,
                                       sources=[f"job:{job_id}"], kind="summarize")  # fmt: skip
    assert service.intake.made_from(earlier, kind="summarize") == service.ledger.get(summary.id)
    first = service.intake.translate(earlier, chat_id=A, message_id=3)
    again = service.intake.translate(earlier, chat_id=A, message_id=4)
    assert again.id == first.id and service.intake.made_from(earlier, kind="summarize").id == (
        summary.id
    )  # a translation is not a summary, nor the other way round
    await service.driver.drained()
    service.ledger.update(first.id, state="failed", detail="the runner was lost")
    assert service.intake.translate(earlier, chat_id=A, message_id=5).id != first.id


async def test_older_deliveries_whose_results_are_kept_are_indexed_once_at_start(
    tmp_path: Path,
) -> None:
    ledger = Ledger(tmp_path / "state" / "ledger.sqlite3")
    for n, job_id in enumerate(["kept", "gone"], start=1):
        ledger.accept(job_id, chat_id=A, user_id=A, message_id=n, seq=0, kind="transcribe",
                      source="tg:F", pin=None, source_name=f"{job_id}.ogg")  # fmt: skip
        ledger.update(job_id, state="delivered", target="mac")
    result_folder(tmp_path / "state" / "local-jobs" / "kept", "An old talk about bees.")
    ledger.close()
    for start in range(2):
        service = make_service(tmp_path, MemoryChat(), done_script(tmp_path))
        try:
            service.resume_all()
            assert indexed(service.ledger) == (1, 1), f"start {start}"
            assert service.ledger.db.execute("SELECT 1 FROM meta WHERE key = ?",
                                             (BACKFILLED,)).fetchone()  # fmt: skip
            search = service.shelf.find("bees", A)
            assert isinstance(search, Search)
            assert [(f.shelved.job_id, f.shelved.title) for f in search.found] == [
                ("kept", "kept.ogg")
            ]
            assert await service.shelf.get("gone", A, A, ALL) is Answer.FILES_GONE
        finally:
            await service.close()
            service.ledger.close()
