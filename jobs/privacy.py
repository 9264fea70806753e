"""Private jobs on the runner: the audio and its transcript stay on the owner's machines.

A private job (the bot's /private, #private; `relayq transcribe --private`) transcribes with
the local model only, never falls back to OpenAI or OpenRouter, and is summarized only by an
LLM server the owner declared private: `OPENAI_BASE_URL` on a home address. Anything else is
refused with the reason (PrivateRefused), never done (docs/PRIVACY.md).

A home address, decided from the URL alone (nothing is resolved, so a name cannot be made to
point elsewhere later by a DNS answer relayq never checked):
- an IP literal in loopback (127.0.0.0/8, ::1), the private ranges of RFC 1918 (10/8,
  172.16/12, 192.168/16), Tailscale's CGNAT range 100.64.0.0/10, or IPv6 unique-local
  fc00::/7 (Tailscale's fd7a:115c:a1e0::/48 is in it);
- the names `localhost` and `*.localhost`, mDNS names `*.local`, `*.home.arpa` (RFC 8375), and
  Tailscale MagicDNS names `*.ts.net`, which only name machines on the owner's own networks.
Link-local addresses (169.254/16, fe80::/10) are not: a cloud VM's metadata server lives there.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from jobs.config import TranscribeConfig
from jobs.errors import RelayqError

__all__ = ["HOME_NETWORKS", "HOME_SUFFIXES", "home_endpoint_problem", "is_home_host",
           "not_handed_on"]  # fmt: skip

_HOME = ("127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10",
         "::1/128", "fc00::/7")  # fmt: skip
HOME_NETWORKS = tuple(ipaddress.ip_network(n) for n in _HOME)
HOME_SUFFIXES = (".localhost", ".local", ".home.arpa", ".ts.net")


def is_home_host(host: str) -> bool:
    """Whether `host` (a URL's host: a name or an IP literal) is one of the owner's machines."""
    host = host.strip().rstrip(".").lower().strip("[]")
    if not host:
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host == "localhost" or host.endswith(HOME_SUFFIXES)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in HOME_NETWORKS)


def home_endpoint_problem(base_url: str | None) -> str | None:
    """Why `base_url` (OPENAI_BASE_URL) is not an LLM server the owner declared private, or
    None when it is one: its host is a home address."""
    if not base_url:
        return "OPENAI_BASE_URL is not set, so summaries go to api.openai.com"
    try:
        host = urlsplit(base_url.strip()).hostname
    except ValueError:
        host = None
    if not host:
        return "OPENAI_BASE_URL is not a URL with a host"
    if not is_home_host(host):
        return f"OPENAI_BASE_URL points at {host}, which is not a home address"
    return None


def not_handed_on(err: RelayqError, config: TranscribeConfig) -> RelayqError:
    """A private job whose local backend failed: `err`, saying that the remote fallback the
    settings name (RELAYQ_BACKEND_FALLBACK) was refused rather than taken; `err` itself for
    any other job."""
    refused = [n for n in config.fallback if n != "local"] if config.private else []
    if not refused:
        return err
    return type(err)(
        f"{err}; this job is private, so it was not handed to {' or '.join(refused)} "
        "(RELAYQ_BACKEND_FALLBACK)"
    )
