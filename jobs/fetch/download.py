"""Download a source link to disk, safely: the runner's only way onto the network.

Every hop (the link and each redirect, at most five) goes through the guard (`guard.py`):
resolved once, every address checked, and the connection made to that checked address. TLS
is verified against the host name. The body streams to disk, as sent (never inflated), under
a size cap; a watchdog (`watchdog.py`) cuts the connection at the overall deadline whatever
the server is doing (even trickling its headers). A partial file never outlives a failure.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import SplitResult, urljoin, urlsplit

import urllib3
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NewConnectionError,
    ReadTimeoutError,
    SSLError,
)

from jobs.errors import SourceUnreachable, TooLarge
from jobs.fetch.allow import NO_PRIVATE, AllowPrivate, allowing
from jobs.fetch.guard import Guard, Resolver, check_addresses, resolve, system_resolver
from jobs.fetch.links import BadLink, check_url, default_port, host_of, safe_url
from jobs.fetch.netguard import refusal_reason
from jobs.fetch.watchdog import HTTPPool, HTTPSPool, Watchdog

__all__ = ["MEDIA_SUFFIXES", "BadStatus", "FetchResult", "OnBytes", "fetch"]

OnBytes = Callable[[int, int | None], None]  # bytes so far, of the total when it is announced

_REDIRECTS = {301, 302, 303, 307, 308}
_CHUNK = 64 * 1024
MEDIA_SUFFIXES = {
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


def fetch(
    url: str,
    dest_dir: Path,
    *,
    max_bytes: int,
    timeout_s: float = 600.0,
    connect_timeout_s: float = 10.0,
    read_timeout_s: float = 30.0,
    allow: AllowPrivate = NO_PRIVATE,
    max_redirects: int = 5,
    resolver: Resolver | None = None,
    guard: Guard = refusal_reason,
    name: str | None = None,
    on_bytes: OnBytes = lambda _done, _total: None,
) -> FetchResult:
    """Stream `url` into `dest_dir`; raises RefusedSource, SourceUnreachable or TooLarge.

    `name` is what the sentences call the source (the user's name for it); without one they
    show each hop's link, printed safely. `guard` says why an address is refused (None:
    allowed); tests swap it to let their loopback server count as public while everything
    else stays guarded. `allow` (RELAYQ_ALLOW_PRIVATE_URLS) lets refused addresses through.
    `on_bytes` hears how much has arrived as it arrives (progress).
    """
    resolver = resolver or system_resolver
    guard = allowing(allow, guard)
    dest_dir.mkdir(parents=True, exist_ok=True)
    current, came_from = url.strip(), ""
    with Watchdog(timeout_s) as watchdog:
        for _hop in range(max_redirects + 1):
            parts, host = _checked(current, came_from)
            shown = name or safe_url(current)
            port = default_port(parts)
            addresses = resolve(resolver, host, port, shown)
            check_addresses(addresses, host, shown, guard)
            watchdog.check(shown)
            conn = _Connection(
                parts, host, port, shown, (connect_timeout_s, read_timeout_s), watchdog
            )
            try:
                response = conn.open(addresses)
                if response.status in _REDIRECTS:
                    location = response.headers.get("Location")
                    if not location:
                        raise SourceUnreachable(
                            f"{shown} redirected without saying where; check the link"
                        )
                    came_from, current = current, urljoin(current, location.strip())
                    continue
                if not 200 <= response.status < 300:
                    raise BadStatus(_status_sentence(shown, response.status), response.status)
                return _save(response, current, shown, dest_dir, max_bytes, watchdog, on_bytes)
            finally:
                # Never reuse a connection: a half-read body (cap, deadline) must be dropped.
                conn.close()
    raise SourceUnreachable(
        f"{name or safe_url(url)} redirected more than {max_redirects} times; send the final "
        "link instead"
    )


def _checked(url: str, came_from: str) -> tuple[SplitResult, str]:
    """The link and its host, checked. A malformed link is the user's mistake (BadLink, exit
    2) when they sent it, the server's (SourceUnreachable) when a redirect led to it."""
    try:
        parts = check_url(url)
        return parts, host_of(parts, url)
    except BadLink as err:
        if not came_from:
            raise
        raise SourceUnreachable(
            f"{safe_url(came_from)} redirected to a link that is not valid ({err.reason}); "
            "check the link"
        ) from None


class _Connection:
    """One hop: a GET to the first checked address that accepts a connection."""

    def __init__(
        self,
        parts: SplitResult,
        host: str,
        port: int,
        shown: str,
        timeouts_s: tuple[float, float],
        watchdog: Watchdog,
    ) -> None:
        self.shown = shown  # what the sentences call the source
        self.https = parts.scheme.lower() == "https"
        self.host = host
        self.port = port
        self.target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self.connect_timeout_s, self.read_timeout_s = timeouts_s
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
                self.watchdog.check(self.shown)
            except SSLError as exc:
                self.watchdog.check(self.shown)
                raise SourceUnreachable(
                    f"could not verify the TLS certificate of {self._authority()} "
                    f"({_short(exc)}); check the link"
                ) from None
            except ReadTimeoutError:
                self.watchdog.check(self.shown)
                raise SourceUnreachable(
                    f"{self.shown} accepted the connection but did not answer; try again later"
                ) from None
            except (HTTPError, ValueError) as exc:
                # ValueError: http.client refuses a request line or header it deems unsafe.
                self.watchdog.check(self.shown)
                raise SourceUnreachable(
                    f"could not download {self.shown} ({_short(exc)}); check the link"
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
            return HTTPSPool(
                address, self.port, timeout=timeout, retries=False, maxsize=1,
                server_hostname=self.host, assert_hostname=self.host,
                cert_reqs="CERT_REQUIRED", watchdog=self.watchdog,
            )  # fmt: skip
        return HTTPPool(
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


def _status_sentence(shown: str, status: int) -> str:
    login = "the file needs a login or is not public; share a public link or upload the file"
    gone = "the file is not there (any more); check the link"
    advice = {401: login, 403: login, 407: login, 404: gone, 410: gone}.get(status)
    if status == 429:
        advice = "the server is limiting requests; try again later"
    elif status >= 500:
        advice = "the server failed; try again later"
    advice = advice or "check that the link points straight at the file"
    return f"{shown} answered HTTP {status}: {advice}"


def _save(
    response: urllib3.BaseHTTPResponse,
    url: str,
    shown: str,
    dest_dir: Path,
    max_bytes: int,
    watchdog: Watchdog,
    on_bytes: OnBytes,
) -> FetchResult:
    too_large = TooLarge(
        f"{shown} is larger than the {max_bytes / 1_000_000:g} MB limit; send a shorter "
        "file or raise RELAYQ_MAX_DOWNLOAD_MB on the runner"
    )
    declared = response.headers.get("Content-Length", "").strip()
    if declared.isdigit() and int(declared) > max_bytes:
        raise too_large
    total = int(declared) if declared.isdigit() and int(declared) > 0 else None
    content_type = (response.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    path = dest_dir / ("source" + _suffix(url, content_type))
    size = 0
    try:
        with path.open("wb") as out:
            # read1 returns what has arrived, so a trickling body is seen chunk by chunk and
            # the cap is checked before anything past it is written.
            while chunk := _read(response, shown, watchdog):
                size += len(chunk)
                if size > max_bytes:
                    raise too_large
                out.write(chunk)
                on_bytes(size, total)
                watchdog.check(shown)
            # A connection the watchdog cut looks like a clean end to a body of unknown length.
            watchdog.check(shown)
    except BaseException:
        with contextlib.suppress(OSError):
            path.unlink(missing_ok=True)
        raise
    return FetchResult(path=path, final_url=url, size=size, content_type=content_type or None)


def _read(response: urllib3.BaseHTTPResponse, shown: str, watchdog: Watchdog) -> bytes:
    try:
        return response.read1(_CHUNK, decode_content=False)
    except ReadTimeoutError:
        watchdog.check(shown)
        raise SourceUnreachable(
            f"{shown} stopped sending data; try again or send another link"
        ) from None
    except (HTTPError, OSError):
        watchdog.check(shown)
        raise SourceUnreachable(
            f"the connection to {shown} broke off before the file was complete; try again"
        ) from None


def _suffix(url: str, content_type: str) -> str:
    suffix = PurePosixPath(urlsplit(url).path).suffix.lower()
    if suffix in MEDIA_SUFFIXES:
        return suffix
    return _TYPE_SUFFIXES.get(content_type, ".bin")


def _short(exc: BaseException) -> str:
    """The gist of a connection error: the OS's words when there are some."""
    cause = exc.__cause__ or exc.__context__
    if isinstance(cause, OSError) and cause.strerror:
        return cause.strerror.lower()
    text = str(exc).split("): ", 1)[-1]
    return text[:160]
