"""Where a job is, as a fraction: the one small record a runner reports while it works.

The runner writes a record as a line on stderr (`relayq-progress: {json}`, beside the
`relayq: ` step lines, which stay the human ones), and on GitHub also into its own check run,
whose `output.title` starts with the integer percentage (`42% transcribe · 3 min left`, the
contract in the design notes). Readers never trust it: a line that is not a record, a fraction
out of [0, 1] or not a number, is no record (`parse` gives None), so a runner that reports
garbage never breaks a card. No transcript text ever goes in a record. Pure: no I/O.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass

__all__ = ["LINE_PREFIX", "PHASES", "ProgressRecord", "parse", "parse_title"]

LINE_PREFIX = "relayq-progress: "
# download: bytes of the total; decode; transcribe: the last segment's end over the audio's
# length; outputs: the result files.
PHASES = ("download", "decode", "transcribe", "outputs")
_TITLE = re.compile(r"^(\d{1,3})% (download|decode|transcribe|outputs)\b")


@dataclass(frozen=True)
class ProgressRecord:
    phase: str  # one of PHASES
    fraction: float  # of this phase, 0..1
    audio_done_s: float | None  # seconds of audio transcribed so far (transcribe)
    elapsed_s: float  # since the job started on the runner
    left_s: float | None  # the runner's own estimate of what is left of the job

    @property
    def percent(self) -> int:
        return min(100, max(0, math.floor(self.fraction * 100)))

    def line(self) -> str:
        return LINE_PREFIX + json.dumps(asdict(self), separators=(",", ":"))

    def title(self) -> str:
        """The check run's output.title: `42% transcribe · 3 min left`."""
        left = f" · {_minutes(self.left_s)} left" if self.left_s is not None else ""
        return f"{self.percent}% {self.phase}{left}"


def _minutes(seconds: float) -> str:
    if seconds < 60:
        return "under a minute"
    return f"{round(seconds / 60)} min"


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) and value >= 0 else None


def parse(line: str) -> ProgressRecord | None:
    """The record on a `relayq-progress: ` line; None for anything else or anything malformed."""
    if not line.startswith(LINE_PREFIX):
        return None
    try:
        said = json.loads(line[len(LINE_PREFIX) :])
    except ValueError:
        return None
    if not isinstance(said, dict) or said.get("phase") not in PHASES:
        return None
    fraction, elapsed = _number(said.get("fraction")), _number(said.get("elapsed_s"))
    if fraction is None or fraction > 1 or elapsed is None:
        return None
    return ProgressRecord(
        phase=str(said["phase"]),
        fraction=fraction,
        audio_done_s=_number(said.get("audio_done_s")),
        elapsed_s=elapsed,
        left_s=_number(said.get("left_s")),
    )


def parse_title(title: str | None) -> tuple[str, float] | None:
    """(phase, fraction) from a check run's output.title; None when it is not one of ours."""
    found = _TITLE.match(title or "")
    if found is None or int(found.group(1)) > 100:
        return None
    return found.group(2), int(found.group(1)) / 100
