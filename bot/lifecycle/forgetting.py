"""/forget: a finished job's transcript, files, cache entries and words, gone for good.

What goes, in this order, so that a bot killed half-way leaves at most files gone and the
row still there (asking again finishes it): the run's artifact on GitHub (the executor's
`discard`), the results kept here (`local-jobs/<job>/`, `github-results/<run id>/`), the
upload's copy, the transcript cache's entries for the audio on this machine, then in one
transaction the library row, its FTS5 text and the words of the job's ledger row (its
source — the link or the upload's file id —, its file name, its detail and the language
heard). The row stays as a tombstone (`forgotten_at`): the job id stays known as forgotten,
nothing delivers or indexes it again.

"Gone" includes SQLite's own leftovers: the ledger runs with `secure_delete` (deleted cells
and freed pages are zeroed), FTS5 is `optimize`d (its index segments keep a deleted
document's terms until merged), the first forget in a ledger VACUUMs it once (its free
space may hold words deleted while secure_delete was off: SQLite builds differ in their
default) and the WAL is checkpointed and truncated, so no byte of the
text is left in `ledger.sqlite3`, its `-wal` or its `-shm`
(tests/bot/test_lifecycle_forget.py greps the whole state folder for a marker word).

A summary of a forgotten transcript (a `job:<id>` source) is forgotten with it: it is made
of its words. On GitHub the runner's own transcript cache is not reached from here; its
copy goes with the runner's retention (RELAYQ_KEEP_DAYS on the runner), and the reply says so.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from bot.executors.base import Executor
from bot.ledger import JobRow, Ledger
from bot.library import Library, title_of
from bot.lifecycle.intake import Answer
from bot.policy import Policy

__all__ = ["Forgetter", "Forgot", "looks_like_job_id"]

log = logging.getLogger(__name__)
_JOB_ID = re.compile(r"[0-9A-Za-z][0-9A-Za-z_-]{0,63}")
_CACHE_KEY = re.compile(r"[0-9a-f]{32}-[0-9a-f]{32}")  # jobs/cache.py: cache_key()
_AUDIO_SHA = re.compile(r"[0-9a-f]{64}")
SCRUBBED = "scrubbed"  # the ledger's meta key: the file was rewritten once with secure_delete on


def looks_like_job_id(text: str) -> bool:
    """Could `text` be a job id at all (`20261124-093012-3f9a1c`, or a translation's)?"""
    return _JOB_ID.fullmatch(text) is not None


@dataclass(frozen=True)
class Forgot:
    """What /forget deleted: the job's title (said once more, in the reply), whether its
    text was in the library, how many result files were deleted here, whether a cached copy
    (the transcript cache's entry, the upload's audio) went, the summaries forgotten with it,
    the artifacts deleted on GitHub or the sentence saying why not, and the runner whose own
    cached copy is left to its retention (None: there is none, or it was deleted)."""

    job_id: str
    title: str
    transcript: bool
    files: int
    cached: bool
    audio: bool
    summaries: int
    artifacts: int
    artifact_refused: str | None
    runner_cache: str | None


class Forgetter:
    def __init__(self, ledger: Ledger, library: Library, executor: Executor, policy: Policy, *,
                 owner: int | None, state_dir: Path, results: tuple[Path, Path],
                 cache_dir: Path) -> None:  # fmt: skip
        self._ledger = ledger
        self._library = library
        self._executor = executor
        self._policy = policy
        self._owner = owner
        self._state_dir = state_dir
        self._local, self._github = results
        self._cache_dir = cache_dir

    async def forget(self, job_id: str, user_id: int) -> Forgot | Answer:
        """Forget job `job_id` of `user_id` (the owner may forget anyone's)."""
        if not looks_like_job_id(job_id):
            return Answer.NOT_A_JOB_ID
        try:
            row = self._ledger.get(job_id)
        except KeyError:
            return Answer.NO_SUCH_JOB
        if row.user_id != user_id and user_id != self._owner:
            return Answer.NO_SUCH_JOB  # the same answer: nobody learns another's job exists
        if row.forgotten_at is not None:
            return Answer.FORGOTTEN
        summaries = [r for r in self._ledger.all_jobs()
                     if r.kind == "summarize" and r.source == f"job:{row.id}"
                     and r.forgotten_at is None]  # fmt: skip
        if not row.final or not all(r.final for r in summaries):
            return Answer.STILL_RUNNING
        title = self._title(row)
        done = await self._erase(row)
        also = [await self._erase(summary) for summary in summaries]
        self._compact()
        log.info("forgot job %s (%d summaries with it)", row.id, len(summaries))
        refused = [d.artifact_refused for d in (done, *also) if d.artifact_refused]
        return Forgot(row.id, title, done.transcript, done.files, done.cached, done.audio,
                      len(summaries), sum(d.artifacts for d in (done, *also)),
                      refused[0] if refused else None, done.runner_cache)  # fmt: skip

    async def _erase(self, row: JobRow) -> Forgot:
        discarded = await self._executor.discard(row.run_url)
        folders = self._folders(row)
        meta = _meta(folders)
        files = sum(_count(f) for f in folders)
        for folder in [self._local / row.id, *folders]:
            shutil.rmtree(folder, ignore_errors=True)
        upload = self._state_dir / "uploads" / row.id
        audio = upload.exists()
        shutil.rmtree(upload, ignore_errors=True)
        # Also with the GitHub executor: a job made before a switch may have its entry here.
        cached = self._drop_cached(meta)
        runner = None
        if self._executor.name != "local" and (meta.get("cache_key") or meta.get("sha256")):
            target = self._policy.targets.get(row.target or "")
            host = meta.get("host")
            runner = target.description if target else (host if isinstance(host, str) else "")
        with self._ledger.transaction():
            transcript = self._unshelve(row.id)
            self._ledger.db.execute(
                "UPDATE jobs SET source = '', source_name = NULL, detail = '', heard = NULL,"
                " forgotten_at = ?, updated_at = ? WHERE id = ?",
                (time.time(), time.time(), row.id),
            )
        return Forgot(row.id, "", transcript, files, cached, audio, 0, discarded.artifacts,
                      discarded.refused, runner or None)  # fmt: skip

    def _unshelve(self, job_id: str) -> bool:
        db = self._ledger.db
        found = db.execute("SELECT n FROM library WHERE job_id = ?", (job_id,)).fetchone()
        if found is None:
            return False
        db.execute("DELETE FROM library_text WHERE rowid = ?", (found["n"],))
        db.execute("DELETE FROM library WHERE n = ?", (found["n"],))
        return True

    def _compact(self) -> None:
        """Leave no deleted word in the file: FTS5 merges its segments into one without the
        deleted documents' terms (secure_delete zeroes what that frees), and the WAL, which
        still holds the pages as they were, is copied back and truncated to nothing."""
        db = self._ledger.db
        with self._ledger.transaction():
            db.execute("INSERT INTO library_text (library_text) VALUES ('optimize')")
        if db.execute("SELECT 1 FROM meta WHERE key = ?", (SCRUBBED,)).fetchone() is None:
            # A ledger written where SQLite's secure_delete was off may hold words in its free
            # space from any earlier delete: the first forget rewrites the file once (VACUUM).
            db.execute("VACUUM")
            with self._ledger.transaction():
                db.execute("INSERT OR REPLACE INTO meta VALUES (?, '1')", (SCRUBBED,))
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def _folders(self, row: JobRow) -> list[Path]:
        """The job's results kept here: the local executor's by job id, the GitHub one's by
        run id."""
        folders = [self._local / row.id / "out"]
        tail = (row.run_url or "").rstrip("/").rsplit("/", 1)[-1]
        if tail.isdigit():
            folders.append(self._github / tail)
        return [f for f in folders if f.is_dir()]

    def _drop_cached(self, meta: dict[str, object]) -> bool:
        """Remove this machine's transcript cache entries for the job's audio: the one its
        meta.json names, and any other made of the same audio (other settings, or an older
        result that did not name its entry)."""
        entries: set[Path] = set()
        key = meta.get("cache_key")
        if isinstance(key, str) and _CACHE_KEY.fullmatch(key):
            entries.add(self._cache_dir / key[:2] / key)
        sha = meta.get("sha256")
        if isinstance(sha, str) and _AUDIO_SHA.fullmatch(sha):
            entries.update((self._cache_dir / sha[:2]).glob(f"{sha[:32]}-*"))
        gone = False
        for entry in entries:
            if entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
                gone = True
        return gone

    def _title(self, row: JobRow) -> str:
        if row.kind == "summarize":
            return f"the summary of job {row.source.removeprefix('job:')}"
        shelved = self._library.get(row.id)
        if shelved is not None:
            return shelved.title
        return title_of(row, _meta(self._folders(row)))


def _meta(folders: Iterable[Path]) -> dict[str, object]:
    for folder in folders:
        try:
            meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(meta, dict):
            return meta
    return {}


def _count(folder: Path) -> int:
    return sum(1 for p in folder.rglob("*") if p.is_file())
