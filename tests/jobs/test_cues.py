"""Subtitle cues from timed words, by table."""

from __future__ import annotations

import pytest

from jobs.backends.base import Segment
from jobs.cues import Word, cues_from_words


def words(*items: tuple[float, float, str]) -> list[Word]:
    return [Word(start, end, text) for start, end, text in items]


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ([], []),
        (words((0, 0.4, " Hello"), (0.4, 0.9, " there.")), [Segment(0, 0.9, "Hello there.")]),
        (
            words((0, 0.3, " One."), (0.5, 0.9, " Two"), (0.9, 1.2, " words?")),
            [Segment(0, 0.3, "One."), Segment(0.5, 1.2, "Two words?")],
        ),
        (  # a long pause splits a sentence
            words((0, 0.3, " before"), (2.0, 2.3, " after")),
            [Segment(0, 0.3, "before"), Segment(2.0, 2.3, "after")],
        ),
        (  # a cue never runs past six seconds
            words(*[(n * 1.0, n * 1.0 + 0.9, f" w{n}") for n in range(9)]),
            [Segment(0, 5.9, "w0 w1 w2 w3 w4 w5"), Segment(6.0, 8.9, "w6 w7 w8")],
        ),
        (  # nor past 84 characters
            words(*[(n * 0.1, n * 0.1 + 0.1, " abcdefghi") for n in range(10)]),
            [
                Segment(0, 0.8, " ".join(["abcdefghi"] * 8)),
                Segment(0.8, 1.0, "abcdefghi abcdefghi"),
            ],
        ),
    ],
)
def test_cues_from_words(given: list[Word], expected: list[Segment]) -> None:
    assert cues_from_words(given) == expected
