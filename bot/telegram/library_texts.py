"""The library's words: /find's matches and their buttons, /get's answers, /jobs. Pure
functions of relayq's own types (bot/library.py, bot/lifecycle/shelf.py)."""

from __future__ import annotations

import time
from collections.abc import Mapping

from bot.chat import Again
from bot.ledger import JobRow
from bot.library import MAX_TERMS, Shelved
from bot.lifecycle import Answer, Forgot, Search
from bot.telegram.card_texts import MAX_MESSAGE, Button, short, source_label

__all__ = ["FIND_USAGE", "FORGET_USAGE", "GET_USAGE", "again_text", "forget_answer", "forgot_text",
           "found_text", "get_answer", "jobs_text", "length", "not_owner"]  # fmt: skip

FIND_USAGE = "Say what to look for: /find words… (for example /find budget meeting)."
GET_USAGE = "Say which transcript: /get <job id> (see /jobs or /find)."
FORGET_USAGE = "Say which job to forget: /forget <job id> (see /jobs or /find)."


def found_text(search: Search) -> tuple[str, list[Button]]:
    """/find's answer: the matches, best first, each with its date, title and the words
    around the hit, and a button that sends it again."""
    asked = short(" ".join(search.words.split()), 60)
    whose = "anyone's transcripts" if search.everyone else "your transcripts"
    if not search.found:
        return (f"Nothing in {whose} matches {asked!r}. Try fewer or other words; /jobs "
                "lists your recent jobs.", [])  # fmt: skip
    lines = [f"Found in {whose} ({len(search.found)}, best first):"]
    if search.left_out:
        lines.append(f"(only the first {MAX_TERMS} words were searched for)")
    buttons: list[Button] = []
    for n, found in enumerate(search.found, start=1):
        shelved = found.shelved
        who = f" · user {shelved.user_id}" if search.everyone else ""
        lines.append("")
        lines.append(f"{n}. {_title(shelved, 70)}")
        lines.append(f"{_facts(shelved)}{who} · /get {shelved.job_id}")
        lines.append(short(found.snippet, 300))
        buttons.append((f"Get {n}: {_title(shelved, 24)}", f"get:{shelved.job_id}"))
    text = "\n".join(lines)
    return (text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"), buttons


def again_text(again: Again) -> str:
    """The line above a transcript's files sent again."""
    shelved = again.shelved
    line = f"📄 {_title(shelved, 80)}\n{_facts(shelved)} · job {shelved.job_id}, sent again"
    if again.text is not None:
        line += "\nIts files are no longer kept here; this is its text."
    return line


def get_answer(answer: Answer | Again, job_id: str) -> str:
    """What /get (or its button) says: that the files are on their way, or why not."""
    job = short(job_id, 40)
    if isinstance(answer, Again):
        if answer.text is not None:
            return (f"Sending job {job} again: transcript.txt, from its text (its files are no "
                    "longer kept here).")  # fmt: skip
        names = ", ".join(p.name for p in answer.files)
        return f"Sending job {job} again: {names}."
    if answer is Answer.NOT_YET:
        return f"Job {job} is not delivered yet; /get sends it again once it is."
    if answer is Answer.FILES_GONE:
        return f"Job {job}'s files are no longer kept here, so it cannot be sent again."
    if answer is Answer.NOT_A_TRANSCRIPT:
        return f"Job {job} is not a delivered transcript; /jobs lists yours."
    if answer is Answer.NO_SPEECH:
        return f"Job {job} has nothing in the formats you chose (no speech was found); /formats."
    if answer is Answer.FORGOTTEN:
        return f"Job {job} was forgotten with /forget; nothing of it is kept to send."
    return f"There is no job {job} of yours; /jobs and /find list yours."


def forget_answer(answer: Answer, job_id: str) -> str:
    """Why /forget forgot nothing: one sentence each, someone else's job the same as none."""
    job = short(job_id, 40)
    if answer is Answer.NOT_A_JOB_ID:
        return ("That is not a job id (they look like 20261124-093012-3f9a1c); /jobs lists "
                "yours.")  # fmt: skip
    if answer is Answer.STILL_RUNNING:
        return (f"Job {job} (or a summary of it) is still on its way; stop it with /cancel "
                f"{job} first, then /forget it.")  # fmt: skip
    if answer is Answer.FORGOTTEN:
        return f"Job {job} is already forgotten; nothing of it is kept."
    return get_answer(Answer.NO_SUCH_JOB, job_id)  # the same words as /get's


def forgot_text(forgot: Forgot) -> str:
    """What /forget deleted, then what it could not."""
    gone = []
    if forgot.transcript:
        gone.append("the transcript")
    if forgot.files:
        gone.append(f"its {forgot.files} file{'s' if forgot.files != 1 else ''}")
    if forgot.cached:
        gone.append("the cached transcript")
    if forgot.audio:
        gone.append("the copy of your audio")
    if forgot.summaries:
        gone.append("its summary" if forgot.summaries == 1 else f"its {forgot.summaries} summaries")
    if forgot.artifacts:
        gone.append("the run's artifact on GitHub")
    gone.append("its words in your job list")
    lines = [f"Forgot {short(forgot.title, 80)}: {_listed(gone)}."]
    if forgot.artifact_refused:
        lines.append(forgot.artifact_refused[:1].upper() + forgot.artifact_refused[1:] + ".")
    if forgot.runner_cache:
        lines.append(f"The copy in the {forgot.runner_cache}'s own transcript cache is not "
                     "deleted from here; the runner's retention (RELAYQ_KEEP_DAYS) removes "
                     "it.")  # fmt: skip
    lines.append("The messages already in this chat stay; delete them in Telegram too if you "
                 "want them gone.")  # fmt: skip
    return "\n".join(lines)


def _listed(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def not_owner() -> str:
    return "Only the owner can search everyone's transcripts; /find words… searches yours."


def jobs_text(rows: list[JobRow], shelved: Mapping[str, Shelved], *,
              machines: Mapping[str, str] | None = None, local: bool = False) -> str:  # fmt: skip
    """/jobs: each recent job's title, date, length, state and where it ran: "this machine"
    with the local executor (whatever target the policy chose), else the runner the library
    recorded or the target's friendly name (`machines`: target → "Mac mini")."""
    if not rows:
        return "No jobs yet. Send me a link to audio."
    lines = ["Your recent jobs:"]
    for row in rows:
        kept = shelved.get(row.id)
        title = _title(kept, 60) if kept else source_label(row, 60)
        if kept is None and row.task == "translate":
            title += " (translation)"
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(row.created_at))
        seconds = kept.duration_s if kept else None
        if seconds is None and row.duration_min is not None:
            seconds = row.duration_min * 60
        if local:
            where: str | None = "this machine"
        else:
            named = (machines or {}).get(row.target or "", row.target)
            where = (kept.runner if kept else None) or named
        facts = [row.id, when, length(seconds), row.state + (f" on {where}" if where else "")]
        lines.append(f"• {title}")
        lines.append("  " + " · ".join(f for f in facts if f))
    return "\n".join(lines)


def length(seconds: float | None) -> str:
    """ "42 s", "12 min", "1 h 05 min"; "" when not known."""
    if seconds is None or seconds < 0:
        return ""
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"


def _title(shelved: Shelved, limit: int) -> str:
    translated = " (translation)" if shelved.task == "translate" else ""
    return short(shelved.title, limit - len(translated)) + translated


def _facts(shelved: Shelved) -> str:
    """ "2026-05-03 · 12 min · Mac mini · de" """
    when = time.strftime("%Y-%m-%d", time.localtime(shelved.delivered_at))
    facts = [when, length(shelved.duration_s), shelved.runner or "", shelved.language or ""]
    return " · ".join(f for f in facts if f)
