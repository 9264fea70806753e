"""Reuse a finished transcript: same audio bytes and same settings give the same result."""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

from jobs.outputs import RESULT_FILES

__all__ = ["ResultCache", "cache_key", "sha256_file"]


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def cache_key(audio_sha256: str, settings: Mapping[str, object]) -> str:
    canonical = json.dumps(settings, sort_keys=True, default=str)
    return hashlib.sha256(f"{audio_sha256}\n{canonical}".encode()).hexdigest()


class ResultCache:
    """One folder per key holding the five result files; entries appear atomically."""

    def __init__(self, root: Path) -> None:
        self._root = root

    def lookup(self, key: str) -> Path | None:
        entry = self._root / key[:2] / key
        complete = all((entry / name).is_file() for name in RESULT_FILES)
        return entry if complete else None

    def store(self, key: str, results: Path) -> None:
        """Copy a finished result set in; a concurrent or earlier copy wins quietly."""
        entry = self._root / key[:2] / key
        if entry.exists():
            return
        entry.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".partial-", dir=entry.parent))
        try:
            for name in RESULT_FILES:
                shutil.copy2(results / name, staging / name)
            staging.replace(entry)
        except OSError:
            pass  # another job stored the same entry first, or the cache is unwritable
        finally:
            with contextlib.suppress(OSError):
                shutil.rmtree(staging)
