"""How long delivered jobs took: the speed samples the bot's speed model is fitted on.

One row per delivered transcription (bot/speed.py's `Sample`), keyed by its job id and written
in the same transaction as the job's move to `delivering`, so a job delivered again after a
restart is counted once. Summaries and cached results are no sample (they say nothing of how
fast a runner transcribes). The table lives in the ledger's SQLite file, beside the jobs.
"""

from __future__ import annotations

import sqlite3

from bot.errors import disk_full, state_full
from bot.ledger import Ledger
from bot.speed import Sample

__all__ = ["KEPT", "Timings"]

KEPT = 500  # samples read for a model: the speed model keeps 20 per runner and target

_SCHEMA = """
CREATE TABLE IF NOT EXISTS timings (
    job_id TEXT PRIMARY KEY,
    target TEXT NOT NULL,
    runner TEXT NOT NULL,
    model TEXT NOT NULL,
    backend TEXT NOT NULL,
    audio_s REAL NOT NULL,
    wall_s REAL NOT NULL,
    fetch_s REAL,
    decode_s REAL,
    transcribe_s REAL,
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS timings_at ON timings (at);
"""


class Timings:
    """The `timings` table of a ledger."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        ledger.db.executescript(_SCHEMA)

    def record(self, job_id: str, sample: Sample) -> bool:
        """Keep `sample` as job `job_id`'s; False when that job already has one."""
        try:
            cursor = self.ledger.db.execute(
                "INSERT OR IGNORE INTO timings VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (job_id, sample.target, sample.runner, sample.model, sample.backend,
                 sample.audio_s, sample.wall_s, sample.fetch_s, sample.decode_s,
                 sample.transcribe_s, sample.at),
            )  # fmt: skip
        except (sqlite3.Error, OSError) as err:
            if disk_full(err):
                raise state_full(self.ledger.folder) from None
            raise
        return cursor.rowcount == 1

    def samples(self, limit: int = KEPT) -> list[Sample]:
        """The newest `limit` samples, newest first."""
        rows = self.ledger.db.execute(
            "SELECT * FROM timings ORDER BY at DESC LIMIT ?", (limit,)
        ).fetchall()
        return [
            Sample(r["target"], r["runner"], r["model"], r["backend"], r["audio_s"], r["wall_s"],
                   r["fetch_s"], r["decode_s"], r["transcribe_s"], r["at"])
            for r in rows
        ]  # fmt: skip
