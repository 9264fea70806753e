"""The durable job ledger (SQLite): the bot's source of truth.

A message becomes a job row before anything is dispatched, keyed by (chat, message, n-th link)
so a message seen twice is handled once. The row then carries the job through dispatch,
watching and delivery; after a restart every row not yet final is picked up again. The
Telegram update offset is stored here too, and advanced only after the rows an update produced
are written, so an update fetched but not yet recorded is fetched again after a crash; and each
person's pin and defaults for new jobs (`/lang`, `/formats`, `/private`), which a job copies
when accepted.
"""

from __future__ import annotations

import contextlib
import functools
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, cast

from bot.errors import StateFull, disk_full, state_full, unwritable_why
from jobs.errors import ConfigError

__all__ = ["DEFAULT_FORMATS", "FINAL_STATES", "JobRow", "Ledger", "LedgerUnwritable",
           "Prefs", "RunnerSeen"]  # fmt: skip

FINAL_STATES = ("delivered", "failed", "cancelled")
DEFAULT_FORMATS = ("txt", "srt")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    chat_id INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    message_id INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    source TEXT NOT NULL,
    pin TEXT,
    state TEXT NOT NULL DEFAULT 'accepted',
    target TEXT,
    workflow TEXT,
    run_url TEXT,
    progress_message_id INTEGER,
    detail TEXT NOT NULL DEFAULT '',
    files_sent INTEGER NOT NULL DEFAULT 0,  -- result files that may have reached the chat
    cancel_requested INTEGER NOT NULL DEFAULT 0,  -- the user asked; the executor may not know yet
    size_mb REAL,  -- the input's size and length, when known before the job (uploads)
    duration_min REAL,
    source_name TEXT,  -- an upload as the user knows it: its file name, "your voice message"
    no_speech INTEGER NOT NULL DEFAULT 0,  -- delivered, and the transcript was empty
    language TEXT,  -- the language asked for (NULL: detect it)
    task TEXT NOT NULL DEFAULT 'transcribe',  -- or 'translate' (to English)
    formats TEXT,  -- the result files to send, "txt,srt" (NULL: the default)
    heard TEXT,  -- the spoken language, as the delivered result's meta.json says
    private INTEGER NOT NULL DEFAULT 0,  -- 1: the audio stays on the owner's machines
    forgotten_at REAL,  -- /forget: its words and files are gone, the row stays as a tombstone
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    UNIQUE (chat_id, message_id, seq)
);
CREATE TABLE IF NOT EXISTS pins (user_id INTEGER PRIMARY KEY, target TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS prefs (user_id INTEGER PRIMARY KEY, language TEXT, formats TEXT,
                                  private INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runners (
    name TEXT PRIMARY KEY,
    online INTEGER NOT NULL,
    since REAL NOT NULL,
    exact INTEGER NOT NULL  -- 1: `since` is when the change was seen; 0: only "at least since"
);
"""


F = TypeVar("F", bound=Callable[..., Any])


def _writes(method: F) -> F:
    """A write that fails for want of room is StateFull (an outage: the job is kept, the write
    is tried again later), naming the folder, not SQLite's "database or disk is full"."""

    @functools.wraps(method)
    def write(self: Ledger, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except (sqlite3.Error, OSError) as err:
            if disk_full(err):
                raise state_full(self.folder) from None
            raise

    return cast(F, write)


@dataclass(frozen=True)
class JobRow:
    id: str
    chat_id: int
    user_id: int
    message_id: int
    seq: int
    kind: str
    source: str
    pin: str | None
    state: str
    target: str | None
    workflow: str | None
    run_url: str | None
    progress_message_id: int | None
    detail: str
    files_sent: int  # while delivering: how many result files have gone (or may have)
    cancel_requested: int  # 1: the user asked to cancel it; every (re)start passes that on
    size_mb: float | None  # known for uploads (Telegram says), so the policy's limits apply
    duration_min: float | None
    source_name: str | None  # an upload as the user knows it (None: a link, an earlier job)
    no_speech: int  # 1: delivered with nothing said in it (no summary is offered)
    language: str | None  # asked for (None: detect)
    task: str  # transcribe | translate
    formats: str | None  # "txt,srt,vtt": the files to send (None: DEFAULT_FORMATS)
    heard: str | None  # the spoken language, as the delivered result's meta.json said
    created_at: float
    updated_at: float
    private: int = 0  # 1: private (/private, #private): only the owner's machines, local model
    forgotten_at: float | None = None  # /forget'ed then: nothing of it is kept but this row

    @property
    def final(self) -> bool:
        return self.state in FINAL_STATES

    @property
    def text_delivered(self) -> bool:
        """The result's text is in the chat (its files may still be on their way)."""
        return self.state in ("delivering", "delivered")

    @property
    def result_formats(self) -> tuple[str, ...]:
        return tuple(self.formats.split(",")) if self.formats else DEFAULT_FORMATS


@dataclass(frozen=True)
class Prefs:
    """A person's defaults for new jobs: `language` None detects it; `formats` the files;
    `private` keeps every new job on the owner's machines (/private on)."""

    language: str | None = None
    formats: tuple[str, ...] = DEFAULT_FORMATS
    private: bool = False


@dataclass(frozen=True)
class RunnerSeen:
    """A runner's state as relayq last saw it, and since when (`exact`: the change was seen;
    otherwise `since` is the first time relayq saw the runner at all)."""

    name: str
    online: bool
    since: float
    exact: bool


class Ledger:
    def __init__(self, path: Path) -> None:
        """Open (or create) the ledger and prove it can be written: a state folder that is
        read-only or full stops the bot here with one sentence (LedgerUnwritable), not at
        the first message, when a job could be half-recorded."""
        self.folder = path.parent
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")  # an acted-on row survives power loss
            self._db.execute("PRAGMA secure_delete=ON")  # deleted words are zeroed (/forget)
            self._db.executescript(_SCHEMA)
            _migrate(self._db)
            with self.transaction():
                self._db.execute(
                    "INSERT OR REPLACE INTO meta VALUES ('opened_at', ?)", (str(time.time()),)
                )
        except (sqlite3.Error, OSError, StateFull) as err:
            # StateFull: the first write found no room. At start that stops the bot, as a
            # read-only folder does (D26), rather than leave it polling with nowhere to write.
            raise LedgerUnwritable(
                f"cannot write the ledger in {path.parent} ({unwritable_why(err, path.parent)});"
                " make RELAYQ_STATE_DIR a writable folder with free space, then start relayq again"
            ) from None

    def close(self) -> None:
        self._db.close()

    @property
    def db(self) -> sqlite3.Connection:
        """The connection, so the ledger's other tables (bot/timings.py) share its transactions."""
        return self._db

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self._begin()
        try:
            yield
        except BaseException:
            with contextlib.suppress(sqlite3.Error):  # SQLite may have rolled back already
                self._db.execute("ROLLBACK")
            raise
        self._commit()

    @_writes
    def _begin(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    @_writes
    def _commit(self) -> None:
        try:
            self._db.execute("COMMIT")
        except sqlite3.Error:
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("ROLLBACK")
            raise

    # -- jobs --------------------------------------------------------------------------------------

    @_writes
    def accept(self, job_id: str, *, chat_id: int, user_id: int, message_id: int, seq: int,
               kind: str, source: str, pin: str | None, size_mb: float | None = None,
               duration_min: float | None = None, source_name: str | None = None,
               language: str | None = None, task: str = "transcribe",
               formats: tuple[str, ...] | None = None,
               private: bool = False) -> JobRow:  # fmt: skip
        """Record a job once; a second call for the same (chat, message, seq) returns the first."""
        now = time.time()
        self._db.execute(
            "INSERT OR IGNORE INTO jobs (id, chat_id, user_id, message_id, seq, kind, source, pin,"
            " size_mb, duration_min, source_name, language, task, formats, private, created_at,"
            " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (job_id, chat_id, user_id, message_id, seq, kind, source, pin, size_mb, duration_min,
             source_name, language, task, ",".join(formats) if formats else None, int(private),
             now, now),
        )  # fmt: skip
        row = self._db.execute(
            "SELECT * FROM jobs WHERE chat_id = ? AND message_id = ? AND seq = ?",
            (chat_id, message_id, seq),
        ).fetchone()
        return _row(row)

    @_writes
    def update(self, job_id: str, **fields: object) -> JobRow:
        allowed = {"state", "target", "workflow", "run_url", "progress_message_id", "detail",
                   "files_sent", "cancel_requested", "no_speech", "duration_min",
                   "heard"}  # fmt: skip
        unknown = set(fields) - allowed
        if unknown:
            raise ValueError(f"not ledger fields: {sorted(unknown)}")
        sets = ", ".join(f"{name} = ?" for name in fields)
        self._db.execute(
            f"UPDATE jobs SET {sets}, updated_at = ? WHERE id = ?",  # noqa: S608  (names checked above)
            (*fields.values(), time.time(), job_id),
        )
        return self.get(job_id)

    def get(self, job_id: str) -> JobRow:
        row = self._db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if row is None:
            raise KeyError(job_id)
        return _row(row)

    def unfinished(self) -> list[JobRow]:
        rows = self._db.execute(
            "SELECT * FROM jobs WHERE state NOT IN (?, ?, ?) ORDER BY created_at, seq", FINAL_STATES
        ).fetchall()
        return [_row(r) for r in rows]

    def recent(self, user_id: int, limit: int = 10) -> list[JobRow]:
        rows = self._db.execute(
            "SELECT * FROM jobs WHERE user_id = ? ORDER BY created_at DESC, seq DESC LIMIT ?",
            (user_id, limit),
        ).fetchall()
        return [_row(r) for r in rows]

    def all_jobs(self) -> list[JobRow]:
        return [_row(r) for r in self._db.execute("SELECT * FROM jobs ORDER BY created_at, seq")]

    # -- pins and the update offset ----------------------------------------------------------------

    @_writes
    def pin(self, user_id: int, target: str | None) -> None:
        if target is None:
            self._db.execute("DELETE FROM pins WHERE user_id = ?", (user_id,))
        else:
            self._db.execute("INSERT OR REPLACE INTO pins VALUES (?, ?)", (user_id, target))

    def pinned(self, user_id: int) -> str | None:
        row = self._db.execute("SELECT target FROM pins WHERE user_id = ?", (user_id,)).fetchone()
        return None if row is None else str(row["target"])

    @_writes
    def set_prefs(self, user_id: int, prefs: Prefs) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO prefs (user_id, language, formats, private)"
            " VALUES (?, ?, ?, ?)",
            (user_id, prefs.language, ",".join(prefs.formats), int(prefs.private)),
        )

    def prefs(self, user_id: int) -> Prefs:
        row = self._db.execute("SELECT * FROM prefs WHERE user_id = ?", (user_id,)).fetchone()
        if row is None:
            return Prefs()
        return Prefs(row["language"], tuple(row["formats"].split(",")) if row["formats"]
                     else DEFAULT_FORMATS, bool(row["private"]))  # fmt: skip

    # -- runners, as the fleet watch sees them -----------------------------------------------------

    @_writes
    def observe_runners(self, online: dict[str, bool], now: float) -> list[RunnerSeen]:
        """Record which runners are online now; returns the ones that changed (not the ones
        seen for the first time). A runner gone from the list counts as offline."""
        online, changed = dict(online), []
        with self.transaction():
            known = {r.name: r for r in self.runners()}
            for name in known.keys() - online.keys():
                online[name] = False
            for name, is_online in online.items():
                before = known.get(name)
                if before is not None and before.online == is_online:
                    continue
                seen = RunnerSeen(name, is_online, now, exact=before is not None)
                self._db.execute(
                    "INSERT OR REPLACE INTO runners VALUES (?, ?, ?, ?)",
                    (name, int(is_online), now, int(seen.exact)),
                )
                if before is not None:
                    changed.append(seen)
        return changed

    def runners(self) -> list[RunnerSeen]:
        rows = self._db.execute("SELECT * FROM runners ORDER BY name").fetchall()
        return [
            RunnerSeen(r["name"], bool(r["online"]), r["since"], bool(r["exact"])) for r in rows
        ]

    def offset(self) -> int:
        row = self._db.execute("SELECT value FROM meta WHERE key = 'update_offset'").fetchone()
        return 0 if row is None else int(row["value"])

    @_writes
    def set_offset(self, offset: int) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta VALUES ('update_offset', ?)", (str(offset),))


class LedgerUnwritable(ConfigError):
    """The state folder cannot take a write (read-only, full, or not a folder)."""


def _migrate(db: sqlite3.Connection) -> None:
    """Ledgers written by earlier versions: `srt_sent` (0 or 1, set once every file was
    handled) became `files_sent` (a count; an old row's 1 is read only by delivered rows);
    `cancel_requested`, `size_mb`, `duration_min`, `source_name` and `no_speech` came later,
    then `language`, `task`, `formats`, `heard` (an old job detected nothing, transcribed and
    sends the default files), `private` (jobs and prefs: not private) and `forgotten_at`."""
    columns = {r["name"] for r in db.execute("PRAGMA table_info(jobs)")}
    if "srt_sent" in columns:
        db.execute("ALTER TABLE jobs RENAME COLUMN srt_sent TO files_sent")
    if "cancel_requested" not in columns:
        db.execute("ALTER TABLE jobs ADD COLUMN cancel_requested INTEGER NOT NULL DEFAULT 0")
    for name, kind in (("size_mb", "REAL"), ("duration_min", "REAL"), ("source_name", "TEXT"),
                       ("no_speech", "INTEGER NOT NULL DEFAULT 0"), ("language", "TEXT"),
                       ("task", "TEXT NOT NULL DEFAULT 'transcribe'"), ("formats", "TEXT"),
                       ("heard", "TEXT"), ("private", "INTEGER NOT NULL DEFAULT 0"),
                       ("forgotten_at", "REAL")):  # fmt: skip
        if name not in columns:
            db.execute(f"ALTER TABLE jobs ADD COLUMN {name} {kind}")
    if "private" not in {r["name"] for r in db.execute("PRAGMA table_info(prefs)")}:
        db.execute("ALTER TABLE prefs ADD COLUMN private INTEGER NOT NULL DEFAULT 0")


def _row(row: sqlite3.Row) -> JobRow:
    return JobRow(**dict(row))
