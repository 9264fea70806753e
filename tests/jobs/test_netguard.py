"""The SSRF guard's address classification, by table."""

from __future__ import annotations

import pytest

from jobs.netguard import refusal_reason


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("127.0.0.1", "a loopback address"),
        ("127.255.255.254", "a loopback address"),
        ("10.1.2.3", "a private address"),
        ("172.16.0.1", "a private address"),
        ("172.31.255.255", "a private address"),
        ("192.168.1.1", "a private address"),
        ("169.254.169.254", "a link-local address (cloud metadata lives here)"),
        ("100.64.0.1", "a carrier-grade NAT address"),
        ("100.127.255.254", "a carrier-grade NAT address"),
        ("0.0.0.0", "a 'this network' address"),
        ("224.0.0.1", "a multicast address"),
        ("239.255.255.250", "a multicast address"),
        ("240.0.0.1", "a reserved address"),
        ("255.255.255.255", "the broadcast address"),
        ("192.0.2.10", "a documentation address"),
        ("198.18.0.1", "a benchmarking address"),
        ("::1", "a loopback address"),
        ("::", "the unspecified address"),
        ("fd00::1", "a unique-local (private) address"),
        ("fc00::1", "a unique-local (private) address"),
        ("fe80::1", "a link-local address"),
        ("fec0::1", "a site-local (private) address"),
        ("ff02::1", "a multicast address"),
        ("2001:db8::1", "a documentation address"),
        ("::ffff:127.0.0.1", "a loopback address (inside an IPv6 address)"),
        (
            "::ffff:169.254.169.254",
            "a link-local address (cloud metadata lives here) (inside an IPv6 address)",
        ),
        ("::127.0.0.1", "a loopback address (inside an IPv6 address)"),
        ("64:ff9b::7f00:1", "a loopback address (inside an IPv6 address)"),
        ("64:ff9b:1::a00:1", "a private address (inside an IPv6 address)"),
        ("2002:7f00:1::", "a loopback address (inside an IPv6 address)"),
        ("2002:c0a8:0101::1", "a private address (inside an IPv6 address)"),
        (
            "2001:0:4136:e378:8000:63bf:80ff:fffe",
            "a loopback address (inside an IPv6 address)",
        ),  # Teredo, client 127.0.0.1
        ("fe80::1%eth0", "a link-local address"),
        ("not-an-ip", "not an IP address"),
        # public addresses pass
        ("8.8.8.8", None),
        ("1.1.1.1", None),
        ("93.184.216.34", None),
        ("2606:4700::1111", None),
        ("2a00:1450:4001:81c::200e", None),
        ("::ffff:8.8.8.8", None),
        ("64:ff9b::808:808", None),
        ("2002:0808:0808::1", None),
    ],
)
def test_refusal_reason(address: str, expected: str | None) -> None:
    assert refusal_reason(address) == expected
