"""Links as the runner reads and prints them: which sources are links, which links are
acceptable (http or https, a host, no credentials), and the form safe to print."""

from __future__ import annotations

import contextlib
import ipaddress
import re
from urllib.parse import SplitResult, urlsplit

from jobs.errors import RefusedSource

__all__ = ["ascii_host", "check_url", "default_port", "is_url", "port_or_none", "safe_url"]

_HOST_NAME = re.compile(r"[a-z0-9_-]+(\.[a-z0-9_-]+)*\.?")
_BOT_TOKEN = re.compile(r"/bot\d+:[\w-]+")  # Telegram file links carry the bot token


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
    port = f":{parts.port}" if port_or_none(parts) else ""
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


def port_or_none(parts: SplitResult) -> int | None:
    try:
        return parts.port
    except ValueError:
        return None


def default_port(parts: SplitResult) -> int:
    """The port a connection for this link goes to."""
    return port_or_none(parts) or (443 if parts.scheme.lower() == "https" else 80)


def ascii_host(parts: SplitResult, url: str) -> str:
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
            name = host.encode("idna").decode("ascii")
            if _HOST_NAME.fullmatch(name):
                return name
    raise RefusedSource(f"{safe_url(url)} has an invalid host name; check the link")
