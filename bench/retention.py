"""Benchmark: the bot's retention sweep (bot/retention.py) over many job folders.

    .venv/bin/python bench/retention.py [--folders N] [--keep-days D]

Makes N finished jobs (default 10,000) in a ledger and their folders in a temporary state
directory (`local-jobs/<job>/` with spec, state, log and the five result files, and a cache
entry for every fifth), finished over the last 2·D days (D default 90) on a fake clock, so
about half are older than the limit. Then, side by side in this one run:

- relayq's sweep (`Keeper.sweep_now`: the ledger read, every folder's age, the removals);
- the floor: `shutil.rmtree` of exactly the folders the sweep removed, in a copy of the same
  tree, with nothing read or decided;
- a second sweep right after (what the hourly sweep costs when there is nothing to remove).

Prints the times, their ratio, and the files left older than the limit, which must be zero
(exits 1 otherwise). The folder is removed at the end.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.ledger import Ledger
from bot.lifecycle.keeping import Keeper
from jobs.retention import DAY_S

NOW = 1_800_000_000.0
FILES = {"spec.json": 300, "state.json": 200, "job.log": 2_000}
RESULTS = {"transcript.txt": 40_000, "transcript.srt": 70_000, "transcript.vtt": 65_000,
           "segments.json": 120_000, "meta.json": 1_500}  # fmt: skip


def make_tree(state: Path, n: int, keep_days: int, rng: random.Random) -> dict[str, float]:
    """N job folders (and every fifth a cache entry), each finished `age` ago; their ages."""
    done_at: dict[str, float] = {}
    blobs = {name: os.urandom(size) for name, size in {**FILES, **RESULTS}.items()}
    for i in range(n):
        job = f"j{i:05d}"
        when = NOW - rng.uniform(0, 2 * keep_days) * DAY_S
        folder = state / "local-jobs" / job
        (folder / "out").mkdir(parents=True)
        for name in FILES:
            (folder / name).write_bytes(blobs[name])
        for name in RESULTS:
            (folder / "out" / name).write_bytes(blobs[name])
        paths = [folder, folder / "out", *folder.iterdir(), *(folder / "out").iterdir()]
        if i % 5 == 0:
            entry = state / "cache" / job[-2:] / f"{job}-key"
            entry.mkdir(parents=True)
            for name in RESULTS:
                (entry / name).write_bytes(blobs[name])
            paths += [entry, *entry.iterdir()]
        for path in paths:
            os.utime(path, (when, when))
        done_at[job] = when
    return done_at


def old_files(state: Path, before: float) -> int:
    return sum(1 for top, _d, names in os.walk(state) for name in names
               if name != ".swept" and not name.startswith("ledger")
               and Path(top, name).lstat().st_mtime < before)  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folders", type=int, default=10_000)
    parser.add_argument("--keep-days", type=int, default=90)
    args = parser.parse_args()
    rng = random.Random(1)
    with tempfile.TemporaryDirectory(prefix="relayq-bench-retention-") as tmp:
        state, floor = Path(tmp) / "state", Path(tmp) / "floor"
        started = time.perf_counter()
        done_at = make_tree(state, args.folders, args.keep_days, rng)
        shutil.copytree(state, floor, symlinks=True)
        ledger = Ledger(state / "ledger.sqlite3")
        with ledger.transaction():
            for i, job in enumerate(done_at):
                ledger.accept(job, chat_id=1, user_id=1, message_id=i, seq=0, kind="transcribe",
                              source="tg:F", pin=None)  # fmt: skip
                ledger.update(job, state="delivered")
        ledger.db.executemany("UPDATE jobs SET updated_at = ? WHERE id = ?",
                              [(when, job) for job, when in done_at.items()])  # fmt: skip
        made_s = time.perf_counter() - started
        before = NOW - args.keep_days * DAY_S
        older = sorted(job for job, when in done_at.items() if when < before)
        files_before = sum(len(names) for _t, _d, names in os.walk(state))

        keeper = Keeper(ledger, state, keep_days=args.keep_days, cache_dir=state / "cache",
                        owner=None, clock=lambda: NOW)  # fmt: skip
        t0 = time.perf_counter()
        swept = keeper.sweep_now()
        sweep_s = time.perf_counter() - t0

        t0 = time.perf_counter()
        for job in older:
            shutil.rmtree(floor / "local-jobs" / job)
        for entry in (floor / "cache").glob("*/*"):
            if done_at[entry.name.removesuffix("-key")] < before:
                shutil.rmtree(entry)
        floor_s = time.perf_counter() - t0

        t0 = time.perf_counter()
        again = keeper.sweep_now()
        again_s = time.perf_counter() - t0
        left = old_files(state, before)
        ledger.close()

    print(f"tree: {args.folders} job folders ({files_before} files, "
          f"{args.folders // 5} cache entries), made in {made_s:.1f} s; "
          f"kept {args.keep_days} days, {len(older)} folders older")  # fmt: skip
    freed_mb = swept.freed / 1e6
    print(f"relayq sweep: {sweep_s:.2f} s, {swept.removed} entries removed ({freed_mb:.0f} MB), "
          f"{swept.kept} kept, {len(swept.failed)} failed")  # fmt: skip
    print(f"floor (rmtree of the same folders, nothing decided): {floor_s:.2f} s")
    print(f"ratio sweep / floor: {sweep_s / floor_s:.2f}x")
    print(f"second sweep, nothing to remove: {again_s:.2f} s ({again.kept} kept)")
    verdict = "PASS" if left == 0 and again.removed == 0 else "FAIL"
    print(f"files left older than the limit: {left} → {verdict}")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
