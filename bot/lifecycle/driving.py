"""Driving a job: from its ledger row to a terminal state, whatever restarts and outages do.

    accepted ─► dispatching ─► dispatched ─► delivering ─► delivered | failed | cancelled

An accepted job waits its turn in relayq's own queue (queue.py), which writes `dispatching`.

`dispatching` is written before the executor is asked, so after a crash the job is resumed
(the GitHub executor finds the run by its request_id) rather than dispatched a second time.
An outage (GitHub, the chat, a full disk: `Unavailable`) decides nothing: the job keeps its
state and is taken up again after a pause that doubles from OUTAGE_FIRST_S to
OUTAGE_LONGEST_S, for as long as it takes (the person can still cancel it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import shutil

from bot.chat import Chat, ChatUnavailable, read_result
from bot.dispatching import local_jobs_dir, new_job_id
from bot.errors import StateFull, Unavailable, disk_full, state_full
from bot.executors.base import Executor, JobSpec, JobState, Phase
from bot.ledger import JobRow, Ledger
from bot.library import Library
from bot.lifecycle.cards import Cards, passing
from bot.lifecycle.delivery import Delivery
from bot.lifecycle.queue import Held, JobQueue
from bot.lifecycle.rerouting import REROUTE_SEQ, plan, rerouted, sending
from bot.lifecycle.routing import Routing
from bot.policy import Policy
from bot.settings import Settings
from bot.timings import Timings
from jobs.errors import NoSpace, RelayqError, SourceUnreachable

__all__ = ["OUTAGE_FIRST_S", "OUTAGE_LONGEST_S", "REQUEUE_SEQ", "Driver"]

log = logging.getLogger(__name__)

# A job sent again after its runner was lost has its original's seq plus this (once only).
REQUEUE_SEQ = 1000
OUTAGE_FIRST_S = 30.0
OUTAGE_LONGEST_S = 300.0
INTERNAL = "an internal error; see the bot's log"


class Driver:
    def __init__(self, ledger: Ledger, executor: Executor, policy: Policy, chat: Chat,
                 routing: Routing, settings: Settings) -> None:  # fmt: skip
        self._ledger = ledger
        self._executor = executor
        self._policy = policy
        self._chat = chat
        self._routing = routing
        self._settings = settings
        self._state_dir = settings.state_dir
        self._local = executor.name == "local"
        self.cards = Cards(ledger, chat, policy, local=self._local)
        self._delivery = Delivery(ledger, chat, self.cards, Timings(ledger))
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self.queue = JobQueue(ledger, policy, routing, user_max_active=settings.user_max_active)
        routing.held = self.queue.held_rows

    def start(self, row: JobRow) -> None:
        if row.final or row.id in self._tasks:
            return
        self._tasks[row.id] = asyncio.create_task(self._drive(row.id), name=f"job-{row.id}")

    def resume_all(self) -> int:
        rows = self._ledger.unfinished()
        for row in rows:
            self.start(row)
        return len(rows)

    def stop(self, job_id: str) -> None:
        """Stop driving a job that ended without the executor (cancelled before dispatch)."""
        task = self._tasks.pop(job_id, None)
        if task is not None:
            task.cancel()
        self.queue.drop(job_id)

    async def drained(self) -> None:
        """Wait until no job is being driven (each has ended, or waits out nothing)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)

    async def close(self) -> None:
        for task in self._tasks.values():
            task.cancel()
        for task in list(self._tasks.values()):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.queue.close()

    def forget_upload(self, job_id: str) -> None:
        """A finished job's copy of an upload goes: the audio is the user's, not the bot's."""
        if self._ledger.get(job_id).final:
            shutil.rmtree(self._state_dir / "uploads" / job_id, ignore_errors=True)

    # -- one job -----------------------------------------------------------------------------

    async def _drive(self, job_id: str) -> None:
        try:
            pause = OUTAGE_FIRST_S
            while not await self._attempt(job_id, pause):
                await asyncio.sleep(pause)
                pause = min(OUTAGE_LONGEST_S, pause * 2)
        except asyncio.CancelledError:
            raise
        except RelayqError as err:
            await self._fail(job_id, str(err))
        except Exception:
            log.exception("job %s: unexpected error", job_id)
            await self._fail(job_id, INTERNAL)
        finally:
            self._tasks.pop(job_id, None)
            self.queue.wake()  # a user's job in flight may have ended: the next one's turn
            with contextlib.suppress(OSError, RelayqError):
                self.forget_upload(job_id)

    async def _fail(self, job_id: str, why: str) -> None:
        """Record the failure (waiting for room while the disk is full), then tell."""
        pause = OUTAGE_FIRST_S
        while True:
            try:
                row = self._ledger.update(job_id, state="failed", detail=why)
                break
            except StateFull as err:
                log.warning("job %s: %s; recording its end again in %.0f s", job_id, err, pause)
                await asyncio.sleep(pause)
                pause = min(OUTAGE_LONGEST_S, pause * 2)
        try:
            await self.cards.show(self.cards.card(row, JobState(job_id, Phase.FAILED, why)))
        except RelayqError as err:  # the chat refuses or is away: the ledger has it
            log.warning("job %s: its failure was not shown (%s)", job_id, err)

    async def _attempt(self, job_id: str, pause: float) -> bool:
        """Take the job as far as it goes; False when an outage stopped it (it is kept as it
        stands in the ledger, and the person is told, if the chat is there to tell)."""
        try:
            await self._pipeline(job_id)
            return True
        except Exception as err:
            if not passing(err):
                raise
            if disk_full(err) and not isinstance(err, StateFull):
                err = state_full(self._state_dir)
            log.warning("job %s: %s; taking it up again in %.0f s", job_id, err, pause)
            if not isinstance(err, ChatUnavailable):
                row = self._ledger.get(job_id)
                state = JobState(job_id, Phase.QUEUED, str(err))
                await self.cards.progress(self.cards.card(row, state, retry_in_s=pause))
            return False

    async def _pipeline(self, job_id: str) -> None:
        row = await self.cards.open(self._ledger.get(job_id))
        if row.state == "accepted":  # the queue writes `dispatching` when it is the job's turn
            decision = await self.queue.admit(row, lambda held: self._held(job_id, held))
            row = self._ledger.get(job_id)
            await self.cards.show(self.cards.card(row, decision=decision))
            spec = self._spec(row, decision.labels, await self._source(row))
            handle = await self._executor.submit(spec)
        elif row.state in ("dispatching", "dispatched", "delivering"):
            labels = tuple(self._policy.targets[row.target].labels) if row.target else ()
            spec = self._spec(row, labels, await self._source(row))
            handle = await self._executor.resume(spec, run_url=row.run_url, since=row.created_at)
        else:
            return
        run_url = handle if handle.startswith("http") else None
        row = self._ledger.update(job_id, state="dispatched", run_url=run_url)
        if row.cancel_requested:  # asked while it was being dispatched, or before a restart
            await self._executor.cancel(job_id)
        final: JobState | None = None
        async for state in self._executor.watch(job_id):
            final = state
            if state.url and state.url != row.run_url:  # sent again: a restart resumes this one
                row = self._ledger.update(job_id, run_url=state.url)
            if not state.phase.terminal:
                await self.cards.progress(self.cards.card(row, state))
        assert final is not None
        self.queue.wake()  # its runner is free (the job's files may still be on their way)
        if self._local and final.phase is Phase.FAILED and final.exit_code == NoSpace.exit_code:
            # The job ran on this machine, whose disk is full: an outage of the bot's own.
            raise StateFull(final.detail)
        await self._finish(self._ledger.get(job_id), final)

    async def _held(self, job_id: str, held: Held) -> None:
        await self.cards.progress(self.cards.card(self._ledger.get(job_id), held=held))

    async def _finish(self, row: JobRow, final: JobState) -> None:
        run_url = final.url or row.run_url
        if final.phase is Phase.SUCCEEDED and final.result_dir is not None:
            await self._delivery.deliver(row, read_result(final.result_dir, row.kind, run_url))
            return
        if row.text_delivered:  # taken up after a crash mid-delivery, and now it failed
            detail = f"delivered; its files could not be sent again ({final.detail})"
            self._ledger.update(row.id, state="delivered", detail=detail)
            return
        if final.phase is Phase.FAILED and final.refusal is not None:
            await self._reroute(row, final, run_url)
            return
        if final.phase is Phase.FAILED and final.runner_lost and self._may_requeue(row):
            await self._requeue(row, final, run_url)
            return
        state = "cancelled" if final.phase is Phase.CANCELLED else "failed"
        row = self._ledger.update(row.id, state=state, detail=final.detail, run_url=run_url)
        await self.cards.show(self.cards.card(row, final))

    def _may_requeue(self, row: JobRow) -> bool:
        """The route says to route a job again when its runner is lost, and this job is not
        already the one sent again."""
        route = self._policy.routes.get(row.kind)
        requeued = (row.seq // REQUEUE_SEQ) % 2 == 1
        return route is not None and route.on_runner_lost == "requeue" and not requeued

    async def _requeue(self, row: JobRow, final: JobState, run_url: str | None) -> None:
        """Close the job with its reason and record a new one for the same input, in one
        transaction (keyed like every job, so a crash in between neither loses nor doubles it),
        then start the new one: the policy routes it again."""
        with self._ledger.transaction():
            again = self._ledger.accept(
                new_job_id(), chat_id=row.chat_id, user_id=row.user_id,
                message_id=row.message_id, seq=row.seq + REQUEUE_SEQ, kind=row.kind,
                source=row.source, pin=row.pin, size_mb=row.size_mb,
                duration_min=row.duration_min, source_name=row.source_name,
                language=row.language, task=row.task, formats=row.result_formats,
                private=bool(row.private),
            )  # fmt: skip
            detail = f"{final.detail} — sent again as job {again.id}"
            row = self._ledger.update(row.id, state="failed", detail=detail, run_url=run_url)
        await self.cards.show(self.cards.card(row, JobState(row.id, Phase.FAILED, detail,
                                                            url=run_url)))  # fmt: skip
        self.start(again)

    async def _reroute(self, row: JobRow, final: JobState, run_url: str | None) -> None:
        """The runner refused the job as too long for it: record its length, and route it
        once more with the length known (rerouting.py), or fail with one sentence."""
        assert final.refusal is not None
        minutes = math.ceil(final.refusal.duration_s / 6) / 10  # never under the true length
        row = self._ledger.update(row.id, duration_min=minutes)
        decision, no_route = None, None
        if not rerouted(row) and not self._local:
            try:
                decision = await self._routing.decide(row.kind, row.pin, row.size_mb, minutes,
                                                      private=bool(row.private))  # fmt: skip
            except Unavailable:
                raise  # GitHub is silent: nothing is decided, the job is taken up again
            except RelayqError as err:  # no target takes it (or the pin cannot)
                no_route = str(err)
        step = plan(row, final.refusal, decision, no_route, local=self._local)
        if step.decision is None:
            assert step.why is not None
            row = self._ledger.update(row.id, state="failed", detail=step.why, run_url=run_url)
            await self.cards.show(self.cards.card(row, JobState(row.id, Phase.FAILED, step.why,
                                                                url=run_url)))  # fmt: skip
            return
        with self._ledger.transaction():
            again = self._ledger.accept(
                new_job_id(), chat_id=row.chat_id, user_id=row.user_id,
                message_id=row.message_id, seq=row.seq + REROUTE_SEQ, kind=row.kind,
                source=row.source, pin=row.pin, size_mb=row.size_mb, duration_min=minutes,
                source_name=row.source_name, language=row.language, task=row.task,
                formats=row.result_formats, private=bool(row.private),
            )  # fmt: skip
            detail = sending(step.said, step.decision, again.id)
            row = self._ledger.update(row.id, state="failed", detail=detail, run_url=run_url)
        state = JobState(row.id, Phase.FAILED, detail, url=run_url)
        await self.cards.show(self.cards.card(row, state, sent_on=again.id))
        self.start(again)

    # -- what the executor is given ----------------------------------------------------------

    def _spec(self, row: JobRow, labels: tuple[str, ...] | list[str], source: str) -> JobSpec:
        assert row.target is not None and row.workflow is not None
        return JobSpec(job_id=row.id, kind=row.kind, source=source, target=row.target,
                       workflow=row.workflow, labels=tuple(labels), language=row.language,
                       task=row.task, name=row.source_name or "",
                       max_duration_min=self._longest(row),
                       # A private job: the local model only, no remote fallback (the runner
                       # refuses it, with the reason, rather than send the audio out).
                       backend="local" if row.private else "",
                       private=bool(row.private))  # fmt: skip

    def _longest(self, row: JobRow) -> float | None:
        """The target's longest recording, for its runner to refuse a longer one before the
        download (and the job to be routed once more). None for the local executor: it runs
        every job on this machine, whose limit the policy's targets do not describe, and it
        has no other machine to send a refused job to — a job too long for it fails at once
        (rerouting.py), so a limit here would only refuse what this machine could do."""
        target = self._policy.targets.get(row.target or "")
        if self._local or row.kind != "transcribe" or target is None:
            return None
        return target.capabilities.max_duration_min

    async def _source(self, row: JobRow) -> str:
        """What the job fetches: a link as it is; an upload (`tg:<file_id>`) as it is for a
        GitHub runner, which fetches it with its own copy of the token (D15), and fetched to
        this machine first for the local executor; an earlier job (`job:<id>`, a summary) as
        its run on GitHub (`run:<run id>`, whose artifact the workflow fetches) or its
        results folder here."""
        if row.source.startswith("job:"):
            return self._earlier_results(row.source.removeprefix("job:"), row.id)
        if not row.source.startswith("tg:") or self._executor.name != "local":
            return row.source
        folder = self._state_dir / "uploads" / row.id
        have = sorted(folder.iterdir()) if folder.is_dir() else []
        if have:  # fetched before a restart
            return str(have[0])
        return str(await self._chat.fetch_upload(row.source.removeprefix("tg:"), folder))

    def _earlier_results(self, job_id: str, for_job: str) -> str:
        """Here: the earlier job's results folder, or once retention removed it, the library's
        text of it, as a transcript file of this job's (removed when it ends, or forgotten)."""
        earlier = self._ledger.get(job_id)
        if self._executor.name == "local":
            folder = local_jobs_dir(self._settings) / job_id / "out"
            if (folder / "transcript.txt").is_file():
                return str(folder)
            text = Library(self._ledger).text(job_id)
            if not text or not text.strip():
                raise SourceUnreachable(
                    f"the results of job {job_id} are gone from this machine; transcribe it again"
                )
            kept = self._state_dir / "uploads" / for_job / "transcript.txt"
            kept.parent.mkdir(parents=True, exist_ok=True)
            partial = kept.with_name(".transcript.txt.partial")
            partial.write_text(text, encoding="utf-8")
            partial.replace(kept)
            return str(kept)
        run_id = (earlier.run_url or "").rstrip("/").rsplit("/", 1)[-1]
        if not run_id.isdigit():
            raise SourceUnreachable(f"job {job_id} has no GitHub run to take the transcript from")
        return f"run:{run_id}"
