"""Subtitle cues from timed words: sentence-sized, short enough to read, split at pauses."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from jobs.backends.base import Segment

__all__ = ["Word", "cues_from_words"]

MAX_CUE_S = 6.0
MAX_CUE_CHARS = 84
PAUSE_S = 0.8
_SENTENCE_END = (".", "?", "!", "…")


@dataclass(frozen=True)
class Word:
    start: float
    end: float
    text: str  # as the model gives it, usually with a leading space


def cues_from_words(words: Sequence[Word]) -> list[Segment]:
    """Group words into cues: end a cue at a sentence end, a long pause, or the size limits."""
    cues: list[Segment] = []
    current: list[Word] = []

    def flush() -> None:
        text = "".join(w.text for w in current).strip()
        if text:
            cues.append(Segment(round(current[0].start, 3), round(current[-1].end, 3), text))
        current.clear()

    for word in words:
        if current:
            text_so_far = "".join(w.text for w in current).strip()
            too_long = (
                word.end - current[0].start > MAX_CUE_S
                or len(text_so_far) + len(word.text) > MAX_CUE_CHARS
            )
            if too_long or word.start - current[-1].end > PAUSE_S:
                flush()
        current.append(word)
        if word.text.strip().endswith(_SENTENCE_END):
            flush()
    if current:
        flush()
    return cues
