"""`relayq` with one folder behaving as a small disk that fills up, or a read-only one, for a
machine where the tests may not mount a tmpfs (the full-disk tests use a real tmpfs where
they can; tests/jobs/test_full_disk.py says which).

    python -m tests.jobs.nospace FOLDER BYTES rw|ro -- ARGS...   (runs `relayq ARGS...`)

Writes into FOLDER fail with ENOSPC once BYTES have been written there (as a real disk
would, at whatever write crosses the line); with `ro`, every write or new folder there fails
with EROFS. Everything the job writes goes through `open` (io.open), `shutil.copyfile` or
`os.mkdir`, which are what this replaces; reads and other folders are untouched.
"""

from __future__ import annotations

import builtins
import errno
import io
import os
import shutil
import sys
from pathlib import Path
from typing import Any

_real_open = io.open
_real_mkdir = os.mkdir
_real_access = os.access
_real_copyfile = shutil.copyfile


class _Disk:
    def __init__(self, folder: Path, room: int, read_only: bool) -> None:
        self.folder = folder
        self.room = room
        self.read_only = read_only

    def holds(self, path: Any) -> bool:
        try:
            return Path(os.fspath(path)).resolve().is_relative_to(self.folder)
        except TypeError:
            return False  # a file descriptor

    def refuse(self, path: Any, code: int) -> OSError:
        return OSError(code, os.strerror(code), os.fspath(path))


class _Filling:
    """A file on the small disk: its writes use up the room, then fail."""

    def __init__(self, file: Any, disk: _Disk) -> None:
        self._file = file
        self._disk = disk

    def write(self, data: bytes | str) -> int:
        if len(data) > self._disk.room:
            self._disk.room = 0
            raise self._disk.refuse(self._file.name, errno.ENOSPC)
        self._disk.room -= len(data)
        written: int = self._file.write(data)
        return written

    def __getattr__(self, name: str) -> Any:
        return getattr(self._file, name)

    def __iter__(self) -> Any:
        return iter(self._file)

    def __enter__(self) -> _Filling:
        return self

    def __exit__(self, *exc: object) -> None:
        self._file.close()


def install(folder: Path, room: int, read_only: bool) -> None:
    disk = _Disk(folder.resolve(), room, read_only)

    def fake_open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if not disk.holds(file) or not any(c in mode for c in "wax+"):
            return _real_open(file, mode, *args, **kwargs)
        if disk.read_only:
            raise disk.refuse(file, errno.EROFS)
        return _Filling(_real_open(file, mode, *args, **kwargs), disk)

    def fake_mkdir(path: Any, mode: int = 0o777, *args: Any, **kwargs: Any) -> None:
        if disk.read_only and disk.holds(path):
            raise disk.refuse(path, errno.EROFS)
        _real_mkdir(path, mode, *args, **kwargs)

    def fake_access(path: Any, mode: int, *args: Any, **kwargs: Any) -> bool:
        if disk.read_only and disk.holds(path) and mode & os.W_OK:
            return False
        return _real_access(path, mode, *args, **kwargs)

    def fake_copyfile(src: Any, dst: Any, *, follow_symlinks: bool = True) -> Any:
        if not disk.holds(dst):
            return _real_copyfile(src, dst, follow_symlinks=follow_symlinks)
        with _real_open(src, "rb") as source, fake_open(dst, "wb") as target:
            target.write(source.read())
        return dst

    builtins.open = io.open = fake_open  # type: ignore[assignment]
    os.mkdir = fake_mkdir  # type: ignore[assignment]
    os.access = fake_access  # type: ignore[assignment]
    shutil.copyfile = fake_copyfile  # type: ignore[assignment]


def main() -> int:
    folder, room, how, dashes, *args = sys.argv[1:]
    assert dashes == "--" and how in ("rw", "ro")
    install(Path(folder), int(room), how == "ro")
    from bot.cli import main as relayq

    return relayq(args)


if __name__ == "__main__":
    sys.exit(main())
