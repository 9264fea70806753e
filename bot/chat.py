"""The chat port: how the job lifecycle speaks to the person who sent the job.

The lifecycle (`bot/lifecycle/`) hands relayq's own types to a `Chat` — a job's card as it
stands, a finished job's result folder, a runner that came or went — and never a string
already worded for one front end. `bot/telegram/` words and sends them for Telegram;
tests use an in-memory chat. A chat answers with one of three outcomes besides success:

    RelayqError
    ├── ChatGone         the card is no more (the person deleted it): open a new one
    ├── ChatRefused      the chat will not take this (blocked, malformed): the job fails
    └── Unavailable
        └── ChatUnavailable  the chat service did not answer, even after retries: the job
                             waits, as in any outage
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from bot.executors.base import JobState, Unavailable
from bot.ledger import JobRow, RunnerSeen
from bot.library import Shelved
from bot.policy import Decision
from jobs.errors import RelayqError, SourceUnreachable

__all__ = [
    "Again",
    "Card",
    "Chat",
    "ChatGone",
    "ChatRefused",
    "ChatUnavailable",
    "InLine",
    "NasNotice",
    "Result",
    "RunnerNotice",
    "UserLimit",
    "Waiting",
    "read_result",
]


class ChatGone(RelayqError):
    """The message to edit is no more."""


class ChatRefused(RelayqError):
    """The chat refused what was sent; asking again will not change that."""


class ChatUnavailable(Unavailable):
    """The chat service did not answer, even after retries."""


@dataclass(frozen=True)
class Waiting:
    """What a queued job waits for: `machine` (the target's description, "Mac mini"),
    `why` ("none registered", "none online", "all busy"), the target's labels, what the fleet
    watch has seen of the runners that could take it, and since when the job waits."""

    machine: str
    why: str
    labels: tuple[str, ...]
    seen: tuple[RunnerSeen, ...]
    since: float


@dataclass(frozen=True)
class InLine:
    """A job held in relayq's own queue (accepted, sent nowhere yet) for a target whose
    runners are all busy: its place among the jobs held for it (1: the next), and, with a
    speed model, when it is expected to start and to be done (seconds from now) and what
    that rests on ("first job on this runner", "measured on 12 jobs")."""

    machine: str
    position: int
    start_in_s: float | None = None
    finish_in_s: float | None = None
    note: str = ""


@dataclass(frozen=True)
class UserLimit:
    """A job held in relayq's own queue because its user already has `running` jobs in
    flight (and `ahead` more waiting before it), at most `limit` at a time
    (RELAYQ_USER_MAX_ACTIVE)."""

    running: int
    ahead: int
    limit: int


@dataclass(frozen=True)
class Result:
    """A finished job's result folder, read once: its text, its meta.json, its run."""

    folder: Path
    kind: str
    text: str
    meta: Mapping[str, object] = field(default_factory=dict)
    run_url: str | None = None

    @property
    def text_file(self) -> Path:
        return self.folder / ("summary.md" if self.kind == "summarize" else "transcript.txt")

    @property
    def subtitles(self) -> Path | None:
        """transcript.srt, when the job made one with something in it."""
        return self.made("srt")

    def made(self, suffix: str) -> Path | None:
        """transcript.<suffix>, when the job made one with something in it."""
        path = self.folder / f"transcript.{suffix}"
        return path if path.is_file() and path.stat().st_size else None

    @property
    def heard(self) -> str | None:
        """The language the transcript is in, as meta.json says (older results do not)."""
        value = self.meta.get("language")
        return value if isinstance(value, str) and value else None

    @property
    def no_speech(self) -> bool:
        """A transcription that found nothing to say."""
        return self.kind == "transcribe" and not self.text

    @property
    def nas_failure(self) -> str | None:
        """Why the runner did not copy the results to its NAS (meta.json's `nas` entry,
        jobs/nas.py): one line; None when it did, or has no NAS."""
        entry = self.meta.get("nas")
        if not isinstance(entry, dict) or entry.get("copied") is not False:
            return None
        reason = entry.get("reason")
        return " ".join(reason.split()) if isinstance(reason, str) and reason.strip() else "unknown"

    @property
    def duration_s(self) -> float | None:
        value = self.meta.get("duration_s")
        return float(value) if isinstance(value, int | float) else None


def read_result(folder: Path, kind: str, run_url: str | None = None) -> Result:
    """The result in `folder`; SourceUnreachable when its text is not there."""
    name = "summary.md" if kind == "summarize" else "transcript.txt"
    try:
        text = (folder / name).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        raise SourceUnreachable(
            f"the job finished but its {name} is missing; run it again"
        ) from None
    try:
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        meta = {}
    return Result(folder, kind, text, meta if isinstance(meta, dict) else {}, run_url)


@dataclass(frozen=True)
class Card:
    """A job's card as it stands. `state` None: just accepted. `decision`: the routing
    decision, when it was just made. `retry_in_s`: an outage stopped the job and relayq takes
    it up again in that long (`state.detail` says what did not answer). `result`: the job
    succeeded. `local`: the job runs on this machine (the local executor), whatever target
    the policy chose. `machine`: the target's description ("Mac mini"), when the policy
    knows the target. `sent_on`: the job ended because it goes on as that job (a runner
    refused it as too long; `state.detail` says why and where). `held`: the job waits in
    relayq's own queue (bot/lifecycle/queue.py), for a runner or for its user's limit."""

    job: JobRow
    state: JobState | None = None
    decision: Decision | None = None
    waiting: Waiting | None = None
    retry_in_s: float | None = None
    result: Result | None = None
    local: bool = False
    sent_on: str | None = None
    machine: str | None = None
    held: InLine | UserLimit | None = None


@dataclass(frozen=True)
class RunnerNotice:
    """A runner went offline or came back. `machine`: the policy target it serves
    ("Mac mini"), when one fits; `offline_since`: when it went, if relayq saw it go."""

    change: RunnerSeen
    machine: str | None
    offline_since: float | None = None


@dataclass(frozen=True)
class NasNotice:
    """A runner could not copy a job's results to its NAS (RELAYQ_NAS_DIR, jobs/nas.py):
    `machine`, the policy target it served ("Mac mini") when one did; `host`, the runner's
    host name as its meta.json says it; `local`, the job ran on the bot's own machine;
    `reason`, the runner's sentence ("the NAS is full"); `job_id`, the job it happened to."""

    machine: str | None
    host: str | None
    local: bool
    reason: str
    job_id: str


@dataclass(frozen=True)
class Again:
    """A delivered transcript sent again (/get): to chat `chat_id`, its result files in the
    formats asked for, from the results kept on the bot's side. `text`: its files are no
    longer kept (retention), so its text from the library goes as `transcript.txt` instead."""

    shelved: Shelved
    chat_id: int
    files: tuple[Path, ...]
    text: str | None = None


class Chat(Protocol):
    """A front end for the lifecycle: Telegram, a terminal, a test."""

    async def show(self, card: Card, *, card_id: int | None) -> int:
        """Show `card`: edit card `card_id` in place, or open a new card when it is None.
        Returns the card's id. ChatGone: `card_id` is no more."""
        ...

    def attachments(self, card: Card) -> list[Path]:
        """The result files that follow a delivered card, in the order they are sent (the
        same list every time for the same result)."""
        ...

    async def attach(
        self, card: Card, card_id: int, path: Path, sending: Callable[[bool], None]
    ) -> None:
        """Send one result file with the card. `sending(True)` runs just before each
        attempt, `sending(False)` after one the chat refused without taking the file."""
        ...

    async def send_again(self, again: Again) -> None:
        """Send a delivered transcript's files again, under a line saying what they are."""
        ...

    async def fetch_upload(self, file_id: str, folder: Path) -> Path:
        """A file the person sent, saved into `folder`."""
        ...

    async def notify_owner(self, notice: RunnerNotice | NasNotice) -> None:
        """Tell the owner (and whoever hears alerts) that a runner came or went, or that
        one could not copy results to its NAS."""
        ...
