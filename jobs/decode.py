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
    announced_s: float | None = None  # the length the file's header claims, when it says

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.sample_rate

    @property
    def cut_short(self) -> bool:
        """The sound ends well before the length the file announces (a truncated file)."""
        if self.announced_s is None:
            return False
        return self.duration_s < self.announced_s - max(1.0, 0.05 * self.announced_s)


def decode(path: Path, *, name: str | None = None) -> Audio:
    """Read the first audio stream of `path`; NotAudio (one sentence) when there is none."""
    label = name or path.name
    if path.stat().st_size == 0:
        raise NotAudio(f"{label} is empty (0 bytes); {_HINT}")
    try:
        container = av.open(str(path), metadata_errors="ignore")
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError):
        raise NotAudio(
            f"{label} is not audio we can read (not a media file, or cut short); {_HINT}"
        ) from None
    with container:
        if not container.streams.audio:
            what = "no audio stream, only video" if container.streams.video else "no audio stream"
            raise NotAudio(f"{label} is not audio we can read ({what}); {_HINT}")
        stream = container.streams.audio[0]
        announced = _announced_s(container, stream)
        resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
        chunks: list[npt.NDArray[Any]] = []
        try:
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray().reshape(-1))
        except av.error.FFmpegError:
            # A damaged tail: keep what decoded cleanly (the caller sees `cut_short`).
            if not chunks:
                raise NotAudio(f"{label} is not audio we can read (damaged); {_HINT}") from None
        for out in resampler.resample(None):
            chunks.append(out.to_ndarray().reshape(-1))
    if sum(len(c) for c in chunks) == 0:
        raise NotAudio(f"{label} is not audio we can read (its audio stream is empty); {_HINT}")
    pcm = np.concatenate(chunks)
    return Audio(samples=pcm.astype(np.float32) / 32768.0, announced_s=announced)


def _announced_s(container: Any, stream: Any) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return float(container.duration / av.time_base)
    return None
