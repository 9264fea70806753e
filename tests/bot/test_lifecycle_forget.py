"""/forget through the lifecycle (in-memory chat, scripted executor): what it deletes and
says, that no byte of a forgotten transcript is left anywhere in the state folder (the
SQLite file and its WAL included), that nothing delivers, finds, sends or indexes it again,
and its bad-input answers."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.executors.base import Discarded, JobSpec, JobState, Phase
from bot.lifecycle import Answer, Forgot, JobService, Search, driving
from bot.lifecycle.shelf import BACKFILLED
from bot.policy import load_policy_file
from bot.settings import Settings
from jobs.cache import ResultCache
from tests.bot.lifecycle_fakes import MemoryChat, ScriptedExecutor

ROOT = Path(__file__).resolve().parents[2]
POLICY = load_policy_file(ROOT / "policy" / "policy.yaml")
OWNER, A, B = 1, 7, 8
CANARY = "quokkazebrafinch"  # a word in nothing but the transcript to forget
SHA = "ab" + "3" * 62  # the audio's sha256
KEY = SHA[:32] + "-" + "c" * 32  # its transcript cache entry


@pytest.fixture(autouse=True)
def _no_outage_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(driving, "OUTAGE_FIRST_S", 0.0)


def script_for(state: Path, name: str) -> ScriptedExecutor:
    """Results where the executor `name` keeps them: the local one in local-jobs/<job>/out
    (and its transcript cache entry), the GitHub one in github-results/<run id>."""
    executor: ScriptedExecutor

    def script(spec: JobSpec) -> list[JobState]:
        if name == "local":
            folder = state / "local-jobs" / spec.job_id / "out"
            folder.mkdir(parents=True)
            (folder.parent / "spec.json").write_text(json.dumps(
                {"source": f"https://example.org/{CANARY}.mp3"}))  # fmt: skip
        else:
            folder = state / "github-results" / str(len(executor.submitted))
            folder.mkdir(parents=True)
        (folder / "transcript.txt").write_text(f"We saw a {CANARY}.\n")
        (folder / "transcript.srt").write_text(f"1\n00:00:00,000 --> 00:00:01,000\n{CANARY}\n")
        (folder / "segments.json").write_text(json.dumps([{"text": CANARY}]))
        (folder / "transcript.vtt").write_text(f"WEBVTT\n\n00:00.000 --> 00:01.000\n{CANARY}\n")
        meta = {"duration_s": 60.0, "title": f"The {CANARY} hour", "sha256": SHA,
                "cache_key": KEY, "host": "mini", "language": "en"}  # fmt: skip
        (folder / "meta.json").write_text(json.dumps(meta))
        if spec.kind == "summarize":
            (folder / "summary.md").write_text(f"A {CANARY} was seen.")
        if name == "local":  # what the job's run stored in this machine's transcript cache
            ResultCache(state / "cache").store(KEY, folder)
        return [JobState(spec.job_id, Phase.SUCCEEDED, "done", result_dir=folder)]

    executor = ScriptedExecutor(script, name=name)
    return executor


def make_service(root: Path, chat: MemoryChat, executor: ScriptedExecutor) -> JobService:
    from bot.ledger import Ledger

    settings = Settings(_env_file=None, RELAYQ_STATE_DIR=root / "state",  # type: ignore[call-arg]
                        RELAYQ_ALLOWED_USERS=f"{OWNER},{A},{B}")  # fmt: skip
    ledger = Ledger(root / "state" / "ledger.sqlite3")
    return JobService(ledger=ledger, executor=executor, policy=POLICY, settings=settings,
                      chat=chat)  # fmt: skip


@pytest.fixture(params=["local", "github"])
async def service(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[JobService]:
    service = make_service(tmp_path, MemoryChat(), script_for(tmp_path / "state", request.param))
    yield service
    await service.close()
    service.ledger.close()


async def delivered(service: JobService, user: int = A, message_id: int = 1) -> str:
    (row,) = service.intake.accept(chat_id=user, user_id=user, message_id=message_id,
                                   sources=[f"https://example.org/{CANARY}.mp3"])  # fmt: skip
    await service.driver.drained()
    assert service.ledger.get(row.id).state == "delivered"
    return row.id


def files_with(folder: Path, word: str) -> list[str]:
    """Every file under `folder` whose bytes hold `word` (any case)."""
    needles = (word.encode(), word.upper().encode(), word.capitalize().encode())
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")
                  if p.is_file() and any(n in p.read_bytes() for n in needles))  # fmt: skip


async def test_a_forgotten_transcript_leaves_no_byte_of_it_in_the_state_folder(
    service: JobService, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    job_id = await delivered(service)
    others = [await delivered(service, message_id=n) for n in (2, 3)]  # kept: they share pages
    summary = service.intake.accept(chat_id=A, user_id=A, message_id=9,
                                    sources=[f"job:{job_id}"], kind="summarize")[0]  # fmt: skip
    await service.driver.drained()
    before = files_with(state, CANARY)
    assert "ledger.sqlite3" in before or "ledger.sqlite3-wal" in before  # the test can see it
    for other in others:
        assert isinstance(await service.forgetter.forget(other, A), Forgot)
    forgot = await service.forgetter.forget(job_id, A)
    assert isinstance(forgot, Forgot)
    assert files_with(state, CANARY) == []
    assert (state / "ledger.sqlite3-wal").stat().st_size == 0  # checkpointed and truncated
    assert forgot.summaries == 1
    assert service.ledger.get(summary.id).forgotten_at is not None


async def test_a_word_of_a_kept_transcript_is_still_found_after_another_is_forgotten(
    service: JobService,
) -> None:
    kept = await delivered(service)
    gone = await delivered(service, message_id=2)
    assert isinstance(await service.forgetter.forget(gone, A), Forgot)
    search = service.shelf.find(CANARY, A)
    assert isinstance(search, Search) and [f.shelved.job_id for f in search.found] == [kept]


async def test_forget_says_what_it_deleted(service: JobService, tmp_path: Path) -> None:
    job_id = await delivered(service)
    forgot = await service.forgetter.forget(job_id, A)
    assert isinstance(forgot, Forgot)
    assert (forgot.title, forgot.transcript, forgot.files) == (f"The {CANARY} hour", True, 5)
    row = service.ledger.get(job_id)
    assert (row.source, row.source_name, row.heard, row.state) == ("", None, None, "delivered")
    if service.executor.name == "local":  # this machine's cache entry; no artifact anywhere
        assert (forgot.cached, forgot.artifacts, forgot.runner_cache) == (True, 0, None)
        assert not (tmp_path / "state" / "local-jobs" / job_id).exists()
        assert ResultCache(tmp_path / "state" / "cache").lookup(KEY) is None
    else:  # the run's artifact; the runner's cache is left to the runner, and said so
        assert (forgot.cached, forgot.artifacts, forgot.runner_cache) == (False, 1, "Mac mini")
        assert not (tmp_path / "state" / "github-results" / "1").exists()
        assert isinstance(service.executor, ScriptedExecutor)
        assert service.executor.discarded == ["https://github.example/runs/1"]


async def test_an_artifact_github_would_not_delete_is_said_and_the_rest_is_done(
    tmp_path: Path,
) -> None:
    executor = script_for(tmp_path / "state", "github")
    executor.discards = Discarded(refused="GitHub did not delete the run's artifact")
    service = make_service(tmp_path, MemoryChat(), executor)
    try:
        job_id = await delivered(service)
        forgot = await service.forgetter.forget(job_id, A)
        assert isinstance(forgot, Forgot)
        assert (forgot.artifacts, forgot.artifact_refused) == (
            0, "GitHub did not delete the run's artifact")  # fmt: skip
        assert forgot.transcript and files_with(tmp_path / "state", CANARY) == []
    finally:
        await service.close()
        service.ledger.close()


async def test_a_forgotten_job_is_never_found_sent_indexed_or_delivered_again(
    service: JobService, tmp_path: Path
) -> None:
    job_id = await delivered(service)
    shelved = service.shelf.library.get(job_id)
    assert shelved is not None
    kept = shelved.folder
    shutil.copytree(kept, tmp_path / "backup")
    assert isinstance(await service.forgetter.forget(job_id, A), Forgot)
    assert not kept.exists()
    assert await service.shelf.get(job_id, A, A, ("txt",)) is Answer.FORGOTTEN
    assert service.intake.summarizable(job_id, A) is Answer.FORGOTTEN
    assert service.intake.latest_summarizable(A) is None
    # Its results back from a backup, and the library's backfill asked to run again: still
    # nothing of it is indexed; a restart takes up nothing.
    shutil.copytree(tmp_path / "backup", kept)
    service.ledger.db.execute("DELETE FROM meta WHERE key = ?", (BACKFILLED,))
    assert service.shelf.backfill() == 0 and service.shelf.library.count() == 0
    assert service.resume_all() == 0


async def test_forget_refuses_with_one_sentence_each(service: JobService) -> None:
    job_id = await delivered(service)
    b_job = await delivered(service, user=B, message_id=2)
    assert await service.forgetter.forget("20261124-093012-3f9a1c", A) is Answer.NO_SUCH_JOB
    assert await service.forgetter.forget(b_job, A) is Answer.NO_SUCH_JOB  # B's: the same
    assert await service.forgetter.forget("x" * 4000, A) is Answer.NOT_A_JOB_ID
    assert await service.forgetter.forget("../../etc", A) is Answer.NOT_A_JOB_ID
    assert isinstance(await service.forgetter.forget(job_id, A), Forgot)
    assert await service.forgetter.forget(job_id, A) is Answer.FORGOTTEN
    assert service.ledger.get(b_job).forgotten_at is None  # A's asking left B's alone


async def test_the_owner_may_forget_anyones(service: JobService) -> None:
    job_id = await delivered(service)
    assert isinstance(await service.forgetter.forget(job_id, OWNER), Forgot)
    assert service.ledger.get(job_id).forgotten_at is not None


async def test_a_job_still_running_is_not_forgotten(service: JobService) -> None:
    assert isinstance(service.executor, ScriptedExecutor)
    service.executor.gate = gate = asyncio.Event()
    (row,) = service.intake.accept(chat_id=A, user_id=A, message_id=1,
                                   sources=[f"https://example.org/{CANARY}.mp3"])  # fmt: skip
    for _ in range(50):
        await asyncio.sleep(0)
    assert await service.forgetter.forget(row.id, A) is Answer.STILL_RUNNING
    assert service.ledger.get(row.id).forgotten_at is None
    gate.set()
    await service.driver.drained()
    assert isinstance(await service.forgetter.forget(row.id, A), Forgot)


async def test_a_summary_can_be_forgotten_alone_and_its_transcript_stays(
    service: JobService,
) -> None:
    job_id = await delivered(service)
    (summary,) = service.intake.accept(chat_id=A, user_id=A, message_id=9,
                                       sources=[f"job:{job_id}"], kind="summarize")  # fmt: skip
    await service.driver.drained()
    forgot = await service.forgetter.forget(summary.id, A)
    assert isinstance(forgot, Forgot) and forgot.title == f"the summary of job {job_id}"
    assert service.ledger.get(job_id).forgotten_at is None
    assert service.shelf.library.get(job_id) is not None


async def test_words_an_older_ledger_left_in_its_free_space_go_at_the_first_forget(
    tmp_path: Path,
) -> None:
    """A ledger written before secure_delete keeps a deleted text's bytes in its free pages:
    the first /forget rewrites the file once, so they go too."""
    import sqlite3

    state = tmp_path / "state"
    state.mkdir()
    old = sqlite3.connect(state / "ledger.sqlite3", isolation_level=None)
    old.execute("PRAGMA journal_mode=WAL")
    old.execute("PRAGMA secure_delete=OFF")  # as SQLite builds without SECURE_DELETE default
    old.execute("CREATE TABLE scratch (t TEXT)")
    old.execute("INSERT INTO scratch VALUES (?)", (f"an old {CANARY} " * 400,))
    old.execute("DELETE FROM scratch")  # secure_delete off: the bytes stay in free pages
    old.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    old.close()
    assert files_with(state, CANARY) == ["ledger.sqlite3"]
    service = make_service(tmp_path, MemoryChat(), script_for(state, "local"))
    try:
        job_id = await delivered(service)
        assert isinstance(await service.forgetter.forget(job_id, A), Forgot)
        assert files_with(state, CANARY) == []
    finally:
        await service.close()
        service.ledger.close()
