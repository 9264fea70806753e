"""Writing to a disk that may be full or read-only: one sentence that names the folder and
what to do, never a traceback, and nothing half-written left behind.

A Pi's SD card fills up; a runner's TMPDIR may sit on a small tmpfs. Each place a job writes
(its temporary folder and the download in it, the results, the cache) turns the operating
system's error into the sentence for that place.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from jobs.errors import ConfigError, NoSpace

__all__ = [
    "NO_SPACE",
    "READ_ONLY",
    "free_bytes",
    "job_folder",
    "probe",
    "removing_new_folders",
    "why",
    "writing_temp",
]

NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT})
READ_ONLY = frozenset({errno.EROFS, errno.EACCES, errno.EPERM})
_TMPDIR_FIX = "free some space there, or set TMPDIR to a folder on a disk with room"


def why(exc: OSError) -> str:
    """The operating system's reason, as words of a sentence ("permission denied")."""
    if exc.errno == errno.EROFS:
        return "it is on a read-only file system"
    return (exc.strerror or type(exc).__name__).lower()


@contextlib.contextmanager
def job_folder() -> Iterator[Path]:
    """The job's one temporary folder under TMPDIR, removed however the job ends."""
    try:
        # Python skips a TMPDIR it cannot write a probe file to (full, read-only) for /tmp,
        # /var/tmp or the working folder, and gives up only when none will do.
        root = Path(tempfile.gettempdir())
        folder = Path(tempfile.mkdtemp(prefix="relayq-", dir=root))
    except OSError as exc:
        raise _temp_error(exc) from None
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def writing_temp(what: str) -> Iterator[None]:
    """Around a write into the job's temporary folder (`what`: "download x"): a disk that
    fills up is NoSpace naming TMPDIR. Whatever wrote must remove its partial file."""
    try:
        yield
    except OSError as exc:
        if exc.errno in NO_SPACE:
            raise NoSpace(
                f"no space left on the device to {what} into {tempfile.gettempdir()}; {_TMPDIR_FIX}"
            ) from None
        raise


@contextlib.contextmanager
def removing_new_folders(folder: Path) -> Iterator[None]:
    """On failure, remove the folders on the way to `folder` that did not exist before (and
    are empty again): a failed write leaves no empty --out behind."""
    missing: list[Path] = []
    path = folder
    while not path.exists() and path != path.parent:
        missing.append(path)
        path = path.parent
    try:
        yield
    except BaseException:
        for path in missing:  # deepest first
            with contextlib.suppress(OSError):
                path.rmdir()
        raise


def probe(folder: Path) -> None:
    """Make and remove a folder in `folder`, or raise the OSError that stops it: a real write,
    not os.access (root passes every permission bit, yet not a read-only file system, /proc or
    /sys). It leaves nothing behind."""
    Path(tempfile.mkdtemp(prefix=".relayq-probe-", dir=folder)).rmdir()


def free_bytes(folder: Path) -> int | None:
    """Room left for this user on the disk holding `folder` (None when it cannot be told)."""
    try:
        stats = os.statvfs(folder)
    except OSError:
        return None
    return stats.f_bavail * stats.f_frsize


def _temp_error(exc: OSError) -> Exception:
    where = os.environ.get("TMPDIR") or "the temporary folder"
    if exc.errno in NO_SPACE:
        return NoSpace(f"no space left on the device for temporary files in {where}; {_TMPDIR_FIX}")
    if exc.errno in READ_ONLY or exc.errno == errno.ENOENT:
        return ConfigError(
            f"no temporary folder can be written ({where}, /tmp, /var/tmp and the working "
            "folder were tried); set TMPDIR to a writable folder with free space"
        )
    return exc
