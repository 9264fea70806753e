"""Everything the bot says, as pure functions of relayq's own types."""

from __future__ import annotations

import json
import time
from pathlib import Path

from bot.executors.base import JobState, Phase
from bot.fleet import Fleet
from bot.ledger import JobRow
from bot.policy import Decision

__all__ = [
    "HELP",
    "delivery_text",
    "jobs_text",
    "progress_text",
    "refusal",
    "status_text",
]

MAX_MESSAGE = 4096
HELP = (
    "Send me a link to audio or video (http/https), or the audio itself, and I will send back "
    "a transcript made on your own machines.\n\n"
    "/status — runners, queue and your jobs\n"
    "/route [link|transcribe|summarize] — where a job would run, and why\n"
    "/pin mac|rpi4|pool — run your jobs there; /unpin — let the policy choose\n"
    "/jobs — your recent jobs\n"
    "/cancel <job> — stop a job"
)


def refusal(user_id: int) -> str:
    return (
        f"Sorry, this bot is private. Your Telegram id is {user_id}: ask the owner to add it "
        "to RELAYQ_ALLOWED_USERS."
    )


def progress_text(
    row: JobRow, state: JobState | None, decision: Decision | None = None, now: float | None = None
) -> str:
    """The one progress message of a job, as it stands."""
    lines = [f"🎧 job {row.id}", _short(row.source)]
    if decision is not None:
        lines.append(f"→ {decision.target} ({decision.description}) via {decision.workflow}")
        lines.append(decision.summary)
    elif row.target:
        lines.append(f"→ {row.target}")
    if state is None:
        lines.append("accepted")
    elif state.phase is Phase.QUEUED:
        since = time.strftime("%H:%M", time.localtime(state.at))
        lines.append(f"⏳ {state.detail} (since {since})")
    elif state.phase is Phase.RUNNING:
        elapsed = (now or time.time()) - row.created_at
        lines.append(f"⚙️ {state.detail} — {elapsed / 60:.0f} min")
    elif state.phase is Phase.FAILED:
        lines.append(f"❌ failed: {state.detail}")
    elif state.phase is Phase.CANCELLED:
        lines.append("✖️ cancelled")
    return "\n".join(line for line in lines if line)


def delivery_text(row: JobRow, result_dir: Path, run_url: str | None) -> tuple[str, bool]:
    """The final message; the bool says whether the transcript fits inline."""
    transcript = (result_dir / "transcript.txt").read_text(encoding="utf-8").strip()
    meta = _meta(result_dir)
    facts = [f"✅ job {row.id} done"]
    if meta:
        rtf = meta.get("real_time_factor")
        facts.append(
            f"{float(str(meta.get('duration_s') or 0)):.0f} s of audio · {meta.get('backend')} "
            f"{meta.get('model')} · {meta.get('host', '?')}"
            + (f" · RTF {float(str(rtf)):.2f}" if rtf else "")
        )
    if run_url:
        facts.append(run_url)
    head = "\n".join(facts)
    body = transcript or "(no speech found)"
    text = f"{head}\n\n{body}"
    if len(text) <= MAX_MESSAGE:
        return text, True
    return f"{head}\n\nThe transcript is long: it is in transcript.txt below.", False


def jobs_text(rows: list[JobRow]) -> str:
    if not rows:
        return "No jobs yet. Send me a link to audio."
    lines = ["Your recent jobs:"]
    for row in rows:
        when = time.strftime("%m-%d %H:%M", time.localtime(row.created_at))
        lines.append(
            f"{row.id} · {when} · {row.target or '-'} · {row.state} · {_short(row.source, 40)}"
        )
    return "\n".join(lines)


def status_text(
    fleet: Fleet | None, active: list[JobRow], budget: tuple[int, int] | None, executor: str
) -> str:
    lines = [f"Executor: {executor}"]
    if fleet is None:
        lines.append("Runners: this machine runs every target (local executor)")
    elif not fleet.runners:
        lines.append("Runners: none registered")
    else:
        lines.append("Runners:")
        for r in fleet.runners:
            state = "busy" if r.online and r.busy else ("online" if r.online else "offline")
            lines.append(f"• {r.name}: {state} — {', '.join(sorted(r.labels))}")
    queue: dict[str, int] = {}
    for row in active:
        queue[row.target or "?"] = queue.get(row.target or "?", 0) + 1
    lines.append("Queue: " + (", ".join(f"{t}: {n}" for t, n in sorted(queue.items())) or "empty"))
    mine = [f"{r.id} ({r.state})" for r in active]
    lines.append("Your active jobs: " + (", ".join(mine) or "none"))
    if budget is not None:
        lines.append(f"GitHub API budget: {budget[0]} of {budget[1]} left this hour")
    return "\n".join(lines)


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _meta(result_dir: Path) -> dict[str, object]:
    try:
        data = json.loads((result_dir / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
