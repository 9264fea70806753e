"""Which addresses a runner may fetch from: the SSRF guard's pure core.

A runner sits on someone's home network, next to routers, NAS boxes and (on cloud VMs) the
metadata service. A link from a chat must never reach them, whatever form the address takes:
IPv6 forms that carry an IPv4 address (mapped, compatible, translated, NAT64, 6to4, Teredo)
are judged by the address they carry. The tables are ours rather than `ipaddress.is_global`,
whose answers change between Python patch releases.
"""

from __future__ import annotations

import ipaddress

__all__ = ["refusal_reason"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_V4_BLOCKS: tuple[tuple[str, str], ...] = (
    ("0.0.0.0/32", "the unspecified address"),
    ("0.0.0.0/8", "a 'this network' address"),
    ("10.0.0.0/8", "a private address"),
    ("100.64.0.0/10", "a carrier-grade NAT address"),
    ("127.0.0.0/8", "a loopback address"),
    ("169.254.0.0/16", "a link-local address (cloud metadata lives here)"),
    ("172.16.0.0/12", "a private address"),
    ("192.0.0.0/24", "an IETF protocol address"),
    ("192.0.2.0/24", "a documentation address"),
    ("192.31.196.0/24", "an AS112 service address"),
    ("192.52.193.0/24", "an AMT relay address"),
    ("192.88.99.0/24", "a 6to4 relay address"),
    ("192.168.0.0/16", "a private address"),
    ("192.175.48.0/24", "an AS112 service address"),
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
    ("3fff::/20", "a documentation address"),
    ("2001::/23", "an IETF protocol address"),
    ("5f00::/16", "a segment-routing address"),
    ("fc00::/7", "a unique-local (private) address"),
    ("fe80::/10", "a link-local address"),
    ("fec0::/10", "a site-local (private) address"),
    ("ff00::/8", "a multicast address"),
)
_V4 = tuple((ipaddress.IPv4Network(net), why) for net, why in _V4_BLOCKS)
_V6 = tuple((ipaddress.IPv6Network(net), why) for net, why in _V6_BLOCKS)
# Only 2000::/3 is handed out as global unicast; everything else not named above is reserved.
_GLOBAL_UNICAST = ipaddress.IPv6Network("2000::/3")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")
_SIXTOFOUR = ipaddress.IPv6Network("2002::/16")
_TEREDO = ipaddress.IPv6Network("2001::/32")
_V4_COMPAT = ipaddress.IPv6Network("::/96")
_V4_TRANSLATED = ipaddress.IPv6Network("::ffff:0:0:0/96")
_INSIDE = " (inside an IPv6 address)"


def refusal_reason(address: str | IPAddress) -> str | None:
    """Why a runner must not connect to `address`, or None when it is a public address."""
    try:
        ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    except ValueError:
        return "not an IP address"
    if isinstance(ip, ipaddress.IPv4Address):
        return _v4_reason(ip)
    ip = _strip_zone(ip)
    embedded = _embedded_v4(ip)
    if embedded is not None:
        inner = _v4_reason(embedded)
        if inner is not None:
            return inner + _INSIDE
        # These wrap a public address, yet only reach it through a local translator
        # (operator-chosen NAT64 prefix) or a tunnel relay (Teredo) that is not ours to trust.
        if ip in _NAT64_LOCAL:
            return "a local-use NAT64 address"
        if ip in _TEREDO:
            return "a Teredo tunnel address"
        return None
    for net, why in _V6:
        if ip in net:
            return why
    return None if ip in _GLOBAL_UNICAST else "a reserved address"


def _v4_reason(ip: ipaddress.IPv4Address) -> str | None:
    for net, why in _V4:
        if ip in net:
            return why
    return None if ip.is_global else "a reserved address"


def _strip_zone(ip: ipaddress.IPv6Address) -> ipaddress.IPv6Address:
    return ipaddress.IPv6Address(str(ip).split("%", 1)[0]) if ip.scope_id else ip


def _embedded_v4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 form carries, or None for a plain IPv6 address."""
    low32 = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.ipv4_mapped is not None:  # ::ffff:a.b.c.d, what a dual-stack socket dials as v4
        return ip.ipv4_mapped
    if ip in _V4_TRANSLATED or ip in _NAT64:
        return low32
    if ip in _NAT64_LOCAL:
        # RFC 8215 lets the operator pick the prefix length; judge the common /96 layout,
        # and the whole block is refused anyway when that looks public.
        return low32
    if ip in _SIXTOFOUR:
        return ip.sixtofour
    if ip in _TEREDO and ip.teredo is not None:
        return ip.teredo[1]  # the client's address, de-obfuscated
    if ip in _V4_COMPAT and int(ip) > 1:  # ::a.b.c.d (deprecated), but not :: or ::1
        return low32
    return None
