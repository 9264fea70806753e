"""Reuse a finished transcript: same audio bytes and same settings give the same result.

The key is the sha256 of the input bytes plus a hash of the settings that change the output
(backend identity, language, and this module's format version). An entry is a folder with
the five result files; it appears with one rename, so a reader sees a whole entry or none.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from jobs import disk
from jobs.outputs import RESULT_FILES

__all__ = ["FORMAT", "CachedResult", "ResultCache", "cache_key", "settings_hash", "sha256_file"]

# Bump when what is stored changes (cue grouping, file formats): older entries are then unused.
FORMAT = 2


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def settings_hash(settings: Mapping[str, object]) -> str:
    canonical = json.dumps({**settings, "cache_format": FORMAT}, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def cache_key(audio_sha256: str, settings: Mapping[str, object]) -> str:
    """The entry name: content hash and settings hash, so either changing misses."""
    return f"{audio_sha256[:32]}-{settings_hash(settings)[:32]}"


@dataclass(frozen=True)
class CachedResult:
    folder: Path
    meta: dict[str, Any]

    @property
    def created_at(self) -> str:
        return str(self.meta.get("created_at", "an unknown time"))

    @property
    def made(self) -> str:
        """When the cached transcript was made, as a person reads it: `on 2026-12-04 at 21:02`
        (this machine's time)."""
        try:
            when = datetime.fromisoformat(self.created_at).astimezone()
        except ValueError:
            return "at an unknown time"
        return f"on {when:%Y-%m-%d} at {when:%H:%M}"

    def files(self) -> dict[str, str | bytes] | None:
        """The result files but meta.json, read now; None when the entry went since it was
        looked up (swept by RELAYQ_KEEP_DAYS, or forgotten): the job then runs as a miss."""
        try:
            return {name: (self.folder / name).read_bytes()
                    for name in RESULT_FILES if name != "meta.json"}  # fmt: skip
        except OSError:
            return None


def _quiet(_: str) -> None:
    pass


class ResultCache:
    """One folder per key holding the five result files."""

    def __init__(self, root: Path) -> None:
        self._root = root

    def _entry(self, key: str) -> Path:
        return self._root / key[:2] / key

    def lookup(self, key: str) -> CachedResult | None:
        """The stored result, or None when there is none or it cannot be read."""
        entry = self._entry(key)
        if not all((entry / name).is_file() for name in RESULT_FILES):
            return None
        try:
            meta = json.loads((entry / "meta.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None  # damaged by hand or by a full disk: transcribe again
        return CachedResult(entry, meta) if isinstance(meta, dict) else None

    def store(self, key: str, results: Path, warn: Callable[[str], None] = _quiet) -> bool:
        """Copy a finished result set in; False when an earlier copy exists or it cannot be
        written. A cache that cannot be written (full, read-only) is no failure of the job,
        whose results are already in their folder: `warn` is told why, and nothing partial
        stays behind."""
        entry = self._entry(key)
        if entry.exists():
            return False
        try:
            with disk.removing_new_folders(entry.parent):
                self._copy_in(entry, results)
        except OSError as exc:
            if not entry.exists():  # not merely another job storing the same entry first
                warn(self._problem(exc))
            return False
        return True

    def _copy_in(self, entry: Path, results: Path) -> None:
        entry.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".partial-", dir=entry.parent))
        try:
            for name in RESULT_FILES:
                shutil.copyfile(results / name, staging / name)
            staging.rename(entry)
        finally:
            with contextlib.suppress(OSError):
                shutil.rmtree(staging)

    def _problem(self, exc: OSError) -> str:
        if exc.errno in disk.NO_SPACE:
            return (
                f"the transcript cache in {self._root} has no space left on the device, so "
                "this transcript is not kept for reuse; free some space there or set "
                "RELAYQ_CACHE_DIR to a folder with room"
            )
        return (
            f"the transcript cache in {self._root} cannot be written ({disk.why(exc)}), so "
            "this transcript is not kept for reuse; set RELAYQ_CACHE_DIR to a writable folder"
        )
