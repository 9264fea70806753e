"""The safe downloader against a real HTTP server on loopback."""

from __future__ import annotations

from pathlib import Path

import pytest

from jobs.errors import RefusedSource, RelayqError, SourceUnreachable, TooLarge
from jobs.fetch import fetch, is_url, safe_url
from jobs.netguard import refusal_reason
from tests.jobs.httpserver import body, redirect, serve, status, stream

MB = 1_000_000
AUDIO = b"OggS" + bytes(range(256)) * 40


def only_loopback_1(address: str) -> str | None:
    """The real guard, except that 127.0.0.1 (our test server) counts as public."""
    return None if address == "127.0.0.1" else refusal_reason(address)


@pytest.fixture
def dest(tmp_path: Path) -> Path:
    path = tmp_path / "dl"
    path.mkdir()
    return path


def test_a_file_streams_to_disk_with_a_suffix_from_the_link(dest: Path) -> None:
    with serve({"/talk.ogg": body(AUDIO)}) as (base, _):
        result = fetch(f"{base}/talk.ogg", dest, max_bytes=MB, allow_private=True)
    assert result.path.read_bytes() == AUDIO
    assert result.path.suffix == ".ogg"
    assert result.size == len(AUDIO)
    assert result.content_type == "audio/ogg"


def test_the_suffix_comes_from_the_content_type_when_the_link_has_none(dest: Path) -> None:
    with serve({"/download": body(AUDIO, "audio/mpeg")}) as (base, _):
        result = fetch(f"{base}/download?id=7", dest, max_bytes=MB, allow_private=True)
    assert result.path.suffix == ".mp3"


def test_redirects_are_followed_up_to_five(dest: Path) -> None:
    routes = {f"/r{n}": redirect(f"/r{n + 1}") for n in range(5)}
    routes["/r5"] = body(AUDIO)
    with serve(routes) as (base, hits):
        result = fetch(f"{base}/r0", dest, max_bytes=MB, allow_private=True)
    assert result.final_url.endswith("/r5")
    assert hits == [f"/r{n}" for n in range(6)]


def test_a_sixth_redirect_is_refused(dest: Path) -> None:
    routes = {f"/r{n}": redirect(f"/r{n + 1}") for n in range(6)}
    routes["/r6"] = body(AUDIO)
    with serve(routes) as (base, hits), pytest.raises(SourceUnreachable, match="more than 5 times"):
        fetch(f"{base}/r0", dest, max_bytes=MB, allow_private=True)
    assert "/r6" not in hits


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.1/a.mp3", "127.1 resolves to 127.0.0.1, which is a loopback address"),
        ("http://0x7f000001/a.mp3", "resolves to 127.0.0.1, which is a loopback address"),
        ("http://2130706433/a.mp3", "resolves to 127.0.0.1, which is a loopback address"),
        ("http://[::ffff:127.0.0.1]/a.mp3", "a loopback address (inside an IPv6 address)"),
        (
            "http://169.254.169.254/latest/meta-data/",
            "a link-local address (cloud metadata lives here)",
        ),
        ("http://192.168.1.1/a.mp3", "192.168.1.1 is a private address"),
        ("http://100.64.0.1/a.mp3", "a carrier-grade NAT address"),
        ("http://[fd00::1]/a.mp3", "a unique-local (private) address"),
        ("http://224.0.0.1/a.mp3", "a multicast address"),
        ("http://[64:ff9b::7f00:1]/a.mp3", "a loopback address (inside an IPv6 address)"),
        ("http://[2002:7f00:1::]/a.mp3", "a loopback address (inside an IPv6 address)"),
        ("http://localhost:8080/a.mp3", "a loopback address"),
        ("file:///etc/passwd", "only http and https links are accepted"),
        ("ftp://example.org/a.mp3", "only http and https links are accepted"),
        ("gopher://example.org/a", "only http and https links are accepted"),
        ("http://user:hunter2@example.org/a.mp3", "user name or password"),
        ("http:///a.mp3", "has no host name"),
    ],
)
def test_internal_and_odd_destinations_are_refused_before_any_connection(
    dest: Path, url: str, expected: str
) -> None:
    with pytest.raises(RefusedSource) as caught:
        fetch(url, dest, max_bytes=MB)
    assert expected in str(caught.value)
    assert "hunter2" not in str(caught.value)
    assert list(dest.iterdir()) == []


def test_a_public_looking_name_that_resolves_privately_is_refused(dest: Path) -> None:
    with serve({"/a.ogg": body(AUDIO)}) as (base, hits):
        port = base.rsplit(":", 1)[1]
        with pytest.raises(RefusedSource, match="podcasts.example resolves to 10.0.0.5"):
            fetch(
                f"http://podcasts.example:{port}/a.ogg",
                dest,
                max_bytes=MB,
                resolver=lambda host, port: ["93.184.216.34", "10.0.0.5"],
            )
    assert hits == []


def test_the_checked_address_is_the_one_connected_to(dest: Path) -> None:
    # The name is resolved once, checked, and that address is dialled: the name is never
    # looked up again by the HTTP client (no rebinding window).
    calls: list[str] = []

    def resolver(host: str, port: int) -> list[str]:
        calls.append(host)
        return ["127.0.0.1"]

    with serve({"/a.ogg": body(AUDIO)}) as (base, _):
        port = base.rsplit(":", 1)[1]
        result = fetch(
            f"http://media.example:{port}/a.ogg", dest, max_bytes=MB, resolver=resolver,
            guard=only_loopback_1,
        )  # fmt: skip
    assert result.size == len(AUDIO)
    assert calls == ["media.example"]


def test_a_redirect_to_a_private_address_is_refused_at_that_hop(dest: Path) -> None:
    with serve({"/a.ogg": body(AUDIO)}, host="127.0.0.2") as (inner, inner_hits):
        with serve({"/go": redirect(f"{inner}/a.ogg")}) as (outer, outer_hits):
            with pytest.raises(RefusedSource, match=r"127\.0\.0\.2 is a loopback address"):
                fetch(f"{outer}/go", dest, max_bytes=MB, guard=only_loopback_1)
    assert outer_hits == ["/go"]
    assert inner_hits == []


def test_a_redirect_to_file_scheme_is_refused(dest: Path) -> None:
    with serve({"/go": redirect("file:///etc/passwd")}) as (base, _):
        with pytest.raises(RefusedSource, match="only http and https"):
            fetch(f"{base}/go", dest, max_bytes=MB, allow_private=True)


def test_a_declared_oversize_body_is_refused_before_reading(dest: Path) -> None:
    with serve({"/big.mp3": body(b"x" * 10, length=5 * MB)}) as (base, _):
        with pytest.raises(TooLarge, match="larger than the 1 MB limit.*RELAYQ_MAX_DOWNLOAD_MB"):
            fetch(f"{base}/big.mp3", dest, max_bytes=MB, allow_private=True)
    assert list(dest.iterdir()) == []


def test_an_undeclared_oversize_stream_is_cut_at_the_cap_and_removed(dest: Path) -> None:
    with serve({"/big.mp3": stream(b"y" * 65536, count=200)}) as (base, _):
        with pytest.raises(TooLarge, match="larger than the 1 MB limit"):
            fetch(f"{base}/big.mp3", dest, max_bytes=MB, allow_private=True)
    assert list(dest.iterdir()) == []


def test_a_content_length_that_lies_low_cannot_beat_the_cap(dest: Path) -> None:
    with serve({"/lie.mp3": body(b"z" * (2 * MB), length=100)}) as (base, _):
        result_or_error: object
        try:
            result_or_error = fetch(f"{base}/lie.mp3", dest, max_bytes=MB, allow_private=True)
        except RelayqError as exc:
            result_or_error = exc
    # urllib3 reads only the declared 100 bytes: the rest never reaches the disk.
    if isinstance(result_or_error, RelayqError):
        assert list(dest.iterdir()) == []
    else:
        assert result_or_error.size <= MB  # type: ignore[attr-defined]


def test_a_content_length_that_lies_high_is_a_broken_download(dest: Path) -> None:
    with serve({"/short.mp3": body(b"a" * 1000, length=50_000)}) as (base, _):
        with pytest.raises(SourceUnreachable, match="broke off"):
            fetch(f"{base}/short.mp3", dest, max_bytes=MB, allow_private=True, read_timeout_s=2)
    assert list(dest.iterdir()) == []


def test_a_trickling_server_is_cut_off_at_the_deadline(dest: Path) -> None:
    with serve({"/slow.mp3": stream(b"s", count=100, delay_s=0.1)}) as (base, _):
        with pytest.raises(TooLarge, match="took longer than 1 s"):
            fetch(f"{base}/slow.mp3", dest, max_bytes=MB, allow_private=True, timeout_s=1)
    assert list(dest.iterdir()) == []


@pytest.mark.parametrize("code", [403, 404, 500])
def test_http_errors_say_the_status(dest: Path, code: int) -> None:
    with serve({"/x.mp3": status(code)}) as (base, _):
        with pytest.raises(SourceUnreachable, match=f"answered HTTP {code}"):
            fetch(f"{base}/x.mp3", dest, max_bytes=MB, allow_private=True)


def test_an_unknown_host_is_unreachable(dest: Path) -> None:
    with pytest.raises(SourceUnreachable, match="could not find the host"):
        fetch("http://nowhere.invalid/a.mp3", dest, max_bytes=MB, resolver=lambda h, p: [])


def test_a_closed_port_is_unreachable(dest: Path) -> None:
    with serve({}) as (base, _):
        pass  # the server is gone: its port is closed now
    with pytest.raises(SourceUnreachable, match="could not connect"):
        fetch(f"{base}/a.mp3", dest, max_bytes=MB, allow_private=True)


@pytest.mark.parametrize(
    ("source", "expected"),
    [("https://a.example/x", True), ("ftp://a", True), ("file:///x", True), ("/tmp/a.mp3", False),
     ("a.mp3", False), ("C:\\a.mp3", False)],
)  # fmt: skip
def test_is_url(source: str, expected: bool) -> None:
    assert is_url(source) is expected


def test_printed_links_lose_credentials_and_query() -> None:
    assert (
        safe_url("https://me:pw@host.example:8443/a.mp3?sig=SECRET")
        == "https://host.example:8443/a.mp3"
    )
