"""What the GitHub executor knows of each job's last dispatch, kept on disk across restarts.

A dispatch whose answer was lost (5xx, timeout, dropped connection, a kill) may still have
made a run, and GitHub lists a new run only a while after making it. The mark is written
before the POST leaves, so a bot started again after a kill knows that a run may yet appear,
and since when, and looks for it before sending anything (docs/DECISIONS.md, D10).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path

__all__ = ["Journal", "Mark"]

KEEP_S = 7 * 86400  # a mark no job has asked for in a week belongs to a job long finished


@dataclass(frozen=True)
class Mark:
    """One job's last dispatch. `posted_at` (the executor's clock) is set while the outcome of
    a POST is unknown or GitHub accepted it without naming the run: until that run is known, a
    run may still appear. `run_id` is the run the last POST made, once known."""

    posted_at: float | None = None
    accepted: bool = False  # GitHub answered 204: the run exists, it is not listed yet
    run_id: int | None = None
    html_url: str | None = None
    abandoned: tuple[int, ...] = ()  # earlier runs of the job, cancelled by GitHub as they waited

    @property
    def run_may_appear(self) -> bool:
        return self.posted_at is not None and self.run_id is None


class Journal:
    """One small JSON file per job under `folder`, replaced atomically."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._prune()

    def get(self, request_id: str) -> Mark | None:
        path = self._path(request_id)
        try:
            data = json.loads(path.read_text())
            return Mark(data.get("posted_at"), bool(data.get("accepted")), data.get("run_id"),
                        data.get("html_url"), tuple(data.get("abandoned") or ()))  # fmt: skip
        except FileNotFoundError:
            return None
        except (OSError, ValueError, AttributeError):
            # Unreadable: all it can still say is that a POST may have left when it was written.
            with contextlib.suppress(OSError):
                return Mark(posted_at=path.stat().st_mtime)
            return None

    def put(self, request_id: str, mark: Mark) -> None:
        """Written through to the disk before it returns: a POST sent after it is on record."""
        self._folder.mkdir(parents=True, exist_ok=True)
        path = self._path(request_id)
        data = json.dumps({"request_id": request_id, **asdict(mark)})
        part = path.with_name(path.name + ".part")
        with part.open("w") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        part.replace(path)

    def drop(self, request_id: str) -> None:
        self._path(request_id).unlink(missing_ok=True)

    def _path(self, request_id: str) -> Path:
        safe = re.fullmatch(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,99}", request_id)
        name = request_id if safe else hashlib.sha256(request_id.encode()).hexdigest()[:40]
        return self._folder / f"{name}.json"

    def _prune(self) -> None:
        if not self._folder.is_dir():
            return
        old = time.time() - KEEP_S
        for path in self._folder.iterdir():
            with contextlib.suppress(OSError):
                if path.stat().st_mtime < old:
                    path.unlink()
