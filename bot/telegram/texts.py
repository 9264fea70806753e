"""What the bot answers to commands and messages, as pure functions of relayq's own types.
A job's card and the owner's runner notices are worded in `card_texts.py`."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from bot.fleet import Fleet
from bot.languages import language_code, language_name
from bot.ledger import JobRow, Prefs, RunnerSeen
from bot.lifecycle import Answer
from bot.policy import JobRequest, Policy, select
from bot.retention import StateUse
from bot.telegram.card_texts import MAX_MESSAGE, clock, short
from bot.telegram.privacy_texts import private_prefs
from jobs.errors import RelayqError

__all__ = [
    "FORMATS",
    "HELP",
    "MAX_ANSWER",
    "MAX_MESSAGE",
    "cancel_answer",
    "formats_answer",
    "github_down",
    "lang_answer",
    "link_refused",
    "no_room",
    "not_media",
    "not_summarizable",
    "not_translatable",
    "nothing_to_translate",
    "parse_formats",
    "parse_language",
    "pin_refusal",
    "pin_usage",
    "pinnable",
    "prefs_line",
    "refusal",
    "route_blind",
    "route_usage",
    "state_line",
    "status_text",
    "summary_again",
    "translation_again",
    "unknown_command",
    "upload_name",
]

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
    "/find words… — search what was said in your transcripts\n"
    "/get <job> — a transcript sent again, in your formats\n"
    "/forget <job> — a transcript and its files deleted for good\n"
    "/summarize [job] — a summary of a transcript (your latest, or that job's)\n"
    "/translate [job] — a transcript translated to English (your latest, or that job's)\n"
    "/lang auto|CODE — the language your jobs are in: detected, or de, fr, …\n"
    "/formats txt,srt,vtt — what each transcript comes as\n"
    "/private on|off — keep your jobs on your own machines (or #private in one message)\n"
    "/cancel <job> — stop a job"
)
FORMATS = ("txt", "srt", "vtt")
_FORMATS_USAGE = "for example /formats txt,srt (any of txt, srt, vtt)"


def refusal(user_id: int) -> str:
    return (
        f"Sorry, this bot is private. Your Telegram id is {user_id}: ask the owner to add it "
        "to RELAYQ_ALLOWED_USERS."
    )


def route_blind(reason: str) -> str:
    """/route while the runners cannot be seen: the policy's choice without them."""
    return (
        f"{reason}, so I can't see the runners; this is the policy's choice as if each were free:"
    )


def github_down(command: str) -> str:
    """The answer when GitHub does not answer: nothing is lost, ask again later."""
    return (
        "GitHub is not answering right now, so I can't see the runners; your jobs are kept. "
        f"Try {command} again in a minute."
    )


def unknown_command(command: str) -> str:
    return f"I don't know {short(command, 40)}; /help lists what I can do."


def not_media(kind: str, mime_type: str | None = None) -> str:
    """A message the bot cannot transcribe: `kind` is "photo", "document" or anything else."""
    if kind == "photo":
        return f"That is a photo, and I transcribe speech: {_SEND_MEDIA}."
    if kind == "document":
        what = f" ({short(mime_type, 60)})" if mime_type else ""
        return f"That file{what} is not audio or video: {_SEND_MEDIA}."
    return f"I can't transcribe that: {_SEND_MEDIA}."


def route_usage(args: list[str], kinds: list[str]) -> str:
    given = short(" ".join(args), 40)
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


def pin_usage(policy: Policy, args: list[str], pinned: str | None) -> str:
    """/pin without one target it knows: the pin there is now, what was wrong, and the
    choices."""
    able = pinnable(policy)
    choices = (f"Pin one of: {', '.join(able)} — for example /pin {able[0]}" if able
               else "This policy allows no pins; the policy chooses.")  # fmt: skip
    if len(args) == 1:
        return f"{short(args[0], 30)!r} is not a target you can pin. {choices}"
    if pinned in policy.targets:
        name = policy.targets[pinned].description
        return (
            f"Your jobs are pinned to {pinned} ({name}); /unpin lets the policy choose. {choices}"
        )
    return f"No pin: the policy chooses where your jobs run. {choices}"


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
    return _made_again("summary", "/summarize", "Summarizing", transcript_id, summary)


def nothing_to_translate(*, english: bool) -> str:
    """/translate with no job named and none of the person's transcripts in another language;
    `english`: they have transcripts, all heard as English."""
    if english:
        return ("Your recent transcripts were all heard as English, so there is nothing to "
                "translate; send audio in another language, or /translate <job id>.")  # fmt: skip
    return "There is no finished transcript to translate yet."


def translation_again(transcript_id: str, translation: JobRow) -> str:
    """The answer to the Translate button and /translate: the job it made, as it stands."""
    return _made_again("translation", "/translate", "Translating", transcript_id, translation)


def _made_again(noun: str, command: str, doing: str, transcript_id: str, made: JobRow) -> str:
    if made.state == "failed":
        why = short(made.detail.rstrip(". ") or "no reason recorded", 80)
        return (
            f"The {noun} of job {transcript_id} failed: {why}. "
            f"Send {command} {transcript_id} to try again."
        )
    if made.state == "cancelled":
        return (
            f"The {noun} of job {transcript_id} was cancelled; "
            f"send {command} {transcript_id} to make another."
        )
    if made.text_delivered:
        return f"The {noun} of job {transcript_id} is job {made.id}, already in this chat."
    return f"{doing} job {transcript_id} as job {made.id}."


def parse_language(args: list[str]) -> str | None:
    """/lang's argument as a code; "auto" as ""; None when it is not one (see lang_answer)."""
    if len(args) != 1:
        return None
    if args[0].lower() == "auto":
        return ""
    return language_code(args[0])


def lang_answer(args: list[str], chosen: str | None, prefs: Prefs) -> str:
    """The answer to /lang: what is set now, or why `args` is not a language. `chosen` is
    parse_language(args)."""
    if not args:
        return (f"Your language: {_language(prefs.language)}. Set it with /lang CODE (de, fr, "
                "es, …), or /lang auto to detect it for each job.")  # fmt: skip
    if chosen is None:
        given = short(" ".join(args), 30)
        return (f"/lang wants a language code such as de or fr, or auto; {given!r} is not a "
                "language Whisper knows.")  # fmt: skip
    if not chosen:
        return "Language: auto — each new job's language is detected."
    return (f"Language: {_language(chosen)} — your new jobs are transcribed as "
            f"{language_name(chosen)}. /lang auto to detect it again.")  # fmt: skip


def parse_formats(args: list[str]) -> tuple[str, ...] | str:
    """/formats' argument ("txt,srt", "srt vtt") as the formats in their usual order, or the
    sentence saying what was wrong."""
    said = [part.strip().lower().lstrip(".") for part in " ".join(args).replace(",", " ").split()]
    if not said:
        return f"/formats needs at least one format; {_FORMATS_USAGE}."
    wrong = [part for part in said if part not in FORMATS]
    if wrong:
        return f"/formats takes txt, srt and vtt, not {short(wrong[0], 20)!r}; {_FORMATS_USAGE}."
    return tuple(f for f in FORMATS if f in said)


def formats_answer(formats: tuple[str, ...], changed: bool) -> str:
    listed = ", ".join(formats)
    if not changed:
        return f"Your transcripts come as: {listed}. Choose with /formats, {_FORMATS_USAGE}."
    return f"Your new transcripts come as: {listed}."


def prefs_line(prefs: Prefs) -> str:
    """/status: the person's defaults for new jobs."""
    return (f"Your defaults: language {_language(prefs.language)} · files "
            f"{', '.join(prefs.formats)}{private_prefs(prefs.private)}")  # fmt: skip


def _language(code: str | None) -> str:
    if not code:
        return "auto (detected)"
    return f"{language_name(code) or code} ({code})"


def status_text(
    fleet: Fleet | None,
    unfinished: list[JobRow],
    user_id: int,
    budget: tuple[int, int] | None,
    executor: str,
    seen: dict[str, RunnerSeen] | None = None,
    unreachable: str | None = None,
    prefs: Prefs | None = None,
    speeds: Sequence[str] = (),
    use: StateUse | None = None,
) -> str:
    """/status: the runners, their speeds, the queue per target (everyone's), your own active
    jobs; and for the owner (`use`), the state directory's disk use.

    `unreachable`: the sentence saying the runners could not be listed; the runners are then
    shown as the fleet watch last saw them. `speeds`: bot/render.py's speed_lines."""
    seen = seen or {}
    lines = [f"Executor: {executor}"]
    if unreachable is not None:
        lines.insert(0, unreachable)
        if seen:
            lines.append("Runners when last seen:")
        for last in seen.values():
            since = "since" if last.exact else "since at least"
            state = "online" if last.online else "offline"
            lines.append(f"• {last.name}: {state} {since} {clock(last.since)}")
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
                state += f" since {clock(known.since)}"
            lines.append(f"• {r.name}: {state} — {', '.join(sorted(r.labels))}")
    lines += speeds
    queue: dict[str, int] = {}
    for row in unfinished:
        if not row.text_delivered:  # a job sending its files holds no runner
            queue[row.target or "?"] = queue.get(row.target or "?", 0) + 1
    lines.append("Queue: " + (", ".join(f"{t}: {n}" for t, n in sorted(queue.items())) or "empty"))
    mine = [f"{r.id} ({r.state})" for r in unfinished if r.user_id == user_id]
    lines.append("Your active jobs: " + (", ".join(mine) or "none"))
    lines.append(prefs_line(prefs or Prefs()))
    if budget is not None:
        lines.append(f"GitHub API budget: {budget[0]} of {budget[1]} left this hour")
    if use is not None:
        lines.append(state_line(use))
    return "\n".join(lines)


def state_line(use: StateUse) -> str:
    """/status, the owner's: "State: 1.2 GB in 340 job folders · kept 30 days"."""
    folders = "1 job folder" if use.folders == 1 else f"{use.folders} job folders"
    kept = "kept forever" if use.keep_days <= 0 else f"kept {_days(use.keep_days)}"
    return f"State: {_size(use.bytes)} in {folders} · {kept}"


def _days(n: int) -> str:
    return "1 day" if n == 1 else f"{n} days"


def _size(n: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"


def upload_name(kind: str, file_name: str | None) -> str:
    """What the person calls a file they sent: its own name, cleaned of direction marks,
    invisible characters and any folder part; else what it is ("your voice message")."""
    name = "".join(c for c in file_name or "" if unicodedata.category(c)[0] not in "CZ" or c == " ")
    name = short(" ".join(re.split(r"[/\\]", name)[-1].split()), 60)
    if name.strip(". "):
        return name
    return {"voice": "your voice message", "video_note": "your video message",
            "audio": "the audio you sent", "video": "the video you sent"}.get(
        kind, "the file you sent")  # fmt: skip


def cancel_answer(answer: Answer, job_id: str, row: JobRow | None = None) -> str:
    """The answer to /cancel and the Cancel button."""
    if answer is Answer.ENDED and row is not None:
        return f"Job {job_id} has already ended ({row.state})."
    return {
        Answer.NO_SUCH_JOB: _no_such_job(job_id),
        Answer.ENDED: f"Job {job_id} has already ended.",
        Answer.CANCELLED: f"Job {job_id} cancelled.",
        Answer.CANCELLING: f"Cancelling job {job_id}…",
    }.get(answer, f"Job {job_id}: {answer}.")


def not_summarizable(answer: Answer, job_id: str) -> str:
    """Why job `job_id` cannot be summarized."""
    if answer is Answer.NO_SUCH_JOB:
        return _no_such_job(job_id)
    if answer is Answer.FORGOTTEN:
        return f"Job {job_id} was forgotten with /forget, so there is nothing to summarize."
    if answer is Answer.NO_SPEECH:
        return f"Job {job_id} found no speech, so there is nothing to summarize."
    return f"Job {job_id} is not a delivered transcript; summarize one that is done."


def not_translatable(answer: Answer, job_id: str) -> str:
    """Why job `job_id` cannot be translated to English."""
    if answer is Answer.NO_SUCH_JOB:
        return _no_such_job(job_id)
    if answer is Answer.FORGOTTEN:
        return f"Job {job_id} was forgotten with /forget, so there is nothing to translate."
    if answer is Answer.NO_SPEECH:
        return f"Job {job_id} found no speech, so there is nothing to translate."
    if answer is Answer.ENGLISH:
        return f"Job {job_id} is already in English; there is nothing to translate."
    return f"Job {job_id} is not a delivered transcript; translate one that is done."


def link_refused(why: str) -> str:
    """A link no runner would fetch (the runner's own sentence), refused before any job."""
    return f"{why[:1].upper()}{why[1:]}."


def no_room(why: str) -> str:
    """A message that could not be recorded for want of disk space (it is kept)."""
    return f"I can't take that right now: {why}. Your message is kept; I take it then."


def _no_such_job(job_id: str) -> str:
    return f"There is no job {short(job_id, 40)}; /jobs lists yours."
