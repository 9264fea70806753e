"""Benchmark: /find over the transcript library (bot/library.py, SQLite FTS5).

    .venv/bin/python bench/library.py [--transcripts N] [--queries Q]

Indexes N generated transcripts (default 10,000) of about an hour of speech each (9,000 words
drawn from a 20,000-word Zipf-like vocabulary, accented letters included) for five users, in
one ledger file in a temporary folder, then answers Q searches of one to three words (default
200) as /find does, each for one user. Prints the time to index, the file's size per
transcript, the p50/p95 answer time and this process's peak RSS. Bar: p95 at most 100 ms.
The folder (about 2 GB at 10,000) is removed at the end. Exits 1 on FAIL.
"""

from __future__ import annotations

import argparse
import random
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.ledger import Ledger
from bot.library import Library

P95_BAR_MS = 100.0
WORDS_PER_HOUR = 9000
USERS = 5


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transcripts", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    rng = random.Random(1)
    letters = "abcdefghijklmnopqrstuvwxyzé"
    vocab = ["".join(rng.choice(letters) for _ in range(rng.randint(3, 9))) for _ in range(20_000)]
    weights = [1 / (i + 1) for i in range(len(vocab))]
    with tempfile.TemporaryDirectory(prefix="relayq-bench-library-") as tmp:
        folder = Path(tmp)
        ledger = Ledger(folder / "ledger.sqlite3")
        library = Library(ledger)
        started = time.perf_counter()
        with ledger.transaction():
            for n in range(args.transcripts):
                row = ledger.accept(f"j{n}", chat_id=n % USERS, user_id=n % USERS,
                                    message_id=n, seq=0, kind="transcribe", source="tg:F",
                                    pin=None, source_name=f"talk {n}.ogg")  # fmt: skip
                text = " ".join(rng.choices(vocab, weights, k=WORDS_PER_HOUR))
                library.shelve(row, text=text, title=f"talk {n}.ogg", language="en",
                               runner="Mac mini", duration_s=3600, folder=folder)  # fmt: skip
        index_s = time.perf_counter() - started
        size = sum(p.stat().st_size for p in folder.iterdir())
        times = []
        for q in range(args.queries):
            words = " ".join(rng.choices(vocab[50:3000], k=rng.randint(1, 3)))
            began = time.perf_counter()
            library.find(words, user_id=q % USERS)
            times.append((time.perf_counter() - began) * 1000)
        ledger.close()
    times.sort()
    p95 = times[min(len(times) - 1, int(0.95 * len(times)))]
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    verdict = "PASS" if p95 <= P95_BAR_MS else "FAIL"
    print(f"library: {args.transcripts:,} transcripts of {WORDS_PER_HOUR:,} words indexed in "
          f"{index_s:.1f} s; {size / 1e6:,.0f} MB ({size / args.transcripts / 1e3:.0f} kB a "
          f"transcript); /find p50 {statistics.median(times):.1f} ms, p95 {p95:.1f} ms "
          f"(bar {P95_BAR_MS:g} ms) {verdict}; peak RSS {rss_mb:.0f} MB")  # fmt: skip
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
