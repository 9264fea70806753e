"""The wording for the NAS copy (RELAYQ_NAS_DIR, jobs/nas.py): a line in the delivered
message when the runner could not make it, and the owner's one notice. A copy that worked
is not mentioned: the chat stays quiet."""

from __future__ import annotations

from bot.chat import NasNotice, Result

__all__ = ["nas_line", "nas_notice_text"]

_REASON_MAX = 160


def nas_line(result: Result) -> str | None:
    """ "⚠️ not copied to the NAS: the NAS is full"; None when it was copied, or the runner
    has no NAS."""
    reason = result.nas_failure
    return f"⚠️ not copied to the NAS: {_short(reason)}" if reason else None


def nas_notice_text(notice: NasNotice) -> str:
    """The owner's notice, once per runner and reason until a copy works again."""
    if notice.local:
        where = f"this machine ({notice.host})" if notice.host else "this machine"
    elif notice.machine:
        where = f"{notice.machine} ({notice.host})" if notice.host else notice.machine
    else:
        where = notice.host or "a runner"
    return (
        f"⚠️ NAS copy failed on {where}: job {notice.job_id} — {_short(notice.reason)}. "
        "The transcript was delivered; only its copy on the NAS is missing. You hear this "
        "once, until a copy there works again."
    )


def _short(text: str) -> str:
    return text if len(text) <= _REASON_MAX else text[: _REASON_MAX - 1] + "…"
