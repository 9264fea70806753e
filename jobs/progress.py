"""Where a job is, as a fraction: the one small record a runner reports while it works.

The runner writes a record as a line on stderr (`relayq-progress: {json}`, beside the
`relayq: ` step lines, which stay the human ones), and on GitHub also into its own check run,
whose `output.title` starts with the integer percentage (`42% transcribe · 3 min left`,
the contract in the design notes). Readers never trust it: a line that is not a record, a
fraction out of [0, 1] or not a number, is no record (`parse` gives None), so a runner that
reports garbage never breaks a card. No transcript text ever goes in a record. Pure: no I/O
(a `Reporter` is handed its clock and where its records go).

A runner writes at most one record per 5 % of a phase or 15 s, whichever is rarer (`Throttle`),
and always at a phase change and at 100 %: a check run's writes cost the API budget, and the
card needs no more.
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

__all__ = [
    "EVERY_S", "LINE_PREFIX", "PHASES", "STEP", "ProgressRecord", "Reporter", "Throttle",
    "about_left", "parse", "parse_title",
]  # fmt: skip

LINE_PREFIX = "relayq-progress: "
# download: bytes of the total; decode; transcribe: the last segment's end over the audio's
# length; outputs: the result files.
PHASES = ("download", "decode", "transcribe", "outputs")
# A record is worth writing at most once per STEP of its phase or EVERY_S, whichever is rarer.
STEP = 0.05
EVERY_S = 15.0
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
        if not math.isfinite(self.fraction):
            return 0
        return min(100, max(0, math.floor(self.fraction * 100)))

    @property
    def sensible(self) -> bool:
        """A known phase and a fraction in [0, 1]: what `parse` lets through. A record made
        some other way (a check run's title, a test) is shown only when it is."""
        return self.phase in PHASES and math.isfinite(self.fraction) and 0 <= self.fraction <= 1

    def line(self) -> str:
        return LINE_PREFIX + json.dumps(asdict(self), separators=(",", ":"))

    def said(self) -> str:
        """`transcribe 42% · about 3 min left`: the record in a state line (`dispatch --wait`,
        a GitHub job's state)."""
        left = self.left_s
        about = f" · {about_left(left)}" if left is not None and math.isfinite(left) else ""
        return f"{self.phase} {self.percent}%{about}"

    def title(self) -> str:
        """The check run's output.title: `42% transcribe · 3 min left`."""
        left = f" · {_minutes(self.left_s)} left" if self.left_s is not None else ""
        return f"{self.percent}% {self.phase}{left}"


def about_left(seconds: float) -> str:
    """ "about 3 min left", as the card and `dispatch --wait` say it."""
    if seconds < 60:
        return "under a minute left"
    minutes = round(seconds / 60)
    if minutes < 90:
        return f"about {minutes} min left"
    return f"about {minutes // 60} h {minutes % 60} min left"


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


@dataclass(frozen=True)
class Throttle:
    """When a record is worth writing: a new phase, 100 %, or at least `step` more of the phase
    and at least `every_s` since the last one (whichever is rarer). Never a fraction going
    backwards within a phase."""

    step: float = STEP
    every_s: float = EVERY_S

    def due(self, last: ProgressRecord | None, phase: str, fraction: float, at: float) -> bool:
        """`at` and `last.elapsed_s` on the same clock (seconds since the job started)."""
        if last is None or phase != last.phase:
            return True
        if fraction <= last.fraction:
            return False
        if fraction >= 1.0:
            return True
        return fraction - last.fraction >= self.step and at - last.elapsed_s >= self.every_s


class Reporter:
    """The runner's side: phases begin and move on, and the records worth writing go to `emit`.

    `left_s` is the runner's own estimate of what is left of the job: in the transcribe phase,
    the time it has taken so far over the part done, times the part left (the outputs take next
    to nothing); unknown elsewhere. Thread-safe: remote backends report from their workers.
    """

    def __init__(
        self,
        emit: Callable[[ProgressRecord], None] = lambda _: None,
        *,
        throttle: Throttle | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._emit = emit
        self._throttle = throttle or Throttle()
        self._clock = clock
        self._started = clock()
        self._phase_started = self._started
        self._phase: str | None = None
        self._last: ProgressRecord | None = None
        self._lock = threading.Lock()
        self.emitted = 0  # records written (the overhead bench counts them)

    def begin(self, phase: str) -> None:
        """`phase` starts now (at 0 %)."""
        with self._lock:
            self._phase, self._phase_started = phase, self._clock()
        self.update(phase, 0.0)

    def update(self, phase: str, fraction: float, *, audio_done_s: float | None = None) -> None:
        """`fraction` of `phase` is done; written when the throttle says it is worth it."""
        if not math.isfinite(fraction):
            return
        fraction = min(1.0, max(0.0, fraction))
        with self._lock:
            now = self._clock()
            elapsed = now - self._started
            if not self._throttle.due(self._last, phase, fraction, elapsed):
                return
            if phase != self._phase:  # a phase reported before anyone said it began
                self._phase, self._phase_started = phase, now
            left = None
            if phase == "transcribe" and fraction > 0:
                left = (now - self._phase_started) / fraction * (1 - fraction)
            record = ProgressRecord(
                phase=phase,
                fraction=round(fraction, 4),
                audio_done_s=None if audio_done_s is None else round(audio_done_s, 2),
                elapsed_s=round(elapsed, 2),
                left_s=None if left is None else round(left, 1),
            )
            self._last = record
            self.emitted += 1
        self._emit(record)

    def end(self, phase: str, *, audio_done_s: float | None = None) -> None:
        """`phase` is done (100 %, always written)."""
        self.update(phase, 1.0, audio_done_s=audio_done_s)

    def downloaded(self, done: int, total: int | None) -> None:
        """Bytes of a download so far, of `total` when the server said (else no fraction)."""
        if total:
            self.update("download", done / total)
