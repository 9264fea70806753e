"""Every connection a media fetch makes, checked where it is made: at `connect()`.

yt-dlp opens its own connections (the page, API calls, each redirect, every HLS fragment)
through whichever request handler it prefers, and follows redirects beneath any URL we could
check. A `socket.connect` audit hook sees the address each socket really dials, after DNS and
after every redirect, so a check there also covers DNS rebinding. Audit hooks cannot be removed
(`sys.addaudithook`), so ours does nothing unless a `checked_connections()` block is active;
inside one it stops, before it happens:

- a connection to an address the guard refuses (or to anything but a numeric IP address,
  which the socket would resolve itself, unchecked),
- any new program (yt-dlp must never hand a link to ffmpeg or an external downloader), but
  those the block's `programs` rule lets run (the media fetcher lets deno, sandboxed without
  network permission, solve YouTube's JavaScript challenges),
- any connection once the block's deadline has passed; at the deadline the block also shuts
  down every socket it let through, so a trickling server cannot hold the fetch past it.

A thread started inside the block that does not carry its context is checked against the most
recent block's guard too: stricter, never looser, than letting it through.
"""

from __future__ import annotations

import contextlib
import contextvars
import ipaddress
import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import NoReturn

__all__ = ["Block", "Stopped", "checked_connections"]

Guard = Callable[[str], str | None]
Programs = Callable[[list[str]], bool]  # may this command line run?
_PROGRAM_EVENTS = frozenset({"subprocess.Popen", "os.system", "os.exec", "os.posix_spawn",
                             "os.spawn"})  # fmt: skip


class Stopped(BaseException):
    """What the hook raises to stop a fetch. A BaseException, so no `except Exception` in a
    library retries the connection or hides the stop; the fetcher reads `block` for why."""


@dataclass
class Block:
    """One fetch's checks, and what they stopped (the first reason is the one told)."""

    guard: Guard
    deadline: float
    allowed_programs: Programs = lambda _argv: False
    refused: list[tuple[str, str]] = field(default_factory=list)  # (address, reason)
    programs: list[str] = field(default_factory=list)
    expired: bool = False
    _sockets: list[socket.socket] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def connect(self, sock: object, address: object) -> None:
        if self.expired or time.monotonic() >= self.deadline:
            self.expired = True
            _stop(sock, "deadline")
        host = address[0] if isinstance(address, tuple) and address else address
        try:
            ip = ipaddress.ip_address(str(host).split("%", 1)[0])
        except ValueError:
            self.refused.append((str(host)[:80], "not an address resolved and checked first"))
            _stop(sock, "unresolved")
        reason = self.guard(str(ip))
        if reason is not None:
            self.refused.append((str(ip), reason))
            _stop(sock, "refused")
        if isinstance(sock, socket.socket):
            with self._lock:
                copy = sock.dup()  # the same socket under another descriptor: ours to close
                self._sockets.append(copy)

    def program(self, event: str, args: tuple[object, ...]) -> None:
        argv = _command_line(event, args)
        if event != "os.system" and argv and self.allowed_programs(argv):
            return
        self.programs.append((argv[0] if argv else "a program")[:80])
        raise Stopped("program")

    def expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        with self._lock:
            for sock in self._sockets:
                sock.close()
            self._sockets.clear()


def _stop(sock: object, why: str) -> NoReturn:
    # Closed here: the caller's `except OSError` that would close it never sees a Stopped.
    if isinstance(sock, socket.socket):
        sock.close()
    raise Stopped(why)


_current: contextvars.ContextVar[Block | None] = contextvars.ContextVar("block", default=None)
_active: list[Block] = []
_installed = False
_install_lock = threading.Lock()


def _hook(event: str, args: tuple[object, ...]) -> None:
    if not _active or (event != "socket.connect" and event not in _PROGRAM_EVENTS):
        return
    block = _current.get() or _active[-1]
    if event == "socket.connect":
        block.connect(args[0], args[1])
    else:
        block.program(event, args)


def _command_line(event: str, args: tuple[object, ...]) -> list[str]:
    """The program and its arguments, as far as the audit event tells them."""
    if event == "os.system":
        return [os.fsdecode(args[0])] if isinstance(args[0], str | bytes) else []
    executable, argv = args[0], args[1] if len(args) > 1 else None
    if isinstance(argv, str | bytes):
        words = [os.fsdecode(argv)]
    elif isinstance(argv, list | tuple):
        words = [os.fsdecode(a) if isinstance(a, str | bytes) else str(a) for a in argv]
    else:
        words = []
    if isinstance(executable, str | bytes | os.PathLike):
        words = [os.fsdecode(executable), *words[1:]]
    return words


def _install() -> None:
    global _installed
    with _install_lock:
        if not _installed:
            sys.addaudithook(_hook)
            _installed = True


@contextlib.contextmanager
def checked_connections(
    guard: Guard, timeout_s: float, programs: Programs | None = None
) -> Iterator[Block]:
    """Check every connection and program started inside the block (see the module's doc);
    `programs` says which command lines may run anyway (default: none)."""
    _install()
    block = Block(guard=guard, deadline=time.monotonic() + timeout_s)
    if programs is not None:
        block.allowed_programs = programs
    timer = threading.Timer(timeout_s, block.expire)
    timer.daemon = True
    token = _current.set(block)
    _active.append(block)
    timer.start()
    try:
        yield block
    finally:
        timer.cancel()
        _active.remove(block)
        _current.reset(token)
        block.close()
