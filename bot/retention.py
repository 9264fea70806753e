"""The bot's retention sweep: result folders of finished jobs older than `RELAYQ_KEEP_DAYS`
are removed from the state directory (docs/LIBRARY.md, "Retention").

Two steps, so the sweep can run off the event loop: `Finished.of(ledger)` reads what the
ledger knows (in the ledger's thread), and `sweep(...)` is a pure function of that, the state
directory and `now` (a parameter, so tests age things with a fake clock). What it removes:

    local-jobs/<job>/          the local executor's job folder (spec, state, log, results)
    github-results/<run id>/   a GitHub run's unpacked artifact
    uploads/<job>/             an upload's copy a killed bot left behind
    the result cache           settings.resolved_cache_dir, entries made before the limit

A folder's age is its job's finish time in the ledger (the row's last change once it is
final), else the newest mtime in it. A job not yet final, and an earlier transcript a job not
yet final is made from (`/summarize`), is never touched; while any job is in flight the cache
is left for the next sweep (a job may be reading an entry). The library keeps its rows and
their text: `/find` still finds a swept transcript, `/get` sends its text.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.ledger import Ledger
from jobs.retention import DAY_S, Swept, entries, remove_if_old, size_of, sweep_cache

__all__ = ["BUCKETS", "Finished", "StateUse", "state_use", "sweep"]

BUCKETS = ("local-jobs", "github-results", "uploads")


@dataclass(frozen=True)
class Finished:
    """What the ledger says: when each final job finished, each GitHub run's job, and the job
    ids and run ids the sweep must leave alone."""

    done_at: dict[str, float]
    run_jobs: dict[str, str]
    busy: frozenset[str]

    @classmethod
    def of(cls, ledger: Ledger) -> Finished:
        done_at: dict[str, float] = {}
        run_jobs: dict[str, str] = {}
        busy: set[str] = set()
        for row in ledger.all_jobs():
            run_id = (row.run_url or "").rstrip("/").rsplit("/", 1)[-1]
            if run_id.isdigit():
                run_jobs[run_id] = row.id
            if row.final:
                done_at[row.id] = row.updated_at
                continue
            busy.update((row.id, run_id) if run_id.isdigit() else (row.id,))
            if row.source.startswith("job:"):  # a summary reads the earlier transcript
                busy.add(row.source.removeprefix("job:"))
        # The runs of the earlier transcripts the busy jobs read are busy too.
        busy.update(run for run, job in run_jobs.items() if job in busy)
        return cls(done_at, run_jobs, frozenset(busy))


@dataclass(frozen=True)
class StateUse:
    """The state directory's disk use: bytes, job folders in it, and the days results are kept
    (0: forever)."""

    bytes: int
    folders: int
    keep_days: int


def sweep(state_dir: Path, finished: Finished, *, keep_days: int, now: float,
          cache_dir: Path | None = None) -> Swept:  # fmt: skip
    """Remove what finished more than `keep_days` days before `now`; nothing when 0."""
    swept = Swept()
    if keep_days <= 0:
        return swept
    before = now - keep_days * DAY_S
    for bucket in BUCKETS:
        folder = state_dir / bucket
        if folder.is_symlink():
            swept.failed.append(f"{folder}: a link out of the state directory, not followed")
            continue
        for entry in entries(folder):
            job = _job_of(bucket, entry.name, finished)
            if job is None or job in finished.busy or entry.name in finished.busy:
                continue
            changed = finished.done_at.get(job)
            swept.add(remove_if_old(Path(entry.path), before=before, changed=changed))
    if cache_dir is not None and not finished.busy:
        swept.add(sweep_cache(cache_dir, keep_days=keep_days, now=now, force=True))
    return swept


def _job_of(bucket: str, name: str, finished: Finished) -> str | None:
    """The job an entry of `bucket` belongs to (its own name when the ledger does not know
    it); None for what is not a job's (the dispatch journal beside the runs)."""
    if name.startswith("."):
        return None
    if bucket == "github-results":
        return finished.run_jobs.get(name, name) if name.isdigit() else None
    return name


def state_use(state_dir: Path, keep_days: int) -> StateUse:
    """The bytes under the state directory (links not followed) and its job folders."""
    folders = sum(1 for e in entries(state_dir / "local-jobs") if not e.name.startswith("."))
    folders += sum(1 for e in entries(state_dir / "github-results") if e.name.isdigit())
    return StateUse(size_of(state_dir), folders, keep_days)
