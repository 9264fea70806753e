"""An OpenAI-compatible API on 127.0.0.1, as the `openai` client speaks it.

`POST /v1/chat/completions` (and OpenRouter's `/api/v1/chat/completions`) answer with a
deterministic "summary": the first sentence of every paragraph of the last user message,
prefixed with `- `, so a test can tell which text was summarized. Bearer keys are checked
(401 with OpenAI's error shape otherwise); faults inject 429 with `retry-after`, 5xx or a slow
answer. Every request is recorded (path, headers, body) for the tests to read.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["Fault", "OpenAIEmulator", "Request"]

_SENTENCE = re.compile(r"(.+?[.!?])(\s|$)", re.DOTALL)


@dataclass
class Fault:
    status: int
    times: int = 1
    retry_after: int | None = None
    delay_s: float = 0.0


@dataclass
class Request:
    path: str
    headers: dict[str, str]  # names lower-cased
    body: dict[str, Any]


@dataclass
class OpenAIEmulator:
    key: str
    faults: list[Fault] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _server: ThreadingHTTPServer | None = None

    def __enter__(self) -> OpenAIEmulator:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.emulator = self  # type: ignore[attr-defined]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
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

    def do_POST(self) -> None:
        emulator: OpenAIEmulator = self.server.emulator
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = {}
        emulator.requests.append(
            Request(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
        )
        if self.headers.get("Authorization") != f"Bearer {emulator.key}":
            self._error(401, "Incorrect API key provided.", "invalid_api_key")
            return
        if emulator.faults:
            fault = emulator.faults[0]
            fault.times -= 1
            if fault.times <= 0:
                emulator.faults.pop(0)
            time.sleep(fault.delay_s)
            if fault.status >= 400:
                extra = {"retry-after": str(fault.retry_after)} if fault.retry_after else {}
                self._error(fault.status, "injected fault", "server_error", extra)
                return
        if not self.path.endswith("/chat/completions"):
            self._error(404, f"Unknown path {self.path}", "not_found")
            return
        messages = body.get("messages") or []
        last = next((m for m in reversed(messages) if m.get("role") == "user"), {})
        content = last.get("content") or ""
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
