"""`literal_refusal`: the VM's early word on a link whose host is a literal address, which must
be exactly what the runner would say, and must never resolve a name."""

from __future__ import annotations

from pathlib import Path

import pytest

from jobs.errors import RefusedSource
from jobs.fetch import fetch, literal_refusal

MB = 1_000_000


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://127.0.0.1:8080/a.mp3",
        "http://127.1/a.mp3",
        "http://0x7f000001/a.mp3",
        "http://2130706433/a.mp3",
        "http://0177.0.0.1/a.mp3",
        "https://10.0.0.1/a.mp3?sig=secret",
        "http://[::1]/a.mp3",
        "http://[::ffff:127.0.0.1]/a.mp3",
        "http://[fe80::1%25eth0]/a.mp3",
        "http://[64:ff9b::a9fe:a9fe]/",
        "HTTP://192.168.1.1/a.mp3",
    ],
)
def test_a_literal_address_the_guard_refuses_gets_the_runners_own_sentence(
    tmp_path: Path, url: str
) -> None:
    with pytest.raises(RefusedSource) as caught:
        fetch(url, tmp_path, max_bytes=MB)  # the runner's path, with its own resolver
    assert literal_refusal(url) == str(caught.value)


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost/a.mp3",  # refused on the runner, but only once resolved: not here
        "http://example.org/a.mp3",
        "http://8.8.8.8/a.mp3",
        "http://[2606:4700::1111]/a.mp3",
        "http://exa mple.com/a.mp3",
        "http://127.0.0.1:99999/x",
        "http://192.168.1.1./a.mp3",  # no address to the system: the runner cannot find it
        "not a link",
    ],
)
def test_anything_else_is_left_to_the_runner(url: str) -> None:
    assert literal_refusal(url) is None


@pytest.mark.parametrize(
    "url",
    ["http://user:pw@example.org/a.mp3", "https://:secret@127.0.0.1/a.mp3",
     "ftp://127.0.0.1/a.mp3", "file:///etc/passwd"],
)  # fmt: skip
def test_credentials_or_another_scheme_are_refused_at_once_with_the_runners_sentence(
    tmp_path: Path, url: str
) -> None:
    """A password in a link must not become a job (its card, /jobs, a workflow input)."""
    with pytest.raises(RefusedSource) as caught:
        fetch(url, tmp_path, max_bytes=MB)
    refusal = literal_refusal(url)
    assert refusal == str(caught.value)
    assert "pw" not in refusal and "secret" not in refusal


def test_a_name_is_never_resolved(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    def no_dns(host: object, *args: object, **kwargs: object) -> list[object]:
        if kwargs.get("flags", 0) & socket.AI_NUMERICHOST:
            return real(host, *args, **kwargs)  # type: ignore[arg-type]
        raise AssertionError(f"resolved {host!r}")

    real = socket.getaddrinfo
    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    assert literal_refusal("http://metadata.google.internal/computeMetadata/v1/") is None
    assert literal_refusal("http://169.254.169.254/") is not None
