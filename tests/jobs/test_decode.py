"""Decoding: every common container and codec PyAV reads, and clear refusals for the rest."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from jobs.decode import SAMPLE_RATE, decode
from jobs.errors import NotAudio
from tests.jobs.media import reencode, video_only


def test_the_ogg_opus_sample_decodes_to_16k_mono(speech_ogg: Path) -> None:
    audio = decode(speech_ogg)
    assert audio.sample_rate == SAMPLE_RATE
    assert audio.samples.ndim == 1
    assert audio.duration_s == pytest.approx(25.55, abs=0.1)
    assert 0.01 < float(abs(audio.samples).max()) <= 1.0


@pytest.mark.parametrize(
    ("name", "codec", "video"),
    [
        ("a.wav", "pcm_s16le", False),
        ("a.flac", "flac", False),
        ("a.mp3", "libmp3lame", False),
        ("a.m4a", "aac", False),
        ("a.webm", "libopus", False),
        ("a.ogg", "flac", False),
        ("a.mkv", "aac", True),
        ("a.mp4", "aac", True),
    ],
)
def test_common_formats_decode_to_the_same_length(
    speech_ogg: Path, tmp_path: Path, name: str, codec: str, video: bool
) -> None:
    made = reencode(speech_ogg, tmp_path / name, codec, seconds=3.0, video=video)
    audio = decode(made)
    assert audio.duration_s == pytest.approx(3.0, abs=0.15)
    assert float(abs(audio.samples).max()) > 0.01


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda d: _write(d / "empty.mp3", b""), "empty.mp3 is empty (0 bytes)"),
        (
            lambda d: _write(d / "notes.mp3", b"these are my notes, not audio\n" * 50),
            "notes.mp3 is not audio we can read (not a media file",
        ),
        (
            lambda d: _write(d / "img.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 200),
            "img.png is not audio we can read (no audio stream",
        ),
        (
            lambda d: video_only(d / "clip.mp4"),
            "clip.mp4 is not audio we can read (no audio stream, only video)",
        ),
    ],
)
def test_things_that_are_not_audio_get_one_sentence(
    tmp_path: Path, make: object, expected: str
) -> None:
    path = make(tmp_path)  # type: ignore[operator]
    with pytest.raises(NotAudio) as caught:
        decode(path)
    assert expected in str(caught.value)
    assert "send an audio or video file" in str(caught.value)


@pytest.mark.parametrize(
    ("name", "codec"), [("a.mp3", "libmp3lame"), ("a.flac", "flac"), ("a.webm", "libopus")]
)
def test_a_file_cut_in_its_body_decodes_what_it_has_and_says_it_is_cut_short(
    speech_ogg: Path, tmp_path: Path, name: str, codec: str
) -> None:
    whole = reencode(speech_ogg, tmp_path / name, codec, seconds=6.0)
    assert not decode(whole).cut_short
    cut = tmp_path / f"cut-{name}"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    audio = decode(cut)
    assert 1.5 < audio.duration_s < 4.5
    assert audio.announced_s == pytest.approx(6.0, abs=0.1)
    assert audio.cut_short


def test_an_ogg_cut_in_half_is_not_flagged_because_ogg_announces_no_length(
    speech_ogg: Path, tmp_path: Path
) -> None:
    cut = tmp_path / "cut.ogg"
    cut.write_bytes(speech_ogg.read_bytes()[: speech_ogg.stat().st_size // 2])
    audio = decode(cut)
    assert 5 < audio.duration_s < 20
    assert not audio.cut_short


@pytest.mark.parametrize(
    ("name", "codec", "keep_bytes", "expected"),
    [
        ("stub.ogg", None, 40, "stub.ogg is not audio we can read"),
        # An m4a keeps its index (the moov atom) at the end: without it nothing can be read.
        ("half.m4a", "aac", None, "half.m4a is not audio we can read (not a media file, or cut"),
    ],
)
def test_a_file_cut_before_its_audio_can_be_found_is_not_audio(
    speech_ogg: Path, tmp_path: Path, name: str, codec: str | None, keep_bytes: int | None,
    expected: str,
) -> None:  # fmt: skip
    whole = speech_ogg if codec is None else reencode(speech_ogg, tmp_path / f"w-{name}", codec)
    data = whole.read_bytes()
    (tmp_path / name).write_bytes(data[: keep_bytes or len(data) // 2])
    with pytest.raises(NotAudio, match=re.escape(expected)):
        decode(tmp_path / name)


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path
