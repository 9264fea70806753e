"""A summary of a transcript through an OpenAI-compatible chat model (OpenAI or OpenRouter).

SOURCE is a transcript file, an earlier job's results folder (its `transcript.txt`), or an
http(s) link to a text file (fetched by the safe downloader). A long transcript is cut at
paragraph and sentence ends into pieces, each piece is summarized, and the pieces' summaries
are combined in one more call (again in pieces if they are long). Writes `summary.md` and
`meta.json`. API keys are only ever handed to the client: no message here includes one, and
the server's own error text (which can echo part of a key) is never printed.
"""

from __future__ import annotations

import contextlib
import json
import platform
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from jobs.apiclient import Provider, explain, make_client, where
from jobs.disk import job_folder, writing_temp
from jobs.errors import (
    BackendFailed,
    ConfigError,
    NotAudio,
    PrivateRefused,
    SourceUnreachable,
    UsageError,
)
from jobs.fetch import NO_PRIVATE, AllowPrivate, check_url, fetch, is_url, looks_like_link, safe_url
from jobs.outputs import check_out_dir, install
from jobs.privacy import home_endpoint_problem

__all__ = ["SUMMARY_FILES", "SummaryConfig", "SummaryOutcome", "split_text", "summarize"]

Progress = Callable[[str], None]
SUMMARY_FILES = ("summary.md", "meta.json")
OPENAI_DEFAULT_MODEL = "gpt-5-mini"
OPENROUTER_DEFAULT_MODEL = "openai/gpt-5-mini"
OPENROUTER_BASE_URL = "https://openrouter.ai/api/v1"
_MAX_TEXT_BYTES = 5_000_000
_SYSTEM_PIECE = (
    "You summarize part of a transcript of spoken audio. Answer with short bullet points in "
    "the transcript's language: the topics, decisions, names and numbers that matter. Do not "
    "invent anything that is not in the text."
)
_SYSTEM_COMBINE = (
    "You are given summaries of consecutive parts of one transcript. Combine them into one "
    "summary of short bullet points, in order, without repeating yourself."
)


@dataclass(frozen=True)
class SummaryConfig:
    model: str | None = None
    openai_api_key: str | None = field(default=None, repr=False)
    openai_base_url: str | None = None
    openrouter_api_key: str | None = field(default=None, repr=False)
    openrouter_base_url: str = OPENROUTER_BASE_URL
    piece_chars: int = 12_000
    download_timeout_s: float = 120.0
    allow_private_urls: AllowPrivate = NO_PRIVATE
    max_retries: int = 4
    timeout_s: float = 120.0
    # A private transcript: only an LLM server the owner declared private (OPENAI_BASE_URL on a
    # home address, jobs/privacy.py), never OpenAI's or OpenRouter's; else PrivateRefused.
    private: bool = False


@dataclass(frozen=True)
class SummaryOutcome:
    out_dir: Path
    backend: str
    model: str
    calls: int
    wall_time_s: float


def summarize(
    source: str, out_dir: Path, config: SummaryConfig, progress: Progress = lambda _: None
) -> SummaryOutcome:
    """Summarize `source` into `out_dir`; raises the RelayqError that says what went wrong."""
    started = time.monotonic()
    check_out_dir(out_dir)
    if config.private:  # before anything is read: a refusal costs nothing
        _check_private(config)
    text, label = _read_source(source, config, progress)
    with _client(config) as (backend, model, chat):
        calls = 0
        if text.strip():
            progress(f"summarize {len(text):,} characters with {model} ({backend})")
            pieces = split_text(text, config.piece_chars)
            summaries = []
            for number, piece in enumerate(pieces, 1):
                if len(pieces) > 1:
                    progress(f"summarize part {number} of {len(pieces)}")
                summaries.append(chat(_SYSTEM_PIECE, piece))
                calls += 1
            while len(summaries) > 1:
                progress(f"combine {len(summaries)} partial summaries")
                groups = split_text("\n\n".join(summaries), config.piece_chars)
                if len(groups) >= len(summaries):
                    # Summaries as long as their pieces (a verbose model) would be combined
                    # forever at no gain: combine them two by two, so every round halves them.
                    pairs = range(0, len(summaries), 2)
                    groups = ["\n\n".join(summaries[i : i + 2]) for i in pairs]
                summaries = [chat(_SYSTEM_COMBINE, group) for group in groups]
                calls += len(groups)
            summary = summaries[0].strip()
        else:
            summary = "(the transcript is empty: nothing was said)"
    meta = {
        "source": label,
        "kind": "summary",
        "backend": backend,
        "model": model,
        "calls": calls,
        "private": config.private,
        "characters": len(text),
        "wall_time_s": round(time.monotonic() - started, 3),
        "host": platform.node(),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    progress("write summary.md")
    install(
        out_dir,
        {"summary.md": summary + "\n", "meta.json": json.dumps(meta, indent=2) + "\n"},
        SUMMARY_FILES,
    )
    return SummaryOutcome(out_dir, backend, model, calls, time.monotonic() - started)


def _check_private(config: SummaryConfig) -> None:
    """A private transcript's summary: refused, with the reason, unless OPENAI_BASE_URL is an
    LLM server the owner declared private (a home address, jobs/privacy.py)."""
    problem = home_endpoint_problem(config.openai_base_url)
    if problem is not None:
        raise PrivateRefused(
            "this transcript is private, so only an LLM server on your own machines may "
            f"summarize it, and {problem}; set OPENAI_BASE_URL on the runner to one (for "
            "example http://127.0.0.1:11434/v1) — nothing was sent"
        )


def split_text(text: str, limit: int) -> list[str]:
    """Pieces of at most `limit` characters, cut at paragraph ends, else sentence ends, else
    spaces; nothing is lost or reordered."""
    pieces: list[str] = []
    current = ""
    for unit in _units(text.strip(), limit):
        joined = f"{current}\n\n{unit}" if current else unit
        if len(joined) <= limit:
            current = joined
        else:
            if current:
                pieces.append(current)
            current = unit
    if current:
        pieces.append(current)
    return pieces


def _units(text: str, limit: int) -> list[str]:
    units = []
    for paragraph in re.split(r"\n\s*\n", text):
        paragraph = " ".join(paragraph.split())
        if len(paragraph) <= limit:
            units.append(paragraph)
            continue
        sentence_run = ""
        for sentence in re.split(r"(?<=[.!?])\s+", paragraph):
            for part in _hard_wrap(sentence, limit):
                joined = f"{sentence_run} {part}" if sentence_run else part
                if len(joined) <= limit:
                    sentence_run = joined
                else:
                    units.append(sentence_run)
                    sentence_run = part
        if sentence_run:
            units.append(sentence_run)
    return [u for u in units if u]


def _hard_wrap(sentence: str, limit: int) -> list[str]:
    parts, line = [], ""
    for word in sentence.split(" "):
        while len(word) > limit:  # one enormous "word": cut it
            if line:
                parts.append(line)
                line = ""
            parts.append(word[:limit])
            word = word[limit:]
        joined = f"{line} {word}" if line else word
        if len(joined) <= limit:
            line = joined
        else:
            parts.append(line)
            line = word
    if line:
        parts.append(line)
    return parts


def _read_source(source: str, config: SummaryConfig, progress: Progress) -> tuple[str, str]:
    if looks_like_link(source) and (is_url(source) or not Path(source).exists()):
        check_url(source)  # a malformed or refused link says so before any step
        label = safe_url(source)
        progress(f"fetch {label}")
        with job_folder() as tmp, writing_temp(f"download {label}"):
            result = fetch(
                source,
                tmp,
                max_bytes=_MAX_TEXT_BYTES,
                timeout_s=config.download_timeout_s,
                allow=config.allow_private_urls,
            )
            return _text_of(result.path, label), label
    path = Path(source).expanduser()
    if path.is_dir():
        path = path / "transcript.txt"
        if not path.is_file():
            raise UsageError(
                f"{source} has no transcript.txt; give a transcript file or a job's results folder"
            )
    if not path.is_file():
        raise SourceUnreachable(f"no such file: {source}; check the path")
    progress(f"read {path.name}")
    # Sentences name the file, never its folder on this machine; meta.json keeps where it was.
    return _text_of(path, path.name), str(path.resolve())


def _text_of(path: Path, label: str) -> str:
    if path.stat().st_size > _MAX_TEXT_BYTES:
        raise UsageError(f"{label} is over 5 MB; that is not a transcript")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise NotAudio(
            f"{label} is not a UTF-8 text file; give a transcript (transcript.txt)"
        ) from None


@contextlib.contextmanager
def _client(config: SummaryConfig) -> Iterator[tuple[str, str, Callable[[str, str], str]]]:
    """(backend, model, chat) for the first provider with a key (for a private transcript,
    the owner's own server alone); its connections are closed when the summary is done (or
    failed)."""
    if config.private:
        _check_private(config)
        # A server of one's own often wants no key; the client wants one all the same.
        backend, key, base = "openai", config.openai_api_key or "none", config.openai_base_url
        model = config.model or OPENAI_DEFAULT_MODEL
    elif config.openai_api_key:
        backend, key, base = "openai", config.openai_api_key, config.openai_base_url
        model = config.model or OPENAI_DEFAULT_MODEL
    elif config.openrouter_api_key:
        backend, key, base = "openrouter", config.openrouter_api_key, config.openrouter_base_url
        model = config.model or OPENROUTER_DEFAULT_MODEL
    else:
        raise ConfigError(
            "summaries need an API key on the runner: set OPENAI_API_KEY (or "
            "OPENROUTER_API_KEY) in ~/.config/relayq/env"
        )
    import openai

    client = make_client(key, base, max_retries=config.max_retries, timeout_s=config.timeout_s)
    host = where(client)
    provider = Provider(
        backend,
        "OPENAI_API_KEY" if backend == "openai" else "OPENROUTER_API_KEY",
        "OPENAI_BASE_URL" if backend == "openai" else "RELAYQ_OPENROUTER_BASE_URL",
        "RELAYQ_SUMMARY_MODEL",
    )

    def chat(system: str, text: str) -> str:
        try:
            answer = client.chat.completions.create(
                model=model,
                messages=[{"role": "system", "content": system}, {"role": "user", "content": text}],
            )
        except openai.APIError as err:
            raise explain(
                err, host=host, provider=provider, model=model, what="summary",
                retries=config.max_retries,
            ) from None  # fmt: skip
        content = answer.choices[0].message.content if answer.choices else None
        if not content:
            raise BackendFailed(f"{host} answered the summary request with no text; try again")
        return content

    try:
        yield backend, model, chat
    finally:
        client.close()
