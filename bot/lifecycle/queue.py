"""The bot's own queue: the gate an accepted job passes before it is routed and dispatched.

    accepted ──(its turn, its user under the limit, a runner free)──► dispatching

The ledger is the queue: a job held here stays `accepted`, so a restart takes it up again
(resume_all) and nothing is lost or sent twice. One pass at a time looks at the runners once
and then, without an await until it is done (so a cancel cannot slip in between), orders the
waiting jobs fairly (bot/queueing.py: round robin across users, oldest first within a user,
no user more than RELAYQ_USER_MAX_ACTIVE jobs in flight), routes each with the jobs before it
in the pass counted as work ahead (`Round`), and either commits it (writes `dispatching` with
its target; the job's own task goes on to the executor) or holds it and tells its card where
it stands.

A decision is held when it would wait for a target whose runners are all busy: deciding late,
the job goes to whichever runner frees up first (or is expected to finish it first) instead
of being committed to that target's GitHub queue. One that would wait for an offline target,
or one with no runner, goes on to GitHub's queue as before (a pin to an offline Mac goes to
its workflow and waits, DESIGN): there is no better choice to make later, and GitHub sees the
machine come back before the fleet watch does. The local executor has no runners to wait for:
there only the per-user limit and the fair order apply.

Passes run when something changes — a job is accepted or ends, the fleet watch sees a runner
come or go (`wake`) — and every TICK_S while jobs are held (a busy runner freeing up is seen
only by looking). A pass that cannot see the runners (GitHub silent) hands the outage to every
waiting job, which waits it out as any outage (driving.py) and comes back.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace

from bot.chat import InLine, UserLimit
from bot.fleet import Fleet
from bot.ledger import JobRow, Ledger
from bot.lifecycle.routing import IN_FLIGHT, LOCAL_FLEET, Routing, workloads
from bot.policy import Decision, JobRequest, Policy, Workload, select
from bot.policy.decision import availability
from bot.queueing import Round, Waiting, fair_order, plan

__all__ = ["ACTIVE", "TICK_S", "Held", "JobQueue", "believed"]

TICK_S = 30.0
TURNS = "queue_turns"  # the ledger's meta key: whose turn was when, so a restart keeps it
# The states in which a job counts against its user's limit: from dispatch to its last file.
ACTIVE = ("dispatching", "dispatched", "delivering")

Held = InLine | UserLimit
Show = Callable[[Held], Awaitable[None]]


@dataclass
class _Entry:
    row: JobRow
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    status: Held | Decision | BaseException | None = None
    settled: bool = False  # committed or failed: later passes leave it alone
    shown: InLine | UserLimit | None = None  # what its card says
    held_for: str | None = None  # the busy target it waits for (None: held by the limit)

    def tell(self, status: Held | Decision | BaseException, held_for: str | None = None) -> None:
        self.held_for = held_for
        self.settled = not isinstance(status, InLine | UserLimit)
        self.status = status
        self.changed.set()


class JobQueue:
    def __init__(self, ledger: Ledger, policy: Policy, routing: Routing, *,
                 user_max_active: int) -> None:  # fmt: skip
        self._ledger = ledger
        self._policy = policy
        self._routing = routing
        self._limit = user_max_active
        self._entries: dict[str, _Entry] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        # user → the turn their last job was sent on; kept in the ledger with each dispatch
        self._turn, self._served = _turns(ledger)
        self._closed = False

    async def admit(self, row: JobRow, show: Show) -> Decision:
        """Wait for the job's turn and a runner; its card is shown (`show`) each time where
        it stands changes. Returns its decision, the job already `dispatching` to the
        decision's target in the ledger. Raises what routing it raised (the outage of a
        GitHub that does not answer, a job no target takes)."""
        entry = self._entries[row.id] = _Entry(row)
        self.wake()
        try:
            while True:
                await entry.changed.wait()
                entry.changed.clear()
                status = entry.status
                if isinstance(status, BaseException):
                    raise status
                if isinstance(status, Decision):
                    return status
                if status is not None and _said(status) != _said(entry.shown):
                    await show(status)
                    entry.shown = status
        finally:
            if self._entries.get(row.id) is entry:
                del self._entries[row.id]

    def holding(self) -> dict[str, Held]:
        """The jobs held now, and where each stands as its card says."""
        return {job_id: e.shown for job_id, e in self._entries.items()
                if e.shown is not None and not e.settled}  # fmt: skip

    def held_rows(self) -> list[tuple[str, JobRow]]:
        """The jobs held for a busy target, with it, oldest first: work ahead there for /route."""
        held = [(e.held_for, e.row) for e in self._entries.values()
                if e.held_for is not None and not e.settled]  # fmt: skip
        return sorted(held, key=lambda pair: (pair[1].created_at, pair[1].seq))

    def drop(self, job_id: str) -> None:
        """The job left the queue without its turn (cancelled): the others move up."""
        self._entries.pop(job_id, None)
        self.wake()

    def wake(self) -> None:
        """Something changed (a job accepted or ended, a runner came or went): look again."""
        self._wake.set()
        if self._closed or not self._waiting():
            return
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="relayq-queue")

    async def close(self) -> None:
        self._closed = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    def _waiting(self) -> list[_Entry]:
        return [e for e in self._entries.values() if not e.settled]

    async def _run(self) -> None:
        while self._waiting():
            self._wake.clear()
            try:
                fleet = await self._routing.fleet()
                self._decide(fleet)
            except Exception as err:  # the runners could not be seen: every waiting job waits
                for entry in self._waiting():
                    entry.tell(err)
            if self._waiting():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), TICK_S)

    def _decide(self, fleet: Fleet | None) -> None:
        """One pass over the waiting jobs, with no await: read the ledger, decide, write."""
        rows = self._ledger.unfinished()
        now_rows = {r.id: r for r in rows}
        live = sorted(
            ((e, now_rows[e.row.id]) for e in self._waiting()
             if e.row.id in now_rows and now_rows[e.row.id].state == "accepted"),
            key=lambda pair: (pair[1].created_at, pair[1].seq, pair[1].id),
        )  # fmt: skip
        by_id = {row.id: (entry, row) for entry, row in live}
        waiting = [Waiting(row.id, str(row.user_id), float(n)) for n, (_, row) in enumerate(live)]
        active = Counter(str(r.user_id) for r in rows if r.state in ACTIVE)
        # Every waiting job of a user with room, turn by turn: a user's job held for a busy
        # runner does not keep their next one from a free runner (D34).
        order = fair_order(waiting, active, user_max_active=self._limit,
                           last_served=self._served, backlog=True)  # fmt: skip
        in_flight = [r for r in rows if r.state in IN_FLIGHT]
        seen = believed(self._policy, fleet, in_flight)
        speed = self._routing.speed_model()
        ahead = workloads(self._policy, in_flight, seen, speed, time.time()) if speed else {}
        passing = Round(self._policy, seen)
        lines: Counter[str] = Counter()
        sent: set[str] = set()
        considered: set[str] = set()
        for turn in order:
            entry, row = by_id[turn.job_id]
            if active[turn.user] >= self._limit:  # their room went to jobs earlier in the pass
                continue
            considered.add(turn.job_id)
            try:
                job = JobRequest(row.kind, row.size_mb, row.duration_min, bool(row.private))
                model = speed if row.kind == "transcribe" else None
                work = _plus(ahead, passing.workloads()) if model is not None else None
                decision = select(self._policy, job, passing.fleet, row.pin,
                                  unknown=LOCAL_FLEET, speed=model, workloads=work)  # fmt: skip
                chosen = plan(decision)
                waits_here = seen is not None and chosen.action == "hold" and availability(
                    self._policy.targets[chosen.target], passing.fleet) == "busy"  # fmt: skip
                passing.settle(decision)
                if waits_here:
                    lines[chosen.target] += 1
                    entry.tell(self._in_line(decision, chosen.target, lines[chosen.target]),
                               held_for=chosen.target)  # fmt: skip
                    continue
                served = {**self._served, turn.user: self._turn + 1}
                with self._ledger.transaction():
                    self._ledger.update(row.id, state="dispatching", target=decision.target,
                                        workflow=decision.workflow)  # fmt: skip
                    self._ledger.db.execute(
                        "INSERT OR REPLACE INTO meta VALUES (?, ?)",
                        (TURNS, json.dumps({"turn": self._turn + 1, "served": served})),
                    )
            except Exception as err:  # this job's own: no target takes it, the disk is full
                entry.tell(err)
                continue
            self._turn += 1
            self._served = served
            active[turn.user] += 1
            sent.add(row.id)
            entry.tell(decision)
        before: Counter[str] = Counter()
        for entry, row in live:
            user = str(row.user_id)
            if row.id not in considered:
                entry.tell(UserLimit(active[user], before[user], self._limit))
            if row.id not in sent:
                before[user] += 1

    def _in_line(self, decision: Decision, target: str, position: int) -> InLine:
        expected = decision.expectation(target)
        machine = self._policy.targets[target].description or target
        if expected is None:
            return InLine(machine, position)
        return InLine(machine, position, expected.start_in_s, expected.finish_in_s,
                      expected.note)  # fmt: skip


def _turns(ledger: Ledger) -> tuple[int, dict[str, int]]:
    """The last turn and each user's, as the ledger kept them (none in a new ledger, or in
    one a hand has damaged: the turns start again, which costs only a little fairness)."""
    row = ledger.db.execute("SELECT value FROM meta WHERE key = ?", (TURNS,)).fetchone()
    try:
        kept = json.loads(row[0]) if row is not None else {}
        served = {str(user): int(turn) for user, turn in kept.get("served", {}).items()}
        return int(kept.get("turn", 0)), served
    except (ValueError, TypeError, AttributeError):
        return 0, {}


def believed(policy: Policy, fleet: Fleet | None, in_flight: Iterable[JobRow]) -> Fleet | None:
    """The fleet with a runner taken for each relayq job in flight that GitHub does not show
    on one yet: a job dispatched moments ago waits a few seconds for GitHub to hand it a
    runner, and the next job must not be sent to that runner's queue meanwhile."""
    if fleet is None:
        return None
    runners = list(fleet.runners)
    wanted = Counter(r.target for r in in_flight if r.target in policy.targets)
    for name, count in wanted.items():
        labels = policy.targets[name].labels
        serving = [i for i, r in enumerate(runners) if r.online and r.serves(labels)]
        missing = count - sum(1 for i in serving if runners[i].busy)
        for i in [i for i in serving if not runners[i].busy][: max(0, missing)]:
            runners[i] = replace(runners[i], busy=True)
    return Fleet(tuple(runners))


def _said(held: Held | None) -> object:
    """What a card says of `held`: expected times to the minute, so that a pass that finds
    the same queue a few seconds older does not edit the card."""
    if isinstance(held, InLine):
        return replace(held, start_in_s=_minutes(held.start_in_s),
                       finish_in_s=_minutes(held.finish_in_s))  # fmt: skip
    return held


def _minutes(seconds: float | None) -> float | None:
    return None if seconds is None else float(round(seconds / 60))


def _plus(a: Mapping[str, Workload], b: Mapping[str, Workload]) -> dict[str, Workload]:
    empty = Workload()
    return {
        name: Workload(a.get(name, empty).running_left_s + b.get(name, empty).running_left_s,
                       a.get(name, empty).queued_s + b.get(name, empty).queued_s)
        for name in {*a, *b}
    }  # fmt: skip
