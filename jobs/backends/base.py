"""What every transcription backend offers: segments with real timestamps.

The local backend (faster-whisper) and the remote ones (OpenAI, OpenRouter) implement the
same interface, so the job code never knows which one it holds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # the bot reads Segment through jobs.outputs, and needs no numpy for it
    import numpy as np
    import numpy.typing as npt

__all__ = ["Advance", "Backend", "Segment", "Step", "Transcript"]

Step = Callable[[str], None]
Advance = Callable[[float], None]  # seconds of the audio transcribed so far


@dataclass(frozen=True)
class Segment:
    """One cue: seconds from the start of the audio, and what was said."""

    start: float
    end: float
    text: str


@dataclass(frozen=True)
class Transcript:
    """What a backend made: the cues, and what it knows of the language and its model."""

    segments: list[Segment]
    language: str | None  # what was spoken (given, or detected); None when not known
    language_probability: float | None  # the detection's confidence; None when it was given
    model: str  # the model that made the cues (meta.json's `model`)


class Backend(Protocol):
    name: str  # "local", "openai", "openrouter": meta.json's `backend`
    model: str  # as it should appear in meta.json (a name, or a model folder's name)

    def identity(self) -> dict[str, object]:
        """Everything that changes the output: part of the cache key and of meta.json."""
        ...

    def transcribe(
        self,
        audio: npt.NDArray[np.float32],
        *,
        language: str | None,
        task: str = "transcribe",
        step: Step = lambda _: None,
        begin: Step = lambda _: None,
        advance: Advance = lambda _: None,
    ) -> Transcript:
        """Transcribe (or, with task "translate", translate to English) 16 kHz mono float32
        audio; `language` None detects it. `step` hears what is being done ("detect the
        language with base"), `begin` the name of the model just before it runs, `advance`
        how many seconds of the audio are done as the work goes on (never more often than
        a piece of the work ends: a batch of segments, a chunk).
        BackendFailed when it fails, LanguageUnsupported when it cannot do this language or
        task."""
        ...

    def close(self) -> None:
        """Let go of connections (remote backends); the backend is not used after this."""
        ...
