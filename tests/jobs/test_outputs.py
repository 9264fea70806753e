"""The result files: formats by table, atomic writes, a usable output folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jobs.backends.base import Segment
from jobs.errors import UsageError
from jobs.outputs import (
    RESULT_FILES,
    check_out_dir,
    render_segments_json,
    render_srt,
    render_txt,
    render_vtt,
    timestamp,
    write_results,
)

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


def test_segments_json_is_a_list_of_start_end_text() -> None:
    assert json.loads(render_segments_json(SEGMENTS)) == [
        {"start": 0.0, "end": 2.5, "text": " Hello there."},
        {"start": 2.5, "end": 3661.0456, "text": "Second --> line\n\nwith a gap"},
    ]


def test_no_segments_still_make_valid_empty_files() -> None:
    assert render_srt([]) == ""
    assert render_vtt([]) == "WEBVTT\n\n"
    assert render_segments_json([]) == "[]\n"


def test_meta_json_appears_last_so_its_presence_means_a_complete_set() -> None:
    assert RESULT_FILES[-1] == "meta.json"


def test_a_rewrite_that_fails_leaves_the_previous_set_whole(tmp_path: Path) -> None:
    write_results(tmp_path, SEGMENTS, {"n": 1})
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    with pytest.raises(UnicodeEncodeError):
        write_results(tmp_path, [Segment(0, 1, "half a surrogate \ud800")], {"n": 2})
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


@pytest.mark.parametrize(
    ("make_out", "expected_error"),
    [
        (lambda d: d / "new" / "deeper", None),
        (lambda d: d, None),
        (lambda d: _touch(d / "taken"), "is not a folder"),
        (lambda d: _touch(d / "file") / "sub", "is a file"),
    ],
)
def test_the_output_folder_is_checked_before_any_work(
    tmp_path: Path, make_out: object, expected_error: str | None
) -> None:
    out = make_out(tmp_path)  # type: ignore[operator]
    if expected_error is None:
        check_out_dir(out)
        return
    with pytest.raises(UsageError, match=expected_error):
        check_out_dir(out)


def _touch(path: Path) -> Path:
    path.write_text("x")
    return path
