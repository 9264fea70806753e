"""The bot's own table of Whisper's languages is the one faster-whisper knows."""

from __future__ import annotations

import pytest

from bot.languages import LANGUAGES, language_code, language_name


def test_the_table_has_exactly_the_codes_faster_whisper_knows() -> None:
    tokenizer = pytest.importorskip("faster_whisper.tokenizer")
    assert set(LANGUAGES) == set(tokenizer._LANGUAGE_CODES)


@pytest.mark.parametrize(
    ("said", "expected"),
    [("de", "de"), ("DE", "de"), (" fr ", "fr"), ("German", "de"), ("haw", "haw"),
     ("xx", None), ("", None), ("auto", None), ("deutsch", None)],
)  # fmt: skip
def test_a_code_or_an_english_name_is_a_code(said: str, expected: str | None) -> None:
    assert language_code(said) == expected


@pytest.mark.parametrize(
    ("code", "expected"),
    [("de", "German"), ("EN", "English"), ("yue", "Cantonese"), ("xx", None), (None, None),
     (3, None)],
)  # fmt: skip
def test_a_code_is_named_in_english(code: object, expected: str | None) -> None:
    assert language_name(code) == expected
