"""Decoding: every common container and codec PyAV reads, and clear refusals for the rest."""

from __future__ import annotations

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
            "notes.mp3 is not audio we can read",
        ),
        (
            lambda d: _write(d / "img.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 200),
            "img.png has no sound in it",
        ),
        (
            lambda d: video_only(d / "clip.mp4"),
            "clip.mp4 has no sound in it (only video or pictures)",
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


def test_a_truncated_file_decodes_what_it_has(speech_ogg: Path, tmp_path: Path) -> None:
    cut = tmp_path / "cut.ogg"
    cut.write_bytes(speech_ogg.read_bytes()[: speech_ogg.stat().st_size // 2])
    audio = decode(cut)
    assert 5 < audio.duration_s < 20


def test_a_file_cut_inside_its_header_is_not_audio(speech_ogg: Path, tmp_path: Path) -> None:
    cut = tmp_path / "stub.ogg"
    cut.write_bytes(speech_ogg.read_bytes()[:40])
    with pytest.raises(NotAudio):
        decode(cut)


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path
