"""What every transcription backend offers: segments with real timestamps."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

__all__ = ["Backend", "Segment"]


@dataclass(frozen=True)
class Segment:
    start: float
    end: float
    text: str


class Backend(Protocol):
    name: str

    @property
    def model_label(self) -> str:
        """The model as it should appear in meta.json (a name, or a path's folder name)."""
        ...

    def identity(self) -> dict[str, object]:
        """Everything that changes the output: part of the cache key and of meta.json."""
        ...

    def transcribe(self, audio: npt.NDArray[np.float32], *, language: str | None) -> list[Segment]:
        """Transcribe 16 kHz mono float32 audio."""
        ...
