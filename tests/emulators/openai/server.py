"""An OpenAI-compatible API on 127.0.0.1, as the `openai` client speaks it.

- `POST /v1/chat/completions` (and OpenRouter's `/api/v1/chat/completions`) answer with a
  deterministic "summary": the first sentence of every paragraph of the last user message,
  prefixed with `- `, so a test can tell which text was summarized. A message carrying an
  `input_audio` part is transcribed instead (OpenRouter's audio-in-chat).
- `POST /v1/audio/transcriptions` (OpenAI's multipart form) really transcribes, with
  faster-whisper tiny.en. Like OpenAI: `whisper-1` answers json, text or verbose_json (with
  segments); `gpt-transcribe` and the gpt-4o-*transcribe models only json or text (400 for
  verbose_json); other models are unknown (404).
- `POST /api/v1/audio/transcriptions` (OpenRouter): base64 JSON `input_audio`, or the same
  multipart form; answers `{"text", "usage": {"seconds", "cost"}}`.

A body over `max_bytes` (25 MB, like OpenAI) gets 413. Bearer keys are checked (401 with
OpenAI's error shape otherwise); faults inject 429 with `retry-after`, 5xx or a slow answer,
optionally on one path only. Every request is recorded (path, headers, and the body with
audio replaced by its size) for the tests to read, with the most requests ever in flight; and
every call of any kind is counted as it arrives (`calls`, any method, before anything is
checked), so a test can prove a job made none (a private job: docs/PRIVACY.md).
"""

from __future__ import annotations

import copy
import itertools
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.emulators.openai.speech import Upload, hear, parse_multipart, upload_from_json

__all__ = ["Fault", "OpenAIEmulator", "Request"]

_SENTENCE = re.compile(r"(.+?[.!?])(\s|$)", re.DOTALL)


@dataclass
class Fault:
    status: int
    times: int = 1
    retry_after: int | None = None
    delay_s: float = 0.0
    path: str | None = None  # only requests whose path contains this


OPENAI_TEXT_ONLY = frozenset({"gpt-transcribe", "gpt-4o-transcribe", "gpt-4o-mini-transcribe"})
OPENAI_SEGMENTS = frozenset({"whisper-1"})
MAX_BYTES = 25 * 1024 * 1024


@dataclass
class Request:
    path: str
    headers: dict[str, str]  # names lower-cased
    body: dict[str, Any]
    at: float = field(default_factory=time.monotonic)  # when it arrived


@dataclass
class OpenAIEmulator:
    key: str
    faults: list[Fault] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    max_bytes: int = MAX_BYTES
    beam_size: int = 1
    in_flight: int = 0
    max_in_flight: int = 0
    calls: int = 0  # every request of any method, counted before it is read or checked
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _server: ThreadingHTTPServer | None = None

    def __enter__(self) -> OpenAIEmulator:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.emulator = self  # type: ignore[attr-defined]
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()

    @property
    def base_url(self) -> str:
        """What OPENAI_BASE_URL would be."""
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    @property
    def openrouter_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/api/v1"

    def chats(self) -> list[Request]:
        return [r for r in self.requests if r.path.endswith("/chat/completions")]

    def transcriptions(self) -> list[Request]:
        return [r for r in self.requests if r.path.endswith("/audio/transcriptions")]

    def _fault_for(self, path: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.path is None or fault.path in path:
                    fault.times -= 1
                    if fault.times <= 0:
                        self.faults.remove(fault)
                    return fault
        return None


def _recorded(body: object) -> dict[str, Any]:
    """The body as recorded: base64 audio replaced by its length, so records stay small."""
    if not isinstance(body, dict):
        return {}
    out = copy.deepcopy(body)
    audio = out.get("input_audio")
    if isinstance(audio, dict) and isinstance(audio.get("data"), str):
        out["input_audio"] = {**audio, "data": f"<{len(audio['data'])} base64 characters>"}
    for message in out.get("messages") or []:
        if isinstance(message, dict) and isinstance(message.get("content"), list):
            message["content"] = [
                {**p, "input_audio": "<audio>"} if isinstance(p, dict)
                and p.get("type") == "input_audio" else p
                for p in message["content"]
            ]  # fmt: skip
    return out


def summarize(text: str) -> str:
    """The emulator's "model": the first sentence of each paragraph, as a list."""
    points = []
    for paragraph in re.split(r"\n\s*\n", text.strip()):
        match = _SENTENCE.search(paragraph.strip())
        if match:
            points.append("- " + " ".join(match.group(1).split()))
    return "\n".join(points) or "- (nothing to summarize)"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Any

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _counted(self) -> None:
        emulator: OpenAIEmulator = self.server.emulator
        with emulator._lock:
            emulator.calls += 1

    def do_GET(self) -> None:  # the API has no GET the client uses; counted all the same
        self._counted()
        self._error(404, f"Unknown path {self.path}", "not_found")

    def do_POST(self) -> None:
        self._counted()
        emulator: OpenAIEmulator = self.server.emulator
        with emulator._lock:
            emulator.in_flight += 1
            emulator.max_in_flight = max(emulator.max_in_flight, emulator.in_flight)
        try:
            self._post(emulator)
        finally:
            with emulator._lock:
                emulator.in_flight -= 1

    def _post(self, emulator: OpenAIEmulator) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        content_type = self.headers.get("Content-Type") or ""
        upload = None
        body: dict[str, Any] = {}
        if content_type.startswith("multipart/form-data"):
            upload = parse_multipart(content_type, raw)
            if upload is not None:
                body = {k: v[0] if len(v) == 1 else v for k, v in upload.fields.items()}
                body["file_bytes"] = len(upload.audio)
        else:
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                body = {}
        emulator.requests.append(
            Request(self.path, {k.lower(): v for k, v in self.headers.items()}, _recorded(body))
        )
        if self.headers.get("Authorization") != f"Bearer {emulator.key}":
            self._error(401, "Incorrect API key provided.", "invalid_api_key")
            return
        fault = emulator._fault_for(self.path)
        if fault is not None:
            time.sleep(fault.delay_s)
            if fault.status >= 400:
                extra = {"retry-after": str(fault.retry_after)} if fault.retry_after else {}
                self._error(fault.status, "injected fault", "server_error", extra)
                return
        if length > emulator.max_bytes:
            self._error(
                413,
                f"Maximum content size limit ({emulator.max_bytes}) exceeded ({length} bytes read)",
                "request_too_large",
            )
            return
        if self.path.endswith("/audio/transcriptions"):
            if upload is None and isinstance(body, dict):
                upload = upload_from_json(body)
            self._transcription(emulator, upload)
        elif self.path.endswith("/chat/completions"):
            self._chat(emulator, body)
        else:
            self._error(404, f"Unknown path {self.path}", "not_found")

    def _transcription(self, emulator: OpenAIEmulator, upload: Upload | None) -> None:
        if upload is None:
            self._error(400, "Could not parse the audio in the request.", "invalid_request_error")
            return
        openrouter = self.path.startswith("/api/")
        model = upload.field("model") or ""
        fmt = upload.field("response_format", "json")
        if openrouter:
            known = "whisper" in model or "transcribe" in model
        else:
            known = model in OPENAI_SEGMENTS | OPENAI_TEXT_ONLY
        if not known:
            self._error(404, f"The model `{model}` does not exist.", "model_not_found")
            return
        allowed = ("json", "text", "verbose_json") if model in OPENAI_SEGMENTS else ("json", "text")
        if openrouter:
            allowed = ("json",)
        if fmt not in allowed:
            self._error(
                400,
                f"response_format '{fmt}' is not compatible with model '{model}'. "
                f"Use {' or '.join(repr(a) for a in allowed)} instead.",
                "invalid_request_error",
            )
            return
        try:
            heard = hear(upload.audio, language=upload.field("language"),
                         beam_size=emulator.beam_size, timed=fmt == "verbose_json")  # fmt: skip
        except ValueError:
            self._error(400, "Audio file might be corrupted or unsupported", "invalid_value")
            return
        if openrouter:
            self._json(200, {"text": heard.text, "usage": {
                "seconds": round(heard.duration_s, 2), "cost": round(heard.duration_s * 1e-4, 6)}})  # fmt: skip
        elif fmt == "text":
            self._plain(heard.text + "\n")
        elif fmt == "verbose_json":
            self._json(200, {
                "task": "transcribe", "language": "english", "duration": heard.duration_s,
                "text": heard.text,
                "segments": [
                    {"id": i, "seek": 0, "start": s, "end": e, "text": t, "tokens": [],
                     "temperature": 0.0, "avg_logprob": -0.2, "compression_ratio": 1.2,
                     "no_speech_prob": 0.01}
                    for i, (s, e, t) in enumerate(heard.segments)
                ],
                "usage": {"type": "duration", "seconds": round(heard.duration_s)},
            })  # fmt: skip
        else:
            self._json(200, {"text": heard.text, "usage": {
                "type": "duration", "seconds": round(heard.duration_s)}})  # fmt: skip

    def _chat(self, emulator: OpenAIEmulator, body: dict[str, Any]) -> None:
        messages = body.get("messages") or []
        last = next((m for m in reversed(messages) if m.get("role") == "user"), {})
        content = last.get("content") or ""
        audio = [p for p in content if isinstance(p, dict) and p.get("type") == "input_audio"] \
            if isinstance(content, list) else []  # fmt: skip
        if audio:
            upload = upload_from_json({"input_audio": audio[0].get("input_audio")})
            if upload is None:
                self._error(400, "input_audio is not base64 audio", "invalid_request_error")
                return
            try:
                answer = hear(
                    upload.audio, language=None, beam_size=emulator.beam_size, timed=False
                ).text
            except ValueError:
                self._error(400, "Audio file might be corrupted or unsupported", "invalid_value")
                return
        else:
            if isinstance(content, list):
                content = "\n\n".join(p.get("text", "") for p in content if isinstance(p, dict))
            answer = summarize(str(content))
        self._json(200, {
            "id": f"chatcmpl-{next(emulator._ids)}", "object": "chat.completion",
            "created": int(time.time()), "model": body.get("model", "?"),
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": answer}}],
            "usage": {"prompt_tokens": len(str(content)) // 4,
                      "completion_tokens": len(answer) // 4,
                      "total_tokens": (len(str(content)) + len(answer)) // 4},
        })  # fmt: skip

    def _plain(self, text: str) -> None:
        payload = text.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _error(self, status: int, message: str, code: str,
               headers: dict[str, str] | None = None) -> None:  # fmt: skip
        self._json(status, {"error": {"message": message, "type": code, "code": code,
                                      "param": None}}, headers)  # fmt: skip

    def _json(self, status: int, data: object, headers: dict[str, str] | None = None) -> None:
        payload = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)
