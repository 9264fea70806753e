"""The SSRF guard at work: resolve a link's host once, and refuse it if any address it
resolves to is one a runner must not reach (`netguard` says which, and why).

The connection then goes to one of these checked addresses, never to the name again, so a
DNS answer that changes between check and connect cannot slip through.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable

from jobs.errors import RefusedSource, RelayqError, SourceUnreachable
from jobs.fetch.links import check_url, default_port, host_of, safe_url
from jobs.fetch.netguard import refusal_reason

__all__ = [
    "Guard",
    "Resolver",
    "check_addresses",
    "literal_refusal",
    "refusal_hint",
    "resolve",
    "system_resolver",
]

Resolver = Callable[[str, int], list[str]]
Guard = Callable[[str], str | None]

_PRIVATE_HINT = "add it to RELAYQ_ALLOW_PRIVATE_URLS on the runner only if you trust that address"
# A link-local address is where a cloud machine's metadata (and its credentials) answers: no
# media lives there, so no one is told to allow it.
_LINK_LOCAL_HINT = "no media is served from there; send a public link or upload the file"


def refusal_hint(reason: str) -> str:
    """What to do about a refused address, after the reason it was refused."""
    return _LINK_LOCAL_HINT if reason.startswith("a link-local") else _PRIVATE_HINT


def system_resolver(host: str, port: int) -> list[str]:
    """What the operating system resolves `host` to (numeric forms included)."""
    # getaddrinfo parses every numeric form the OS accepts (127.1, 0x7f000001, 2130706433),
    # so the guard sees the address a connection would really use.
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def resolve(resolver: Resolver, host: str, port: int, shown: str) -> list[str]:
    """The distinct IP addresses `host` resolves to; SourceUnreachable when there are none.
    `shown` is what the sentences call the source (its safe link, or the user's name)."""
    try:
        answers = resolver(host, port)
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
        raise SourceUnreachable(f"could not find the host {host} of {shown}; check the link")
    return list(addresses.values())


def check_addresses(
    addresses: list[str], host: str, shown: str, guard: Guard = refusal_reason
) -> None:
    """RefusedSource, naming the address and why, if `guard` refuses any of `addresses`."""
    for address in addresses:
        reason = guard(address)
        if reason is not None:
            named = address if _same_ip(host, address) else f"{host} resolves to {address}, which"
            raise RefusedSource(
                f"refusing to fetch {shown}: {named} is {reason}; {refusal_hint(reason)}"
            )


def literal_refusal(url: str, *, guard: Guard = refusal_reason) -> str | None:
    """The sentence a runner refuses `url` with when that is plain from the link alone: a
    user name or password in it (which must go nowhere: not into a job, a card or a workflow
    input), a scheme other than http(s), or a host that is a literal address the guard refuses
    (`http://169.254.169.254/`, `http://2130706433/`); None for anything else.

    Pure: a host name is never resolved (that is the runner's to do, on its own network);
    only what the system parses as a numeric address counts, every form it accepts.
    """
    try:
        parts = check_url(url)
    except RefusedSource as err:
        return str(err) if "://" in url else None  # a word, not a link (`/route transcribe`)
    except RelayqError:
        return None  # not a link the runner can read: its own sentence says so
    try:
        host = host_of(parts, url)
        addresses = resolve(_numeric_only, host, default_port(parts), safe_url(url))
    except RelayqError:
        return None  # a name: the runner's call
    try:
        check_addresses(addresses, host, safe_url(url), guard)
    except RefusedSource as err:
        return str(err)
    return None


def _numeric_only(host: str, port: int) -> list[str]:
    # AI_NUMERICHOST: the same parser as the runner's lookup, but it never asks DNS or
    # /etc/hosts; a name fails here (and so is left alone).
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST)
    return [str(info[4][0]) for info in infos]


def _same_ip(host: str, address: str) -> bool:
    try:
        return ipaddress.ip_address(host) == ipaddress.ip_address(address)
    except ValueError:
        return False
