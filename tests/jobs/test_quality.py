"""Word error rate, by table."""

from __future__ import annotations

import pytest

from jobs.quality import normalize_words, wer


@pytest.mark.parametrize(
    ("reference", "hypothesis", "expected"),
    [
        ("the cat sat", "the cat sat", 0.0),
        ("The cat, sat!", "the CAT sat", 0.0),
        ("the cat sat", "the bat sat", 1 / 3),
        ("the cat sat", "the sat", 1 / 3),
        ("the cat sat", "the cat sat down", 1 / 3),
        ("the cat sat", "", 1.0),
        ("", "", 0.0),
        ("", "words", 1.0),
        ("don't stop", "dont stop", 0.5),
        ("it’s here", "it's here", 0.0),
        ("a b c d", "d c b a", 1.0),
    ],
)
def test_wer(reference: str, hypothesis: str, expected: float) -> None:
    assert wer(reference, hypothesis) == pytest.approx(expected)


def test_normalisation_drops_punctuation_and_case() -> None:
    assert normalize_words("Hello, World -- 'quoted' 42.") == ["hello", "world", "quoted", "42"]
