"""Make bench/traces/day.csv, the simulated day bench/route_sim.py runs by default (seeded).

    python bench/traces/make_day.py > bench/traces/day.csv

A household's day of jobs from 07:00 to 23:00, four users: voice notes (a few minutes, Opus
at 16 kbit/s), podcasts (20-90 min, MP3 at 128 kbit/s), long recordings (lectures and
meetings of 1.5-3 h, which only the Mac mini takes), and summaries of earlier transcripts;
arrivals are a Poisson stream, busier in the evening, plus one user's burst of ten podcast
links at 20:00. The same seed gives the same file; it is committed, so the bench's figures
refer to it.
"""

from __future__ import annotations

import csv
import random
import sys

SEED = 15
USERS = ("101", "202", "303", "404")


def _job(rng: random.Random, at: float, user: str) -> tuple[float, float, float, str, str]:
    kind = rng.choices(("voice", "podcast", "long", "summary"), (40, 35, 10, 15))[0]
    if kind == "voice":
        minutes = rng.uniform(0.3, 5)
        return at, minutes * 60, minutes * 0.12, "transcribe", user
    if kind == "podcast":
        minutes = rng.uniform(20, 90)
        return at, minutes * 60, minutes * 0.96, "transcribe", user
    if kind == "long":
        minutes = rng.uniform(91, 180)
        return at, minutes * 60, minutes * 0.96, "transcribe", user
    minutes = rng.uniform(5, 90)  # the summarized transcript's audio length
    return at, minutes * 60, 0.05, "summarize", user


def day(seed: int = SEED) -> list[tuple[float, float, float, str, str]]:
    rng = random.Random(seed)
    jobs = []
    at = 7 * 3600.0
    while at < 23 * 3600:
        evening = 18 * 3600 <= at < 22 * 3600
        at += rng.expovariate(1 / (420 if evening else 720))
        jobs.append(_job(rng, at, rng.choice(USERS)))
    for n in range(10):  # one user pastes a list of podcast links
        minutes = rng.uniform(30, 80)
        jobs.append((20 * 3600 + 5 * n, minutes * 60, minutes * 0.96, "transcribe", USERS[1]))
    return sorted(j for j in jobs if j[0] < 23 * 3600)


def main() -> None:
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(["arrival_s", "duration_s", "size_mb", "kind", "user"])
    for at, duration, size, kind, user in day():
        out.writerow([f"{at:.0f}", f"{duration:.0f}", f"{size:.2f}", kind, user])


if __name__ == "__main__":
    main()
