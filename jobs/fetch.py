"""Download a source link to disk, safely: the runner's only way onto the network.

Every hop (the link and each redirect, at most five) is resolved once, every address it
resolves to is checked by the SSRF guard, and the connection goes to that checked address —
a DNS answer that changes between check and connect cannot slip through. TLS is verified
against the host name. The body streams to disk under a size cap and an overall deadline;
a partial file never outlives a failure.
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import SplitResult, urljoin, urlsplit

import urllib3
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)

from jobs.errors import RefusedSource, SourceUnreachable, TooLarge
from jobs.netguard import refusal_reason

__all__ = ["FetchResult", "check_url", "fetch", "is_url", "safe_url"]

Resolver = Callable[[str, int], list[str]]
Guard = Callable[[str], str | None]

_REDIRECTS = {301, 302, 303, 307, 308}
_CHUNK = 64 * 1024
_AUDIO_SUFFIXES = {
    ".mp3", ".m4a", ".aac", ".ogg", ".oga", ".opus", ".wav", ".flac", ".webm", ".mp4",
    ".mkv", ".mov", ".wma", ".amr", ".3gp", ".m4b", ".aiff", ".aif", ".caf",
}  # fmt: skip
_TYPE_SUFFIXES = {
    "audio/mpeg": ".mp3", "audio/mp4": ".m4a", "audio/x-m4a": ".m4a", "audio/aac": ".aac",
    "audio/ogg": ".ogg", "audio/opus": ".opus", "audio/wav": ".wav", "audio/x-wav": ".wav",
    "audio/flac": ".flac", "audio/webm": ".webm", "video/webm": ".webm", "video/mp4": ".mp4",
    "video/x-matroska": ".mkv", "video/quicktime": ".mov",
}  # fmt: skip
_PRIVATE_HINT = "set RELAYQ_ALLOW_PRIVATE_URLS=1 on the runner only if you trust that network"


@dataclass(frozen=True)
class FetchResult:
    path: Path
    final_url: str
    size: int
    content_type: str | None


def is_url(source: str) -> bool:
    """True for anything shaped like `scheme://...` (checked further by `check_url`)."""
    scheme, sep, _ = source.partition("://")
    return bool(sep) and scheme.replace("+", "").replace("-", "").replace(".", "").isalnum()


def safe_url(url: str) -> str:
    """The link as we may print it: no user name or password, no query (signed links)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        return "(an unreadable link)"
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if _port_or_none(parts) else ""
    path = parts.path if len(parts.path) <= 80 else parts.path[:77] + "..."
    return f"{parts.scheme}://{host}{port}{path}"


def check_url(url: str) -> SplitResult:
    """Accept only http(s) links with a host and no credentials."""
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
    """Stream `url` into `dest_dir`; raises RefusedSource, SourceUnreachable or TooLarge."""
    resolve = resolver or _getaddrinfo
    deadline = time.monotonic() + timeout_s
    current = url.strip()
    for _hop in range(max_redirects + 1):
        parts = check_url(current)
        host = parts.hostname or ""
        port = _port_or_none(parts) or (443 if parts.scheme.lower() == "https" else 80)
        addresses = _resolve(resolve, host, port, current)
        if not allow_private:
            _guard(addresses, host, current, guard)
        pool, response = _request(
            parts, host, port, addresses, connect_timeout_s, read_timeout_s, deadline
        )
        try:
            if response.status in _REDIRECTS:
                location = response.headers.get("Location")
                if not location:
                    raise SourceUnreachable(
                        f"{safe_url(current)} redirected without saying where; check the link"
                    )
                current = urljoin(current, location)
                continue
            if response.status >= 400:
                raise SourceUnreachable(
                    f"{safe_url(current)} answered HTTP {response.status}; check that the link "
                    "is public and still valid"
                )
            return _save(response, current, dest_dir, max_bytes, deadline, timeout_s)
        finally:
            # Never reuse a connection: a half-read body (cap, deadline) must be dropped.
            response.close()
            pool.close()
    raise SourceUnreachable(
        f"{safe_url(url)} redirected more than {max_redirects} times; send the final link instead"
    )


def _port_or_none(parts: SplitResult) -> int | None:
    try:
        return parts.port
    except ValueError:
        return None


def _getaddrinfo(host: str, port: int) -> list[str]:
    # getaddrinfo parses every numeric form the OS accepts (127.1, 0x7f000001, 2130706433),
    # so the guard sees the address a connection would really use.
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _resolve(resolve: Resolver, host: str, port: int, url: str) -> list[str]:
    try:
        addresses = resolve(host, port)
    except (OSError, UnicodeError):
        addresses = []
    if not addresses:
        raise SourceUnreachable(f"could not find the host of {safe_url(url)}; check the link")
    return addresses


def _guard(addresses: list[str], host: str, url: str, guard: Guard) -> None:
    for address in addresses:
        reason = guard(address)
        if reason is not None:
            named = host if host == address else f"{host} resolves to {address}, which"
            raise RefusedSource(
                f"refusing to fetch {safe_url(url)}: {named} is {reason}; {_PRIVATE_HINT}"
            )


def _request(
    parts: SplitResult,
    host: str,
    port: int,
    addresses: list[str],
    connect_timeout_s: float,
    read_timeout_s: float,
    deadline: float,
) -> tuple[urllib3.HTTPConnectionPool, urllib3.BaseHTTPResponse]:
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    host_header = f"[{host}]" if ":" in host else host
    default_port = 443 if parts.scheme.lower() == "https" else 80
    if port != default_port:
        host_header += f":{port}"
    headers = {"Host": host_header, "User-Agent": "relayq", "Accept-Encoding": "identity"}
    last_error = "no address answered"
    for address in addresses:
        remaining = max(0.1, deadline - time.monotonic())
        timeout = urllib3.Timeout(
            connect=min(connect_timeout_s, remaining), read=min(read_timeout_s, remaining)
        )
        pool: urllib3.HTTPConnectionPool
        if parts.scheme.lower() == "https":
            pool = urllib3.HTTPSConnectionPool(
                address, port, timeout=timeout, retries=False,
                server_hostname=host, assert_hostname=host, cert_reqs="CERT_REQUIRED",
            )  # fmt: skip
        else:
            pool = urllib3.HTTPConnectionPool(address, port, timeout=timeout, retries=False)
        try:
            response = pool.urlopen(
                "GET", target, headers=headers, redirect=False, retries=False,
                preload_content=False, assert_same_host=False,
            )  # fmt: skip
            return pool, response
        except (NewConnectionError, ConnectTimeoutError) as exc:
            pool.close()
            last_error = _short(exc)
        except HTTPError as exc:
            pool.close()
            raise SourceUnreachable(
                f"could not download {safe_url(parts.geturl())} ({_short(exc)}); check the link"
            ) from None
    raise SourceUnreachable(
        f"could not connect to {safe_url(parts.geturl())} ({last_error}); check the link"
    )


def _save(
    response: urllib3.BaseHTTPResponse,
    url: str,
    dest_dir: Path,
    max_bytes: int,
    deadline: float,
    timeout_s: float,
) -> FetchResult:
    cap_mb = max_bytes / 1_000_000
    too_large = (
        f"{safe_url(url)} is larger than the {cap_mb:g} MB limit; send a shorter file or "
        "raise RELAYQ_MAX_DOWNLOAD_MB on the runner"
    )
    declared = response.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise TooLarge(too_large)
    content_type = (response.headers.get("Content-Type") or "").split(";")[0].strip() or None
    path = dest_dir / ("source" + _suffix(url, content_type))
    size = 0
    try:
        with path.open("wb") as out:
            # read1 returns what has arrived, so a trickling server cannot hold a read open
            # past the deadline (read(n) would wait for all n bytes).
            while chunk := response.read1(_CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise TooLarge(too_large)
                out.write(chunk)
                if time.monotonic() > deadline:
                    raise TooLarge(
                        f"downloading {safe_url(url)} took longer than {timeout_s:g} s; send a "
                        "smaller file, a faster link, or raise RELAYQ_DOWNLOAD_TIMEOUT_S"
                    )
    except ReadTimeoutError:
        path.unlink(missing_ok=True)
        raise SourceUnreachable(
            f"{safe_url(url)} stopped sending data; try again or send another link"
        ) from None
    except ProtocolError:
        path.unlink(missing_ok=True)
        raise SourceUnreachable(
            f"the connection to {safe_url(url)} broke off before the file was complete; try again"
        ) from None
    except BaseException:
        with contextlib.suppress(OSError):
            path.unlink(missing_ok=True)
        raise
    return FetchResult(path=path, final_url=url, size=size, content_type=content_type)


def _suffix(url: str, content_type: str | None) -> str:
    suffix = PurePosixPath(urlsplit(url).path).suffix.lower()
    if suffix in _AUDIO_SUFFIXES:
        return suffix
    return _TYPE_SUFFIXES.get(content_type or "", ".bin")


def _short(exc: Exception) -> str:
    text = str(exc).split(": ", 1)[-1]
    return text[:120]
