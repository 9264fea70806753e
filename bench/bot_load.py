"""Benchmark: 100 jobs from 5 users through the real bot, the Bot API emulator and the local
executor; every job delivered exactly once, the bot's memory, and the per-chat message rate.

    .venv/bin/python bench/bot_load.py      (also run by make bench)

The bot runs as its own process (`python -m bot`), so its RSS is measured alone (sampled from
/proc every 0.2 s). Jobs are links to the same speech sample with different query strings:
after the first, the runner's result cache answers, so the run measures the bot, not the model.
Bars: all 100 delivered exactly once; peak RSS <= 80 MB and growth <= 10 MB; no chat gets more
than one message per second.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.ledger import Ledger  # noqa: E402
from tests.emulators.telegram import BotApiEmulator  # noqa: E402
from tests.jobs.httpserver import body, serve  # noqa: E402

TOKEN = "123456:bench-token"  # noqa: S105  (the emulator's fake token)
USERS = [2001, 2002, 2003, 2004, 2005]
JOBS = 100


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def max_per_second(times: list[float]) -> int:
    times = sorted(times)
    best, start = 0, 0
    for end, t in enumerate(times):
        while t - times[start] >= 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best


def main() -> int:
    sample = (ROOT / "jobs" / "samples" / "speech.ogg").read_bytes()
    with tempfile.TemporaryDirectory() as tmp_name, BotApiEmulator(TOKEN) as tg, \
            serve({"/talk.ogg": body(sample)}) as (base, _):  # fmt: skip
        tmp = Path(tmp_name)
        env = {k: v for k, v in os.environ.items() if not k.startswith("RELAYQ_")}
        env.update(TELEGRAM_BOT_TOKEN=TOKEN, RELAYQ_ALLOWED_USERS=",".join(map(str, USERS)),
                   RELAYQ_TELEGRAM_API_BASE=tg.base, RELAYQ_STATE_DIR=str(tmp / "state"),
                   RELAYQ_EXECUTOR="local", RELAYQ_ALLOW_PRIVATE_URLS="1", HF_HUB_OFFLINE="1",
                   RELAYQ_POLICY=str(ROOT / "policy" / "policy.yaml"), HOME=str(tmp))  # fmt: skip
        bot = subprocess.Popen([sys.executable, "-m", "bot"], env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)  # fmt: skip
        try:
            tg.wait_for(lambda: tg.commands, 60)
            time.sleep(1.0)
            baseline = rss_mb(bot.pid)
            peak, started = baseline, time.monotonic()
            for n in range(JOBS):
                tg.user_sends(USERS[n % len(USERS)], f"{base}/talk.ogg?job={n}")
                time.sleep(0.05)
            ledger_path = tmp / "state" / "ledger.sqlite3"
            while time.monotonic() - started < 900:
                peak = max(peak, rss_mb(bot.pid))
                rows = Ledger(ledger_path).all_jobs()
                srts_sent = sum(
                    1 for s in tg.sent if s.document and s.document[0] == "transcript.srt"
                )
                # Final means the text is out; the subtitle files follow, paced per chat.
                if len(rows) == JOBS and all(r.final for r in rows) and srts_sent >= JOBS:
                    break
                time.sleep(0.2)
            elapsed = time.monotonic() - started
            time.sleep(2.0)
            final_rss = rss_mb(bot.pid)
        finally:
            bot.terminate()
            bot.wait(30)
        rows = Ledger(ledger_path).all_jobs()
        delivered = sum(r.state == "delivered" for r in rows)
        done_messages = [s for s in tg.sent if s.text.startswith("✅")]
        srts = [s for s in tg.sent if s.document and s.document[0] == "transcript.srt"]
        sends = ("sendMessage", "editMessageText", "sendDocument")
        per_chat = {u: [t for t, m, c in tg.calls.log if c == u and m in sends] for u in USERS}
        rate = max(max_per_second(times) for times in per_chat.values())
    growth = final_rss - baseline
    print(f"{JOBS} jobs from {len(USERS)} users in {elapsed:.0f} s: {delivered} delivered, "
          f"{len(done_messages)} transcripts and {len(srts)} srt files sent")  # fmt: skip
    print(f"bot RSS: start {baseline:.1f} MB, peak {peak:.1f} MB (bar <= 80), "
          f"growth {growth:+.1f} MB (bar <= 10)")  # fmt: skip
    print(f"most messages to one chat within one second: {rate} (bar <= 1)")
    ok = (delivered == JOBS and len(done_messages) == JOBS and len(srts) == JOBS and peak <= 80
          and growth <= 10 and rate <= 1)  # fmt: skip
    print("PASS" if ok else "FAIL", "— bot under load")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
