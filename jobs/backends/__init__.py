"""Transcription backends, and which one a job uses.

`--backend` wins over `RELAYQ_BACKEND`, which wins over `auto`: the local faster-whisper when
it and a model are on this machine, else OpenAI when `OPENAI_API_KEY` is set, else OpenRouter
when `OPENROUTER_API_KEY` is. `RELAYQ_BACKEND_FALLBACK` lists backends to try, in order, when
the chosen one fails (`backend_chain`). A private job (`--private`, jobs/privacy.py) runs the
local backend alone: no remote one first, none as a fallback, whatever the settings say.
"""

from __future__ import annotations

from jobs.backends.base import Backend, Segment, Transcript
from jobs.config import TranscribeConfig
from jobs.errors import ConfigError, PrivateRefused

__all__ = [
    "BACKENDS",
    "Backend",
    "Segment",
    "Transcript",
    "backend_chain",
    "make_backend",
    "resolve_auto",
]

BACKENDS = ("local", "openai", "openrouter")


def resolve_auto(config: TranscribeConfig) -> str:
    """What `auto` means on this machine, with these settings."""
    if _local_available(config):
        return "local"
    if config.openai_api_key:
        return "openai"
    if config.openrouter_api_key:
        return "openrouter"
    raise ConfigError(
        "no transcription backend on this machine: install relayq[runner] for the local "
        "model, or set OPENAI_API_KEY or OPENROUTER_API_KEY in ~/.config/relayq/env"
    )


def backend_chain(config: TranscribeConfig) -> list[str]:
    """The backend to run first, then the fallbacks, each once; for a private job, the local
    backend alone (PrivateRefused, said without touching any remote one, when it cannot be)."""
    if config.private:
        return [_private_backend(config)]
    first = resolve_auto(config) if config.backend == "auto" else config.backend
    if first not in BACKENDS:
        raise ConfigError(f"unknown backend {first!r}; use auto, local, openai or openrouter")
    chain = [first]
    for name in config.fallback:
        if name not in BACKENDS:
            raise ConfigError(
                f"RELAYQ_BACKEND_FALLBACK names {name!r}; list backends from local, openai "
                "and openrouter, comma-separated"
            )
        if name not in chain:
            chain.append(name)
    return chain


def _private_backend(config: TranscribeConfig) -> str:
    if config.backend not in ("auto", "local"):
        raise PrivateRefused(
            f"this job is private, so it runs only with the local model, not {config.backend}; "
            "its audio was not sent anywhere"
        )
    if not _local_available(config):
        raise PrivateRefused(
            "this job is private and this runner has no local model (install relayq[runner]), "
            "so it was refused rather than sent to OpenAI or OpenRouter; run it on a runner "
            "with the local model, or send it again without #private (/private off)"
        )
    return "local"


def make_backend(name: str, config: TranscribeConfig, *, model: str | None = None) -> Backend:
    """The backend `name`, with `model` (from --model) over the backend's own model setting.
    ConfigError, naming the variable to set, when it cannot run here."""
    from jobs.backends.remote import RemoteLimits

    if name in ("openai", "openrouter") and not _faster_whisper_installed():
        raise ConfigError(
            f"the {name} backend cuts the audio in its pauses with faster-whisper's VAD: "
            "install relayq[runner]"
        )
    limits = RemoteLimits(
        config.remote_chunk_s, config.remote_max_file_bytes, config.remote_concurrency
    )
    if name == "openai":
        from jobs.backends.openai_api import DEFAULT_MODEL, openai_backend

        if not config.openai_api_key:
            raise ConfigError("the openai backend needs a key: set OPENAI_API_KEY")
        return openai_backend(
            config.openai_api_key,
            config.openai_base_url,
            model or config.openai_model or DEFAULT_MODEL,
            limits,
            retries=config.api_retries,
            timeout_s=config.api_timeout_s,
        )
    if name == "openrouter":
        from jobs.backends.openrouter import openrouter_backend

        if not config.openrouter_api_key:
            raise ConfigError("the openrouter backend needs a key: set OPENROUTER_API_KEY")
        return openrouter_backend(
            config.openrouter_api_key,
            config.openrouter_base_url,
            model or config.openrouter_model,
            limits,
            endpoint=config.openrouter_endpoint,
            retries=config.api_retries,
            timeout_s=config.api_timeout_s,
        )
    if name != "local":
        raise ConfigError(f"unknown backend {name!r}; use auto, local, openai or openrouter")
    if not _faster_whisper_installed():
        raise ConfigError("faster-whisper is not installed on this machine; install relayq[runner]")
    from jobs.backends.local import LocalWhisper

    return LocalWhisper(
        model or config.whisper_model,
        compute_type=config.compute_type,
        beam_size=config.beam_size,
        batch_size=config.batch_size,
        cpu_threads=config.cpu_threads,
        models_dir=config.models_dir,
    )


def _faster_whisper_installed() -> bool:
    try:
        import faster_whisper  # noqa: F401
    except ImportError:
        return False
    return True


def _local_available(config: TranscribeConfig) -> bool:
    from jobs.backends.local import bundled_model_path

    return _faster_whisper_installed() and (
        config.whisper_model is not None or bundled_model_path() is not None
    )
