"""The result files: formats by table, atomic writes, the cache."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jobs.backends.base import Segment
from jobs.cache import ResultCache, cache_key
from jobs.outputs import RESULT_FILES, render_srt, render_txt, render_vtt, timestamp, write_results

SEGMENTS = [
    Segment(0.0, 2.5, " Hello there."),
    Segment(2.5, 3661.0456, "Second --> line\n\nwith a gap"),
]


@pytest.mark.parametrize(
    ("seconds", "separator", "expected"),
    [
        (0, ",", "00:00:00,000"),
        (1.5, ",", "00:00:01,500"),
        (61.0004, ",", "00:01:01,000"),
        (3661.0456, ".", "01:01:01.046"),
        (-0.2, ",", "00:00:00,000"),
        (36000, ".", "10:00:00.000"),
    ],
)
def test_timestamp(seconds: float, separator: str, expected: str) -> None:
    assert timestamp(seconds, separator) == expected


def test_srt_numbers_cues_and_keeps_them_intact() -> None:
    assert render_srt(SEGMENTS) == (
        "1\n00:00:00,000 --> 00:00:02,500\nHello there.\n\n"
        "2\n00:00:02,500 --> 01:01:01,046\nSecond -> line\nwith a gap\n"
    )


def test_vtt_has_its_header_and_dotted_times() -> None:
    assert render_vtt(SEGMENTS).startswith(
        "WEBVTT\n\n00:00:00.000 --> 00:00:02.500\nHello there.\n\n"
    )


def test_txt_joins_segments_into_one_paragraph() -> None:
    assert render_txt(SEGMENTS) == "Hello there. Second --> line\n\nwith a gap\n"
    assert render_txt([]) == ""


def test_all_five_files_are_written_and_no_staging_is_left(tmp_path: Path) -> None:
    write_results(tmp_path / "out", SEGMENTS, {"backend": "local"})
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(RESULT_FILES)
    assert json.loads((tmp_path / "out" / "segments.json").read_text())[0] == {
        "start": 0.0, "end": 2.5, "text": " Hello there.",
    }  # fmt: skip


def test_a_rewrite_replaces_every_file(tmp_path: Path) -> None:
    write_results(tmp_path, SEGMENTS, {"n": 1})
    write_results(tmp_path, SEGMENTS[:1], {"n": 2})
    assert json.loads((tmp_path / "meta.json").read_text()) == {"n": 2}
    assert "Second" not in (tmp_path / "transcript.txt").read_text()


def test_the_cache_key_changes_with_audio_and_with_settings() -> None:
    base = cache_key("a" * 64, {"model": "tiny.en", "beam_size": 5})
    assert base == cache_key("a" * 64, {"beam_size": 5, "model": "tiny.en"})
    assert base != cache_key("b" * 64, {"model": "tiny.en", "beam_size": 5})
    assert base != cache_key("a" * 64, {"model": "tiny.en", "beam_size": 1})


def test_the_cache_holds_complete_sets_only(tmp_path: Path) -> None:
    results = tmp_path / "r"
    write_results(results, SEGMENTS, {"n": 1})
    cache = ResultCache(tmp_path / "cache")
    assert cache.lookup("k" * 64) is None
    cache.store("k" * 64, results)
    hit = cache.lookup("k" * 64)
    assert hit is not None
    assert (hit / "transcript.srt").read_text() == (results / "transcript.srt").read_text()
    (hit / "meta.json").unlink()
    assert cache.lookup("k" * 64) is None
