"""Which refused addresses a runner may reach anyway: `RELAYQ_ALLOW_PRIVATE_URLS`, parsed.

Off by default. `1` (or true, yes, on) allows every address the guard would refuse, as before;
a comma-separated list of addresses and networks (`192.168.1.10,10.0.0.0/24`) allows those
alone, so an owner can let the runner reach the one NAS without opening the home network.
Pure: parsing and the decision, no I/O; both fetchers (the HTTP download and the media
fetcher) ask `allowing()` for the guard they check every address with.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass

from jobs.fetch.netguard import refusal_reason

__all__ = ["ALL_PRIVATE", "NO_PRIVATE", "AllowPrivate", "allowing", "parse_allow"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_YES = frozenset({"1", "true", "yes", "on", "t", "y"})
_NO = frozenset({"", "0", "false", "no", "off", "f", "n"})


@dataclass(frozen=True)
class AllowPrivate:
    """Refused addresses a runner may reach anyway: all of them (`everything`), or only those
    inside `networks` (a single address is a /32 or /128 network)."""

    everything: bool = False
    networks: tuple[IPNetwork, ...] = ()

    def permits(self, address: str | IPAddress) -> bool:
        """True when `address` may be connected to although the guard refuses it."""
        if self.everything:
            return True
        if not self.networks:
            return False
        try:
            ip = ipaddress.ip_address(address) if isinstance(address, str) else address
        except ValueError:
            return False
        candidates: list[IPAddress] = [ip]
        if isinstance(ip, ipaddress.IPv6Address):
            if ip.scope_id:
                ip = ipaddress.IPv6Address(str(ip).split("%", 1)[0])
                candidates = [ip]
            if ip.ipv4_mapped is not None:  # what a dual-stack socket dials for an IPv4 address
                candidates.append(ip.ipv4_mapped)
        return any(
            c in net for c in candidates for net in self.networks if c.version == net.version
        )

    def __str__(self) -> str:
        if self.everything:
            return "1"
        return ",".join(str(net) for net in self.networks)


NO_PRIVATE = AllowPrivate()
ALL_PRIVATE = AllowPrivate(everything=True)


def parse_allow(value: str | bool | AllowPrivate | None) -> AllowPrivate:
    """The setting's value parsed; ValueError with one sentence saying what is wrong."""
    if isinstance(value, AllowPrivate):
        return value
    if value is None or value is False:
        return NO_PRIVATE
    if value is True:
        return ALL_PRIVATE
    text = value.strip()
    if text.lower() in _NO:
        return NO_PRIVATE
    if text.lower() in _YES:
        return ALL_PRIVATE
    networks: list[IPNetwork] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        networks.append(_network(part))
    if not networks:
        return NO_PRIVATE
    return AllowPrivate(networks=tuple(dict.fromkeys(networks)))


def _network(part: str) -> IPNetwork:
    if part.lower() in _YES | _NO:
        raise ValueError(
            f"{part!r} cannot be mixed with addresses; give 1 to allow every private address, "
            "or only addresses and networks such as 192.168.1.10,10.0.0.0/24"
        )
    try:
        return ipaddress.ip_network(part, strict=True)
    except ValueError:
        pass
    try:
        loose = ipaddress.ip_network(part, strict=False)
    except ValueError:
        raise ValueError(
            f"{part[:60]!r} is not an IP address or network; give 1, or addresses and networks "
            "separated by commas, such as 192.168.1.10,10.0.0.0/24"
        ) from None
    raise ValueError(
        f"{part} has bits set after its /{loose.prefixlen} prefix; write the network as {loose} "
        f"or the single address as {part.split('/', 1)[0]}"
    )


def allowing(
    allow: AllowPrivate, guard: Callable[[str], str | None] = refusal_reason
) -> Callable[[str], str | None]:
    """`guard`, except that the addresses `allow` permits pass."""
    if allow == NO_PRIVATE:
        return guard
    if allow.everything:
        return lambda _address: None

    def allowed_or(address: str) -> str | None:
        reason = guard(address)
        return None if reason is None or allow.permits(address) else reason

    return allowed_or
