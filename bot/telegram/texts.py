"""Everything the bot says, as pure functions of relayq's own types."""

from __future__ import annotations

import json
import time
from pathlib import Path

from bot.executors.base import JobState, Phase
from bot.fleet import Fleet
from bot.ledger import JobRow, RunnerSeen
from bot.policy import Decision, JobRequest, Policy, select
from jobs.errors import RelayqError

__all__ = [
    "HELP",
    "delivery_text",
    "github_down",
    "jobs_text",
    "not_media",
    "pin_refusal",
    "pinnable",
    "progress_text",
    "refusal",
    "result_file",
    "route_usage",
    "runner_change_text",
    "runner_title",
    "status_text",
    "summary_again",
    "the",
    "unknown_command",
    "waiting_text",
]

MAX_MESSAGE = 4096
MAX_ANSWER = 200  # Telegram refuses a longer button answer, and the user would see nothing
_SEND_MEDIA = "send me an audio or video file, or an http(s) link to one"
_NOUNS = {"transcribe": "transcriptions", "summarize": "summaries"}
HELP = (
    "Send me a link to audio or video (http/https), or the audio itself, and I will send back "
    "a transcript made on your own machines.\n\n"
    "/status — runners, queue and your jobs\n"
    "/route [link|transcribe|summarize] — where a job would run, and why\n"
    "/pin mac|rpi4|pool — run your jobs there; /unpin — let the policy choose\n"
    "/jobs — your recent jobs\n"
    "/summarize [job] — a summary of a transcript (your latest, or that job's)\n"
    "/cancel <job> — stop a job"
)


def refusal(user_id: int) -> str:
    return (
        f"Sorry, this bot is private. Your Telegram id is {user_id}: ask the owner to add it "
        "to RELAYQ_ALLOWED_USERS."
    )


def github_down(command: str) -> str:
    """The answer when GitHub does not answer: nothing is lost, ask again later."""
    return (
        "GitHub is not answering right now, so I can't see the runners; your jobs are kept. "
        f"Try {command} again in a minute."
    )


def unknown_command(command: str) -> str:
    return f"I don't know {_short(command, 40)}; /help lists what I can do."


def not_media(kind: str, mime_type: str | None = None) -> str:
    """A message the bot cannot transcribe: `kind` is "photo", "document" or anything else."""
    if kind == "photo":
        return f"That is a photo, and I transcribe speech: {_SEND_MEDIA}."
    if kind == "document":
        what = f" ({_short(mime_type, 60)})" if mime_type else ""
        return f"That file{what} is not audio or video: {_SEND_MEDIA}."
    return f"I can't transcribe that: {_SEND_MEDIA}."


def route_usage(args: list[str], kinds: list[str]) -> str:
    given = _short(" ".join(args), 40)
    return (
        f"/route takes a link or a job kind ({', '.join(kinds)}), not {given!r}; "
        f"for example /route {kinds[-1]}."
    )


def _takes(policy: Policy, name: str, kind: str) -> bool:
    """Whether a job of `kind` pinned to `name` would be dispatched (runners aside)."""
    try:
        select(policy, JobRequest(kind=kind), None, name)
    except RelayqError:
        return False
    return True


def pinnable(policy: Policy, kind: str = "transcribe") -> list[str]:
    """The pins a `kind` job can run on."""
    return [name for name in policy.pins.allowed if _takes(policy, name, kind)]


def pin_refusal(policy: Policy, name: str, kind: str = "transcribe") -> str | None:
    """Why pinning `name` would fail every `kind` job, or None when it takes them.

    A pin holds for all of the user's jobs, and `kind` is what they mostly send."""
    if _takes(policy, name, kind):
        return None
    target = policy.targets[name]
    noun = _NOUNS.get(kind, f"{kind} jobs")
    does = [_NOUNS.get(k, f"{k} jobs") for k in policy.routes if _takes(policy, name, k)]
    takes = f"takes only {' and '.join(does)}" if does else "takes no jobs in this policy"
    able = pinnable(policy, kind)
    where = (f"{noun} run on {', '.join(able)}: /pin one of those, or /unpin" if able
             else f"no target can be pinned for {noun}: /unpin")  # fmt: skip
    return (
        f"{name} ({target.description}) {takes}, not {noun}, so every one pinned there "
        f"would fail; {where}."
    )


def summary_again(transcript_id: str, summary: JobRow) -> str:
    """The answer to the Summarize button: the summary job it made, as it stands."""
    if summary.state == "failed":
        why = _short(summary.detail.rstrip(". ") or "no reason recorded", 80)
        return (
            f"The summary of job {transcript_id} failed: {why}. "
            f"Send /summarize {transcript_id} to try again."
        )
    if summary.state == "cancelled":
        return (
            f"The summary of job {transcript_id} was cancelled; "
            f"send /summarize {transcript_id} to make another."
        )
    if summary.text_delivered:
        return f"The summary of job {transcript_id} is job {summary.id}, already in this chat."
    return f"Summarizing job {transcript_id} as job {summary.id}."


def progress_text(
    row: JobRow,
    state: JobState | None,
    decision: Decision | None = None,
    now: float | None = None,
    waiting: str | None = None,
) -> str:
    """The one progress message of a job, as it stands (`waiting`: `waiting_text`'s line)."""
    lines = [f"🎧 job {row.id}", _source(row.source)]
    if decision is not None:
        lines.append(f"→ {decision.target} ({decision.description}) via {decision.workflow}")
        lines.append(decision.summary)
    elif row.target:
        lines.append(f"→ {row.target}")
    if state is None:
        lines.append("accepted")
    elif state.phase is Phase.QUEUED and waiting:
        lines.append(f"⏳ {waiting}")
    elif state.phase is Phase.QUEUED:
        lines.append(f"⏳ {state.detail} (since {_clock(state.at)})")
    elif state.phase is Phase.RUNNING:
        elapsed = (now or time.time()) - row.created_at
        lines.append(f"⚙️ {state.detail} — {elapsed / 60:.0f} min")
    elif state.phase is Phase.FAILED:
        lines.append(f"❌ failed: {state.detail}")
    elif state.phase is Phase.CANCELLED:
        lines.append("✖️ cancelled")
    return "\n".join(line for line in lines if line)


def result_file(kind: str) -> str:
    """The file a job kind delivers as its text."""
    return "summary.md" if kind == "summarize" else "transcript.txt"


def delivery_text(row: JobRow, result_dir: Path, run_url: str | None) -> tuple[str, bool]:
    """The final message; the bool says whether the text fits inline."""
    name = result_file(row.kind)
    transcript = (result_dir / name).read_text(encoding="utf-8").strip()
    meta = _meta(result_dir)
    facts = [f"✅ job {row.id} done" + (" (summary)" if row.kind == "summarize" else "")]
    if meta and row.kind == "summarize":
        facts.append(
            f"{meta.get('backend', '?')} {meta.get('model', '?')} · {meta.get('host', '?')}"
        )
    elif meta:
        rtf = meta.get("real_time_factor")
        facts.append(
            f"{float(str(meta.get('duration_s') or 0)):.0f} s of audio · {meta.get('backend')} "
            f"{meta.get('model')} · {meta.get('host', '?')}"
            + (f" · RTF {float(str(rtf)):.2f}" if rtf else "")
        )
    facts.extend(fallback_lines(meta))
    if run_url:
        facts.append(run_url)
    head = "\n".join(facts)
    body = transcript or "(no speech found)"
    text = f"{head}\n\n{body}"
    if len(text) <= MAX_MESSAGE:
        return text, True
    return f"{head}\n\nThe text is long: it is in {name} below.", False


def fallback_lines(meta: dict[str, object]) -> list[str]:
    """One line per backend that failed before the one that made the transcript."""
    failed = meta.get("failed")
    if not isinstance(failed, list):
        return []
    done_by = meta.get("backend")
    return [
        f"⚠️ {f.get('backend')} failed, so {done_by} did it: {_short(str(f.get('error')), 160)}"
        for f in failed
        if isinstance(f, dict)
    ]


def jobs_text(rows: list[JobRow]) -> str:
    if not rows:
        return "No jobs yet. Send me a link to audio."
    lines = ["Your recent jobs:"]
    for row in rows:
        when = time.strftime("%m-%d %H:%M", time.localtime(row.created_at))
        lines.append(
            f"{row.id} · {when} · {row.target or '-'} · {row.state} · {_source(row.source, 40)}"
        )
    return "\n".join(lines)


def waiting_text(
    what: str, why: str, labels: tuple[str, ...], seen: list[RunnerSeen], queued_at: float
) -> str:
    """Which machine a queued job waits for, and since when: "waiting for the Mac mini —
    offline since 14:02". `seen` is what the fleet watch knows of the runners that could
    take the job; `queued_at` is when the job started waiting."""
    if why == "none registered":
        return (
            f"waiting for {what} — no runner with labels {', '.join(labels)} is registered "
            f"(since {_clock(queued_at)})"
        )
    if why == "none online":
        offline = [r for r in seen if not r.online]
        if not offline:
            return f"waiting for {what} — offline"
        latest = max(offline, key=lambda r: r.since)
        since = "since" if latest.exact else "since at least"
        return f"waiting for {what} — offline {since} {_clock(latest.since)}"
    return f"waiting for {what} — busy with another job (since {_clock(queued_at)})"


def runner_title(name: str, labels: frozenset[str], policy: Policy) -> str:
    """ "Mac mini (mac-mini)": the machine a runner is, by the target its labels fit best."""
    best, overlap = None, 0
    for target in policy.targets.values():
        wanted = {label.lower() for label in target.labels}
        registered = {label.lower() for label in target.runner_labels} | wanted
        fit = len(registered & labels)
        if wanted <= labels and fit > overlap:
            best, overlap = target.description, fit
    return f"{best} ({name})" if best else name


def the(description: str) -> str:
    """ "the Mac mini", "the pooled audio runners" (already has its article)."""
    return description if description.lower().startswith("the ") else f"the {description}"


def runner_change_text(change: RunnerSeen, title: str, previous_since: float | None) -> str:
    """The owner's notice when a runner goes offline or comes back."""
    if change.online:
        gone = ""
        if previous_since is not None:
            gone = f" after {_duration(change.since - previous_since)} offline"
        return f"🟢 {title} is back online{gone} ({_clock(change.since)})."
    return (
        f"🔴 {title} went offline at {_clock(change.since)}. Jobs for it wait until it is "
        "back; /status shows the fleet, /pin another target to move your jobs."
    )


def status_text(
    fleet: Fleet | None,
    unfinished: list[JobRow],
    user_id: int,
    budget: tuple[int, int] | None,
    executor: str,
    seen: dict[str, RunnerSeen] | None = None,
    unreachable: str | None = None,
) -> str:
    """/status: the runners, the queue per target (everyone's), your own active jobs.

    `unreachable`: the sentence saying the runners could not be listed; the runners are then
    shown as the fleet watch last saw them."""
    seen = seen or {}
    lines = [f"Executor: {executor}"]
    if unreachable is not None:
        lines.insert(0, unreachable)
        if seen:
            lines.append("Runners when last seen:")
        for last in seen.values():
            since = "since" if last.exact else "since at least"
            state = "online" if last.online else "offline"
            lines.append(f"• {last.name}: {state} {since} {_clock(last.since)}")
    elif fleet is None:
        lines.append("Runners: this machine runs every target (local executor)")
    elif not fleet.runners:
        lines.append("Runners: none registered")
    else:
        lines.append("Runners:")
        for r in fleet.runners:
            state = "busy" if r.online and r.busy else ("online" if r.online else "offline")
            known = seen.get(r.name)
            if known is not None and known.online == r.online and known.exact:
                state += f" since {_clock(known.since)}"
            lines.append(f"• {r.name}: {state} — {', '.join(sorted(r.labels))}")
    queue: dict[str, int] = {}
    for row in unfinished:
        if not row.text_delivered:  # a job sending its files holds no runner
            queue[row.target or "?"] = queue.get(row.target or "?", 0) + 1
    lines.append("Queue: " + (", ".join(f"{t}: {n}" for t, n in sorted(queue.items())) or "empty"))
    mine = [f"{r.id} ({r.state})" for r in unfinished if r.user_id == user_id]
    lines.append("Your active jobs: " + (", ".join(mine) or "none"))
    if budget is not None:
        lines.append(f"GitHub API budget: {budget[0]} of {budget[1]} left this hour")
    return "\n".join(lines)


def _clock(at: float) -> str:
    return time.strftime("%H:%M", time.localtime(at))


def _duration(seconds: float) -> str:
    minutes = max(int(seconds // 60), 0)
    return f"{minutes} min" if minutes < 120 else f"{minutes // 60} h {minutes % 60} min"


def _source(source: str, limit: int = 80) -> str:
    """A link as sent (shortened); an upload or an earlier job as what it is to the user."""
    if source.startswith("tg:"):
        return "the file you sent"
    if source.startswith("job:"):
        return f"a summary of job {source.removeprefix('job:')}"
    return _short(source, limit)


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _meta(result_dir: Path) -> dict[str, object]:
    try:
        data = json.loads((result_dir / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
