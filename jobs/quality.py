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
    """(substitutions + deletions + insertions) / reference words, by word-level Levenshtein.

    One row of the edit table at a time, in numpy: the insertions along a row are a running
    minimum, so an hour of speech (10,000 words each side) takes about a second."""
    import numpy as np

    ref, hyp = normalize_words(reference), normalize_words(hypothesis)
    if not ref:
        return 0.0 if not hyp else 1.0
    ids: dict[str, int] = {}
    hyp_ids = np.array([ids.setdefault(w, len(ids)) for w in hyp], dtype=np.int64)
    columns = np.arange(len(hyp) + 1)
    previous = columns.copy()
    for i, word in enumerate(ref, start=1):
        row = np.empty_like(previous)
        row[0] = i
        row[1:] = np.minimum(
            previous[1:] + 1,  # deletion
            previous[:-1] + (hyp_ids != ids.get(word, -1)),  # substitution or match
        )
        previous = np.minimum.accumulate(row - columns) + columns  # insertions
    return float(previous[-1]) / len(ref)
