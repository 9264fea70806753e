"""Transcription backends. `make_backend` picks one from the job's settings."""

from __future__ import annotations

from jobs.backends.base import Backend, Segment
from jobs.errors import ConfigError

__all__ = ["Backend", "Segment", "make_backend"]


def make_backend(
    name: str,
    *,
    model: str | None,
    compute_type: str,
    beam_size: int,
    batch_size: int,
    cpu_threads: int,
) -> Backend:
    """`auto` is the local model when faster-whisper is installed. Remote backends come later."""
    if name in ("openai", "openrouter"):
        raise ConfigError(
            f"the {name} backend is not part of this version yet; use --backend local "
            "(or leave RELAYQ_BACKEND unset)"
        )
    if name not in ("auto", "local"):
        raise ConfigError(f"unknown backend {name!r}; use auto, local, openai or openrouter")
    try:
        import faster_whisper  # noqa: F401
    except ImportError:
        raise ConfigError(
            "faster-whisper is not installed on this machine; install relayq[runner]"
        ) from None
    from jobs.backends.local import LocalWhisper

    return LocalWhisper(
        model,
        compute_type=compute_type,
        beam_size=beam_size,
        batch_size=batch_size,
        cpu_threads=cpu_threads,
    )
