"""A small real HTTP server on 127.0.0.x for download tests: routes are plain functions."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

Route = Callable[[BaseHTTPRequestHandler], None]


class _Handler(BaseHTTPRequestHandler):
    routes: ClassVar[dict[str, Route]] = {}
    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.hits.append(self.path)
        route = self.routes.get(self.path.split("?")[0])
        if route is None:
            self.send_error(404)
            return
        # The client may hang up on purpose (a cap or a deadline): that is the test.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            route(self)

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def serve(routes: dict[str, Route], host: str = "127.0.0.1") -> Iterator[tuple[str, list[str]]]:
    """Serve `routes`; yields the base URL and the list of paths requested."""
    handler = type("Handler", (_Handler,), {"routes": routes, "hits": []})
    server = ThreadingHTTPServer((host, 0), handler)
    server.daemon_threads = True
    server.block_on_close = False  # a handler still trickling must not hold the test up
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_address[1]}", handler.hits
    finally:
        server.shutdown()
        server.server_close()


def body(data: bytes, content_type: str = "audio/ogg", length: int | None = None) -> Route:
    def route(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", content_type)
        h.send_header("Content-Length", str(len(data) if length is None else length))
        h.end_headers()
        h.wfile.write(data)

    return route


def redirect(location: str, status: int = 302) -> Route:
    def route(h: BaseHTTPRequestHandler) -> None:
        h.send_response(status)
        h.send_header("Location", location)
        h.send_header("Content-Length", "0")
        h.end_headers()

    return route


def status(code: int) -> Route:
    def route(h: BaseHTTPRequestHandler) -> None:
        h.send_response(code)
        h.send_header("Content-Length", "0")
        h.end_headers()

    return route


def stream(chunk: bytes, count: int, delay_s: float = 0.0) -> Route:
    """An endless-looking body without Content-Length, `count` chunks, `delay_s` apart."""

    def route(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "audio/mpeg")
        h.end_headers()
        for _ in range(count):
            h.wfile.write(chunk)
            h.wfile.flush()
            if delay_s:
                time.sleep(delay_s)

    return route
