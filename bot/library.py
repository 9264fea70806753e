"""The transcript library: every delivered transcript, searchable (SQLite FTS5) and kept
for sending again.

One `library` row per delivered transcription (who it is for, its title, language, runner,
length, when, where its result files are on the bot's side) and its text in the FTS5 table
`library_text` under the same rowid. Both live in the ledger's SQLite file and are written
in the same transaction as the job's move to `delivering` (bot/lifecycle/delivery.py), keyed
by the job id: a bot killed before that commit has indexed nothing and delivers the job
again; one killed after it finds the job indexed and indexes it no second time.

The text is tokenized `unicode61 remove_diacritics 2`, so accents fold both ways ("café"
is found by "cafe" and "cafe" by "café"). What a person types never reaches FTS5's query
syntax: each word becomes a quoted phrase (`match_query`), so `hello-world`, `"`, `*`,
`NEAR(`, `AND` or `-x` are words, never operators.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from bot.errors import disk_full, state_full
from bot.ledger import JobRow, Ledger

__all__ = ["MAX_TERMS", "Found", "Library", "Shelved", "match_query", "title_of"]

MAX_TERMS = 16  # words of a query searched for; the rest of a 4,000-character one is left
HIT = ("«", "»")  # around each hit in a snippet (Telegram messages here are plain text)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS library (
    n INTEGER PRIMARY KEY,  -- the rowid of the text in library_text
    job_id TEXT NOT NULL UNIQUE,
    user_id INTEGER NOT NULL,
    chat_id INTEGER NOT NULL,
    title TEXT NOT NULL,  -- the media page's title, the file's name, or the link
    task TEXT NOT NULL,  -- transcribe | translate
    language TEXT,  -- as heard (or asked for)
    runner TEXT,  -- the machine, as the policy describes it ("Mac mini"), or the host
    duration_s REAL,
    delivered_at REAL NOT NULL,
    folder TEXT NOT NULL  -- the result files, on the bot's side
);
CREATE INDEX IF NOT EXISTS library_by_user ON library (user_id, delivered_at);
CREATE VIRTUAL TABLE IF NOT EXISTS library_text
    USING fts5(title, text, tokenize = 'unicode61 remove_diacritics 2');
"""


@dataclass(frozen=True)
class Shelved:
    """A delivered transcript as the library keeps it."""

    job_id: str
    user_id: int
    chat_id: int
    title: str
    task: str
    language: str | None
    runner: str | None
    duration_s: float | None
    delivered_at: float
    folder: Path


@dataclass(frozen=True)
class Found:
    """A match: the transcript and a snippet around the hit (hits between `HIT`)."""

    shelved: Shelved
    snippet: str


def match_query(words: str) -> tuple[str | None, int]:
    """An FTS5 MATCH expression for what a person typed: each word a quoted phrase (inner
    quotes doubled), all of them required; and how many words were left out (past
    MAX_TERMS). Words with no letter or digit are dropped: the tokenizer makes them an empty
    phrase, which matches nothing and would make the whole query match nothing. None: no
    word to search for."""
    terms = [w for w in words.split() if any(c.isalnum() for c in w)]
    kept = terms[:MAX_TERMS]
    expression = " ".join('"' + w.replace('"', '""') + '"' for w in kept)
    return expression or None, len(terms) - len(kept)


def title_of(row: JobRow, meta: Mapping[str, object]) -> str:
    """What a transcript is called: its media page's title, the name of the file sent, or
    the link."""
    title = meta.get("title")
    if isinstance(title, str) and title.strip():
        return " ".join(title.split())
    return row.source_name or row.source


class Library:
    """The `library` tables of a ledger."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self._db = ledger.db
        self._db.executescript(_SCHEMA)

    def shelve(self, row: JobRow, *, text: str, title: str, language: str | None,
               runner: str | None, duration_s: float | None, folder: Path,
               at: float | None = None) -> bool:  # fmt: skip
        """Index job `row`'s delivered transcript (in the caller's transaction); False when
        it already is."""
        try:
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO library (job_id, user_id, chat_id, title, task, language,"
                " runner, duration_s, delivered_at, folder) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (row.id, row.user_id, row.chat_id, title, row.task, language, runner,
                 duration_s, time.time() if at is None else at, str(folder)),
            )  # fmt: skip
            if cursor.rowcount != 1:
                return False
            self._db.execute("INSERT INTO library_text (rowid, title, text) VALUES (?, ?, ?)",
                             (cursor.lastrowid, title, text))  # fmt: skip
        except (sqlite3.Error, OSError) as err:
            if disk_full(err):
                raise state_full(self.ledger.folder) from None
            raise
        return True

    def find(self, words: str, *, user_id: int | None, limit: int = 5) -> list[Found]:
        """The best matches for `words` (bm25; a hit in the title weighs double) among
        `user_id`'s transcripts, or everyone's when it is None."""
        expression, _ = match_query(words)
        if expression is None:
            return []
        rows = self._db.execute(
            "SELECT l.*, snippet(library_text, -1, ?, ?, '…', 14) AS snippet"
            " FROM library_text JOIN library l ON l.n = library_text.rowid"
            " WHERE library_text MATCH ? AND (? IS NULL OR l.user_id = ?)"
            " ORDER BY bm25(library_text, 2.0, 1.0) LIMIT ?",
            (*HIT, expression, user_id, user_id, limit),
        ).fetchall()
        return [Found(_shelved(r), " ".join(str(r["snippet"]).split())) for r in rows]

    def get(self, job_id: str) -> Shelved | None:
        row = self._db.execute("SELECT * FROM library WHERE job_id = ?", (job_id,)).fetchone()
        return None if row is None else _shelved(row)

    def text(self, job_id: str) -> str | None:
        """The transcript's text as indexed (kept when retention removed its files)."""
        row = self._db.execute(
            "SELECT t.text FROM library l JOIN library_text t ON t.rowid = l.n WHERE l.job_id = ?",
            (job_id,),
        ).fetchone()
        return None if row is None else str(row[0])

    def of(self, job_ids: Iterable[str]) -> dict[str, Shelved]:
        """The shelved ones among `job_ids`, by job id."""
        ids = list(job_ids)
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = self._db.execute(
            f"SELECT * FROM library WHERE job_id IN ({marks})",  # noqa: S608  (only ?s)
            ids,
        ).fetchall()
        return {r["job_id"]: _shelved(r) for r in rows}

    def count(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM library").fetchone()[0])


def _shelved(r: sqlite3.Row) -> Shelved:
    return Shelved(r["job_id"], r["user_id"], r["chat_id"], r["title"], r["task"],
                   r["language"], r["runner"], r["duration_s"], r["delivered_at"],
                   Path(r["folder"]))  # fmt: skip
