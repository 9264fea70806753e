"""Ctrl-C and SIGTERM for the command line: both become KeyboardInterrupt, and stay noticed.

A KeyboardInterrupt raised while Python runs a finaliser (`__del__`, a weakref callback,
which native libraries trigger during garbage collection) is printed as "ignored" and
swallowed, and the job would go on to finish as if nothing had happened. So the handler
also remembers the signal, and `check()` — called at every step boundary — raises again.
"""

from __future__ import annotations

import signal

__all__ = ["check", "install", "received"]

_received = False


def install() -> None:
    # Install both explicitly: a process started in the background by a shell inherits
    # SIGINT as ignored, and the Actions runner and systemd stop jobs with SIGTERM.
    signal.signal(signal.SIGINT, _handle)
    signal.signal(signal.SIGTERM, _handle)


def received() -> bool:
    return _received


def check() -> None:
    """Raise KeyboardInterrupt if a signal came, even one whose first raise was swallowed."""
    if _received:
        raise KeyboardInterrupt


def _handle(signum: int, frame: object) -> None:
    global _received
    _received = True
    raise KeyboardInterrupt
