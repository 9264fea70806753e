"""The overall deadline of one download, enforced from outside the connection.

Socket timeouts bound each wait, not the whole: a server sending one byte a second keeps
every single read short. The watchdog holds a duplicate of each socket of the download (so
its file descriptor cannot be reused under it) and shuts them down when time is up.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from types import TracebackType
from typing import Any

import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection

from jobs.errors import TooLarge

__all__ = ["HTTPPool", "HTTPSPool", "Watchdog"]


class Watchdog:
    """Shuts down every connection of one download at its deadline, from a timer thread."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds
        self.fired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True

    def __enter__(self) -> Watchdog:
        self._timer.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._timer.cancel()
        self._timer.join()
        with self._lock:
            for sock in self._sockets:
                sock.close()
            self._sockets.clear()

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            copy = sock.dup()
            self._sockets.append(copy)
            if self.fired:
                _shutdown(copy)

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def check(self, shown: str) -> None:
        """Raise the deadline error once time is up (or the connection was cut for it);
        `shown` is what the sentence calls the source."""
        if self.fired or self.remaining() <= 0:
            raise TooLarge(
                f"downloading {shown} took longer than {self.seconds:g} s; send a "
                "smaller file, a faster link, or raise RELAYQ_DOWNLOAD_TIMEOUT_S on the runner"
            )

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
            for sock in self._sockets:
                _shutdown(sock)


def _shutdown(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


class _WatchedHTTPConnection(HTTPConnection):
    def __init__(self, *args: Any, watchdog: Watchdog, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._watchdog = watchdog

    def _new_conn(self) -> socket.socket:
        # Watched before any TLS handshake, so a stalled handshake is cut off too.
        sock = super()._new_conn()
        self._watchdog.watch(sock)
        return sock


class _WatchedHTTPSConnection(_WatchedHTTPConnection, HTTPSConnection):
    pass


class HTTPPool(urllib3.HTTPConnectionPool):
    """A pool whose connections the watchdog (a `watchdog=` keyword) can cut."""

    ConnectionCls = _WatchedHTTPConnection


class HTTPSPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection
