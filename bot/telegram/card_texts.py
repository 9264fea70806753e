"""A job's card in Telegram's words: its progress, its result, its buttons; and the owner's
notices about runners. Pure functions of the chat port's types (`bot/chat.py`)."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from pathlib import Path

from bot.chat import Card, InLine, Result, RunnerNotice, UserLimit, Waiting
from bot.executors.base import Phase
from bot.languages import language_name
from bot.ledger import JobRow, RunnerSeen
from bot.policy.quickest import about
from bot.telegram.nas_texts import nas_line
from bot.telegram.privacy_texts import private_line
from jobs.progress import ProgressRecord, about_left

__all__ = [
    "MAX_MESSAGE",
    "Button",
    "attachments",
    "card_buttons",
    "card_text",
    "clock",
    "held_lines",
    "language_line",
    "ordinal",
    "progress_line",
    "result_source",
    "result_text",
    "runner_change_text",
    "runner_title",
    "short",
    "source_label",
    "the",
    "waiting_text",
]

MAX_MESSAGE = 4096
Button = tuple[str, str]  # (label, callback data or URL)


def card_text(card: Card, now: float | None = None) -> str:
    """The one message of a job, as it stands."""
    if card.result is not None:
        return result_text(card)[0]
    row, state, decision = card.job, card.state, card.decision
    what = " · translation to English" if row.task == "translate" else ""
    lines = [f"🎧 job {row.id}{what}", source_label(row)]
    if decision is not None and card.local:
        lines.append("→ this machine (the local executor runs every job here)")
        lines.append(f"with GitHub the policy would choose {decision.target} "
                     f"({decision.description}) via {decision.workflow}")  # fmt: skip
    elif decision is not None:
        lines.append(f"→ {decision.target} ({decision.description}) via {decision.workflow}")
        lines.append(decision.summary)
    elif card.local and row.target:
        lines.append("→ this machine")
    elif row.target:
        lines.append(f"→ {row.target}")
    if state is None and card.held is not None:
        lines.extend(held_lines(card.held, local=card.local))
    elif state is None:
        lines.append("accepted")
    elif state.phase is Phase.QUEUED and card.retry_in_s is not None:
        lines.append(f"⏳ {state.detail} — relayq tries again in {card.retry_in_s:.0f} s")
    elif state.phase is Phase.QUEUED and card.waiting is not None:
        lines.append(f"⏳ {_waiting_line(card.waiting)}")
        lines.append("" if card.local else "in GitHub's queue")
    elif state.phase is Phase.QUEUED:
        lines.append(f"⏳ {state.detail} (since {clock(state.at)})")
        lines.append("" if card.local else "in GitHub's queue")
    elif state.phase is Phase.RUNNING and state.progress is not None and state.progress.sensible:
        lines.append(f"⚙️ {progress_line(state.progress, _where(card), row.task)}")
    elif state.phase is Phase.RUNNING:
        elapsed = (now or time.time()) - row.created_at
        lines.append(f"⚙️ {state.detail} — {elapsed / 60:.0f} min")
    elif state.phase is Phase.FAILED and card.sent_on is not None:
        lines.append(f"↪️ {state.detail}")  # not a failure: the job goes on as another
    elif state.phase is Phase.FAILED:
        lines.append(f"❌ failed: {state.detail}")
    elif state.phase is Phase.CANCELLED:
        lines.append("✖️ cancelled")
    return "\n".join(line for line in lines if line)


def held_lines(held: InLine | UserLimit, *, local: bool = False) -> list[str]:
    """A job waiting in relayq's own queue: "⏳ 2nd in line for the Mac mini · starts in
    about 4 min · done in about 11 min (first job on this runner)", or why its user's limit
    holds it; then where it waits."""
    if isinstance(held, InLine):
        parts = [f"⏳ {ordinal(held.position)} in line for {the(held.machine)}"]
        if held.start_in_s is not None:
            parts.append("starts now" if held.start_in_s < 30 else
                         f"starts in {about(held.start_in_s)}")  # fmt: skip
        if held.finish_in_s is not None:
            parts.append(f"done in {about(held.finish_in_s)}")
        said = " · ".join(parts) + (f" ({held.note})" if held.note else "")
    else:
        said = f"⏳ waiting: {_limit_text(held)}"
    where = "held in relayq's queue" + ("" if local else ", not yet sent to GitHub")
    return [said, where]


def _limit_text(held: UserLimit) -> str:
    at_most = f"(at most {held.limit} at a time)"
    running = f"{held.running} job{'s' * (held.running != 1)} running"
    if held.ahead == 0 or held.running >= held.limit:
        return f"you have {running} {at_most}"
    if held.running == 0:
        earlier = "earlier job goes" if held.ahead == 1 else f"{held.ahead} earlier jobs go"
        return f"your {earlier} first {at_most}"
    return f"you have {running} and {held.ahead} more in line before this one {at_most}"


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, 11th, 12th, 13th, 21st."""
    tail = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{tail}"


_DOING = {"download": "downloading", "decode": "decoding", "transcribe": "transcribing",
          "outputs": "writing the files"}  # fmt: skip


def progress_line(record: ProgressRecord, where: str, task: str = "transcribe") -> str:
    """ "transcribing on the Mac mini · 42 % · about 3 min left": what the runner last said.
    The percentage is of the phase; decoding and writing the files say none (each is one
    step, over in moments)."""
    doing = _DOING.get(record.phase, "working")
    if record.phase == "transcribe" and task == "translate":
        doing = "translating"
    parts = [f"{doing} {where}".strip()]
    if record.phase in ("download", "transcribe") or 0 < record.fraction < 1:
        parts.append(f"{record.percent} %")
    left = record.left_s
    if left is not None and math.isfinite(left) and left >= 0:
        parts.append(about_left(left))
    return " · ".join(parts)


def _where(card: Card) -> str:
    """Where a running job runs, as its card says it: "on this machine" (the local executor
    runs every job here), "on the Mac mini"."""
    if card.local:
        return "on this machine"
    if card.machine:
        return f"on {the(card.machine)}"
    return f"on {card.job.target}" if card.job.target else ""


def card_buttons(card: Card) -> list[Button]:
    """Cancel while the job runs; Summarize under a transcript with speech, and Translate to
    English under one heard in another language; the run's link."""
    url = card.result.run_url if card.result else (card.state.url if card.state else None)
    url = url or card.job.run_url
    link = [("Open run", url)] if url else []
    if card.result is not None:
        result = card.result
        summarize = result.kind == "transcribe" and not result.no_speech
        translate = (summarize and card.job.task != "translate"
                     and result.meta.get("task") != "translate"
                     and result.heard is not None and result.heard != "en")  # fmt: skip
        return ([("Summarize", f"sum:{card.job.id}")] * summarize
                + [("Translate to English", f"tr:{card.job.id}")] * translate + link)  # fmt: skip
    if card.state is not None and card.state.phase.terminal:
        return link
    return [("Cancel", f"cancel:{card.job.id}"), *link]


def result_text(card: Card) -> tuple[str, bool]:
    """The delivered message; the bool says whether the text fits in it (else it follows as
    a file)."""
    result = card.result
    assert result is not None
    row, meta = card.job, result.meta
    what = {"summarize": " (summary)"}.get(row.kind, " (translation)" * (row.task == "translate"))
    facts = [f"✅ job {row.id} done{what}", result_source(row, meta)]
    host = meta.get("host")
    named = "this machine" if card.local else card.machine  # the runner's friendly name
    where = f"{named} ({host})" if named and host else named or host or "?"
    if meta and row.kind == "summarize":
        facts.append(f"{meta.get('backend', '?')} {meta.get('model', '?')} · {where}")
    elif meta:
        rtf = meta.get("real_time_factor")
        facts.append(
            f"{result.duration_s or 0:.0f} s of audio · {meta.get('backend')} "
            f"{meta.get('model')} · {where}" + (f" · RTF {float(str(rtf)):.2f}" if rtf else "")
        )
    said = language_line(meta) if row.kind == "transcribe" else None
    if said:
        facts.append(said)
    kept = private_line(card)
    if kept:
        facts.append(kept)
    not_copied = nas_line(result)
    if not_copied:
        facts.append(not_copied)
    facts.extend(fallback_lines(result))
    if result.run_url:
        facts.append(result.run_url)
    head = "\n".join(facts)
    if result.no_speech:
        heard = f" in {result.duration_s:.0f} s of audio" if result.duration_s else ""
        return f"{head}\n\n🔇 no speech found{heard}", True
    if result.kind == "transcribe" and "txt" not in row.result_formats:
        chosen = ", ".join(f"transcript.{f}" for f in row.result_formats)
        return f"{head}\n\nThe text is in {chosen} below (/formats chooses).", True
    text = f"{head}\n\n{result.text}"
    if len(text) <= MAX_MESSAGE:
        return text, True
    return f"{head}\n\nThe text is long: it is in {result.text_file.name} below.", False


def attachments(card: Card) -> list[Path]:
    """The files that follow a delivered card: the text when it did not fit in it, then the
    subtitle formats the person chose (/formats: srt, vtt) that have something in them. The
    text itself ("txt") is the card's, or its file when it is too long for a message."""
    result = card.result
    if result is None:
        return []
    files = [] if result_text(card)[1] else [result.text_file]
    if result.kind == "transcribe":
        chosen = (result.made(f) for f in ("srt", "vtt") if f in card.job.result_formats)
        files.extend(path for path in chosen if path is not None)
    return files


def language_line(meta: Mapping[str, object]) -> str | None:
    """Which language was heard and how, and the model: "Detected: German (94%) · base",
    "Language: French (chosen) · base", "Translated from German to English · base". None
    when meta.json does not say (results from before the runners said it)."""
    code = meta.get("language")
    if not isinstance(code, str) or not code:
        return None
    name = language_name(code) or code
    model = meta.get("model")
    tail = f" · {model}" if isinstance(model, str) and model else ""
    if meta.get("task") == "translate":
        return f"Translated from {name} to English{tail}"
    probability = meta.get("language_probability")
    if isinstance(probability, int | float) and not isinstance(probability, bool):
        return f"Detected: {name} ({probability:.0%}){tail}"
    return f"Language: {name} (chosen){tail}"


def result_source(row: JobRow, meta: Mapping[str, object]) -> str:
    """What the result is of: a media page's title (and uploader) when the runner read them,
    else the source as the person knows it."""
    title = meta.get("title")
    if row.kind != "transcribe" or not isinstance(title, str) or not title.strip():
        return source_label(row)
    uploader = meta.get("uploader")
    uploader = uploader.strip() if isinstance(uploader, str) else ""
    by = f" — {short(uploader, 40)}" if uploader else ""
    return f"{short(' '.join(title.split()), 80)}{by}"


def fallback_lines(result: Result) -> list[str]:
    """One line per backend that failed before the one that made the transcript."""
    failed = result.meta.get("failed")
    if not isinstance(failed, list):
        return []
    done_by = result.meta.get("backend")
    return [
        f"⚠️ {f.get('backend')} failed, so {done_by} did it: {short(str(f.get('error')), 160)}"
        for f in failed
        if isinstance(f, dict)
    ]


def _waiting_line(waiting: Waiting) -> str:
    return waiting_text(the(waiting.machine), waiting.why, waiting.labels, list(waiting.seen),
                        waiting.since)  # fmt: skip


def waiting_text(
    what: str, why: str, labels: tuple[str, ...], seen: list[RunnerSeen], queued_at: float
) -> str:
    """Which machine a queued job waits for, and since when: "waiting for the Mac mini —
    offline since 14:02". `seen` is what the fleet watch knows of the runners that could
    take the job; `queued_at` is when the job started waiting."""
    if why == "none registered":
        return (
            f"waiting for {what} — no runner with labels {', '.join(labels)} is registered "
            f"(since {clock(queued_at)})"
        )
    if why == "none online":
        offline = [r for r in seen if not r.online]
        if not offline:
            return f"waiting for {what} — offline"
        latest = max(offline, key=lambda r: r.since)
        since = "since" if latest.exact else "since at least"
        return f"waiting for {what} — offline {since} {clock(latest.since)}"
    return f"waiting for {what} — busy with another job (since {clock(queued_at)})"


def runner_title(name: str, machine: str | None) -> str:
    """ "Mac mini (mac-mini)": the machine a runner is, when the policy knows it."""
    return f"{machine} ({name})" if machine else name


def runner_change_text(notice: RunnerNotice) -> str:
    """The owner's notice when a runner goes offline or comes back."""
    change = notice.change
    title = runner_title(change.name, notice.machine)
    if change.online:
        gone = ""
        if notice.offline_since is not None:
            gone = f" after {_duration(change.since - notice.offline_since)} offline"
        return f"🟢 {title} is back online{gone} ({clock(change.since)})."
    return (
        f"🔴 {title} went offline at {clock(change.since)}. Jobs for it wait until it is "
        "back; /status shows the fleet, /pin another target to move your jobs."
    )


def the(description: str) -> str:
    """ "the Mac mini", "the pooled audio runners" (already has its article)."""
    return description if description.lower().startswith("the ") else f"the {description}"


def source_label(row: JobRow, limit: int = 80) -> str:
    """A job's source as the person knows it: the link as sent (shortened), the file's own
    name, or what the job is; nothing of a forgotten one."""
    if row.forgotten_at is not None:
        return "(forgotten)"
    if row.source.startswith("tg:"):
        return short(row.source_name or "the file you sent", limit)
    if row.source.startswith("job:"):
        return f"a summary of job {row.source.removeprefix('job:')}"
    return short(row.source, limit)


def clock(at: float) -> str:
    return time.strftime("%H:%M", time.localtime(at))


def _duration(seconds: float) -> str:
    minutes = max(int(seconds // 60), 0)
    return f"{minutes} min" if minutes < 120 else f"{minutes // 60} h {minutes % 60} min"


def short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
