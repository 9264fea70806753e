"""Decode any audio or video PyAV can read into 16 kHz mono float32, with no system ffmpeg."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import numpy as np
import numpy.typing as npt

from jobs.errors import NotAudio

__all__ = ["SAMPLE_RATE", "Audio", "decode"]

SAMPLE_RATE = 16_000
_HINT = "send an audio or video file such as mp3, m4a, ogg, opus, wav, flac, webm or mp4"


@dataclass(frozen=True)
class Audio:
    samples: npt.NDArray[np.float32]
    sample_rate: int = SAMPLE_RATE

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.sample_rate


def decode(path: Path, *, name: str | None = None) -> Audio:
    """Read the first audio stream of `path`; NotAudio (one sentence) when there is none."""
    label = name or path.name
    if path.stat().st_size == 0:
        raise NotAudio(f"{label} is empty (0 bytes); {_HINT}")
    try:
        container = av.open(str(path), metadata_errors="ignore")
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError):
        raise NotAudio(f"{label} is not audio we can read; {_HINT}") from None
    with container:
        if not container.streams.audio:
            what = " (only video or pictures)" if container.streams.video else ""
            raise NotAudio(f"{label} has no sound in it{what}; {_HINT}")
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
        chunks: list[npt.NDArray[Any]] = []
        try:
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray().reshape(-1))
        except av.error.FFmpegError:
            # A truncated or damaged tail: keep what decoded cleanly, if anything did.
            if not chunks:
                raise NotAudio(f"{label} is damaged and could not be decoded; {_HINT}") from None
        for out in resampler.resample(None):
            chunks.append(out.to_ndarray().reshape(-1))
    if not chunks or sum(len(c) for c in chunks) == 0:
        raise NotAudio(f"{label} contains no audio samples; {_HINT}")
    pcm = np.concatenate(chunks)
    return Audio(samples=(pcm.astype(np.float32) / 32768.0))
