"""Private jobs in Telegram's words: /private, `#private` in a message, and the line a
delivered private job carries. Pure functions; the rules are in docs/PRIVACY.md."""

from __future__ import annotations

import re

from bot.chat import Card

__all__ = ["PRIVATE_USAGE", "has_private_tag", "parse_private", "private_answer",
           "private_line", "private_prefs"]  # fmt: skip

# `#private` as a word of its own, anywhere in a message's text or an upload's caption (after
# a space or an opening bracket or quote: a link's own `#private` fragment is not it).
_TAG = re.compile(r"(?<![^\s(\[{\"'«])#private(?![\w-])", re.IGNORECASE)
_ON = ("on", "yes", "true", "1")
_OFF = ("off", "no", "false", "0")
PRIVATE_USAGE = (
    "/private takes on or off: /private on keeps every new job on your own machines (the "
    "local model, never OpenAI or OpenRouter), /private off lets the policy send them anywhere; "
    "#private in a message does it for that one job."
)
_WHAT = ("they run only on your self-hosted runners with the local model, never OpenAI or "
         "OpenRouter, and a summary only with an LLM server on your own network")  # fmt: skip


def has_private_tag(text: str | None) -> bool:
    """Whether a message (or an upload's caption) marks its job private with `#private`."""
    return bool(text) and _TAG.search(text or "") is not None


def parse_private(args: list[str]) -> bool | None:
    """/private's argument as on (True) or off (False); None when it is neither."""
    if len(args) != 1:
        return None
    said = args[0].strip().lower()
    return True if said in _ON else False if said in _OFF else None


def private_answer(args: list[str], chosen: bool | None, now: bool) -> str:
    """The answer to /private: what is set (`now`), or why `args` is neither on nor off."""
    if not args:
        state = "on: your new jobs are private —" if now else "off: your jobs go where the policy"
        tail = f" {_WHAT}." if now else " sends them. /private on to keep them on your machines."
        return f"Private is {state}{tail}"
    if chosen is None:
        return f"/private wants on or off, not {_short(' '.join(args))!r}. {PRIVATE_USAGE}"
    if chosen:
        return (f"🔒 Private on: your new jobs stay on your machines — {_WHAT}. "
                "/private off stops it.")  # fmt: skip
    return ("Private off: your new jobs go where the policy sends them (#private in a message "
            "keeps that one on your machines).")  # fmt: skip


def private_prefs(private: bool) -> str:
    """/status' part of the defaults line: said only when on."""
    return " · 🔒 private (/private off to stop)" if private else ""


def private_line(card: Card) -> str | None:
    """The delivered message's line for a private job: "🔒 stayed on your machines · Mac
    mini", when the runner's results say the job was kept on it; a warning when they do not
    (a result made before the runner knew of private jobs); None for an ordinary job."""
    if not card.job.private or card.result is None:
        return None
    meta = card.result.meta
    if meta.get("private") is not True:
        return "⚠️ asked to stay private, but the runner's results do not say it did"
    host = meta.get("host")
    where = "this machine" if card.local else card.machine or (host if isinstance(host, str)
                                                               else "your runner")  # fmt: skip
    return f"🔒 stayed on your machines · {where}"


def _short(text: str, limit: int = 30) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
