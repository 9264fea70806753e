"""Links as the runner reads and prints them: which sources are links, which links are
acceptable (http or https, a host, no credentials), and the form safe to print."""

from __future__ import annotations

import contextlib
import ipaddress
import re
from urllib.parse import SplitResult, urlsplit

from jobs.errors import RefusedSource, UsageError

__all__ = [
    "BadLink",
    "check_url",
    "default_port",
    "host_of",
    "is_url",
    "looks_like_link",
    "safe_url",
]

_HOST_NAME = re.compile(r"[a-z0-9_-]+(\.[a-z0-9_-]+)*\.?")
_BOT_TOKEN = re.compile(r"/bot\d+:[\w-]+")  # Telegram file links carry the bot token
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]+):")
# Schemes a source may carry without `//` (javascript:…, data:…, mailto:…): such a source is a
# link we refuse, not a file name. Others (a file called notes:1.mp3) stay file names.
_OPAQUE_SCHEMES = frozenset({
    "about", "blob", "data", "file", "ftp", "http", "https", "intent", "javascript", "magnet",
    "mailto", "news", "sms", "tel", "urn", "vbscript",
})  # fmt: skip
# Said letter by letter although they have a vowel (for the article: "an ldap link").
_SPELLED = frozenset({"ldap", "ldaps", "uri", "url"})
_AN_LETTERS = frozenset("aefhilmnorsx")  # letters whose names start with a vowel sound


class BadLink(UsageError):
    """A link that is not well formed (exit 2); `reason` says what is wrong with it."""

    def __init__(self, url: str, reason: str, advice: str = "check the link") -> None:
        super().__init__(f"{safe_url(url)} is not a valid link: {reason}; {advice}")
        self.reason = reason


def is_url(source: str) -> bool:
    """True for anything shaped like `scheme://...` (checked further by `check_url`)."""
    scheme, sep, _ = source.strip().partition("://")
    return bool(sep) and scheme.replace("+", "").replace("-", "").replace(".", "").isalnum()


def looks_like_link(source: str) -> bool:
    """`scheme://…`, or a well-known scheme without `//` (`javascript:…`, `data:…`)."""
    if is_url(source):
        return True
    match = _SCHEME.match(source.strip())
    return match is not None and match.group(1).lower() in _OPAQUE_SCHEMES


def safe_url(url: str) -> str:
    """The link as we may print it: no user name, password, query (signed links) or bot token.
    A port that is not one is kept as typed, so the user sees what was wrong."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname or ""
    except ValueError:
        return "(an unreadable link)"
    if ":" in host:
        host = f"[{host}]"
    port = _valid_port(parts)
    typed = _typed_port(parts)
    shown_port = f":{port}" if port else (f":{typed[:12]}" if typed else "")
    path = _BOT_TOKEN.sub("/bot(token)", parts.path)
    path = path if len(path) <= 80 else path[:77] + "..."
    if not parts.netloc and not url.strip()[len(parts.scheme) + 1 :].startswith("//"):
        return f"{parts.scheme}:{path}"  # as typed: https:example.org is not https://…
    return f"{parts.scheme}://{host}{shown_port}{path}"


def check_url(url: str) -> SplitResult:
    """Accept only well-formed http(s) links with a host and no credentials.

    BadLink (exit 2) for a malformed link, RefusedSource (exit 6) for one we will not fetch.
    """
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        raise BadLink(url, "it cannot be read as a link") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        what = f"{article(scheme)} {scheme}" if scheme else "a schemeless"
        raise RefusedSource(
            f"refusing to fetch {what} link: only http and https links are accepted; "
            "send an http(s) link or upload the file"
        )
    if _valid_port(parts) is None and _typed_port(parts):
        raise BadLink(url, f"its port {_typed_port(parts)[:12]} is not a number from 1 to 65535")
    if not parts.hostname:
        raise BadLink(url, "it has no host name", "send a full http(s) link")
    host_of(parts, url)
    if parts.username is not None or parts.password is not None:
        raise RefusedSource(
            "links with a user name or password in them are not accepted; "
            "share a link that works without them, or upload the file"
        )
    return parts


def default_port(parts: SplitResult) -> int:
    """The port a connection for this (checked) link goes to."""
    return _valid_port(parts) or (443 if parts.scheme.lower() == "https" else 80)


def host_of(parts: SplitResult, url: str) -> str:
    """The host as DNS, TLS and the Host header see it (IDNA for non-ASCII names); BadLink
    when it is not a valid host name or IPv6 address."""
    host = _ascii_host(parts.hostname or "")
    if host is not None:
        return host
    if " " in (parts.hostname or ""):
        raise BadLink(url, "its host name has a space in it")
    raise BadLink(url, f"its host name {(parts.hostname or '')[:80]} is not a valid name")


def _ascii_host(host: str) -> str | None:
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
    return None


def article(word: str) -> str:
    """ "a" or "an" before a scheme's name, as it is said: an ftp, an https, a data, an ldap."""
    word = word.lower()
    stem = re.split(r"[^a-z0-9]", word, maxsplit=1)[0] or word
    if not word:
        return "a"
    if stem in _SPELLED or not any(c in "aeiou" for c in stem):
        return "an" if word[0] in _AN_LETTERS else "a"
    if word.startswith(("uni", "use", "usa", "eu")):
        return "a"  # said "you…"
    return "an" if word[0] in "aeiou" else "a"


def _valid_port(parts: SplitResult) -> int | None:
    """The link's port; None when there is none or it is not a port (0 is not one)."""
    try:
        port = parts.port
    except ValueError:
        return None
    return port or None


def _typed_port(parts: SplitResult) -> str:
    """The port exactly as typed (after the host's last colon), or "" when there is none."""
    hostport = parts.netloc.rpartition("@")[2]
    if hostport.startswith("["):
        hostport = hostport.partition("]")[2]
    return hostport.rpartition(":")[2] if ":" in hostport else ""
