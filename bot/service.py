"""The bot's job service: from an accepted message to a delivered transcript, driven by the
ledger so that a restart picks every job up where it was.

    accepted ─► dispatching ─► dispatched ─► delivering ─► delivered | failed | cancelled

A row is written before anything else happens; `dispatching` is written before the executor
is asked, so after a crash the job is resumed (the GitHub executor finds the run by its
request_id) rather than dispatched a second time. `delivering`: the text is in the chat, the
result files are on their way, each counted just before it goes (D14).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import shutil
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from telegram.error import BadRequest, NetworkError

from bot.dispatching import local_jobs_dir, new_job_id
from bot.executors.base import Executor, JobSpec, JobState, Phase, Unavailable
from bot.fleet import Fleet
from bot.ledger import JobRow, Ledger
from bot.policy import Decision, JobRequest, Policy, select
from bot.settings import Settings
from bot.telegram.messenger import Messenger
from bot.telegram.texts import delivery_text, progress_text, result_file, the, waiting_text
from jobs.errors import RelayqError, SourceUnreachable

__all__ = ["JobService", "find_links"]

log = logging.getLogger(__name__)
_LINK = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)
MAX_LINKS = 10


def find_links(text: str) -> list[str]:
    """http(s) links in a message, in order, without duplicates or trailing punctuation."""
    links = [m.group(0).rstrip(".,;:!?)]}") for m in _LINK.finditer(text)]
    return list(dict.fromkeys(links))


# A job sent again after its runner was lost has its original's seq plus this (once only).
REQUEUE_SEQ = 1000
# An outage (GitHub or Telegram not answering, even after the retries each call makes) decides
# nothing about a job: it is taken up again as after a restart, after a pause that doubles
# from the first to the longest, for as long as it takes (the user can still /cancel).
OUTAGE_FIRST_S = 30.0
OUTAGE_LONGEST_S = 300.0


def passing(err: BaseException) -> bool:
    """GitHub or Telegram did not answer: nothing is decided about the job. (PTB's BadRequest
    is a NetworkError too, but a refusal.)"""
    return isinstance(err, Unavailable) or (
        isinstance(err, NetworkError) and not isinstance(err, BadRequest)
    )


def _gone(err: BadRequest) -> bool:
    """The progress message is no more (the user deleted it)."""
    text = str(err).lower()
    return "not found" in text or "can't be edited" in text or "message_id_invalid" in text


@dataclass
class JobService:
    ledger: Ledger
    executor: Executor
    policy: Policy
    settings: Settings
    messenger: Messenger

    def __post_init__(self) -> None:
        self._tasks: dict[str, asyncio.Task[None]] = {}

    # -- intake ----------------------------------------------------------------------------------

    def accept(
        self, *, chat_id: int, user_id: int, message_id: int, sources: list[str],
        kind: str = "transcribe", size_mb: float | None = None, duration_min: float | None = None,
    ) -> list[JobRow]:  # fmt: skip
        """Write one row per source (idempotent per message) and start driving them. The size
        and length, when known (an upload's, as Telegram tells them), go to the policy."""
        pin = self.ledger.pinned(user_id)
        rows = []
        with self.ledger.transaction():
            for seq, source in enumerate(sources):
                rows.append(
                    self.ledger.accept(
                        new_job_id(),
                        chat_id=chat_id,
                        user_id=user_id,
                        message_id=message_id,
                        seq=seq,
                        kind=kind,
                        source=source,
                        pin=pin,
                        size_mb=size_mb,
                        duration_min=duration_min,
                    )
                )
        for row in rows:
            self.start(row)
        return rows

    def start(self, row: JobRow) -> None:
        if row.final or row.id in self._tasks:
            return
        self._tasks[row.id] = asyncio.create_task(self._drive(row.id), name=f"job-{row.id}")

    def resume_all(self) -> int:
        rows = self.ledger.unfinished()
        for row in rows:
            self.start(row)
        return len(rows)

    def own_job(self, job_id: str, user_id: int) -> JobRow | str:
        """The user's job `job_id`, or the sentence to answer (someone else's is "no job")."""
        try:
            row = self.ledger.get(job_id)
        except KeyError:
            return f"There is no job {job_id}; /jobs lists yours."
        if row.user_id != user_id:
            return f"There is no job {job_id}; /jobs lists yours."
        return row

    async def cancel(self, job_id: str, user_id: int) -> str:
        row = self.own_job(job_id, user_id)
        if isinstance(row, str):
            return row
        if row.final:
            return f"Job {job_id} has already ended ({row.state})."
        if row.state == "accepted":
            self.ledger.update(job_id, state="cancelled", detail="cancelled before dispatch")
            task = self._tasks.pop(job_id, None)
            if task is not None:
                task.cancel()
            await self._edit(self.ledger.get(job_id), JobState(job_id, Phase.CANCELLED))
            self._forget_upload(job_id)
            return f"Job {job_id} cancelled."
        # Recorded first: the executor may not have the job yet (it is being dispatched, or
        # waits out an outage), and a restart must not forget it; every start passes it on.
        self.ledger.update(job_id, cancel_requested=1)
        with contextlib.suppress(RelayqError):
            await self.executor.cancel(job_id)
        return f"Cancelling job {job_id}…"

    async def close(self) -> None:
        for task in self._tasks.values():
            task.cancel()
        for task in list(self._tasks.values()):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        close = getattr(self.executor, "close", None)
        if close is not None:
            await close()

    # -- routing helpers -------------------------------------------------------------------------

    async def fleet(self) -> Fleet | None:
        fleet_of = getattr(self.executor, "fleet", None)
        return await fleet_of() if fleet_of is not None else None

    async def decide(
        self, kind: str, pin: str | None, size_mb: float | None = None,
        duration_min: float | None = None,
    ) -> Decision:  # fmt: skip
        job = JobRequest(kind=kind, size_mb=size_mb, duration_min=duration_min)
        return select(self.policy, job, await self.fleet(), pin)

    # -- the pipeline ----------------------------------------------------------------------------

    async def _drive(self, job_id: str) -> None:
        try:
            pause = OUTAGE_FIRST_S
            while not await self._attempt(job_id, pause):
                await asyncio.sleep(pause)
                pause = min(OUTAGE_LONGEST_S, pause * 2)
        except asyncio.CancelledError:
            raise
        except RelayqError as err:
            row = self.ledger.update(job_id, state="failed", detail=str(err))
            await self._edit(row, JobState(job_id, Phase.FAILED, str(err)))
        except Exception:
            log.exception("job %s: unexpected error", job_id)
            row = self.ledger.update(
                job_id, state="failed", detail="an internal error; see the bot's log"
            )
            await self._edit(
                row, JobState(job_id, Phase.FAILED, "an internal error; see the bot's log")
            )
        finally:
            self._tasks.pop(job_id, None)
            self._forget_upload(job_id)

    async def _attempt(self, job_id: str, pause: float) -> bool:
        """Take the job as far as it goes; False when an outage stopped it (it is kept as it
        stands in the ledger, and the user is told, if Telegram is there to tell)."""
        try:
            await self._pipeline(job_id)
            return True
        except Exception as err:
            if not passing(err):
                raise
            log.warning("job %s: %s; taking it up again in %.0f s", job_id, err, pause)
            if isinstance(err, Unavailable):
                why = f"{err} — relayq tries again in {pause:.0f} s"
                await self._progress(self.ledger.get(job_id), JobState(job_id, Phase.QUEUED, why))
            return False

    async def _pipeline(self, job_id: str) -> None:
        row = self.ledger.get(job_id)
        if row.progress_message_id is None:
            message_id = await self.messenger.send(row.chat_id, progress_text(row, None))
            row = self.ledger.update(job_id, progress_message_id=message_id)
        decision: Decision | None = None
        if row.state == "accepted":
            decision = await self.decide(row.kind, row.pin, row.size_mb, row.duration_min)
            row = self.ledger.update(
                job_id, target=decision.target, workflow=decision.workflow, state="dispatching"
            )
            await self._edit(row, None, decision)
            spec = self._spec(row, decision.labels, await self._source(row))
            handle = await self.executor.submit(spec)
        elif row.state in ("dispatching", "dispatched", "delivering"):
            labels = tuple(self.policy.targets[row.target].labels) if row.target else ()
            spec = self._spec(row, labels, await self._source(row))
            handle = await self.executor.resume(spec, run_url=row.run_url, since=row.created_at)
        else:
            return
        run_url = handle if handle.startswith("http") else None
        row = self.ledger.update(job_id, state="dispatched", run_url=run_url)
        if row.cancel_requested:  # asked while it was being dispatched, or before a restart
            await self.executor.cancel(job_id)
        final: JobState | None = None
        async for state in self.executor.watch(job_id):
            final = state
            if state.url and state.url != row.run_url:  # sent again: a restart resumes this one
                row = self.ledger.update(job_id, run_url=state.url)
            if not state.phase.terminal:
                await self._progress(row, state)
        assert final is not None
        await self._finish(self.ledger.get(job_id), final)

    def summarizable(self, job_id: str, user_id: int) -> JobRow | str:
        """The user's delivered transcript `job_id`, or the sentence saying why it is not one."""
        row = self.own_job(job_id, user_id)
        if isinstance(row, str):
            return row
        if row.kind != "transcribe" or not row.text_delivered:
            return f"Job {job_id} is not a delivered transcript; summarize one that is done."
        return row

    async def _source(self, row: JobRow) -> str:
        """What the job fetches: a link as it is; an upload (`tg:<file_id>`) as it is for a
        GitHub runner, which fetches it with its own copy of the token (D15), and fetched to
        this machine first for the local executor; an earlier job (`job:<id>`, a summary) as
        its run on GitHub (`run:<run id>`, whose artifact the workflow fetches) or its
        results folder here."""
        if row.source.startswith("job:"):
            return self._earlier_results(row.source.removeprefix("job:"))
        if not row.source.startswith("tg:") or self.executor.name != "local":
            return row.source
        folder = self.settings.state_dir / "uploads" / row.id
        have = sorted(folder.iterdir()) if folder.is_dir() else []
        if have:  # fetched before a restart
            return str(have[0])
        return str(await self.messenger.download(row.source.removeprefix("tg:"), folder))

    def _earlier_results(self, job_id: str) -> str:
        earlier = self.ledger.get(job_id)
        if self.executor.name == "local":
            folder = local_jobs_dir(self.settings) / job_id / "out"
            if not (folder / "transcript.txt").is_file():
                raise SourceUnreachable(
                    f"the results of job {job_id} are gone from this machine; transcribe it again"
                )
            return str(folder)
        run_id = (earlier.run_url or "").rstrip("/").rsplit("/", 1)[-1]
        if not run_id.isdigit():
            raise SourceUnreachable(f"job {job_id} has no GitHub run to take the transcript from")
        return f"run:{run_id}"

    def _forget_upload(self, job_id: str) -> None:
        """A finished job's copy of an upload goes: the audio is the user's, not the bot's."""
        if self.ledger.get(job_id).state in ("delivered", "failed", "cancelled"):
            shutil.rmtree(self.settings.state_dir / "uploads" / job_id, ignore_errors=True)

    def _spec(self, row: JobRow, labels: tuple[str, ...] | list[str], source: str) -> JobSpec:
        assert row.target is not None and row.workflow is not None
        return JobSpec(
            job_id=row.id,
            kind=row.kind,
            source=source,
            target=row.target,
            workflow=row.workflow,
            labels=tuple(labels),
        )

    async def _finish(self, row: JobRow, final: JobState) -> None:
        run_url = final.url or row.run_url
        if final.phase is Phase.SUCCEEDED and final.result_dir is not None:
            text, inline = delivery_text(row, final.result_dir, run_url)
            assert row.progress_message_id is not None
            # The transcript replaces the progress message: editing twice is harmless, so a
            # restart mid-delivery never shows it twice.
            buttons = self._link(run_url)
            if row.kind == "transcribe":
                buttons = [("Summarize", f"sum:{row.id}"), *buttons]
            await self._show(row, text, buttons)
            # The text is there (its Summarize button works at once); the files follow.
            row = self.ledger.update(row.id, state="delivering", run_url=run_url,
                                     detail="delivering the files")  # fmt: skip
            await self._send_files(row, final.result_dir, inline)
            self.ledger.update(row.id, state="delivered", detail="delivered")
            return
        if row.text_delivered:  # taken up after a crash mid-delivery, and now it failed
            detail = f"delivered; its files could not be sent again ({final.detail})"
            self.ledger.update(row.id, state="delivered", detail=detail)
            return
        if final.phase is Phase.FAILED and final.runner_lost and self._may_requeue(row):
            await self._requeue(row, final, run_url)
            return
        state = "cancelled" if final.phase is Phase.CANCELLED else "failed"
        row = self.ledger.update(row.id, state=state, detail=final.detail, run_url=run_url)
        await self._edit(row, final)

    def _may_requeue(self, row: JobRow) -> bool:
        """The route says to route a job again when its runner is lost, and this job is not
        already the one sent again."""
        route = self.policy.routes.get(row.kind)
        return route is not None and route.on_runner_lost == "requeue" and row.seq < REQUEUE_SEQ

    async def _requeue(self, row: JobRow, final: JobState, run_url: str | None) -> None:
        """Close the job with its reason and record a new one for the same input, in one
        transaction (keyed like every job, so a crash in between neither loses nor doubles it),
        then start the new one: the policy routes it again."""
        with self.ledger.transaction():
            again = self.ledger.accept(
                new_job_id(), chat_id=row.chat_id, user_id=row.user_id,
                message_id=row.message_id, seq=row.seq + REQUEUE_SEQ, kind=row.kind,
                source=row.source, pin=row.pin,
            )  # fmt: skip
            detail = f"{final.detail} — sent again as job {again.id}"
            row = self.ledger.update(row.id, state="failed", detail=detail, run_url=run_url)
        await self._edit(row, JobState(row.id, Phase.FAILED, detail, url=run_url))
        self.start(again)

    async def _send_files(self, row: JobRow, result_dir: Path, inline: bool) -> None:
        """The result files not sent yet. Each is counted just before it goes (and again not
        when Telegram refuses it), so a crash can lose at most a file then in flight, and
        never sends one twice."""
        files = [] if inline else [result_dir / result_file(row.kind)]
        srt = result_dir / "transcript.srt"
        if srt.exists() and srt.stat().st_size:
            files.append(srt)
        for n, path in enumerate(files[row.files_sent :], start=row.files_sent):
            await self.messenger.document(
                row.chat_id, path.name, path.read_bytes(), reply_to=row.progress_message_id,
                sending=partial(self._sending, row.id, n),
            )  # fmt: skip

    def _sending(self, job_id: str, before: int, going: bool) -> None:
        """Count the file after the first `before` as sent while it may be on its way."""
        self.ledger.update(job_id, files_sent=before + 1 if going else before)

    async def _edit(
        self, row: JobRow, state: JobState | None, decision: Decision | None = None
    ) -> None:
        if row.progress_message_id is None:
            return
        buttons = (
            [] if state is not None and state.phase.terminal else [("Cancel", f"cancel:{row.id}")]
        )
        url = (state.url if state else None) or row.run_url
        buttons += self._link(url)
        text = progress_text(row, state, decision, waiting=self._waiting(row, state))
        await self._show(row, text, buttons)

    async def _progress(self, row: JobRow, state: JobState) -> None:
        """A progress edit that an outage only postpones: the next state brings a new one."""
        try:
            await self._edit(row, state)
        except Exception as err:
            if not passing(err):
                raise
            log.warning("job %s: progress not shown (%s)", row.id, err)

    async def _show(self, row: JobRow, text: str, buttons: list[tuple[str, str]]) -> None:
        """`text` in the job's progress message; when the user has deleted that message, a new
        one takes its place (and is the one edited from then on)."""
        message_id = self.ledger.get(row.id).progress_message_id
        assert message_id is not None
        try:
            await self.messenger.edit(row.chat_id, message_id, text, buttons)
        except BadRequest as err:
            if not _gone(err):
                raise
            log.info("job %s: its progress message is gone; sending a new one", row.id)
            message_id = await self.messenger.send(row.chat_id, text, buttons)
            self.ledger.update(row.id, progress_message_id=message_id)

    def _waiting(self, row: JobRow, state: JobState | None) -> str | None:
        """ "waiting for the Mac mini — offline since 14:02", when the executor says why."""
        if state is None or state.waiting_why is None or row.target not in self.policy.targets:
            return None
        target = self.policy.targets[row.target]
        seen = [r for r in self.ledger.runners() if r.name in state.waiting_on]
        return waiting_text(the(target.description), state.waiting_why, tuple(target.labels),
                            seen, state.at)  # fmt: skip

    @staticmethod
    def _link(url: str | None) -> list[tuple[str, str]]:
        return [("Open run", url)] if url else []
