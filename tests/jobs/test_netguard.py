"""The SSRF guard's address classification, by table."""

from __future__ import annotations

import ipaddress

import pytest

from jobs.fetch import refusal_reason

INSIDE = " (inside an IPv6 address)"
METADATA = "a link-local address (cloud metadata lives here)"


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        # IPv4
        ("127.0.0.1", "a loopback address"),
        ("127.255.255.254", "a loopback address"),
        ("10.1.2.3", "a private address"),
        ("172.16.0.1", "a private address"),
        ("172.31.255.255", "a private address"),
        ("192.168.1.1", "a private address"),
        ("169.254.169.254", METADATA),
        ("100.64.0.1", "a carrier-grade NAT address"),
        ("100.127.255.254", "a carrier-grade NAT address"),
        ("0.0.0.0", "the unspecified address"),
        ("0.1.2.3", "a 'this network' address"),
        ("224.0.0.1", "a multicast address"),
        ("239.255.255.250", "a multicast address"),
        ("240.0.0.1", "a reserved address"),
        ("255.255.255.255", "the broadcast address"),
        ("192.0.0.8", "an IETF protocol address"),
        ("192.0.2.10", "a documentation address"),
        ("198.51.100.7", "a documentation address"),
        ("203.0.113.99", "a documentation address"),
        ("198.18.0.1", "a benchmarking address"),
        ("198.19.255.255", "a benchmarking address"),
        ("192.88.99.1", "a 6to4 relay address"),
        # IPv6
        ("::1", "a loopback address"),
        ("::", "the unspecified address"),
        ("fd00::1", "a unique-local (private) address"),
        ("fc00::1", "a unique-local (private) address"),
        ("fe80::1", "a link-local address"),
        ("fe80::1%eth0", "a link-local address"),
        ("fec0::1", "a site-local (private) address"),
        ("ff02::1", "a multicast address"),
        ("2001:db8::1", "a documentation address"),
        ("3fff::1", "a documentation address"),
        ("100::1", "a discard-only address"),
        ("2001:2::1", "an IETF protocol address"),
        ("5f00::1", "a segment-routing address"),
        ("4000::1", "a reserved address"),  # outside 2000::/3, not yet handed out
        # IPv6 forms that carry an IPv4 address are judged by it
        ("::ffff:127.0.0.1", "a loopback address" + INSIDE),
        ("::ffff:169.254.169.254", METADATA + INSIDE),
        ("::127.0.0.1", "a loopback address" + INSIDE),  # IPv4-compatible
        ("::2", "a 'this network' address" + INSIDE),
        ("::ffff:0:7f00:1", "a loopback address" + INSIDE),  # IPv4-translated (SIIT)
        ("64:ff9b::7f00:1", "a loopback address" + INSIDE),  # NAT64
        ("64:ff9b::a9fe:a9fe", METADATA + INSIDE),
        ("64:ff9b:1::a00:1", "a private address" + INSIDE),  # local-use NAT64
        ("64:ff9b:1::808:808", "a local-use NAT64 address"),
        ("2002:7f00:1::", "a loopback address" + INSIDE),  # 6to4
        ("2002:c0a8:0101::1", "a private address" + INSIDE),
        ("2001:0:4136:e378:8000:63bf:80ff:fffe", "a loopback address" + INSIDE),  # Teredo
        ("2001:0:4136:e378:8000:63bf:f7f7:f7f7", "a Teredo tunnel address"),  # client 8.8.8.8
        ("not-an-ip", "not an IP address"),
        ("", "not an IP address"),
        # public addresses pass
        ("8.8.8.8", None),
        ("1.1.1.1", None),
        ("93.184.216.34", None),
        ("100.63.255.255", None),  # just below CGNAT
        ("100.128.0.0", None),  # just above CGNAT
        ("172.32.0.1", None),  # just above 172.16/12
        ("2606:4700::1111", None),
        ("2a00:1450:4001:81c::200e", None),
        ("::ffff:8.8.8.8", None),
        ("64:ff9b::808:808", None),
        ("2002:0808:0808::1", None),
    ],
)
def test_refusal_reason(address: str, expected: str | None) -> None:
    assert refusal_reason(address) == expected


def test_address_objects_are_judged_like_strings() -> None:
    assert refusal_reason(ipaddress.ip_address("::ffff:10.0.0.1")) == "a private address" + INSIDE
