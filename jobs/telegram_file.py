"""A file sent to the bot, fetched on the runner: `tg:<file_id>` → `getFile` → the file.

The bot hands runners only the `file_id`, which is useless without the bot token; the runner
holds the token as the `TELEGRAM_BOT_TOKEN` Actions secret (docs/DECISIONS.md, D15). Both
Bot API URLs contain the token, so they go only to the safe downloader, whose messages print
links through `safe_url` (which hides it). Nothing here ever formats the token into text.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path
from urllib.parse import quote

from jobs.errors import ConfigError, SourceUnreachable, UsageError
from jobs.fetch import AllowPrivate, BadStatus, FetchResult, fetch
from jobs.fetch.download import OnBytes

__all__ = ["UNNAMED_UPLOAD", "UPLOAD_PREFIX", "fetch_upload", "is_upload"]

UPLOAD_PREFIX = "tg:"
UNNAMED_UPLOAD = "the file you sent"  # what sentences call an upload the user gave no name
# Telegram's file ids are URL-safe base64; anything else is not one.
_FILE_ID = re.compile(r"[A-Za-z0-9_-]{1,200}")
_TOKEN = re.compile(r"\d+:[\w-]+")
_ANSWER_LIMIT = 64 * 1024


def is_upload(source: str) -> bool:
    return source.startswith(UPLOAD_PREFIX)


def fetch_upload(
    source: str,
    dest_dir: Path,
    *,
    token: str | None,
    api_base: str,
    max_bytes: int,
    timeout_s: float,
    allow: AllowPrivate,
    name: str = UNNAMED_UPLOAD,
    on_bytes: OnBytes = lambda _done, _total: None,
) -> FetchResult:
    """Download the upload named by `source` (`tg:<file_id>`) into `dest_dir`; `name` is what
    the sentences call it (never Telegram's own file path, nor a link holding the token)."""
    file_id = source.removeprefix(UPLOAD_PREFIX)
    if not _FILE_ID.fullmatch(file_id):
        raise UsageError(
            "that is not a Telegram file id (tg: followed by letters, digits, - and _); "
            "send the file to the bot again"
        )
    if not token:
        raise ConfigError(
            "TELEGRAM_BOT_TOKEN is not set on this runner, so it cannot fetch files sent to "
            "the bot; add it as an Actions secret (docs/SETUP_OCI_TRIGGER.md) or send a link"
        )
    if not _TOKEN.fullmatch(token):
        raise ConfigError(
            "TELEGRAM_BOT_TOKEN on this runner does not look like a bot token (digits, a "
            "colon, then letters); copy it again from @BotFather"
        )
    base = api_base.rstrip("/")
    deadline = time.monotonic() + timeout_s
    answer_dir = dest_dir / "getfile"
    try:
        answer = fetch(
            f"{base}/bot{token}/getFile?file_id={quote(file_id)}",
            answer_dir,
            max_bytes=_ANSWER_LIMIT,
            timeout_s=timeout_s,
            allow=allow,
            name=f"Telegram's answer about {name}",
        )
        file_path = _file_path(answer.path.read_bytes())
    except BadStatus as err:
        raise _refusal(err.status) from None
    finally:
        shutil.rmtree(answer_dir, ignore_errors=True)
    return fetch(
        f"{base}/file/bot{token}/{quote(file_path)}",
        dest_dir,
        max_bytes=max_bytes,
        timeout_s=max(deadline - time.monotonic(), 1.0),
        allow=allow,
        name=name,
        on_bytes=on_bytes,
    )


def _refusal(status: int) -> SourceUnreachable | ConfigError:
    if status in (401, 404):
        # The Bot API answers 401 (or 404 for a malformed one) when the token is wrong.
        return ConfigError(
            f"Telegram refused this runner's TELEGRAM_BOT_TOKEN (HTTP {status}); set the "
            "Actions secret to the bot's current token (docs/RUNBOOK.md, rotating secrets)"
        )
    if status == 400:
        return SourceUnreachable(
            "Telegram no longer offers this upload, or it is over 20 MB; send the file again "
            "or send a link to it"
        )
    return SourceUnreachable(
        f"Telegram answered HTTP {status} when asked for the upload; try again later"
    )


def _file_path(body: bytes) -> str:
    try:
        answer = json.loads(body)
        result = answer["result"] if answer.get("ok") else None
    except (ValueError, AttributeError, KeyError, TypeError):
        result = None
    if not isinstance(result, dict):
        raise SourceUnreachable(
            "Telegram's getFile gave no usable answer for the upload; send the file again"
        )
    file_path = result.get("file_path")
    if not isinstance(file_path, str) or not file_path:
        raise SourceUnreachable(
            "Telegram offers no download for this upload (files over 20 MB have none); "
            "send a link to the file instead"
        )
    if file_path.startswith("/") or ".." in file_path.split("/"):
        # A local Bot API server in --local mode answers with a path on its own disk.
        raise ConfigError(
            "the Bot API server answered with a path on its own disk (--local mode), which "
            "runners cannot read; run it without --local for runners, or send a link"
        )
    return file_path
