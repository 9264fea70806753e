"""What the OpenAI and OpenRouter backends share: chunk, send a few at a time, time, stitch.

A backend here is a `Send` (one chunk's WAV in, its text and maybe segments out) plus this
driver. The audio is cut in silence (`jobs.backends.chunks`), chunks go out `concurrency` at a
time, a chunk the server calls too large (HTTP 413) is halved in its longest pause and sent
again, and the answers are timed (`jobs.backends.timing`) and stitched back in order. Retries
of 429, 5xx and timeouts happen inside the `openai` client (`jobs.apiclient`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from jobs.apiclient import Provider
from jobs.backends.base import Advance, Segment, Step, Transcript
from jobs.backends.chunks import (
    BYTES_PER_S,
    WAV_HEADER,
    Chunk,
    chunk_audio,
    split_chunk,
    wav_bytes,
)
from jobs.backends.timing import stitch, time_text
from jobs.errors import BackendFailed, LanguageUnsupported

__all__ = ["Answer", "ChunkTooLarge", "RemoteBackend", "RemoteLimits", "Send"]

MIN_CHUNK_S = 1.0  # a server that refuses a second of audio is not refusing its size


@dataclass(frozen=True)
class Answer:
    text: str
    segments: list[Segment] | None = None  # from the chunk's start, when the model gives them


class ChunkTooLarge(Exception):
    """The server refused a chunk for its size (HTTP 413)."""


Send = Callable[[bytes, str | None], Answer]


@dataclass(frozen=True)
class RemoteLimits:
    chunk_s: float = 30.0  # longest chunk; text-only answers are timed within one chunk
    max_file_bytes: int = 24 * 1024 * 1024  # under the APIs' 25 MB, with room for the form
    concurrency: int = 4

    @property
    def max_chunk_s(self) -> float:
        """The longest chunk allowed by both the setting and the file size limit."""
        return min(self.chunk_s, (self.max_file_bytes - WAV_HEADER) / BYTES_PER_S)


class RemoteBackend:
    """A remote transcription API behind relayq's Backend interface."""

    def __init__(
        self,
        provider: Provider,
        model: str,
        send: Send,
        limits: RemoteLimits,
        identity: dict[str, object],
        close: Callable[[], None] = lambda: None,
    ) -> None:
        self.name = provider.name
        self._base_variable = provider.base_variable
        self.close = close
        self.model = model
        self._send = send
        self._limits = limits
        self._identity = identity
        self.requests = 0  # how many chunks were sent, splits included (meta.json)
        self._count = threading.Lock()

    def identity(self) -> dict[str, object]:
        return {
            "backend": self.name,
            "model": self.model,
            **self._identity,
            "chunk_s": self._limits.max_chunk_s,
        }

    def transcribe(
        self,
        audio: npt.NDArray[np.float32],
        *,
        language: str | None,
        task: str = "transcribe",
        step: Step = lambda _: None,
        begin: Step = lambda _: None,
        advance: Advance = lambda _: None,
    ) -> Transcript:
        if task != "transcribe":
            raise LanguageUnsupported(
                f"the {self.name} backend only transcribes; translation to English runs with "
                "the local model: use --backend local"
            )
        begin(self.model)
        chunks = chunk_audio(audio, self._limits.max_chunk_s)
        if not chunks:
            return Transcript([], language, None, self.model)
        pool = ThreadPoolExecutor(max_workers=self._limits.concurrency, thread_name_prefix="chunk")
        done = _Done(advance)
        try:
            results = list(pool.map(lambda c: done(c, self._chunk(audio, c, language)), chunks))
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown()
        return Transcript(
            stitch([cue for cues in results for cue in cues]), language, None, self.model
        )

    def _chunk(
        self, audio: npt.NDArray[np.float32], chunk: Chunk, language: str | None
    ) -> list[Segment]:
        if chunk.wav_size > self._limits.max_file_bytes:
            first, second = split_chunk(chunk)
            return self._chunk(audio, first, language) + self._chunk(audio, second, language)
        with self._count:
            self.requests += 1
        try:
            answer = self._send(wav_bytes(audio, chunk), language)
        except ChunkTooLarge:
            if chunk.seconds / 2 < MIN_CHUNK_S:
                raise BackendFailed(
                    f"the {self.name} API refused even {chunk.seconds:.1f} s of audio as too "
                    f"large (HTTP 413); check that {self._base_variable} points at a "
                    "transcription API"
                ) from None
            first, second = split_chunk(chunk)
            return self._chunk(audio, first, language) + self._chunk(audio, second, language)
        if answer.segments:
            return [
                cue
                for seg in answer.segments
                for cue in time_text(seg.text, _within(chunk, seg.start, seg.end))
            ]
        return time_text(answer.text, chunk.speech)


class _Done:
    """The seconds of audio in the chunks answered so far, told to `advance` (the chunks end
    out of order, a few at a time)."""

    def __init__(self, advance: Advance) -> None:
        self._advance = advance
        self._seconds = 0.0
        self._lock = threading.Lock()

    def __call__(self, chunk: Chunk, cues: list[Segment]) -> list[Segment]:
        with self._lock:
            self._seconds += chunk.seconds
            seconds = self._seconds
        self._advance(seconds)
        return cues


def _within(chunk: Chunk, start: float, end: float) -> list[tuple[float, float]]:
    """The chunk's speech inside a segment the model timed (seconds from the chunk's start)."""
    a, b = chunk.start + start, min(chunk.start + end, chunk.end)
    inside = [(max(s, a), min(e, b)) for s, e in chunk.speech if e > a and s < b]
    return inside or [(a, max(a, b))]
