"""`relayq transcribe SOURCE`: the runner-side job (what `jobs/transcribe.sh` runs)."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from bot import interrupts
from bot.settings import Settings
from jobs.config import TranscribeConfig
from jobs.errors import TooLong, UsageError
from jobs.language import parse_language
from jobs.progress import ProgressRecord, Reporter, Throttle

if TYPE_CHECKING:
    from pydantic import SecretStr

__all__ = ["build_config", "register", "run"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "transcribe",
        help="transcribe an audio link or file into txt, srt, vtt, segments and meta",
        description="Transcribe SOURCE (an http(s) link, a local file, or tg:FILE_ID for a file "
        "sent to the bot). Exit codes: 0 done, 1 unexpected failure, "
        "2 bad usage, 3 unreachable, 4 not audio, 5 too large, 6 refused address, "
        "7 backend failed, 8 bad settings, 9 no space left on the device, 10 too long for this "
        "runner, 11 not one recording (a playlist or live stream), 12 the site refused, "
        "13 language or task not available here, 14 a private job this runner cannot keep on "
        "it (no local model), 130 interrupted.",
    )
    parser.add_argument(
        "source", metavar="SOURCE", help="an http(s) URL, a local file, or tg:FILE_ID"
    )
    parser.add_argument("--out", type=Path, default=Path("out"), help="output folder (./out)")
    parser.add_argument(
        "--backend",
        choices=["auto", "local", "openai", "openrouter"],
        help="transcription backend (default: RELAYQ_BACKEND, else auto)",
    )
    parser.add_argument(
        "--model",
        help="model for the chosen backend (default: RELAYQ_WHISPER_MODEL, RELAYQ_OPENAI_MODEL "
        "or RELAYQ_OPENROUTER_MODEL)",
    )
    parser.add_argument(
        "--language",
        default="auto",
        help="the spoken language as a code, e.g. en, de, fr; auto (the default) detects it",
    )
    parser.add_argument(
        "--task",
        choices=["transcribe", "translate"],
        default="transcribe",
        help="transcribe (the default), or translate the speech into English",
    )
    parser.add_argument(
        "--max-duration-min",
        type=_minutes,
        metavar="N",
        help="refuse a recording longer than N minutes (exit 10, with refusal.json in --out); "
        "a media page's length is checked before anything is downloaded",
    )
    parser.add_argument(
        "--private",
        action="store_true",
        help="keep the audio on this machine: the local model only, never OpenAI or OpenRouter, "
        "not even as a fallback (exit 14 when there is no local model)",
    )
    parser.add_argument("--no-cache", action="store_true", help="do not reuse earlier results")
    parser.add_argument(
        "--name",
        help="what to call the source in messages, e.g. the file name the user gave it "
        "(default: a file's base name, the link, or 'the file you sent')",
    )
    parser.add_argument(
        "--job-id",
        help="the job's id, for the name of its folder on the NAS (RELAYQ_NAS_DIR); "
        "the bot and the workflows pass it",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from jobs.nas import copy_results
    from jobs.transcribe import transcribe

    config = build_config(
        settings,
        backend=args.backend,
        model=args.model,
        language=args.language,
        task=args.task,
        use_cache=not args.no_cache,
        private=args.private,
        max_duration_s=None if args.max_duration_min is None else args.max_duration_min * 60,
    )
    sweep_cache(settings)
    try:
        reporter = Reporter(_record, throttle=Throttle(every_s=settings.progress_every_s))
        outcome = transcribe(
            args.source, args.out, config, progress=_step, name=args.name, reporter=reporter
        )
    except TooLong as err:
        _write_refusal(args.out, err)
        raise
    if settings.nas_dir is not None:  # never fails the job: meta.json says how it went
        copy_results(outcome.out_dir, settings.nas_dir, job=args.job_id, note=_progress)
    if outcome.cached:
        how = "reused an earlier transcript"
    elif outcome.real_time_factor is not None:
        how = f"RTF {outcome.real_time_factor:.2f}"
    else:
        how = "no audio"
    _progress(f"done in {outcome.wall_time_s:.1f} s ({how})")
    print(outcome.out_dir)
    return 0


def build_config(
    settings: Settings,
    *,
    backend: str | None = None,
    model: str | None = None,
    language: str | None = None,
    task: str = "transcribe",
    use_cache: bool = True,
    max_duration_s: float | None = None,
    private: bool = False,
) -> TranscribeConfig:
    """The job's configuration: command-line choices first, then the settings. `language` is
    what was typed (`auto`, `de`, `German`); UsageError when it is no language."""
    try:
        code = parse_language(language)
    except ValueError as err:
        raise UsageError(str(err)) from None
    return TranscribeConfig(
        backend=backend or settings.backend,
        model=model,
        language=code,
        task=task,
        fallback=settings.fallback_backends,
        private=private,
        whisper_model=settings.whisper_model,
        models_dir=settings.resolved_models_dir,
        compute_type=settings.whisper_compute_type,
        beam_size=settings.whisper_beam_size,
        batch_size=settings.whisper_batch_size,
        cpu_threads=settings.whisper_threads,
        max_download_bytes=int(settings.max_download_mb * 1_000_000),
        download_timeout_s=settings.download_timeout_s,
        allow_private_urls=settings.allow_private_urls,
        max_duration_s=max_duration_s,
        ytdlp_cookies=settings.ytdlp_cookies,
        cache_dir=settings.resolved_cache_dir if use_cache else None,
        telegram_token=_secret(settings.telegram_bot_token),
        telegram_api_base=settings.telegram_api_base,
        openai_api_key=_secret(settings.openai_api_key),
        openai_base_url=settings.openai_base_url,
        openai_model=settings.openai_model,
        openrouter_api_key=_secret(settings.openrouter_api_key),
        openrouter_base_url=settings.openrouter_base_url,
        openrouter_model=settings.openrouter_model,
        openrouter_endpoint=settings.openrouter_endpoint,
        remote_chunk_s=settings.remote_chunk_s,
        remote_max_file_bytes=int(settings.remote_max_mb * 1024 * 1024),
        remote_concurrency=settings.remote_concurrency,
    )


def _minutes(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value < 100_000 or value != value:
        raise argparse.ArgumentTypeError(f"wants a number of minutes above 0, not {text!r}")
    return value


def _write_refusal(out_dir: Path, err: TooLong) -> None:
    """refusal.json: how long the recording is, so the bot can route it once more."""
    refusal = {
        "reason": "too_long",
        "duration_s": round(float(err.duration_s), 3),
        "max_duration_s": round(float(err.max_duration_s), 3),
    }
    with contextlib.suppress(OSError):
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "refusal.json").write_text(json.dumps(refusal) + "\n", encoding="utf-8")


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None


def sweep_cache(settings: Settings) -> None:
    """The runner's retention (RELAYQ_KEEP_DAYS): cached transcripts older than the limit go,
    at most once an hour, before this job looks in the cache. Never a reason to fail."""
    import time

    from jobs.retention import sweep_cache as sweep

    try:
        swept = sweep(settings.resolved_cache_dir, keep_days=settings.keep_days, now=time.time())
    except Exception as err:  # a job is never failed by its cache's upkeep
        _progress(f"note: the transcript cache was not swept ({type(err).__name__})")
        return
    if swept.removed:
        _progress(f"removed {swept.removed} cached transcript(s) older than "
                  f"{settings.keep_days} days (RELAYQ_KEEP_DAYS)")  # fmt: skip
    if swept.failed:  # by count: a step line may reach the chat, a folder's path must not
        _progress(f"note: {len(swept.failed)} cached transcript(s) older than the limit "
                  "could not be removed")  # fmt: skip


def _step(text: str) -> None:
    # Every step of the job starts here, so a Ctrl-C that a library swallowed still stops it
    # before anything is written.
    interrupts.check()
    _progress(text)


def _progress(text: str) -> None:
    print(f"relayq: {text}", file=sys.stderr, flush=True)


def _record(record: ProgressRecord) -> None:
    # Its own prefix: never taken for a step, nor for the failure's sentence (run_job.sh).
    print(record.line(), file=sys.stderr, flush=True)
