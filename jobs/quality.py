"""Word error rate: how far a transcript is from a known text."""

from __future__ import annotations

import re
import unicodedata

__all__ = ["normalize_words", "wer"]

_NON_WORD = re.compile(r"[^\w\s']+")


def normalize_words(text: str) -> list[str]:
    """Lower-case words without punctuation; apostrophes inside words are kept."""
    text = unicodedata.normalize("NFKC", text).lower().replace("’", "'")
    words = _NON_WORD.sub(" ", text).split()
    return [w.strip("'") for w in words if w.strip("'")]


def wer(reference: str, hypothesis: str) -> float:
    """(substitutions + deletions + insertions) / reference words, by word-level Levenshtein."""
    ref, hyp = normalize_words(reference), normalize_words(hypothesis)
    if not ref:
        return 0.0 if not hyp else 1.0
    previous = list(range(len(hyp) + 1))
    for i, word in enumerate(ref, start=1):
        current = [i] + [0] * len(hyp)
        for j, other in enumerate(hyp, start=1):
            current[j] = min(
                previous[j] + 1,  # deletion
                current[j - 1] + 1,  # insertion
                previous[j - 1] + (word != other),  # substitution or match
            )
        previous = current
    return previous[-1] / len(ref)
