"""Which addresses a runner may fetch from: the SSRF guard's pure core.

A runner sits on someone's home network, next to routers, NAS boxes and (on cloud VMs) the
metadata service. A link from a chat must never reach them, whatever form the address takes.
"""

from __future__ import annotations

import ipaddress

__all__ = ["refusal_reason"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_V4_BLOCKS: tuple[tuple[str, str], ...] = (
    ("0.0.0.0/8", "a 'this network' address"),
    ("10.0.0.0/8", "a private address"),
    ("100.64.0.0/10", "a carrier-grade NAT address"),
    ("127.0.0.0/8", "a loopback address"),
    ("169.254.0.0/16", "a link-local address (cloud metadata lives here)"),
    ("172.16.0.0/12", "a private address"),
    ("192.0.0.0/24", "an IETF protocol address"),
    ("192.0.2.0/24", "a documentation address"),
    ("192.88.99.0/24", "a 6to4 relay address"),
    ("192.168.0.0/16", "a private address"),
    ("198.18.0.0/15", "a benchmarking address"),
    ("198.51.100.0/24", "a documentation address"),
    ("203.0.113.0/24", "a documentation address"),
    ("224.0.0.0/4", "a multicast address"),
    ("255.255.255.255/32", "the broadcast address"),
    ("240.0.0.0/4", "a reserved address"),
)
_V6_BLOCKS: tuple[tuple[str, str], ...] = (
    ("::/128", "the unspecified address"),
    ("::1/128", "a loopback address"),
    ("100::/64", "a discard-only address"),
    ("2001:db8::/32", "a documentation address"),
    ("2001:10::/28", "a reserved address"),
    ("fc00::/7", "a unique-local (private) address"),
    ("fe80::/10", "a link-local address"),
    ("fec0::/10", "a site-local (private) address"),
    ("ff00::/8", "a multicast address"),
)
_V4 = tuple((ipaddress.IPv4Network(net), why) for net, why in _V4_BLOCKS)
_V6 = tuple((ipaddress.IPv6Network(net), why) for net, why in _V6_BLOCKS)
_NAT64 = (ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("64:ff9b:1::/48"))
_SIXTOFOUR = ipaddress.IPv6Network("2002::/16")
_TEREDO = ipaddress.IPv6Network("2001::/32")
_V4_COMPAT = ipaddress.IPv6Network("::/96")


def refusal_reason(address: str | IPAddress) -> str | None:
    """Why a runner must not connect to `address`, or None when it is a public address."""
    try:
        ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    except ValueError:
        return "not an IP address"
    if isinstance(ip, ipaddress.IPv6Address):
        ip = _strip_zone(ip)
        embedded = _embedded_v4(ip)
        if embedded is not None:
            inner = refusal_reason(embedded)
            return f"{inner} (inside an IPv6 address)" if inner else None
        for net, why in _V6:
            if ip in net:
                return why
        return None if ip.is_global else "a reserved address"
    for net4, why in _V4:
        if ip in net4:
            return why
    return None if ip.is_global else "a reserved address"


def _strip_zone(ip: ipaddress.IPv6Address) -> ipaddress.IPv6Address:
    return ipaddress.IPv6Address(str(ip).split("%", 1)[0]) if ip.scope_id else ip


def _embedded_v4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 form carries: mapped, compatible, NAT64, 6to4 or Teredo."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if any(ip in net for net in _NAT64):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip in _SIXTOFOUR:
        return ip.sixtofour
    if ip in _TEREDO and ip.teredo is not None:
        return ip.teredo[1]  # the client's address, de-obfuscated
    if ip in _V4_COMPAT and int(ip) > 1:  # ::a.b.c.d (deprecated), but not :: or ::1
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None
