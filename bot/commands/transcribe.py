"""`relayq transcribe SOURCE`: the runner-side job (what `jobs/transcribe.sh` runs)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from bot import interrupts
from bot.settings import Settings
from jobs.config import TranscribeConfig

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
        "13 language or task not available here, 130 interrupted.",
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
    parser.add_argument("--language", help="spoken language, e.g. en (default: detect)")
    parser.add_argument(
        "--task",
        choices=["transcribe", "translate"],
        default="transcribe",
        help="transcribe in the spoken language (default), or translate to English",
    )
    parser.add_argument("--no-cache", action="store_true", help="do not reuse earlier results")
    parser.add_argument(
        "--name",
        help="what to call the source in messages, e.g. the file name the user gave it "
        "(default: a file's base name, the link, or 'the file you sent')",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from jobs.transcribe import transcribe

    config = build_config(
        settings,
        backend=args.backend,
        model=args.model,
        language=args.language,
        task=args.task,
        use_cache=not args.no_cache,
    )
    outcome = transcribe(args.source, args.out, config, progress=_step, name=args.name)
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
) -> TranscribeConfig:
    """The job's configuration: command-line choices first, then the settings."""
    return TranscribeConfig(
        backend=backend or settings.backend,
        model=model,
        language=language,
        task=task,
        fallback=settings.fallback_backends,
        whisper_model=settings.whisper_model,
        compute_type=settings.whisper_compute_type,
        beam_size=settings.whisper_beam_size,
        batch_size=settings.whisper_batch_size,
        cpu_threads=settings.whisper_threads,
        max_download_bytes=int(settings.max_download_mb * 1_000_000),
        download_timeout_s=settings.download_timeout_s,
        allow_private_urls=settings.allow_private_urls,
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


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None


def _step(text: str) -> None:
    # Every step of the job starts here, so a Ctrl-C that a library swallowed still stops it
    # before anything is written.
    interrupts.check()
    _progress(text)


def _progress(text: str) -> None:
    print(f"relayq: {text}", file=sys.stderr, flush=True)
