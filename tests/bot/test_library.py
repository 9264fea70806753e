"""The transcript library's index (bot/library.py) over a real SQLite FTS5 table: what is
found, in which order, for whom, and that nothing a person types is FTS5 syntax."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.ledger import JobRow, Ledger
from bot.library import MAX_TERMS, Library, match_query, title_of

A, B = 7, 8


@pytest.fixture
def library(tmp_path: Path) -> Iterator[Library]:
    ledger = Ledger(tmp_path / "ledger.sqlite3")
    yield Library(ledger)
    ledger.close()


def shelve(library: Library, text: str, *, user: int = A, title: str = "talk.ogg",
           job: str | None = None) -> JobRow:  # fmt: skip
    n = library.count() + 1
    row = library.ledger.accept(job or f"job{n}", chat_id=user, user_id=user, message_id=n,
                                seq=0, kind="transcribe", source="tg:F", pin=None,
                                source_name=title)  # fmt: skip
    library.shelve(row, text=text, title=title, language="en", runner="Mac mini",
                   duration_s=60.0, folder=Path("/nowhere"))  # fmt: skip
    return row


def ids(library: Library, words: str, user: int | None = A) -> list[str]:
    return [f.shelved.job_id for f in library.find(words, user_id=user)]


def test_a_word_finds_the_transcript_with_a_snippet_around_the_hit(library: Library) -> None:
    shelve(library, "We talked about the budget for the garden and then about the weather.")
    (found,) = library.find("garden", user_id=A)
    assert found.shelved.job_id == "job1" and found.shelved.runner == "Mac mini"
    assert "«garden»" in found.snippet


def test_accents_fold_both_ways(library: Library) -> None:
    shelve(library, "On a bu un café à Zürich.", job="fr")
    shelve(library, "A cafe in Zurich, without accents.", job="en")
    assert sorted(ids(library, "cafe")) == ["en", "fr"]
    assert sorted(ids(library, "CAFÉ zürich")) == ["en", "fr"]


def test_the_best_match_comes_first(library: Library) -> None:
    shelve(library, "garden " + "filler words here " * 40, job="once")
    shelve(library, "garden garden garden, all about the garden", job="often")
    assert ids(library, "garden") == ["often", "once"]


def test_every_word_must_be_there(library: Library) -> None:
    shelve(library, "the red house", job="red")
    shelve(library, "the blue house", job="blue")
    assert ids(library, "house blue") == ["blue"]


def test_a_hit_in_the_title_finds_it_too(library: Library) -> None:
    shelve(library, "nothing of note", title="Quarterly review.m4a", job="q")
    assert ids(library, "quarterly") == ["q"]


def test_a_user_finds_only_their_own_and_everyone_is_the_owners_view(library: Library) -> None:
    shelve(library, "the secret plan of user a", user=A, job="a")
    shelve(library, "the secret plan of user b", user=B, job="b")
    assert ids(library, "secret", A) == ["a"]
    assert ids(library, "secret", B) == ["b"]
    assert sorted(ids(library, "secret", None)) == ["a", "b"]


# Each is what a person might type; none may reach FTS5 as syntax (an error, or a query that
# means something else): every word is a word, and a word with no letter or digit is none.
@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("hello-world", ["hyphen", "near"]),  # the phrase "hello world", not a column filter
        ('say "hello', ["quote"]),  # an unbalanced quote
        ('"', []),  # only a quote: no word
        ("*", []),  # a bare prefix operator
        ("hell*", []),  # not a prefix query: "hell" is no word in the texts
        ("NEAR(", ["near"]),  # the word "near", not the NEAR group
        ("NEAR(hello world)", ["near"]),  # the phrase "near hello", and "world"
        ("AND", ["quote", "near", "and"]),  # a word, not the operator (alone, a syntax error)
        ("cats AND", ["near", "and"]),
        ("OR dogs", []),  # "or" is a word that is not there, not "anything or dogs"
        ("NOT", []),
        ("-x", ["minus"]),  # the word x, not "not x"
        ("text:secret", []),  # not a column filter on `text`: "text secret" is nowhere
        ("^start", ["caret"]),  # not the start-of-column anchor
        ("hello *", ["hyphen", "quote", "near"]),  # the bare * dropped, not an empty phrase
        ("(", []),
        ("' ; DROP TABLE library; --", []),
    ],
)
def test_what_a_person_types_is_plain_words(
    library: Library, typed: str, expected: list[str]
) -> None:
    shelve(library, "hello world, said the hyphen", job="hyphen")
    shelve(library, "say hello and wave: a quote", job="quote")
    shelve(library, "cats and more, near hello world", job="near")
    shelve(library, "cats and dogs", job="and")
    shelve(library, "x marks the spot: minus", job="minus")
    shelve(library, "start at the caret", job="caret")
    assert sorted(ids(library, typed)) == sorted(expected)
    assert library.count() == 6  # and nothing was dropped


def test_a_4000_character_query_is_answered_from_its_first_words(library: Library) -> None:
    shelve(library, "alpha beta gamma", job="g")
    typed = "alpha " + "zeta " * 800
    assert len(typed) >= 4000
    expression, left_out = match_query(typed)
    assert expression is not None and expression.count('"') == 2 * MAX_TERMS
    assert left_out == 801 - MAX_TERMS
    assert ids(library, typed) == []  # the first 16 words, all required: zeta is not there
    assert ids(library, "alpha " + "gamma " * 800) == ["g"]


def test_nothing_to_search_for_finds_nothing(library: Library) -> None:
    shelve(library, "anything")
    assert match_query('" * ( )') == (None, 0)
    assert library.find('" * ( )', user_id=A) == []


def test_a_job_is_shelved_once(library: Library) -> None:
    row = shelve(library, "only once")
    again = library.shelve(row, text="only once", title="t", language=None, runner=None,
                           duration_s=None, folder=Path("/x"))  # fmt: skip
    assert again is False and library.count() == 1
    rows = library.ledger.db.execute("SELECT count(*) FROM library_text").fetchone()[0]
    assert rows == 1


def test_the_index_folds_diacritics_as_declared(library: Library) -> None:
    sql = library.ledger.db.execute(
        "SELECT sql FROM sqlite_master WHERE name = 'library_text'"
    ).fetchone()[0]
    assert "remove_diacritics 2" in sql
    with pytest.raises(sqlite3.OperationalError):  # raw FTS syntax would fail: the quoting matters
        library.ledger.db.execute("SELECT * FROM library_text WHERE library_text MATCH 'AND'")


@pytest.mark.parametrize(
    ("meta", "name", "expected"),
    [
        ({"title": "  A  talk \n on gardens "}, None, "A talk on gardens"),
        ({}, "talk.ogg", "talk.ogg"),
        ({"title": ""}, None, "https://example.org/a.mp3"),
    ],
)
def test_a_transcript_is_called_by_its_page_title_file_name_or_link(
    tmp_path: Path, meta: dict[str, object], name: str | None, expected: str
) -> None:
    ledger = Ledger(tmp_path / "l.sqlite3")
    source = "tg:F" if name else "https://example.org/a.mp3"
    row = ledger.accept("j", chat_id=1, user_id=1, message_id=1, seq=0, kind="transcribe",
                        source=source, pin=None, source_name=name)  # fmt: skip
    assert title_of(row, meta) == expected
