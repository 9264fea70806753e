"""Results kept for `RELAYQ_KEEP_DAYS` days, then removed: what both sides share (an entry's
age, removing it without following a link, the tally) and the runner's own sweep of its
transcript cache (`jobs/cache.py`).

Nothing here follows a symbolic link: a link is an entry of its own, removed as a link (its
target is untouched), and a folder is measured and removed with `os.walk`/`shutil.rmtree`,
which do not descend through links. An entry that cannot be removed is counted and named for
the log; it never stops the caller (a full or read-only disk included).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "DAY_S",
    "SWEEP_EVERY_S",
    "Swept",
    "entries",
    "newest_mtime",
    "remove_entry",
    "remove_if_old",
    "size_of",
    "sweep_cache",
]

DAY_S = 86_400.0
SWEEP_EVERY_S = 3_600.0  # a runner's cache is swept at most once an hour
_MARK = ".swept"  # in the cache root: when it was last swept (its mtime)


@dataclass
class Swept:
    """What one sweep did: entries removed, bytes freed, entries kept, and those that could
    not be removed (`name: reason`, for the log)."""

    removed: int = 0
    freed: int = 0
    kept: int = 0
    failed: list[str] = field(default_factory=list)

    def add(self, other: Swept) -> None:
        self.removed += other.removed
        self.freed += other.freed
        self.kept += other.kept
        self.failed += other.failed


def entries(folder: Path) -> Iterator[os.DirEntry[str]]:
    """What is directly in `folder`, if it is a real folder (not a link to one); nothing when
    it is missing or cannot be read."""
    try:
        if not stat.S_ISDIR(folder.lstat().st_mode):
            return
        with os.scandir(folder) as listing:
            found = list(listing)
    except OSError:
        return
    yield from found


def newest_mtime(path: Path) -> float | None:
    """When `path` last changed: the newest modification time of it and, for a folder, of what
    is in it one and two levels down (a job's `state.json`, its `out/` files), links not
    followed. None when it is gone."""
    try:
        newest = path.lstat().st_mtime
    except OSError:
        return None
    for child in entries(path):
        with contextlib.suppress(OSError):
            newest = max(newest, child.stat(follow_symlinks=False).st_mtime)
            if child.is_dir(follow_symlinks=False):
                for grandchild in entries(Path(child.path)):
                    newest = max(newest, grandchild.stat(follow_symlinks=False).st_mtime)
    return newest


def size_of(path: Path) -> int:
    """The bytes of a file, a link (itself) or a folder's tree, links not followed."""
    try:
        st = path.lstat()
    except OSError:
        return 0
    if not stat.S_ISDIR(st.st_mode):
        return st.st_size
    total, folders = 0, [path]
    while folders:
        for child in entries(folders.pop()):
            with contextlib.suppress(OSError):
                if child.is_dir(follow_symlinks=False):
                    folders.append(Path(child.path))
                else:
                    total += child.stat(follow_symlinks=False).st_size
    return total


def remove_entry(path: Path) -> int:
    """Remove a file, a link (not what it points to) or a folder's tree; the bytes freed.
    OSError when it cannot be (the caller logs it)."""
    freed = size_of(path)
    if stat.S_ISDIR(path.lstat().st_mode):
        shutil.rmtree(path)
    else:
        path.unlink()
    return freed


def remove_if_old(path: Path, *, before: float, changed: float | None = None) -> Swept:
    """Remove `path` when it last changed before `before` (`changed`, else its newest mtime)."""
    when = newest_mtime(path) if changed is None else changed
    if when is None:
        return Swept()
    if when >= before:
        return Swept(kept=1)
    try:
        return Swept(removed=1, freed=remove_entry(path))
    except OSError as err:
        return Swept(failed=[f"{path}: {(err.strerror or type(err).__name__).lower()}"])


def sweep_cache(root: Path, *, keep_days: float, now: float, force: bool = False) -> Swept:
    """Remove the transcript cache's entries (`<root>/<xx>/<key>/`, and staging folders left
    by a killed job) that were made more than `keep_days` days before `now`. At most once per
    SWEEP_EVERY_S unless `force`; nothing when keep_days is 0 (keep forever)."""
    if keep_days <= 0 or not _real_dir(root):
        return Swept()
    mark = root / _MARK
    if not force:
        with contextlib.suppress(OSError):
            if now - mark.stat().st_mtime < SWEEP_EVERY_S:
                return Swept()
    before = now - keep_days * DAY_S
    swept = Swept()
    for shard in entries(root):
        if shard.name == _MARK or not shard.is_dir(follow_symlinks=False):
            continue
        for entry in entries(Path(shard.path)):
            swept.add(remove_if_old(Path(entry.path), before=before))
        with contextlib.suppress(OSError):
            Path(shard.path).rmdir()  # only when the sweep left it empty
    with contextlib.suppress(OSError):
        mark.touch()
        os.utime(mark, (now, now))
    return swept


def _real_dir(path: Path) -> bool:
    try:
        return stat.S_ISDIR(path.lstat().st_mode)
    except OSError:
        return False
