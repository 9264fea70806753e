"""/private's words and `#private` in a message: parsed by table, each bad input one
sentence saying what to type instead."""

from __future__ import annotations

import pytest

from bot.ledger import Prefs
from bot.telegram import texts
from bot.telegram.privacy_texts import (
    PRIVATE_USAGE,
    has_private_tag,
    parse_private,
    private_answer,
)


@pytest.mark.parametrize(
    ("text", "tagged"),
    [
        ("#private https://example.org/a.mp3", True),
        ("https://example.org/a.mp3 #private", True),
        ("meeting notes #Private, please", True),
        ("#PRIVATE", True),
        ("(#private)", True),
        ("https://example.org/a.mp3", False),
        ("#privately https://example.org/a.mp3", False),
        ("#private-ish", False),
        ("##private", False),
        ("not#private", False),
        ("https://example.org/#private", False),  # a link's own fragment is not the tag
        ("private", False),
        ("", False),
        (None, False),
    ],
)
def test_the_private_tag(text: str | None, tagged: bool) -> None:
    assert has_private_tag(text) is tagged


@pytest.mark.parametrize(
    ("args", "chosen"),
    [(["on"], True), (["ON"], True), (["yes"], True), (["off"], False), (["no"], False),
     (["maybe"], None), (["on", "off"], None), ([""], None)],
)  # fmt: skip
def test_parse_private(args: list[str], chosen: bool | None) -> None:
    assert parse_private(args) is chosen


def test_a_bad_argument_is_one_sentence_with_what_to_type() -> None:
    said = private_answer(["maybe"], None, False)
    assert said == f"/private wants on or off, not 'maybe'. {PRIVATE_USAGE}"
    assert "\n" not in said
    long = private_answer(["x" * 4000], None, False)
    assert len(long) < 400 and "…" in long


def test_the_answers_say_what_is_set() -> None:
    assert private_answer([], None, False).startswith("Private is off: ")
    assert private_answer([], None, True).startswith("Private is on: your new jobs are private")
    assert private_answer(["on"], True, False).startswith("🔒 Private on: ")
    assert private_answer(["off"], False, True).startswith("Private off: ")


def test_status_shows_private_only_when_on() -> None:
    assert texts.prefs_line(Prefs()) == "Your defaults: language auto (detected) · files txt, srt"
    assert texts.prefs_line(Prefs(private=True)) == (
        "Your defaults: language auto (detected) · files txt, srt · 🔒 private (/private off "
        "to stop)"
    )


def test_help_names_private() -> None:
    assert "/private on|off" in texts.HELP
