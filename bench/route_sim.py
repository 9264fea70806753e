"""Benchmark: a simulated day of jobs routed first-free (static) and by earliest expected finish.

    make bench            (or: .venv/bin/python bench/route_sim.py [--trace FILE] [--json])

FILE is CSV with the header `arrival_s,duration_s,size_mb,kind,user`: seconds from the day's
start, audio seconds, MB, `transcribe` or `summarize`, any user id (default: the committed
bench/traces/day.csv, made by bench/traces/make_day.py). `--json` prints one object,
`{"static": {"mean_s", "p95_s"}, "earliest_finish": {"mean_s", "p95_s"}, "ratio_mean"}`.

What is real: the shipped policy/policy.yaml through the real `select` (the transcribe route's
`choose` set to first_free, then earliest_finish), the real speed model (bot/speed.py, trained
on the day's finished jobs as they finish, starting from the policy's defaults) and the real
fair queue with deciding late (bot/queueing.py: both policies hold a job that would queue in
the bot's own queue, a held job using none of its user's room, so the only difference between
them is `choose`). What is simulated: the fleet (a Mac mini, a Pi 4, a Pi 3 at realistic speeds
that differ from the policy's defaults), each job's time (lognormal noise per job, and a
different pace before and after 25 %), the Mac mini going offline 14:00-15:00 (the job it was
running is lost and routed again), and busy periods when a runner does other work (the Pi 4
09:00-09:40, the Mac mini 19:00-19:20). Completion time is arrival to results. Bars: earliest
finish's mean at most 0.7x static's and its p95 no worse; fairness: one user's 50 jobs and
another's 2, the second user's jobs done within 2 jobs' time of arriving; the ETA shown at 25 %
progress within 20 % of the true time left (median). Text mode exits 1 on FAIL; a malformed
trace is one sentence and exit 2.
"""

from __future__ import annotations

import argparse
import csv
import heapq
import json
import math
import random
import statistics
import sys
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.fleet import Fleet, Runner
from bot.policy import JobRequest, Policy, load_policy_file, select
from bot.queueing import Round, Waiting, fair_order
from bot.speed import Sample, SpeedModel, eta_left_s

ROOT = Path(__file__).resolve().parents[1]
TRACE = ROOT / "bench" / "traces" / "day.csv"
HEADER = ["arrival_s", "duration_s", "size_mb", "kind", "user"]
USER_MAX_ACTIVE = 2  # the setting's default (RELAYQ_USER_MAX_ACTIVE)


@dataclass(frozen=True)
class Machine:
    name: str
    labels: frozenset[str]
    realtime_factor: float  # the truth, which the policy's defaults only approximate
    startup_s: float
    model: str


FLEET = (
    Machine("mac-mini", frozenset({"self-hosted", "macmini", "audio", "ffmpeg", "heavy"}),
            0.06, 25, "large-v3-turbo"),
    Machine("pi4", frozenset({"self-hosted", "rpi4", "audio", "light"}), 0.45, 45, "base"),
    Machine("pi3", frozenset({"self-hosted", "rpi3", "overflow", "verylight"}), 0.9, 70, "tiny"),
)  # fmt: skip
OUTAGES = {"mac-mini": [(14 * 3600, 15 * 3600)]}
BUSY = {"pi4": [(9 * 3600, 9 * 3600 + 2400)], "mac-mini": [(19 * 3600, 19 * 3600 + 1200)]}
SUMMARY_GUESS_S = 30.0  # summaries are LLM calls: the bot plans them at half a minute


class TraceError(Exception):
    """A trace the simulator cannot read: the sentence says where and what."""


@dataclass(frozen=True)
class Job:
    n: int
    arrival_s: float
    audio_s: float
    size_mb: float
    kind: str
    user: str


@dataclass
class Running:
    job: Job
    runner: str
    target: str
    started: float
    predicted_s: float
    attempt: int


@dataclass
class Outcome:
    finished: dict[int, float] = field(default_factory=dict)
    eta_errors: list[float] = field(default_factory=list)
    run_s: dict[int, tuple[str, float]] = field(default_factory=dict)


def read_trace(path: Path) -> list[Job]:
    """The trace's jobs; anything malformed is a TraceError naming the line."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TraceError(f"cannot read the trace {path}: {exc}") from None
    rows = list(csv.reader(text.splitlines()))
    if not rows or [c.strip() for c in rows[0]] != HEADER:
        raise TraceError(f"{path}: the first line must be the header {','.join(HEADER)}")
    jobs: list[Job] = []
    for line, row in enumerate(rows[1:], start=2):
        if not row:
            continue
        if len(row) != len(HEADER):
            raise TraceError(f"{path} line {line}: expected 5 fields, got {len(row)}")
        try:
            at, audio, size = (float(v) for v in row[:3])
        except ValueError:
            raise TraceError(f"{path} line {line}: arrival_s, duration_s and size_mb must be "
                             "numbers") from None  # fmt: skip
        kind, user = row[3].strip(), row[4].strip()
        if not all(math.isfinite(v) and v >= 0 for v in (at, audio, size)) or audio == 0:
            raise TraceError(f"{path} line {line}: times and sizes must be at least 0, and "
                             "duration_s more than 0")  # fmt: skip
        if kind not in ("transcribe", "summarize") or not user:
            raise TraceError(f"{path} line {line}: kind must be transcribe or summarize, and "
                             "user not empty")  # fmt: skip
        jobs.append(Job(len(jobs), at, audio, size, kind, user))
    if not jobs:
        raise TraceError(f"{path}: no jobs after the header")
    return jobs


def with_choice(policy: Policy, choose: str) -> Policy:
    route = policy.routes["transcribe"].model_copy(update={"choose": choose})
    return policy.model_copy(update={"routes": {**policy.routes, "transcribe": route}})


def true_times(job: Job, machine: Machine, seed: int) -> tuple[float, float, float]:
    """(start-up, first quarter, the rest) in seconds: the same job on the same machine takes
    the same time under either policy."""
    rng = random.Random(f"{seed}:{job.n}:{machine.name}")
    if job.kind == "summarize":
        return 15 * rng.lognormvariate(0, 0.3) * (1.5 if machine.name == "pi3" else 1), 0, 0
    startup = machine.startup_s * rng.lognormvariate(0, 0.3)
    work = machine.realtime_factor * job.audio_s * rng.lognormvariate(0, 0.2)
    return (
        startup,
        0.25 * work * rng.lognormvariate(0, 0.1),
        0.75 * work * rng.lognormvariate(0, 0.1),
    )


class Day:
    """One policy's day: events in time order, a dispatch pass after each batch."""

    def __init__(self, policy: Policy, jobs: list[Job], seed: int = 15, *,
                 outages: bool = True) -> None:  # fmt: skip
        self.policy, self.seed = policy, seed
        self.machines = {m.name: m for m in FLEET}
        self.events: list[tuple[float, int, str, object]] = []
        self.waiting: dict[int, Job] = {}
        self.running: dict[str, Running] = {}
        self.samples: list[Sample] = []
        self.in_flight: dict[str, int] = {}
        self.last_served: dict[str, float] = {}
        self.offline: set[str] = set()
        self.other_work: set[str] = set()
        self.attempts = 0
        self.out = Outcome()
        for job in jobs:
            self._at(job.arrival_s, "arrive", job)
        for name, spans in (OUTAGES if outages else {}).items():
            for start, end in spans:
                self._at(start, "down", name)
                self._at(end, "up", name)
        for name, spans in (BUSY if outages else {}).items():
            for start, end in spans:
                self._at(start, "other", name)
                self._at(end, "done-other", name)

    def _at(self, t: float, what: str, payload: object) -> None:
        heapq.heappush(self.events, (t, len(self.events), what, payload))

    def run(self) -> Outcome:
        while self.events:
            now = self.events[0][0]
            while self.events and self.events[0][0] == now:
                _, _, what, payload = heapq.heappop(self.events)
                self._handle(now, what, payload)
            self._dispatch(now)
        return self.out

    def _handle(self, now: float, what: str, payload: object) -> None:
        if what == "arrive":
            assert isinstance(payload, Job)
            self.waiting[payload.n] = payload
        elif what == "finish":
            assert isinstance(payload, tuple)
            name, attempt = payload
            run = self.running.get(name)
            if run is None or run.attempt != attempt:
                return  # lost in an outage: that attempt never finishes
            del self.running[name]
            self.in_flight[run.job.user] -= 1
            self.out.finished[run.job.n] = now
            self.out.run_s[run.job.n] = (name, now - run.started)
            if run.job.kind == "transcribe":
                _, first, rest = true_times(run.job, self.machines[name], self.seed)
                self.samples.append(Sample(run.target, name, self.machines[name].model, "local",
                                           run.job.audio_s, now - run.started, None, None,
                                           first + rest, now))  # fmt: skip
        elif what == "down":
            assert isinstance(payload, str)
            self.offline.add(payload)
            lost = self.running.pop(payload, None)
            if lost is not None:  # on_runner_lost: requeue, keeping its arrival
                self.in_flight[lost.job.user] -= 1
                self.waiting[lost.job.n] = lost.job
        elif what == "up":
            assert isinstance(payload, str)
            self.offline.discard(payload)
        elif what == "other":
            assert isinstance(payload, str)
            self.other_work.add(payload)
        elif what == "done-other":
            assert isinstance(payload, str)
            self.other_work.discard(payload)

    def _fleet(self) -> Fleet:
        return Fleet(tuple(
            Runner(m.name, "", m.name not in self.offline,
                   m.name in self.running or m.name in self.other_work, m.labels)
            for m in FLEET
        ))  # fmt: skip

    def _dispatch(self, now: float) -> None:
        if not self.waiting:
            return
        speed = SpeedModel(self.samples, self.policy)
        left = {n: max(0.0, r.predicted_s - (now - r.started)) for n, r in self.running.items()}
        one_pass = Round(self.policy, self._fleet(), running=left, in_flight=self.in_flight,
                         user_max_active=USER_MAX_ACTIVE)  # fmt: skip
        waiting = [Waiting(str(j.n), j.user, j.arrival_s) for j in self.waiting.values()]
        order = fair_order(waiting, self.in_flight, user_max_active=USER_MAX_ACTIVE,
                           last_served=self.last_served, backlog=True)  # fmt: skip
        for entry in order:
            if not one_pass.may_dispatch(entry.user):
                continue  # its user has USER_MAX_ACTIVE in flight: it waits for one to end
            job = self.waiting[int(entry.job_id)]
            request = JobRequest(job.kind, size_mb=job.size_mb, duration_min=job.audio_s / 60)
            transcribe = job.kind == "transcribe"
            decision = select(self.policy, request, one_pass.fleet,
                              speed=speed if transcribe else None,
                              workloads=one_pass.workloads())  # fmt: skip
            now_fleet = one_pass.fleet or Fleet()
            free = [r for r in now_fleet.serving(decision.labels) if r.online and not r.busy]
            chosen = one_pass.settle(decision, runner=free[0].name if free else None,
                                     user=job.user)  # fmt: skip
            if chosen.action == "hold" or not free:
                continue
            self._start(now, job, free[0].name, decision.target, speed)

    def _start(self, now: float, job: Job, name: str, target: str, speed: SpeedModel) -> None:
        del self.waiting[job.n]
        self.in_flight[job.user] = self.in_flight.get(job.user, 0) + 1
        self.last_served[job.user] = now
        startup, first, rest = true_times(job, self.machines[name], self.seed)
        if job.kind == "transcribe":
            guess = speed.predict(target, job.audio_s, runner=name)
            predicted = guess.seconds
            # The card's figure when the runner reports 25 % of the audio transcribed.
            shown = eta_left_s(guess, startup + first, 0.25, transcribing_s=first)
            self.out.eta_errors.append(abs(shown - rest) / rest)
        else:
            predicted = SUMMARY_GUESS_S
        self.attempts += 1
        self.running[name] = Running(job, name, target, now, predicted, self.attempts)
        heapq.heappush(self.events, (now + startup + first + rest, -self.attempts, "finish",
                                     (name, self.attempts)))  # fmt: skip


def figures(jobs: list[Job], out: Outcome) -> dict[str, float]:
    times = sorted(out.finished[j.n] - j.arrival_s for j in jobs if j.n in out.finished)
    if len(times) < len(jobs):
        raise SystemExit(f"route_sim: {len(jobs) - len(times)} jobs never finished (a bug)")
    return {"mean_s": round(statistics.fmean(times), 1), "p95_s": round(_p95(times), 1)}


def _p95(values: list[float]) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=20, method="inclusive")[18]


def compare(jobs: list[Job]) -> tuple[dict[str, object], Outcome]:
    policy = load_policy_file(ROOT / "policy" / "policy.yaml")
    static = figures(jobs, Day(with_choice(policy, "first_free"), jobs).run())
    quick_out = Day(with_choice(policy, "earliest_finish"), jobs).run()
    quick = figures(jobs, quick_out)
    ratio = round(quick["mean_s"] / static["mean_s"], 3) if static["mean_s"] else 1.0
    return {"static": static, "earliest_finish": quick, "ratio_mean": ratio}, quick_out


def fairness() -> tuple[bool, str]:
    """User A sends 50 ten-minute files at once; user B two, a little later."""
    jobs = [Job(n, n, 600, 9.6, "transcribe", "A") for n in range(50)]
    jobs += [Job(50, 300, 600, 9.6, "transcribe", "B"), Job(51, 900, 600, 9.6, "transcribe", "B")]
    policy = with_choice(load_policy_file(ROOT / "policy" / "policy.yaml"), "earliest_finish")
    out = Day(policy, jobs, outages=False).run()
    lines, ok = [], True
    for job in jobs[50:]:
        runner, _ = out.run_s[job.n]
        same = [s for n, (r, s) in out.run_s.items() if r == runner]
        bound = 2 * statistics.fmean(same)
        took = out.finished[job.n] - job.arrival_s
        ok &= took <= bound
        lines.append(f"B's job at {job.arrival_s:.0f} s: done {took:.0f} s after arriving on "
                     f"{runner} (2 jobs' time there: {bound:.0f} s)")  # fmt: skip
    last_a = max(out.finished[n] for n in range(50))
    lines.append(f"A's 50 jobs all done after {last_a / 60:.0f} min")
    return ok, "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="route_sim.py", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--trace", type=Path, default=TRACE, help="CSV trace (default: %(default)s)"
    )
    parser.add_argument("--json", action="store_true", help="print the figures as one object")
    args = parser.parse_args(argv)
    try:
        jobs = read_trace(args.trace)
    except TraceError as err:
        print(f"route_sim: {err}", file=sys.stderr)
        return 2
    result, quick = compare(jobs)
    if args.json:
        print(json.dumps(result))
        return 0
    static, ef = result["static"], result["earliest_finish"]
    assert isinstance(static, dict) and isinstance(ef, dict)
    ratio = float(result["ratio_mean"])  # type: ignore[arg-type]
    print(f"trace: {args.trace} ({len(jobs)} jobs, {len({j.user for j in jobs})} users)")
    for name, got in (("static (first_free)", static), ("earliest_finish", ef)):
        mean, p95 = got["mean_s"] / 60, got["p95_s"] / 60
        print(f"{name + ':':21} mean {mean:6.1f} min  p95 {p95:6.1f} min")
    bars = [
        (ratio <= 0.7, f"mean ratio {ratio:.2f} (bar <= 0.7)"),
        (ef["p95_s"] <= static["p95_s"],
         f"p95 {ef['p95_s']:.0f} s vs static {static['p95_s']:.0f} s (bar: no worse)"),
    ]  # fmt: skip
    fair_ok, fair_text = fairness()
    print(fair_text)
    bars.append((fair_ok, "fairness: B's jobs within 2 jobs' time of arriving"))
    eta = statistics.median(quick.eta_errors)
    print(f"ETA at 25 %: median error {eta:.1%} of the true time left over "
          f"{len(quick.eta_errors)} transcriptions (90th percentile "
          f"{statistics.quantiles(quick.eta_errors, n=10)[8]:.1%})")  # fmt: skip
    bars.append((eta <= 0.2, f"ETA median error {eta:.1%} (bar <= 20%)"))
    for ok, text in bars:
        print(f"{'PASS' if ok else 'FAIL'}: {text}")
    return 0 if all(ok for ok, _ in bars) else 1


if __name__ == "__main__":
    sys.exit(main())
