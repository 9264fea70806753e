"""The VM side's outages: nothing about a job is decided by them.

RelayqError (jobs/errors.py)
└── Unavailable        an outside service (GitHub, its artifact storage, the chat) did
    │                  not answer, even after retries: the job is kept and taken up again
    └── StateFull      the disk holding the bot's state folder is full: the job is kept
                       and taken up again once there is room
"""

from __future__ import annotations

import errno
import sqlite3
from pathlib import Path

from jobs.errors import RelayqError

__all__ = ["StateFull", "Unavailable", "disk_full", "state_full"]


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
