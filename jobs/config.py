"""What one transcription job is configured with: a plain value, below everything that reads it.

`jobs.transcribe` runs a job with it and `jobs.backends` builds backends from it; keeping it
here, importing nothing of relayq's but a pure value type (the private-address allow-list), is
what lets both import it without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from jobs.fetch.allow import NO_PRIVATE, AllowPrivate

__all__ = ["TranscribeConfig"]


@dataclass(frozen=True)
class TranscribeConfig:
    backend: str = "auto"  # local, openai, openrouter, or auto (jobs.backends.resolve_auto)
    model: str | None = None  # --model: for the backend that runs first, over its own setting
    language: str | None = None  # a code from jobs.language.LANGUAGES; None: detect it
    task: str = "transcribe"  # or "translate" (to English)
    fallback: tuple[str, ...] = ()  # backends to try, in order, when the first one fails
    # The audio stays on this machine: the local backend only, no fallback (jobs/privacy.py).
    private: bool = False
    whisper_model: str | None = None  # local: a faster-whisper name or folder (None: tiny.en)
    models_dir: Path | None = None  # where the multilingual model is unpacked (jobs/models.py)
    compute_type: str = "int8"
    beam_size: int = 5
    batch_size: int = 8
    cpu_threads: int = 0
    max_download_bytes: int = 500_000_000
    download_timeout_s: float = 600.0
    allow_private_urls: AllowPrivate = NO_PRIVATE  # RELAYQ_ALLOW_PRIVATE_URLS, parsed
    max_duration_s: float | None = None  # --max-duration-min: longer recordings are refused
    ytdlp_cookies: Path | None = None  # RELAYQ_YTDLP_COOKIES: a cookies file for media pages
    cache_dir: Path | None = None
    # For uploads (`tg:<file_id>`); kept out of repr so the token is never printed with it.
    telegram_token: str | None = field(default=None, repr=False)
    telegram_api_base: str = "https://api.telegram.org"
    # Remote backends (OpenAI, OpenRouter). Keys are kept out of repr.
    openai_api_key: str | None = field(default=None, repr=False)
    openai_base_url: str | None = None
    openai_model: str | None = None
    openrouter_api_key: str | None = field(default=None, repr=False)
    openrouter_base_url: str = "https://openrouter.ai/api/v1"
    openrouter_model: str | None = None
    openrouter_endpoint: str = "transcriptions"
    remote_chunk_s: float = 30.0
    remote_max_file_bytes: int = 24 * 1024 * 1024
    remote_concurrency: int = 4
    api_retries: int = 5
    api_timeout_s: float = 300.0
