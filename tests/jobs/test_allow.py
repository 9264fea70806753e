"""RELAYQ_ALLOW_PRIVATE_URLS: parsing and the decision, by table."""

from __future__ import annotations

import pytest

from bot.settings import load_settings
from jobs.errors import ConfigError
from jobs.fetch import ALL_PRIVATE, NO_PRIVATE, allowing, literal_refusal, parse_allow


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, ""),
        (False, ""),
        ("", ""),
        ("0", ""),
        ("false", ""),
        ("off", ""),
        (True, "1"),
        ("1", "1"),
        ("true", "1"),
        ("YES", "1"),
        ("192.168.1.10", "192.168.1.10/32"),
        (" 192.168.1.10 , 10.0.0.0/24 ", "192.168.1.10/32,10.0.0.0/24"),
        ("127.0.0.1/32,127.0.0.1", "127.0.0.1/32"),
        ("fd00::/8,::1", "fd00::/8,::1/128"),
        ("10.0.0.0/24,", "10.0.0.0/24"),
    ],
)
def test_the_setting_parses(value: str | bool | None, expected: str) -> None:
    assert str(parse_allow(value)) == expected


@pytest.mark.parametrize(
    ("value", "expected_error"),
    [
        ("nas.local", "'nas.local' is not an IP address or network; give 1, or addresses and "
         "networks separated by commas, such as 192.168.1.10,10.0.0.0/24"),
        ("10.0.0.1/24", "10.0.0.1/24 has bits set after its /24 prefix; write the network as "
         "10.0.0.0/24 or the single address as 10.0.0.1"),
        ("1,10.0.0.1", "'1' cannot be mixed with addresses; give 1 to allow every private "
         "address, or only addresses and networks such as 192.168.1.10,10.0.0.0/24"),
        ("10.0.0.300", "'10.0.0.300' is not an IP address or network"),
        ("10.0.0.0/33", "'10.0.0.0/33' is not an IP address or network"),
    ],
)  # fmt: skip
def test_a_bad_value_says_what_is_wrong(value: str, expected_error: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_allow(value)
    assert str(caught.value).startswith(expected_error)


@pytest.mark.parametrize(
    ("setting", "address", "expected"),
    [
        ("", "127.0.0.1", "a loopback address"),
        ("", "8.8.8.8", None),
        ("1", "127.0.0.1", None),
        ("1", "169.254.169.254", None),
        ("192.168.1.10", "192.168.1.10", None),
        ("192.168.1.10", "192.168.1.11", "a private address"),
        ("192.168.1.10", "::ffff:192.168.1.10", None),  # the same address, as dual-stack dials it
        ("192.168.1.10", "169.254.169.254", "a link-local address (cloud metadata lives here)"),
        ("10.0.0.0/24", "10.0.0.200", None),
        ("10.0.0.0/24", "10.0.1.1", "a private address"),
        ("127.0.0.1/32", "127.0.0.2", "a loopback address"),
        ("fd00::/8", "fd12::1", None),
        ("fd00::/8", "fe80::1", "a link-local address"),
        ("10.0.0.0/24", "8.8.8.8", None),  # public stays public
    ],
)
def test_only_the_listed_addresses_pass(setting: str, address: str, expected: str | None) -> None:
    assert allowing(parse_allow(setting))(address) == expected


def test_the_vm_refuses_a_literal_address_unless_it_is_listed() -> None:
    nas = parse_allow("192.168.1.10")
    assert literal_refusal("http://192.168.1.10/a.mp3", guard=allowing(nas)) is None
    refusal = literal_refusal("http://192.168.1.11/a.mp3", guard=allowing(nas))
    assert refusal is not None and "192.168.1.11 is a private address" in refusal
    assert literal_refusal("http://10.1.1.1/", guard=allowing(ALL_PRIVATE)) is None
    assert literal_refusal("http://10.1.1.1/", guard=allowing(NO_PRIVATE)) is not None


def test_a_bad_setting_stops_the_settings_load_with_one_sentence(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RELAYQ_ALLOW_PRIVATE_URLS", "192.168.1.0/16")
    with pytest.raises(ConfigError) as caught:
        load_settings(_env_file=None)
    assert str(caught.value) == (
        "setting RELAYQ_ALLOW_PRIVATE_URLS is invalid: 192.168.1.0/16 has bits set after its "
        "/16 prefix; write the network as 192.168.0.0/16 or the single address as 192.168.1.0; "
        "fix it in the environment (the service's is /etc/relayq/env)"
    )
    monkeypatch.setenv("RELAYQ_ALLOW_PRIVATE_URLS", "10.0.0.0/24,127.0.0.1")
    assert str(load_settings(_env_file=None).allow_private_urls) == "10.0.0.0/24,127.0.0.1/32"
