"""The progress record: its line and title, what readers refuse, the runner's throttle."""

from __future__ import annotations

import itertools
import math

import pytest

from jobs.progress import (
    LINE_PREFIX,
    ProgressRecord,
    Reporter,
    Throttle,
    about_left,
    parse,
    parse_title,
)


def record(phase: str = "transcribe", fraction: float = 0.42, elapsed: float = 10.0,
           left: float | None = 180.0) -> ProgressRecord:  # fmt: skip
    return ProgressRecord(phase, fraction, 12.5, elapsed, left)


def test_a_record_survives_its_line() -> None:
    sent = record()
    line = sent.line()
    assert line.startswith("relayq-progress: ") and "\n" not in line
    assert parse(line) == sent


def test_the_title_starts_with_the_integer_percentage() -> None:
    assert record().title() == "42% transcribe · 3 min left"
    assert record(left=None).title() == "42% transcribe"
    assert record(left=20).title() == "42% transcribe · under a minute left"
    assert parse_title(record().title()) == ("transcribe", 0.42)


@pytest.mark.parametrize(
    "line",
    [
        "",
        "relayq: transcribe 12.0 s of audio",  # a step line
        LINE_PREFIX,
        LINE_PREFIX + "{not json",
        LINE_PREFIX + "[1, 2]",
        LINE_PREFIX + '"a string"',
        LINE_PREFIX + '{"phase": "transcribe"}',
        LINE_PREFIX + '{"phase": "sing", "fraction": 0.5, "elapsed_s": 1}',
        LINE_PREFIX + '{"phase": "transcribe", "fraction": 1.5, "elapsed_s": 1}',
        LINE_PREFIX + '{"phase": "transcribe", "fraction": -0.1, "elapsed_s": 1}',
        LINE_PREFIX + '{"phase": "transcribe", "fraction": NaN, "elapsed_s": 1}',
        LINE_PREFIX + '{"phase": "transcribe", "fraction": Infinity, "elapsed_s": 1}',
        LINE_PREFIX + '{"phase": "transcribe", "fraction": "0.5", "elapsed_s": 1}',
        LINE_PREFIX + '{"phase": "transcribe", "fraction": true, "elapsed_s": 1}',
        LINE_PREFIX + '{"phase": "transcribe", "fraction": 0.5, "elapsed_s": -3}',
        LINE_PREFIX + '{"phase": ["transcribe"], "fraction": 0.5, "elapsed_s": 1}',
        " " + record().line(),  # not at the start of the line
    ],
)
def test_garbage_is_no_record(line: str) -> None:
    assert parse(line) is None


def test_odd_optional_values_are_dropped_not_the_record() -> None:
    line = LINE_PREFIX + ('{"phase": "decode", "fraction": 1, "elapsed_s": 2, '
                          '"audio_done_s": -1, "left_s": NaN, "extra": "ignored"}')  # fmt: skip
    assert parse(line) == ProgressRecord("decode", 1.0, None, 2.0, None)


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("42% transcribe · 3 min left", ("transcribe", 0.42)),
        ("100% outputs", ("outputs", 1.0)),
        ("0% download", ("download", 0.0)),
        ("101% transcribe", None),
        ("-5% transcribe", None),
        ("42 % transcribe", None),
        ("42% singing", None),
        ("transcribe 42%", None),
        ("", None),
        (None, None),
    ],
)
def test_titles(title: str | None, expected: tuple[str, float] | None) -> None:
    assert parse_title(title) == expected


def test_the_percentage_is_never_out_of_range() -> None:
    assert record(fraction=1.0).percent == 100
    assert record(fraction=0.999).percent == 99  # 100 % is said only when it is done
    assert ProgressRecord("transcribe", 7.0, None, 0, None).percent == 100


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [(0, "under a minute left"), (59, "under a minute left"), (61, "about 1 min left"),
     (180, "about 3 min left"), (89 * 60, "about 89 min left"), (150 * 60, "about 2 h 30 min left")],
)  # fmt: skip
def test_about_left(seconds: float, expected: str) -> None:
    assert about_left(seconds) == expected


# -- the throttle -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("last", "phase", "fraction", "at", "expected"),
    [
        (None, "download", 0.0, 0.0, True),  # the first record
        (("download", 0.5, 1.0), "decode", 0.0, 1.1, True),  # a new phase, at once
        (("transcribe", 0.40, 0.0), "transcribe", 0.46, 20.0, True),  # 6 % and 20 s
        (("transcribe", 0.40, 0.0), "transcribe", 0.44, 60.0, False),  # 4 %: not yet
        (("transcribe", 0.40, 0.0), "transcribe", 0.90, 5.0, False),  # 50 % in 5 s: not yet
        (("transcribe", 0.40, 0.0), "transcribe", 1.0, 0.1, True),  # 100 %, at once
        (("transcribe", 1.0, 0.0), "transcribe", 1.0, 60.0, False),  # 100 % once only
        (("transcribe", 0.40, 0.0), "transcribe", 0.10, 60.0, False),  # backwards
    ],
)
def test_at_most_one_record_per_5_percent_or_15_s_whichever_is_rarer(
    last: tuple[str, float, float] | None, phase: str, fraction: float, at: float, expected: bool
) -> None:
    before = None if last is None else ProgressRecord(last[0], last[1], None, last[2], None)
    assert Throttle().due(before, phase, fraction, at) is expected


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_reporter_writes_phase_changes_and_100_percent_and_throttles_the_rest() -> None:
    clock, sent = Clock(), []
    reporter = Reporter(sent.append, clock=clock)
    reporter.begin("decode")
    clock.now += 2
    reporter.begin("transcribe")
    for i in range(1, 100):  # a segment a second, 1 % of the audio each
        clock.now += 1
        reporter.update("transcribe", i / 100, audio_done_s=i * 0.5)
    reporter.end("transcribe")
    reporter.begin("outputs")
    reporter.end("outputs")
    phases = [(r.phase, r.fraction) for r in sent]
    assert phases[:2] == [("decode", 0.0), ("transcribe", 0.0)]
    assert phases[-3:] == [("transcribe", 1.0), ("outputs", 0.0), ("outputs", 1.0)]
    between = [r for r in sent if r.phase == "transcribe" and 0 < r.fraction < 1]
    # 5 % takes 5 s here, so the 15 s rule is the rarer one: 15 %, 30 %, ... 90 %.
    assert [r.fraction for r in between] == [0.15, 0.30, 0.45, 0.60, 0.75, 0.90]
    assert all(b.elapsed_s - a.elapsed_s >= 15 for a, b in itertools.pairwise(between))
    assert reporter.emitted == len(sent)


def test_the_runners_estimate_is_the_pace_so_far() -> None:
    clock, sent = Clock(), []
    reporter = Reporter(sent.append, clock=clock, throttle=Throttle(every_s=0))
    clock.now += 30  # fetching and decoding do not count towards the pace
    reporter.begin("transcribe")
    clock.now += 60
    reporter.update("transcribe", 0.25, audio_done_s=900)
    last = sent[-1]
    assert last.left_s == pytest.approx(180) and last.elapsed_s == pytest.approx(90)
    assert last.audio_done_s == 900 and sent[0].left_s is None  # nothing to go by at 0 %


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_a_reporter_ignores_fractions_that_are_not_numbers(bad: float) -> None:
    sent: list[ProgressRecord] = []
    reporter = Reporter(sent.append, throttle=Throttle(every_s=0))
    reporter.begin("transcribe")
    reporter.update("transcribe", bad)
    assert [r.fraction for r in sent] == [0.0]


def test_a_reporter_clamps_and_never_goes_backwards() -> None:
    sent: list[ProgressRecord] = []
    reporter = Reporter(sent.append, throttle=Throttle(every_s=0))
    reporter.begin("transcribe")
    reporter.update("transcribe", 0.5)
    reporter.update("transcribe", 0.2)  # a fallback backend starts again
    reporter.update("transcribe", 3.0)  # more than all of the audio
    reporter.update("transcribe", -1.0)
    assert [r.fraction for r in sent] == [0.0, 0.5, 1.0]
    assert all(parse(r.line()) == r for r in sent)


def test_a_download_has_a_fraction_only_when_its_size_is_known() -> None:
    sent: list[ProgressRecord] = []
    reporter = Reporter(sent.append, throttle=Throttle(every_s=0))
    reporter.downloaded(65536, None)
    reporter.downloaded(65536, 0)
    assert sent == []
    reporter.downloaded(50, 100)
    assert [(r.phase, r.fraction) for r in sent] == [("download", 0.5)]
