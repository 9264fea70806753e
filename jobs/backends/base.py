"""What every transcription backend offers: segments with real timestamps.

The local backend (faster-whisper) and the remote ones (OpenAI, OpenRouter) implement the
same interface, so the job code never knows which one it holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # the bot reads Segment through jobs.outputs, and needs no numpy for it
    import numpy as np
    import numpy.typing as npt

__all__ = ["Backend", "Segment"]


@dataclass(frozen=True)
class Segment:
    """One cue: seconds from the start of the audio, and what was said."""

    start: float
    end: float
    text: str


class Backend(Protocol):
    name: str  # "local", "openai", "openrouter": meta.json's `backend`
    model: str  # as it should appear in meta.json (a name, or a model folder's name)

    def identity(self) -> dict[str, object]:
        """Everything that changes the output: part of the cache key and of meta.json."""
        ...

    def transcribe(self, audio: npt.NDArray[np.float32], *, language: str | None) -> list[Segment]:
        """Transcribe 16 kHz mono float32 audio; BackendFailed when it cannot."""
        ...

    def close(self) -> None:
        """Let go of connections (remote backends); the backend is not used after this."""
        ...
