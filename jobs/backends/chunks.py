"""Cutting audio for remote APIs: speech regions, chunks cut only in silence, WAV bytes.

A remote API takes one file of at most 25 MB per request, and newer models return text with
no timestamps. So the audio is cut where nobody speaks: faster-whisper's VAD (Silero) finds
the speech regions, consecutive regions are packed into chunks of at most `max_s` seconds,
and each chunk's audio runs from the middle of the silence before it to the middle of the
silence after it. No word is ever split, silence alone is never sent (no cost, no
hallucinated text), and each chunk remembers where its speech is, which is what the text is
timed against (`jobs.backends.timing`).
"""

from __future__ import annotations

import io
import wave
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = [
    "Chunk", "Region", "chunk_audio", "plan_chunks", "speech_regions", "split_chunk", "wav_bytes",
]  # fmt: skip

SAMPLE_RATE = 16_000
WAV_HEADER = 44
BYTES_PER_S = SAMPLE_RATE * 2  # 16-bit mono PCM

Region = tuple[float, float]  # seconds from the start of the audio


@dataclass(frozen=True)
class Chunk:
    start: float  # where the chunk's audio starts and ends, in seconds
    end: float
    speech: tuple[Region, ...]  # the speech inside it, absolute seconds

    @property
    def seconds(self) -> float:
        return self.end - self.start

    @property
    def wav_size(self) -> int:
        return WAV_HEADER + round(self.seconds * SAMPLE_RATE) * 2


def speech_regions(audio: npt.NDArray[np.float32], *, max_region_s: float) -> list[Region]:
    """Where someone speaks. Pauses of 150 ms or more separate regions (sentence ends, commas,
    breaths): they are where text is timed to, and where chunks are cut. A region is never
    longer than `max_region_s` (Silero then cuts at its last pause)."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    options = VadOptions(
        min_silence_duration_ms=150, speech_pad_ms=50, max_speech_duration_s=max_region_s
    )
    stamps = get_speech_timestamps(audio, options, sampling_rate=SAMPLE_RATE)
    return [(s["start"] / SAMPLE_RATE, s["end"] / SAMPLE_RATE) for s in stamps]


def chunk_audio(audio: npt.NDArray[np.float32], max_s: float) -> list[Chunk]:
    """The chunks for `audio`: the VAD is asked for regions that fit a chunk with its silence
    around them, so that it, not the planner, finds where long speech pauses."""
    regions = speech_regions(audio, max_region_s=_room(max_s))
    return plan_chunks(regions, len(audio) / SAMPLE_RATE, max_s)


def plan_chunks(regions: list[Region], duration_s: float, max_s: float) -> list[Chunk]:
    """Pack consecutive speech regions into chunks of at most `max_s` seconds of audio, cut in
    the middle of the silences between them. A region longer than a chunk's room for speech
    (speech with no pause at all) is cut into equal parts: the only place a cut can fall
    inside speech."""
    room = _room(max_s)
    pieces: list[Region] = []
    for start, end in regions:
        parts = int(np.ceil((end - start) / room)) if end - start > room else 1
        step = (end - start) / parts
        pieces.extend((start + i * step, start + (i + 1) * step) for i in range(parts))
    groups: list[tuple[int, int]] = []  # first and last index into pieces
    for i in range(len(pieces)):
        if groups:
            start, end = _bounds(pieces, groups[-1][0], i, duration_s)
            if end - start <= max_s:
                groups[-1] = (groups[-1][0], i)
                continue
        groups.append((i, i))
    return [
        Chunk(*_bounds(pieces, first, last, duration_s), tuple(pieces[first : last + 1]))
        for first, last in groups
    ]


def split_chunk(chunk: Chunk) -> tuple[Chunk, Chunk]:
    """Two halves of a chunk a server refused as too large: cut in its longest silence, or in
    the middle of its speech when it holds one region only."""
    speech = chunk.speech
    if len(speech) >= 2:
        gaps = [(speech[i + 1][0] - speech[i][1], i) for i in range(len(speech) - 1)]
        # Prefer a long pause near the middle: both halves shrink.
        middle = (chunk.start + chunk.end) / 2
        _, i = max(gaps, key=lambda g: (g[0] > 0.25, -abs(speech[g[1]][1] - middle)))
        cut = (speech[i][1] + speech[i + 1][0]) / 2
        return (Chunk(chunk.start, cut, speech[: i + 1]), Chunk(cut, chunk.end, speech[i + 1 :]))
    (s, e), cut = speech[0], (speech[0][0] + speech[0][1]) / 2
    return (Chunk(chunk.start, cut, ((s, cut),)), Chunk(cut, chunk.end, ((cut, e),)))


def wav_bytes(audio: npt.NDArray[np.float32], chunk: Chunk) -> bytes:
    """The chunk's audio as 16 kHz 16-bit mono WAV: small, lossless, and read by every API."""
    first, last = round(chunk.start * SAMPLE_RATE), round(chunk.end * SAMPLE_RATE)
    pcm = (np.clip(audio[first:last], -1.0, 1.0) * 32767).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(pcm.tobytes())
    return buffer.getvalue()


def _room(max_s: float) -> float:
    """The most speech one chunk holds in one piece: it may add up to 1 s of silence on each
    side."""
    return max(max_s - 2.0, max_s / 2)


def _bounds(pieces: list[Region], first: int, last: int, duration_s: float) -> Region:
    """The audio of pieces[first..last]: from the middle of the silence before them to the
    middle of the one after them (at most 1 s of silence on each side)."""
    before = pieces[first - 1][1] if first > 0 else 0.0
    after = pieces[last + 1][0] if last + 1 < len(pieces) else duration_s
    start = max(pieces[first][0] - 1.0, (before + pieces[first][0]) / 2, 0.0)
    end = min(pieces[last][1] + 1.0, (pieces[last][1] + after) / 2, duration_s)
    return start, end
