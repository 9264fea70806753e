"""The emulator's ears: faster-whisper tiny.en (the bundled model), two requests at a time,
and the request shapes the transcription endpoints accept (OpenAI's multipart form,
OpenRouter's base64 JSON)."""

from __future__ import annotations

import base64
import io
import threading
from dataclasses import dataclass
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

__all__ = ["Heard", "Upload", "hear", "parse_multipart", "upload_from_json"]

WORKERS = 2
_LOCK = threading.Lock()  # guards making the model
_SLOTS = threading.Semaphore(WORKERS)  # a third request waits for a worker
_MODEL: Any = None


@dataclass(frozen=True)
class Upload:
    audio: bytes
    fields: dict[str, list[str]]  # the form's other fields (repeated ones keep every value)

    def field(self, name: str, default: str | None = None) -> str | None:
        values = self.fields.get(name)
        return values[0] if values else default


@dataclass(frozen=True)
class Heard:
    text: str
    duration_s: float
    segments: list[tuple[float, float, str]]


def parse_multipart(content_type: str, body: bytes) -> Upload | None:
    """The `file` part and the other fields of a multipart/form-data body; None if malformed."""
    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode() + body
    )
    if not message.is_multipart():
        return None
    audio = None
    fields: dict[str, list[str]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True) or b""
        if name == "file":
            audio = payload
        elif isinstance(name, str):
            fields.setdefault(name, []).append(payload.decode("utf-8", "replace"))
    return Upload(audio, fields) if audio is not None else None


def upload_from_json(body: dict[str, Any]) -> Upload | None:
    """OpenRouter's `{"model", "input_audio": {"data", "format"}, "language"}`."""
    audio = body.get("input_audio")
    if not isinstance(audio, dict) or not isinstance(audio.get("data"), str):
        return None
    try:
        data = base64.b64decode(audio["data"], validate=True)
    except ValueError:
        return None
    fields = {k: [str(v)] for k, v in body.items() if k != "input_audio" and v is not None}
    return Upload(data, fields)


def hear(audio: bytes, *, language: str | None, beam_size: int, timed: bool = True) -> Heard:
    """Really transcribe `audio` (any format PyAV reads) with tiny.en; ValueError if it is
    not audio. `timed=False` skips the timestamp tokens (faster; the text-only models)."""
    from faster_whisper import decode_audio

    try:
        samples = decode_audio(io.BytesIO(audio))
    except Exception as exc:  # PyAV raises many kinds for bytes that are not audio
        raise ValueError(str(exc)) from None
    with _SLOTS:
        segments, info = _model().transcribe(
            samples,
            language=language,
            beam_size=beam_size,
            vad_filter=False,
            condition_on_previous_text=False,
            without_timestamps=not timed,
        )
        timed = [(float(s.start), float(s.end), s.text) for s in segments]
    return Heard("".join(t for _, _, t in timed).strip(), float(info.duration), timed)


def _model() -> Any:
    global _MODEL
    with _LOCK:
        if _MODEL is None:
            from faster_whisper import WhisperModel

            from jobs.backends.local import bundled_model_path

            # Two one-thread workers, not one two-thread one: tiny.en's steps are too small
            # for two threads to share well; two chunks at once go 1.7 times as fast, with
            # the same text.
            _MODEL = WhisperModel(
                str(bundled_model_path()), device="cpu", compute_type="int8",
                cpu_threads=1, num_workers=WORKERS,
            )  # fmt: skip
        return _MODEL
