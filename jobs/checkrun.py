"""A GitHub job's progress, written into its own check run for the bot to read.

The workflow's job step pipes the job's stderr through this (jobs/run_job.sh):

    relayq transcribe … 2>&1 >&3 | python -m jobs.checkrun >&2

Every line passes on unchanged to the log; each `relayq-progress: ` record (jobs/progress.py)
may become the check run's `output` (`PATCH /repos/{repo}/check-runs/{id}`): its title is the
record's (`42% transcribe · 3 min left`), its summary says the phase, percent, audio done and
time elapsed, and ends with the record itself in an HTML comment for the bot (`read_output`).
Nothing of the transcript goes there: anyone who can read the repository can read a check run.

At most one write per 5 % or per 15 s, whichever is rarer (`Throttle`); writes go from a thread
of their own, so a slow GitHub never holds up the job's stderr. Progress is best effort: the
first failed write (no `checks: write`, a rate limit, the network) is said once on stderr and
the job goes on; a refusal that waiting cannot mend stops the writes.

Settings, from the step's environment: `RELAYQ_CHECK_RUN_ID` (`job.check_run_id`),
`RELAYQ_CHECKS_TOKEN` (`github.token`; only this process gets it, never argv, never printed),
`GITHUB_API_URL` and `GITHUB_REPOSITORY` (set by Actions). Without them it only passes the
lines on (the local executor, a runner outside Actions).
"""

from __future__ import annotations

import json
import os
import re
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import BinaryIO

from jobs.progress import EVERY_S, LINE_PREFIX, STEP, ProgressRecord, parse, parse_title

__all__ = ["CheckRun", "Reporter", "Throttle", "WriteFailed", "read_output", "summary"]

_COMMENT = re.compile(r"<!-- (relayq-progress: \{[^\n]*\}) -->")


@dataclass
class Throttle:
    """When a record may be written: never sooner than `every_s` after the last write, and only
    when it says something new (another phase, or at least `step` further in this one)."""

    every_s: float = EVERY_S
    step: float = STEP
    last: ProgressRecord | None = None
    last_at: float | None = None

    def wait_s(self, record: ProgressRecord, now: float) -> float | None:
        """Seconds until `record` may be written (0: now); None: it is not worth a write."""
        if (
            self.last is not None
            and record.phase == self.last.phase
            and record.fraction - self.last.fraction < self.step - 1e-9
        ):
            return None
        if self.last_at is None:
            return 0.0
        return max(0.0, self.last_at + self.every_s - now)

    def wrote(self, record: ProgressRecord, now: float) -> None:
        self.last, self.last_at = record, now


def _duration(seconds: float) -> str:
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    minutes, secs = divmod(whole, 60)
    return f"{minutes} min {secs} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"


def summary(record: ProgressRecord) -> str:
    """The check run's output.summary: numbers only, never anything of the transcript."""
    parts = [f"**{record.phase}** {record.percent}%"]
    if record.audio_done_s is not None:
        parts.append(f"{_duration(record.audio_done_s)} of audio done")
    parts.append(f"{_duration(record.elapsed_s)} elapsed")
    if record.left_s is not None:
        parts.append(f"about {_duration(record.left_s)} left")
    return " · ".join(parts) + f"\n\n<!-- {record.line()} -->\n"


def read_output(title: str | None, text: str | None, *, elapsed_s: float) -> ProgressRecord | None:
    """The progress a check run's output says: the record in its summary when that agrees with
    the title, else what the title alone says (`elapsed_s` then stands in for the runner's);
    None for a title that is not ours. Garbage anywhere is no progress, never an error."""
    said = parse_title(title)
    if said is None:
        return None
    phase, fraction = said
    found = _COMMENT.search(text or "")
    record = parse(found.group(1)) if found else None
    if record is not None and (record.phase, record.percent) == (phase, round(fraction * 100)):
        return record
    return ProgressRecord(phase, fraction, None, max(0.0, elapsed_s), None)


class WriteFailed(Exception):
    """A write GitHub refused or never answered. `final`: waiting will not mend it."""

    def __init__(self, reason: str, *, final: bool, wait_s: float = 0.0) -> None:
        super().__init__(reason)
        self.final = final
        self.wait_s = wait_s


class CheckRun:
    """`PATCH {api}/repos/{repo}/check-runs/{id}` with the token in a header, never elsewhere."""

    def __init__(self, *, api_url: str, repo: str, check_run_id: str, token: str,
                 timeout_s: float = 10.0) -> None:  # fmt: skip
        if not api_url.startswith(("https://", "http://")):
            raise ValueError("GITHUB_API_URL is not an http(s) address")
        self.url = f"{api_url.rstrip('/')}/repos/{repo}/check-runs/{check_run_id}"
        self._token = token
        self._timeout_s = timeout_s

    def write(self, record: ProgressRecord) -> None:
        body = {"output": {"title": record.title(), "summary": summary(record)}}
        request = urllib.request.Request(  # noqa: S310 (an http(s) URL: __init__ checks)
            self.url, data=json.dumps(body).encode(), method="PATCH",
            headers={"Authorization": f"Bearer {self._token}",
                     "Accept": "application/vnd.github+json",
                     "X-GitHub-Api-Version": "2022-11-28", "User-Agent": "relayq-runner",
                     "Content-Type": "application/json"},
        )  # fmt: skip
        try:
            with urllib.request.urlopen(request, timeout=self._timeout_s) as answer:  # noqa: S310
                answer.read()
        except urllib.error.HTTPError as err:
            raise _refusal(err) from None
        except (OSError, ValueError) as err:  # URLError, timeouts, resets
            why = getattr(err, "reason", None) or type(err).__name__  # no URL, no token
            reason = f"GitHub did not answer ({why})"
            raise WriteFailed(reason, final=False) from None


def _refusal(err: urllib.error.HTTPError) -> WriteFailed:
    headers = {k.lower(): v for k, v in err.headers.items()} if err.headers else {}
    try:
        said = str(json.loads(err.read() or b"{}").get("message") or "")
    except (ValueError, AttributeError, OSError):
        said = ""
    said = " ".join(said.split())[:200]
    reason = f"HTTP {err.code}" + (f": {said}" if said else "")
    if "retry-after" in headers:
        return WriteFailed(reason, final=False, wait_s=_float(headers["retry-after"]))
    if headers.get("x-ratelimit-remaining") == "0":
        wait = _float(headers.get("x-ratelimit-reset", "0")) - time.time()
        return WriteFailed(reason, final=False, wait_s=max(0.0, wait))
    if err.code == 429 or err.code >= 500 or "rate limit" in said.lower():
        return WriteFailed(reason, final=False, wait_s=60.0)
    return WriteFailed(reason, final=True)  # 401, 403 (no checks: write), 404, 422


def _float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return 0.0


class Reporter:
    """Takes records as they come (`offer`) and writes the newest one when the throttle lets it,
    from its own thread; `close()` waits a little for a write under way, then lets go."""

    def __init__(self, write: Callable[[ProgressRecord], None], say: Callable[[str], None], *,
                 every_s: float = EVERY_S,
                 clock: Callable[[], float] = time.monotonic) -> None:  # fmt: skip
        self._write = write
        self._say = say
        self._clock = clock
        self._throttle = Throttle(every_s=every_s)
        self._latest: ProgressRecord | None = None
        self._not_before = 0.0
        self._told = False
        self._stopped = False
        self._closed = False
        self._wake = threading.Condition()
        self._thread = threading.Thread(target=self._loop, name="relayq-checks", daemon=True)
        self._thread.start()

    def offer(self, record: ProgressRecord) -> None:
        with self._wake:
            self._latest = record
            self._wake.notify()

    def close(self, timeout_s: float = 10.0) -> None:
        with self._wake:
            self._closed = True
            self._wake.notify()
        self._thread.join(timeout_s)

    def _next(self) -> ProgressRecord | None:
        """The record to write now, waiting until one is due; None once closed."""
        with self._wake:
            while not self._closed and not self._stopped:
                now, record = self._clock(), self._latest
                wait = None if record is None else self._throttle.wait_s(record, now)
                if record is not None and wait is not None:
                    wait = max(wait, self._not_before - now)
                    if wait <= 0:
                        self._latest = None
                        self._throttle.wrote(record, now)  # a failed write counts too
                        return record
                self._wake.wait(wait)  # until due, or until a newer record comes
            return None

    def _loop(self) -> None:
        while (record := self._next()) is not None:
            try:
                self._write(record)
            except WriteFailed as failed:
                if not self._told:
                    self._told = True
                    self._say(f"relayq-checks: progress is not written to the check run "
                              f"({failed}); the job goes on")  # fmt: skip
                with self._wake:
                    self._stopped = failed.final
                    self._not_before = self._clock() + failed.wait_s
            except Exception as err:  # best effort: a bug here never takes the job down
                if not self._told:
                    self._told = True
                    self._say(f"relayq-checks: progress writes stopped ({type(err).__name__})")
                return


def pass_through(source: BinaryIO, sink: BinaryIO, offer: Callable[[ProgressRecord], None]) -> None:
    """Copy every line from `source` to `sink` as it comes, offering each record on the way."""
    for raw in iter(source.readline, b""):
        try:
            sink.write(raw)
            sink.flush()
        except (BrokenPipeError, ValueError):
            pass  # the log is gone; the job's own exit status still tells
        if raw.startswith(LINE_PREFIX.encode()):
            record = parse(raw.decode("utf-8", "replace").rstrip("\r\n"))
            if record is not None:
                offer(record)


def every_s(env: Mapping[str, str]) -> float:
    """The writes' pace: the runner's RELAYQ_PROGRESS_EVERY_S, as its records' (EVERY_S when
    unset or not a number from 0 to 3600, as the runner's settings accept)."""
    try:
        value = float(env.get("RELAYQ_PROGRESS_EVERY_S", ""))
    except ValueError:
        return EVERY_S
    return value if 0 <= value <= 3600 else EVERY_S


def main(env: Mapping[str, str] = os.environ) -> int:
    sink = sys.stderr.buffer

    def say(text: str) -> None:
        sink.write(text.encode() + b"\n")
        sink.flush()

    wanted = ("RELAYQ_CHECK_RUN_ID", "RELAYQ_CHECKS_TOKEN", "GITHUB_REPOSITORY")
    check_run_id, token, repo = (env.get(name, "") for name in wanted)
    if not (check_run_id.isdigit() and token and repo):
        pass_through(sys.stdin.buffer, sink, lambda _record: None)
        return 0
    try:
        target = CheckRun(api_url=env.get("GITHUB_API_URL") or "https://api.github.com",
                          repo=repo, check_run_id=check_run_id, token=token)  # fmt: skip
    except ValueError as err:
        say(f"relayq-checks: progress is not written to the check run ({err}); the job goes on")
        pass_through(sys.stdin.buffer, sink, lambda _record: None)
        return 0
    reporter = Reporter(target.write, say, every_s=every_s(env))
    try:
        pass_through(sys.stdin.buffer, sink, reporter.offer)
    finally:
        reporter.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
