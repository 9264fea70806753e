"""Download a source link to disk, safely: the runner's only way onto the network.

Every hop (the link and each redirect, at most five) is resolved once, every address it
resolves to is checked by the SSRF guard, and the connection goes to that checked address —
a DNS answer that changes between check and connect cannot slip through. TLS is verified
against the host name. The body streams to disk, as sent (never inflated), under a size cap;
a watchdog cuts the connection at the overall deadline whatever the server is doing (even
trickling its headers). A partial file never outlives a failure.
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from types import TracebackType
from typing import Any
from urllib.parse import SplitResult, urljoin, urlsplit

import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NewConnectionError,
    ReadTimeoutError,
    SSLError,
)

from jobs.errors import RefusedSource, SourceUnreachable, TooLarge
from jobs.netguard import refusal_reason

__all__ = ["BadStatus", "FetchResult", "check_url", "fetch", "is_url", "safe_url"]

Resolver = Callable[[str, int], list[str]]
Guard = Callable[[str], str | None]

_REDIRECTS = {301, 302, 303, 307, 308}
_CHUNK = 64 * 1024
_HOST_NAME = re.compile(r"[a-z0-9_-]+(\.[a-z0-9_-]+)*\.?")
_BOT_TOKEN = re.compile(r"/bot\d+:[\w-]+")  # Telegram file links carry the bot token
_AUDIO_SUFFIXES = {
    ".mp3", ".m4a", ".aac", ".ogg", ".oga", ".opus", ".wav", ".flac", ".webm", ".mp4",
    ".mkv", ".mov", ".wma", ".amr", ".3gp", ".m4b", ".aiff", ".aif", ".caf",
}  # fmt: skip
_TYPE_SUFFIXES = {
    "audio/mpeg": ".mp3", "audio/mp3": ".mp3", "audio/mp4": ".m4a", "audio/x-m4a": ".m4a",
    "audio/aac": ".aac", "audio/ogg": ".ogg", "audio/opus": ".opus", "audio/wav": ".wav",
    "audio/x-wav": ".wav", "audio/flac": ".flac", "audio/x-flac": ".flac",
    "audio/webm": ".webm", "video/webm": ".webm", "video/mp4": ".mp4",
    "video/x-matroska": ".mkv", "video/quicktime": ".mov",
}  # fmt: skip
_PRIVATE_HINT = "set RELAYQ_ALLOW_PRIVATE_URLS=1 on the runner only if you trust that network"


class BadStatus(SourceUnreachable):
    """The server answered, but not with the file (a non-2xx status, kept in `status`)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class FetchResult:
    path: Path
    final_url: str
    size: int
    content_type: str | None


def is_url(source: str) -> bool:
    """True for anything shaped like `scheme://...` (checked further by `check_url`)."""
    scheme, sep, _ = source.strip().partition("://")
    return bool(sep) and scheme.replace("+", "").replace("-", "").replace(".", "").isalnum()


def safe_url(url: str) -> str:
    """The link as we may print it: no user name, password, query (signed links) or bot token."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname or ""
    except ValueError:
        return "(an unreadable link)"
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if _port_or_none(parts) else ""
    path = _BOT_TOKEN.sub("/bot(token)", parts.path)
    path = path if len(path) <= 80 else path[:77] + "..."
    return f"{parts.scheme}://{host}{port}{path}"


def check_url(url: str) -> SplitResult:
    """Accept only http(s) links with a host and no credentials; returns the parsed link."""
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018  (raises ValueError for a bad port)
    except ValueError:
        raise RefusedSource(f"{safe_url(url)} is not a valid link; send an http(s) link") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise RefusedSource(
            f"refusing to fetch a {parts.scheme or 'schemeless'} link: only http and https links "
            "are accepted; send an http(s) link or upload the file"
        )
    if not parts.hostname:
        raise RefusedSource(f"{safe_url(url)} has no host name; send a full http(s) link")
    if parts.username is not None or parts.password is not None:
        raise RefusedSource(
            "links with a user name or password in them are not accepted; "
            "share a link that works without them, or upload the file"
        )
    return parts


def fetch(
    url: str,
    dest_dir: Path,
    *,
    max_bytes: int,
    timeout_s: float = 600.0,
    connect_timeout_s: float = 10.0,
    read_timeout_s: float = 30.0,
    allow_private: bool = False,
    max_redirects: int = 5,
    resolver: Resolver | None = None,
    guard: Guard = refusal_reason,
) -> FetchResult:
    """Stream `url` into `dest_dir`; raises RefusedSource, SourceUnreachable or TooLarge.

    `guard` says why an address is refused (None: allowed); tests swap it to let their
    loopback server count as public while everything else stays guarded.
    """
    resolve = resolver or _getaddrinfo
    dest_dir.mkdir(parents=True, exist_ok=True)
    current = url.strip()
    with _Watchdog(timeout_s) as watchdog:
        for _hop in range(max_redirects + 1):
            parts = check_url(current)
            host = _ascii_host(parts, current)
            port = _port_or_none(parts) or (443 if parts.scheme.lower() == "https" else 80)
            addresses = _resolve(resolve, host, port, current)
            if not allow_private:
                _guard(addresses, host, current, guard)
            watchdog.check(current)
            conn = _Connection(parts, host, port, connect_timeout_s, read_timeout_s, watchdog)
            try:
                response = conn.open(addresses)
                if response.status in _REDIRECTS:
                    location = response.headers.get("Location")
                    if not location:
                        raise SourceUnreachable(
                            f"{safe_url(current)} redirected without saying where; check the link"
                        )
                    current = urljoin(current, location.strip())
                    continue
                if not 200 <= response.status < 300:
                    raise BadStatus(_status_sentence(current, response.status), response.status)
                return _save(response, current, dest_dir, max_bytes, watchdog)
            finally:
                # Never reuse a connection: a half-read body (cap, deadline) must be dropped.
                conn.close()
    raise SourceUnreachable(
        f"{safe_url(url)} redirected more than {max_redirects} times; send the final link instead"
    )


class _Watchdog:
    """Shuts down every connection of one download at its deadline, from a timer thread.

    Socket timeouts bound each wait, not the whole: a server sending one byte a second keeps
    every single read short. The watchdog holds a duplicate of each socket (so its file
    descriptor cannot be reused under it) and shuts the connection down when time is up.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds
        self.fired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True

    def __enter__(self) -> _Watchdog:
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

    def check(self, url: str) -> None:
        """Raise the deadline error once time is up (or the connection was cut for it)."""
        if self.fired or self.remaining() <= 0:
            raise TooLarge(
                f"downloading {safe_url(url)} took longer than {self.seconds:g} s; send a "
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
    def __init__(self, *args: Any, watchdog: _Watchdog, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._watchdog = watchdog

    def _new_conn(self) -> socket.socket:
        # Watched before any TLS handshake, so a stalled handshake is cut off too.
        sock = super()._new_conn()
        self._watchdog.watch(sock)
        return sock


class _WatchedHTTPSConnection(_WatchedHTTPConnection, HTTPSConnection):
    pass


class _HTTPPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _HTTPSPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


class _Connection:
    """One hop: a GET to the first checked address that accepts a connection."""

    def __init__(
        self,
        parts: SplitResult,
        host: str,
        port: int,
        connect_timeout_s: float,
        read_timeout_s: float,
        watchdog: _Watchdog,
    ) -> None:
        self.url = parts.geturl()
        self.https = parts.scheme.lower() == "https"
        self.host = host
        self.port = port
        self.target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self.connect_timeout_s = connect_timeout_s
        self.read_timeout_s = read_timeout_s
        self.watchdog = watchdog
        self._pool: urllib3.HTTPConnectionPool | None = None
        self._response: urllib3.BaseHTTPResponse | None = None

    def open(self, addresses: list[str]) -> urllib3.BaseHTTPResponse:
        last_error = "no address answered"
        for address in addresses:
            self.close()
            self._pool = self._new_pool(address)
            try:
                self._response = self._pool.urlopen(
                    "GET", self.target, headers=self._headers(), redirect=False, retries=False,
                    preload_content=False, decode_content=False, assert_same_host=False,
                )  # fmt: skip
                return self._response
            except (NewConnectionError, ConnectTimeoutError) as exc:
                last_error = _short(exc)
                self.watchdog.check(self.url)
            except SSLError as exc:
                self.watchdog.check(self.url)
                raise SourceUnreachable(
                    f"could not verify the TLS certificate of {self._authority()} "
                    f"({_short(exc)}); check the link"
                ) from None
            except ReadTimeoutError:
                self.watchdog.check(self.url)
                raise SourceUnreachable(
                    f"{safe_url(self.url)} accepted the connection but did not answer; "
                    "try again later"
                ) from None
            except (HTTPError, ValueError) as exc:
                # ValueError: http.client refuses a request line or header it deems unsafe.
                self.watchdog.check(self.url)
                raise SourceUnreachable(
                    f"could not download {safe_url(self.url)} ({_short(exc)}); check the link"
                ) from None
        raise SourceUnreachable(
            f"could not connect to {self._authority()} ({last_error}); check the link, "
            "or try again later"
        )

    def close(self) -> None:
        if self._response is not None:
            self._response.close()
            self._response = None
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    def _new_pool(self, address: str) -> urllib3.HTTPConnectionPool:
        remaining = max(0.001, self.watchdog.remaining())
        timeout = urllib3.Timeout(
            connect=min(self.connect_timeout_s, remaining),
            read=min(self.read_timeout_s, remaining),
        )
        if self.https:
            return _HTTPSPool(
                address, self.port, timeout=timeout, retries=False, maxsize=1,
                server_hostname=self.host, assert_hostname=self.host,
                cert_reqs="CERT_REQUIRED", watchdog=self.watchdog,
            )  # fmt: skip
        return _HTTPPool(
            address, self.port, timeout=timeout, retries=False, maxsize=1, watchdog=self.watchdog
        )

    def _headers(self) -> dict[str, str]:
        return {
            "Host": self._authority(),
            "User-Agent": "relayq",
            "Accept": "*/*",
            # We save what was sent: never ask for (or inflate) a compressed body.
            "Accept-Encoding": "identity",
        }

    def _authority(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default_port = 443 if self.https else 80
        return host if self.port == default_port else f"{host}:{self.port}"


def _port_or_none(parts: SplitResult) -> int | None:
    try:
        return parts.port
    except ValueError:
        return None


def _ascii_host(parts: SplitResult, url: str) -> str:
    """The host as DNS, TLS and the Host header see it (IDNA for non-ASCII names)."""
    host = parts.hostname or ""
    if ":" in host:
        # A zone (fe80::1%eth0) means nothing to the server and has no place in Host.
        literal = host.split("%", 1)[0]
        with contextlib.suppress(ValueError):
            ipaddress.IPv6Address(literal)
            return literal
    else:
        with contextlib.suppress(UnicodeError):
            ascii_host = host.encode("idna").decode("ascii")
            if _HOST_NAME.fullmatch(ascii_host):
                return ascii_host
    raise RefusedSource(f"{safe_url(url)} has an invalid host name; check the link")


def _getaddrinfo(host: str, port: int) -> list[str]:
    # getaddrinfo parses every numeric form the OS accepts (127.1, 0x7f000001, 2130706433),
    # so the guard sees the address a connection would really use.
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def _resolve(resolve: Resolver, host: str, port: int, url: str) -> list[str]:
    try:
        answers = resolve(host, port)
    except (OSError, UnicodeError):
        answers = []
    addresses: dict[ipaddress.IPv4Address | ipaddress.IPv6Address, str] = {}
    for answer in answers:
        # Only IP addresses are dialled (a name would be looked up again by the connection).
        try:
            addresses.setdefault(ipaddress.ip_address(answer), answer)
        except ValueError:
            continue
    if not addresses:
        raise SourceUnreachable(
            f"could not find the host {host} of {safe_url(url)}; check the link"
        )
    return list(addresses.values())


def _guard(addresses: list[str], host: str, url: str, guard: Guard) -> None:
    for address in addresses:
        reason = guard(address)
        if reason is not None:
            named = address if _same_ip(host, address) else f"{host} resolves to {address}, which"
            raise RefusedSource(
                f"refusing to fetch {safe_url(url)}: {named} is {reason}; {_PRIVATE_HINT}"
            )


def _same_ip(host: str, address: str) -> bool:
    try:
        return ipaddress.ip_address(host) == ipaddress.ip_address(address)
    except ValueError:
        return False


def _status_sentence(url: str, status: int) -> str:
    login = "the file needs a login or is not public; share a public link or upload the file"
    gone = "the file is not there (any more); check the link"
    advice = {401: login, 403: login, 407: login, 404: gone, 410: gone}.get(status)
    if status == 429:
        advice = "the server is limiting requests; try again later"
    elif status >= 500:
        advice = "the server failed; try again later"
    advice = advice or "check that the link points straight at the file"
    return f"{safe_url(url)} answered HTTP {status}: {advice}"


def _save(
    response: urllib3.BaseHTTPResponse,
    url: str,
    dest_dir: Path,
    max_bytes: int,
    watchdog: _Watchdog,
) -> FetchResult:
    too_large = TooLarge(
        f"{safe_url(url)} is larger than the {max_bytes / 1_000_000:g} MB limit; send a shorter "
        "file or raise RELAYQ_MAX_DOWNLOAD_MB on the runner"
    )
    declared = response.headers.get("Content-Length", "").strip()
    if declared.isdigit() and int(declared) > max_bytes:
        raise too_large
    content_type = (response.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    path = dest_dir / ("source" + _suffix(url, content_type))
    size = 0
    try:
        with path.open("wb") as out:
            # read1 returns what has arrived, so a trickling body is seen chunk by chunk and
            # the cap is checked before anything past it is written.
            while chunk := _read(response, url, watchdog):
                size += len(chunk)
                if size > max_bytes:
                    raise too_large
                out.write(chunk)
                watchdog.check(url)
            # A connection the watchdog cut looks like a clean end to a body of unknown length.
            watchdog.check(url)
    except BaseException:
        with contextlib.suppress(OSError):
            path.unlink(missing_ok=True)
        raise
    return FetchResult(path=path, final_url=url, size=size, content_type=content_type or None)


def _read(response: urllib3.BaseHTTPResponse, url: str, watchdog: _Watchdog) -> bytes:
    try:
        return response.read1(_CHUNK, decode_content=False)
    except ReadTimeoutError:
        watchdog.check(url)
        raise SourceUnreachable(
            f"{safe_url(url)} stopped sending data; try again or send another link"
        ) from None
    except (HTTPError, OSError):
        watchdog.check(url)
        raise SourceUnreachable(
            f"the connection to {safe_url(url)} broke off before the file was complete; try again"
        ) from None


def _suffix(url: str, content_type: str) -> str:
    suffix = PurePosixPath(urlsplit(url).path).suffix.lower()
    if suffix in _AUDIO_SUFFIXES:
        return suffix
    return _TYPE_SUFFIXES.get(content_type, ".bin")


def _short(exc: BaseException) -> str:
    """The gist of a connection error: the OS's words when there are some."""
    cause = exc.__cause__ or exc.__context__
    if isinstance(cause, OSError) and cause.strerror:
        return cause.strerror.lower()
    text = str(exc).split("): ", 1)[-1]
    return text[:160]
