"""The Bot API over HTTP, as python-telegram-bot speaks it: `/bot<token>/<method>`.

Requests may be JSON, form-encoded or multipart; answers are `{"ok": true, "result": ...}` or
`{"ok": false, "error_code": ..., "description": ..., "parameters": {"retry_after": n}}`.
Limits enforced: 4,096-character texts, 20 MB getFile, 50 MB uploads. The test side sends user
messages, uploads and button presses, and reads what the bot sent (with every edit).
"""

from __future__ import annotations

import contextlib
import email.parser
import email.policy
import itertools
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

MAX_TEXT = 4096
MAX_GETFILE = 20 * 1024 * 1024
MAX_UPLOAD = 50 * 1024 * 1024


@dataclass
class Sent:
    """A message the bot sent, with its text over time (every edit kept)."""

    chat_id: int
    message_id: int
    texts: list[str]
    sent_at: float
    reply_markup: Any = None
    document: tuple[str, bytes] | None = None
    deleted: bool = False
    reply_to: int | None = None  # the message this one answers (reply_parameters.message_id)

    @property
    def text(self) -> str:
        return self.texts[-1]


@dataclass
class Fault:
    method: str
    status: int
    times: int = 1
    retry_after: int | None = None
    delay_s: float = 0.0


@dataclass
class Calls:
    log: list[tuple[float, str, int | None]] = field(default_factory=list)  # (time, method, chat)


class BotApiEmulator:
    def __init__(self, token: str, *, bot_username: str = "relayq_test_bot", port: int = 0) -> None:
        self.token = token
        self.port = port  # 0: any free port
        self.bot_user = {
            "id": 7000001,
            "is_bot": True,
            "first_name": "relayq",
            "username": bot_username,
        }
        self.lock = threading.Condition()
        self.updates: list[dict[str, Any]] = []
        self.confirmed = 0  # highest offset the bot has confirmed
        self.sent: list[Sent] = []
        self.commands: list[dict[str, str]] = []
        self.files: dict[str, bytes] = {}
        self.faults: list[Fault] = []
        self.calls = Calls()
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(100)
        self._file_ids = itertools.count(1)
        self.callback_answers: list[dict[str, Any]] = []
        # Called (in the server thread) right after getUpdates hands out updates: a test can
        # kill the bot at exactly that moment.
        self.on_updates_delivered: Any = None

    # -- lifecycle -------------------------------------------------------------------------------

    def __enter__(self) -> BotApiEmulator:
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), _Handler)
        self._server.daemon_threads = True
        self._server.block_on_close = False
        self._server.emulator = self  # type: ignore[attr-defined]
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        with self.lock:
            self.lock.notify_all()
        self._server.shutdown()
        self._server.server_close()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    # -- the user's side -------------------------------------------------------------------------

    def _user(self, user_id: int) -> dict[str, Any]:
        return {"id": user_id, "is_bot": False, "first_name": f"user{user_id}"}

    def _push(self, update: dict[str, Any]) -> int:
        with self.lock:
            update_id = next(self._update_ids)
            self.updates.append({"update_id": update_id, **update})
            self.lock.notify_all()
            return update_id

    def user_sends(self, user_id: int, text: str, *, forward_from: int | None = None) -> int:
        """A private message from `user_id`; returns its message_id."""
        message_id = next(self._message_ids)
        message: dict[str, Any] = {
            "message_id": message_id, "date": int(time.time()), "text": text,
            "chat": {"id": user_id, "type": "private", "first_name": f"user{user_id}"},
            "from": self._user(user_id),
        }  # fmt: skip
        if text.startswith("/"):
            command = text.split()[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        if forward_from is not None:
            message["forward_origin"] = {
                "type": "user",
                "date": int(time.time()),
                "sender_user": self._user(forward_from),
            }
        self._push({"message": message})
        return message_id

    def user_uploads(self, user_id: int, data: bytes, *, kind: str = "audio", file_name: str = "talk.ogg",
                     mime_type: str = "audio/ogg", declared_size: int | None = None) -> int:  # fmt: skip
        message_id = next(self._message_ids)
        file_id = f"F{next(self._file_ids)}"
        self.files[file_id] = data
        media = {"file_id": file_id, "file_unique_id": f"U{file_id}", "file_size": declared_size or len(data),
                 "mime_type": mime_type}  # fmt: skip
        if kind in ("audio", "document", "video"):
            media["file_name"] = file_name
        if kind in ("audio", "voice", "video", "video_note"):
            media["duration"] = 25
        if kind in ("video", "video_note"):
            media.update(width=64, height=64) if kind == "video" else media.update(length=64)
        message = {
            "message_id": message_id, "date": int(time.time()),
            "chat": {"id": user_id, "type": "private", "first_name": f"user{user_id}"},
            "from": self._user(user_id), kind: media,
        }  # fmt: skip
        if kind == "photo":  # its sizes, each a PhotoSize: no mime type, no name
            del media["mime_type"]
            message[kind] = [{**media, "width": 64, "height": 64}]
        self._push({"message": message})
        return message_id

    def user_presses(self, user_id: int, sent: Sent, data: str) -> str:
        query_id = f"Q{next(self._update_ids)}"
        message = {"message_id": sent.message_id, "date": int(sent.sent_at), "text": sent.text,
                   "chat": {"id": sent.chat_id, "type": "private"}, "from": self.bot_user}  # fmt: skip
        self._push({"callback_query": {"id": query_id, "from": self._user(user_id), "message": message,
                                       "chat_instance": "1", "data": data}})  # fmt: skip
        return query_id

    def to_chat(self, chat_id: int) -> list[Sent]:
        with self.lock:
            return [s for s in self.sent if s.chat_id == chat_id and not s.deleted]

    def wait_for(self, predicate: Any, timeout: float = 60.0) -> Any:
        """Block until predicate() is truthy (re-checked on every change); returns its value."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while True:
                value = predicate()
                if value:
                    return value
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError("the bot did not do what was expected in time")
                self.lock.wait(min(remaining, 0.2))

    def inject(self, fault: Fault) -> None:
        with self.lock:
            self.faults.append(fault)

    # -- the bot's side --------------------------------------------------------------------------

    def call(
        self, method: str, params: dict[str, Any], files: dict[str, tuple[str, bytes]]
    ) -> tuple[int, dict[str, Any]]:
        chat = params.get("chat_id")
        with self.lock:
            self.calls.log.append(
                (time.time(), method, int(chat) if chat not in (None, "") else None)
            )
            fault = next(
                (f for f in self.faults if f.method in (method, "*") and f.times > 0), None
            )
            if fault is not None:
                fault.times -= 1
        if fault is not None:
            time.sleep(fault.delay_s)
            if fault.status == 429:
                return 429, _error(429, f"Too Many Requests: retry after {fault.retry_after}",
                                   {"retry_after": fault.retry_after or 1})  # fmt: skip
            if fault.status >= 400:
                return fault.status, _error(fault.status, "Internal Server Error")
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            return 404, _error(404, "Not Found: method not found")
        with self.lock:
            result = handler(params, files)
            self.lock.notify_all()
        return result

    def _m_getMe(self, p: dict[str, Any], f: Any) -> tuple[int, dict[str, Any]]:
        return 200, _ok(self.bot_user)

    def _m_deleteWebhook(self, p: dict[str, Any], f: Any) -> tuple[int, dict[str, Any]]:
        return 200, _ok(True)

    def _m_setMyCommands(self, p: dict[str, Any], f: Any) -> tuple[int, dict[str, Any]]:
        self.commands = _json(p.get("commands")) or []
        return 200, _ok(True)

    def _m_getUpdates(self, p: dict[str, Any], f: Any) -> tuple[int, dict[str, Any]]:
        offset = int(p.get("offset") or 0)
        timeout = float(p.get("timeout") or 0)
        limit = int(p.get("limit") or 100)
        if offset:
            self.confirmed = max(self.confirmed, offset)
            self.updates = [u for u in self.updates if u["update_id"] >= offset]
        deadline = time.monotonic() + timeout
        while not self.updates and time.monotonic() < deadline:
            self.lock.wait(min(0.1, deadline - time.monotonic()))
        batch = self.updates[:limit]
        if batch and self.on_updates_delivered is not None:
            threading.Timer(0.0, self.on_updates_delivered, args=(batch,)).start()
        return 200, _ok(batch)

    def _new_message(
        self, chat_id: int, text: str, markup: Any, document: tuple[str, bytes] | None = None
    ) -> Sent:
        sent = Sent(chat_id, next(self._message_ids), [text], time.time(), markup, document)
        self.sent.append(sent)
        return sent

    def _message_json(self, sent: Sent) -> dict[str, Any]:
        message: dict[str, Any] = {"message_id": sent.message_id, "date": int(sent.sent_at),
                                   "chat": {"id": sent.chat_id, "type": "private"}, "from": self.bot_user}  # fmt: skip
        if sent.document is not None:
            name, data = sent.document
            message["document"] = {"file_id": f"D{sent.message_id}", "file_unique_id": f"UD{sent.message_id}",
                                   "file_name": name, "file_size": len(data)}  # fmt: skip
            if sent.text:
                message["caption"] = sent.text
        else:
            message["text"] = sent.text
        if sent.reply_markup:
            message["reply_markup"] = sent.reply_markup
        answered = next((m for m in self.sent if m.message_id == sent.reply_to), None)
        if answered is not None:
            message["reply_to_message"] = self._message_json(answered)
        return message

    def _m_sendMessage(self, p: dict[str, Any], f: Any) -> tuple[int, dict[str, Any]]:
        text = str(p.get("text") or "")
        if not text.strip():
            return 400, _error(400, "Bad Request: message text is empty")
        if len(text) > MAX_TEXT:
            return 400, _error(400, "Bad Request: message is too long")
        sent = self._new_message(int(p["chat_id"]), text, _json(p.get("reply_markup")))
        return 200, _ok(self._message_json(sent))

    def _m_editMessageText(self, p: dict[str, Any], f: Any) -> tuple[int, dict[str, Any]]:
        text = str(p.get("text") or "")
        if len(text) > MAX_TEXT:
            return 400, _error(400, "Bad Request: message is too long")
        sent = next((s for s in self.sent if s.chat_id == int(p["chat_id"])
                     and s.message_id == int(p["message_id"]) and not s.deleted), None)  # fmt: skip
        if sent is None:
            return 400, _error(400, "Bad Request: message to edit not found")
        markup = _json(p.get("reply_markup"))
        if text == sent.text and markup == sent.reply_markup:
            return 400, _error(400, "Bad Request: message is not modified: specified new message content "
                                    "and reply markup are exactly the same as a current content and reply markup of the message")  # fmt: skip
        sent.texts.append(text)
        sent.reply_markup = markup
        return 200, _ok(self._message_json(sent))

    def _m_sendDocument(
        self, p: dict[str, Any], f: dict[str, tuple[str, bytes]]
    ) -> tuple[int, dict[str, Any]]:
        if "document" not in f:
            return 400, _error(400, "Bad Request: there is no document in the request")
        name, data = f["document"]
        if len(data) > MAX_UPLOAD:
            return 413, _error(413, "Request Entity Too Large")
        sent = self._new_message(
            int(p["chat_id"]),
            str(p.get("caption") or ""),
            _json(p.get("reply_markup")),
            (name, data),
        )
        sent.reply_to = (_json(p.get("reply_parameters")) or {}).get("message_id")
        return 200, _ok(self._message_json(sent))

    def _m_getFile(self, p: dict[str, Any], f: Any) -> tuple[int, dict[str, Any]]:
        file_id = str(p.get("file_id"))
        if file_id not in self.files:
            return 400, _error(400, "Bad Request: invalid file_id")
        data = self.files[file_id]
        if len(data) > MAX_GETFILE:
            return 400, _error(400, "Bad Request: file is too big")
        return 200, _ok({"file_id": file_id, "file_unique_id": f"U{file_id}", "file_size": len(data),
                         "file_path": f"documents/{file_id}.bin"})  # fmt: skip

    def _m_answerCallbackQuery(self, p: dict[str, Any], f: Any) -> tuple[int, dict[str, Any]]:
        self.callback_answers.append(dict(p))
        return 200, _ok(True)

    def _m_sendChatAction(self, p: dict[str, Any], f: Any) -> tuple[int, dict[str, Any]]:
        return 200, _ok(True)

    def _m_deleteMessage(self, p: dict[str, Any], f: Any) -> tuple[int, dict[str, Any]]:
        for s in self.sent:
            if s.chat_id == int(p["chat_id"]) and s.message_id == int(p["message_id"]):
                s.deleted = True
        return 200, _ok(True)


def _ok(result: Any) -> dict[str, Any]:
    return {"ok": True, "result": result}


def _error(code: int, description: str, parameters: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return body


def _json(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("{", "["):
        return json.loads(value)
    return value


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Any

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        emulator: BotApiEmulator = self.server.emulator
        path = unquote(urlsplit(self.path).path)
        if m := re.fullmatch(rf"/file/bot{re.escape(emulator.token)}/documents/(\w+)\.bin", path):
            data = emulator.files.get(m.group(1))
            self._raw(200 if data is not None else 404, data or b"")
            return
        self._dispatch(dict(parse_qs(urlsplit(self.path).query)), {})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        ctype = self.headers.get("Content-Type") or ""
        params: dict[str, Any] = {}
        files: dict[str, tuple[str, bytes]] = {}
        if ctype.startswith("application/json"):
            params = json.loads(body or b"{}")
        elif ctype.startswith("multipart/form-data"):
            message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
                f"Content-Type: {ctype}\r\n\r\n".encode() + body
            )
            for part in message.iter_parts():
                name = part.get_param("name", header="content-disposition")
                filename = part.get_filename()
                payload = part.get_payload(decode=True) or b""
                if filename is not None:
                    files[str(name)] = (filename, payload)
                else:
                    params[str(name)] = payload.decode()
        else:
            params = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        self._dispatch(params, files)

    def _dispatch(self, params: dict[str, Any], files: dict[str, tuple[str, bytes]]) -> None:
        emulator: BotApiEmulator = self.server.emulator
        path = unquote(urlsplit(self.path).path)
        m = re.fullmatch(r"/bot([^/]+)/(\w+)", path)
        if m is None or m.group(1) != emulator.token:
            self._raw(
                401 if m else 404,
                json.dumps(_error(401, "Unauthorized")).encode(),
                "application/json",
            )
            return
        params = {k: (v[0] if isinstance(v, list) else v) for k, v in params.items()}
        status, body = emulator.call(m.group(2), params, files)
        self._raw(status, json.dumps(body).encode(), "application/json")

    def _raw(self, status: int, data: bytes, ctype: str = "application/octet-stream") -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        # A bot killed mid-request (the restart tests) is gone: nobody to answer.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(data)
