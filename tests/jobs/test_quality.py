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


def _naive_edits(ref: list[str], hyp: list[str]) -> int:
    previous = list(range(len(hyp) + 1))
    for i, word in enumerate(ref, start=1):
        current = [i] + [0] * len(hyp)
        for j, other in enumerate(hyp, start=1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (word != other))
        previous = current
    return previous[-1]


def test_wer_agrees_with_the_textbook_table_on_random_texts() -> None:
    import random

    rng = random.Random(7)  # noqa: S311 - test data, not secrets
    for _ in range(200):
        ref = [rng.choice("abcde") for _ in range(rng.randint(1, 12))]
        hyp = [rng.choice("abcdef") for _ in range(rng.randint(0, 12))]
        expected = _naive_edits(ref, hyp) / len(ref)
        assert wer(" ".join(ref), " ".join(hyp)) == pytest.approx(expected), (ref, hyp)
