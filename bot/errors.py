"""The VM side's outages: nothing about a job is decided by them.

RelayqError (jobs/errors.py)
└── Unavailable        an outside service (GitHub, its artifact storage, the chat) did
    │                  not answer, even after retries: the job is kept and taken up again
    └── StateFull      the disk holding the bot's state folder is full: the job is kept
                       and taken up again once there is room
"""

from __future__ import annotations

import errno
import os
import shutil
import sqlite3
from pathlib import Path

from jobs.errors import RelayqError

__all__ = ["StateFull", "Unavailable", "disk_full", "state_full", "unwritable_why"]


class Unavailable(RelayqError):
    """An outside service did not answer, even after retries. Nothing about the job is
    decided: it is kept, and the bot takes it up again later."""

    exit_code = 3


class StateFull(Unavailable):
    """The state folder's disk is full."""

    exit_code = 9


def disk_full(err: BaseException) -> bool:
    """A write failed for want of room (a file's ENOSPC or EDQUOT, SQLite's "full")."""
    if isinstance(err, OSError) and err.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    return isinstance(err, sqlite3.OperationalError) and "full" in str(err).lower()


def state_full(folder: Path) -> StateFull:
    """The sentence for a full state folder: where, and what may go."""
    return StateFull(
        f"the disk holding {folder} is full; free some space there (finished jobs' folders "
        f"in {folder / 'local-jobs'} and {folder / 'github-results'} can go) — nothing is "
        "lost, relayq goes on once there is room"
    )


def unwritable_why(err: Exception, folder: Path) -> str:
    """Why the ledger (bot/ledger.py) cannot be written, in the words of its start-up
    sentence. The folder is asked too, because SQLite's own words depend on what the last bot
    left: with no `-shm` file (a bot stopped cleanly removes it) a read-only folder is "unable
    to open database file" and a full disk "disk I/O error" (the `-shm` cannot be made)."""
    text = str(err).lower()
    if "readonly" in text or "read-only" in text or "permission" in text:
        return "it is read-only"
    if "full" in text or "no space" in text:
        return "the disk is full"
    if folder.is_dir():
        if not os.access(folder, os.W_OK):
            return "it is read-only"
        if shutil.disk_usage(folder).free < ROOM_BYTES:
            return "the disk is full"
    return f"{type(err).__name__}: {str(err)[:80]}"


ROOM_BYTES = 1 << 20  # less than this free, and the ledger (its WAL, its -shm) has no room
