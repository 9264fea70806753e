"""In-memory stand-ins for the lifecycle's two ports, so its tests run in milliseconds.

`MemoryChat` is a chat (bot/chat.py) that keeps every card it is shown and can be told to
answer with the port's outcomes; `ScriptedExecutor` is an executor (bot/executors/base.py)
that plays each job a script of states. Both are relayq's own interfaces: the real Telegram
and GitHub paths are covered by the end-to-end tests through PTB, PyGithub and emulators.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

from bot.chat import Again, Card, ChatGone, NasNotice, RunnerNotice
from bot.executors.base import Discarded, JobSpec, JobState, Phase
from bot.fleet import Fleet
from bot.lifecycle import JobService

__all__ = ["MemoryChat", "ScriptedExecutor", "result_folder", "settled"]


@dataclass
class Shown:
    card_id: int
    card: Card


@dataclass
class MemoryChat:
    """Cards by id; `fail` holds exceptions to raise at the next calls of a method."""

    shown: list[Shown] = field(default_factory=list)
    files: list[tuple[str, int, str]] = field(default_factory=list)  # (job, card, file name)
    notices: list[RunnerNotice | NasNotice] = field(default_factory=list)
    uploads: list[str] = field(default_factory=list)
    again: list[Again] = field(default_factory=list)  # transcripts sent again (/get)
    gone: set[int] = field(default_factory=set)
    fail: dict[str, list[BaseException]] = field(default_factory=dict)
    next_id: int = 100

    def _maybe_fail(self, method: str) -> None:
        pending = self.fail.get(method)
        if pending:
            raise pending.pop(0)

    async def show(self, card: Card, *, card_id: int | None) -> int:
        self._maybe_fail("show")
        if card_id is not None and card_id in self.gone:
            raise ChatGone("the message is no more")
        if card_id is None:
            self.next_id += 1
            card_id = self.next_id
        self.shown.append(Shown(card_id, card))
        return card_id

    def attachments(self, card: Card) -> list[Path]:
        assert card.result is not None
        srt = card.result.subtitles
        return [card.result.text_file] + ([srt] if srt else [])

    async def attach(
        self, card: Card, card_id: int, path: Path, sending: Callable[[bool], None]
    ) -> None:
        sending(True)
        self._maybe_fail("attach")
        self.files.append((card.job.id, card_id, path.name))

    async def send_again(self, again: Again) -> None:
        self._maybe_fail("send_again")
        for path in again.files:  # read as the Telegram chat reads them, one after another
            path.read_bytes()
        self.again.append(again)

    async def fetch_upload(self, file_id: str, folder: Path) -> Path:
        self._maybe_fail("fetch_upload")
        self.uploads.append(file_id)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "upload.ogg").write_bytes(b"OggS")
        return folder / "upload.ogg"

    async def notify_owner(self, notice: RunnerNotice | NasNotice) -> None:
        self._maybe_fail("notify_owner")
        self.notices.append(notice)

    def cards_of(self, job_id: str) -> list[Card]:
        return [s.card for s in self.shown if s.card.job.id == job_id]

    def last(self, job_id: str) -> Card:
        return self.cards_of(job_id)[-1]


def result_folder(root: Path, text: str = "Hello there.", srt: bool = True) -> Path:
    folder = root / "out"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "transcript.txt").write_text(text + "\n" if text else "")
    (folder / "transcript.srt").write_text("1\n00:00:00,000 --> 00:00:01,000\nHello\n" if srt
                                           else "")  # fmt: skip
    (folder / "meta.json").write_text(
        '{"duration_s": 10.0, "backend": "local", "model": "tiny.en"}'
    )
    return folder


Script = Callable[[JobSpec], list[JobState]]


@dataclass
class ScriptedExecutor:
    """Plays `script(spec)` for each job submitted or resumed; `fail_submit` raises at the
    next submits. `gate`, when set, holds each job's terminal state until it is set."""

    script: Script
    name: str = "github"
    fleet_now: Fleet | None = None
    fail_submit: list[BaseException] = field(default_factory=list)
    submitted: list[JobSpec] = field(default_factory=list)
    resumed: list[JobSpec] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)
    gate: asyncio.Event | None = None
    # What `discard` answers (/forget): the run's artifacts deleted, or the refusal; and the
    # run URLs it was asked about.
    discards: Discarded = field(default_factory=lambda: Discarded(artifacts=1))
    discarded: list[str | None] = field(default_factory=list)
    _states: dict[str, list[JobState]] = field(default_factory=dict)

    async def submit(self, spec: JobSpec) -> str:
        if self.fail_submit:
            raise self.fail_submit.pop(0)
        self.submitted.append(spec)
        self._states[spec.job_id] = self.script(spec)
        return f"https://github.example/runs/{len(self.submitted)}"

    async def resume(self, spec: JobSpec, *, run_url: str | None, since: float) -> str:
        self.resumed.append(spec)
        self._states[spec.job_id] = self.script(spec)
        return run_url or spec.job_id

    async def watch(self, job_id: str) -> AsyncIterator[JobState]:
        for state in self._states[job_id]:
            if state.phase.terminal and self.gate is not None:
                await self.gate.wait()
            if job_id in self.cancelled and state.phase.terminal:
                yield JobState(job_id, Phase.CANCELLED, "cancelled")
                return
            yield state
            await asyncio.sleep(0)

    async def cancel(self, job_id: str) -> None:
        self.cancelled.append(job_id)

    async def discard(self, run_url: str | None) -> Discarded:
        self.discarded.append(run_url)
        return self.discards if run_url and self.name != "local" else Discarded()

    async def fleet(self) -> Fleet | None:
        return self.fleet_now

    async def close(self) -> None:
        return None


async def settled(service: JobService, turns: int = 2000) -> None:
    """Let the jobs run until each one not yet final is held in relayq's queue."""
    for _ in range(turns):
        await asyncio.sleep(0)
        held = service.driver.queue.holding()
        if all(row.id in held for row in service.ledger.unfinished()):
            return
    raise AssertionError("jobs still moving after many turns")
