"""The safe downloader against a real HTTP server on loopback."""

from __future__ import annotations

import gzip
import signal
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from types import FrameType

import pytest

from jobs.errors import RefusedSource, SourceUnreachable, TooLarge, UsageError
from jobs.fetch import ALL_PRIVATE, check_url, fetch, is_url, refusal_reason, safe_url
from tests.jobs.httpserver import (
    Route,
    body,
    recording,
    redirect,
    serve,
    stall,
    status,
    stream,
    tls_for,
    trickle,
)

MB = 1_000_000
AUDIO = b"OggS" + bytes(range(256)) * 40


def only_loopback_1(address: str) -> str | None:
    """The real guard, except that 127.0.0.1 (our test server) counts as public."""
    return None if address == "127.0.0.1" else refusal_reason(address)


def to_loopback_1(host: str, port: int) -> list[str]:
    """A resolver for made-up public names: every one is our test server's address."""
    return ["127.0.0.1"]


def port_of(base: str) -> str:
    return base.rsplit(":", 1)[1]


@pytest.fixture
def dest(tmp_path: Path) -> Path:
    path = tmp_path / "dl"
    path.mkdir()
    return path


# -- what a good download looks like -------------------------------------------------------


def test_a_file_streams_to_disk_with_a_suffix_from_the_link(dest: Path) -> None:
    with serve({"/talk.ogg": body(AUDIO)}) as (base, _):
        result = fetch(f"{base}/talk.ogg", dest, max_bytes=MB, allow=ALL_PRIVATE)
    assert result.path.parent == dest
    assert result.path.read_bytes() == AUDIO
    assert result.path.suffix == ".ogg"
    assert result.size == len(AUDIO)
    assert result.content_type == "audio/ogg"
    assert result.final_url == f"{base}/talk.ogg"


def test_a_download_says_how_much_has_arrived_of_the_announced_total(dest: Path) -> None:
    big = AUDIO * 20  # 200 KB: a few of the 64 KiB reads
    heard: list[tuple[int, int | None]] = []
    with serve({"/talk.ogg": body(big), "/live": stream(b"x" * 1000, 3)}) as (base, _):
        fetch(f"{base}/talk.ogg", dest, max_bytes=MB, allow=ALL_PRIVATE,
              on_bytes=lambda done, total: heard.append((done, total)))  # fmt: skip
        assert len(heard) >= 2 and heard[-1] == (len(big), len(big))
        assert [done for done, _ in heard] == sorted(done for done, _ in heard)
        heard.clear()
        fetch(f"{base}/live", dest / "live", max_bytes=MB, allow=ALL_PRIVATE,
              on_bytes=lambda done, total: heard.append((done, total)))  # fmt: skip
    assert heard and all(total is None for _, total in heard)  # no Content-Length: no total


def test_the_suffix_comes_from_the_content_type_when_the_link_has_none(dest: Path) -> None:
    with serve({"/download": body(AUDIO, "audio/mpeg; charset=binary")}) as (base, _):
        result = fetch(f"{base}/download?id=7", dest, max_bytes=MB, allow=ALL_PRIVATE)
    assert result.path.name == "source.mp3"
    assert result.content_type == "audio/mpeg"


def test_a_missing_destination_folder_is_created(tmp_path: Path) -> None:
    with serve({"/a.ogg": body(AUDIO)}) as (base, _):
        result = fetch(f"{base}/a.ogg", tmp_path / "new" / "dl", max_bytes=MB, allow=ALL_PRIVATE)
    assert result.path.read_bytes() == AUDIO


def test_a_compressed_answer_is_saved_as_sent_never_inflated(dest: Path) -> None:
    # 50 MB of zeros packed into ~50 kB: inflating it would blow straight past a 1 MB cap.
    packed = gzip.compress(bytes(50 * MB), compresslevel=9)

    def gzipped(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Encoding", "gzip")
        h.send_header("Content-Length", str(len(packed)))
        h.end_headers()
        h.wfile.write(packed)

    with serve({"/bomb.mp3": gzipped}) as (base, _):
        result = fetch(f"{base}/bomb.mp3", dest, max_bytes=MB, allow=ALL_PRIVATE)
    assert result.path.read_bytes() == packed


def test_the_request_names_the_host_of_the_link_not_the_address(dest: Path) -> None:
    seen: list[dict[str, str]] = []
    with serve({"/a.ogg": recording(seen, body(AUDIO))}) as (base, _):
        fetch(
            f"http://Media.Example:{port_of(base)}/a.ogg", dest, max_bytes=MB,
            resolver=to_loopback_1, guard=only_loopback_1,
        )  # fmt: skip
    assert seen[0]["Host"] == f"media.example:{port_of(base)}"
    assert seen[0]["Accept-Encoding"] == "identity"


def test_an_ipv6_server_is_reached_when_private_addresses_are_allowed(dest: Path) -> None:
    try:
        socket.socket(socket.AF_INET6).close()
    except OSError:
        pytest.skip("no IPv6 on this machine")
    with serve({"/a.ogg": body(AUDIO)}, host="::1") as (base, _):
        result = fetch(f"{base}/a.ogg", dest, max_bytes=MB, allow=ALL_PRIVATE)
    assert result.size == len(AUDIO)


# -- redirects -----------------------------------------------------------------------------


def test_redirects_are_followed_up_to_five(dest: Path) -> None:
    codes = [301, 302, 303, 307, 308]
    routes = {f"/r{n}": redirect(f"/r{n + 1}", code) for n, code in enumerate(codes)}
    routes["/r5"] = body(AUDIO)
    with serve(routes) as (base, hits):
        result = fetch(f"{base}/r0", dest, max_bytes=MB, allow=ALL_PRIVATE)
    assert result.final_url == f"{base}/r5"
    assert hits == [f"/r{n}" for n in range(6)]


def test_a_sixth_redirect_is_refused(dest: Path) -> None:
    routes = {f"/r{n}": redirect(f"/r{n + 1}") for n in range(6)}
    routes["/r6"] = body(AUDIO)
    with serve(routes) as (base, hits), pytest.raises(SourceUnreachable, match="more than 5 times"):
        fetch(f"{base}/r0", dest, max_bytes=MB, allow=ALL_PRIVATE)
    assert "/r6" not in hits
    assert list(dest.iterdir()) == []


def test_relative_and_absolute_locations_resolve_against_the_current_link(dest: Path) -> None:
    routes = {
        "/dir/a": redirect("b"),
        "/dir/b": redirect("../c.ogg"),
        "/c.ogg": body(AUDIO),
    }
    with serve(routes) as (base, hits):
        result = fetch(f"{base}/dir/a", dest, max_bytes=MB, allow=ALL_PRIVATE)
    assert hits == ["/dir/a", "/dir/b", "/c.ogg"]
    assert result.path.suffix == ".ogg"


# -- refusals (the SSRF guard) -------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.1/a.mp3", "127.1 resolves to 127.0.0.1, which is a loopback address"),
        ("http://0x7f000001/a.mp3", "resolves to 127.0.0.1, which is a loopback address"),
        ("http://2130706433/a.mp3", "resolves to 127.0.0.1, which is a loopback address"),
        ("http://0177.0.0.1/a.mp3", "resolves to 127.0.0.1, which is a loopback address"),
        ("http://[::ffff:127.0.0.1]/a.mp3", "a loopback address (inside an IPv6 address)"),
        ("http://[::1]:8080/a.mp3", "::1 is a loopback address"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address (cloud metadata lives here)"),
        ("http://192.168.1.1/a.mp3", "192.168.1.1 is a private address"),
        ("http://10.0.0.1/a.mp3", "10.0.0.1 is a private address"),
        ("http://100.64.0.1/a.mp3", "100.64.0.1 is a carrier-grade NAT address"),
        ("http://0.0.0.0/a.mp3", "0.0.0.0 is the unspecified address"),
        ("http://[fd00::1]/a.mp3", "fd00::1 is a unique-local (private) address"),
        ("http://224.0.0.1/a.mp3", "224.0.0.1 is a multicast address"),
        ("http://255.255.255.255/a.mp3", "the broadcast address"),
        ("http://[64:ff9b::7f00:1]/a.mp3", "a loopback address (inside an IPv6 address)"),
        ("http://[2002:7f00:1::]/a.mp3", "a loopback address (inside an IPv6 address)"),
        ("https://localhost:8443/a.mp3", "localhost resolves to"),
        ("file:///etc/passwd", "only http and https links are accepted"),
        ("ftp://example.org/a.mp3", "only http and https links are accepted"),
        ("gopher://example.org/a", "only http and https links are accepted"),
        ("dict://127.0.0.1:11211/", "only http and https links are accepted"),
        ("http://user:hunter2@example.org/a.mp3", "user name or password"),
        ("http://hunter2@example.org/a.mp3", "user name or password"),
    ],
)  # fmt: skip
def test_internal_and_odd_destinations_are_refused_before_any_connection(
    dest: Path, url: str, expected: str
) -> None:
    with pytest.raises(RefusedSource) as caught:
        fetch(url, dest, max_bytes=MB)
    assert expected in str(caught.value)
    assert "hunter2" not in str(caught.value)
    assert list(dest.iterdir()) == []


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http:///a.mp3", "http:///a.mp3 is not a valid link: it has no host name; send a full http(s) link"),
        ("http://exa$mple.org/a.mp3", "http://exa$mple.org/a.mp3 is not a valid link: its host name exa$mple.org is not a valid name; check the link"),
        ("http://exa mple.com/a.mp3", "http://exa mple.com/a.mp3 is not a valid link: its host name has a space in it; check the link"),
        ("http://example.org:99999/a.mp3", "http://example.org:99999/a.mp3 is not a valid link: its port 99999 is not a number from 1 to 65535; check the link"),
        ("http://example.org:0/a.mp3", "http://example.org:0/a.mp3 is not a valid link: its port 0 is not a number from 1 to 65535; check the link"),
        ("http://example.org:8o8o/a.mp3?k=SECRET", "http://example.org:8o8o/a.mp3 is not a valid link: its port 8o8o is not a number from 1 to 65535; check the link"),
        ("http://[::1/a.mp3", "(an unreadable link) is not a valid link: it cannot be read as a link; check the link"),
    ],
)  # fmt: skip
def test_malformed_links_are_bad_usage_before_any_connection(
    dest: Path, url: str, expected: str
) -> None:
    with pytest.raises(UsageError) as caught:
        fetch(url, dest, max_bytes=MB)
    assert str(caught.value) == expected
    assert caught.value.exit_code == 2
    assert list(dest.iterdir()) == []


def test_a_redirect_to_a_malformed_link_is_the_servers_fault_not_the_users(dest: Path) -> None:
    with serve({"/a.mp3": redirect("http://exa mple.com:99999/b.mp3")}) as (base, _):
        with pytest.raises(SourceUnreachable) as caught:
            fetch(f"{base}/a.mp3", dest, max_bytes=MB, allow=ALL_PRIVATE)
    assert str(caught.value) == (
        f"{base}/a.mp3 redirected to a link that is not valid (its port 99999 is not a number "
        "from 1 to 65535); check the link"
    )


def test_a_refusal_says_what_to_set_to_allow_a_trusted_network(dest: Path) -> None:
    with pytest.raises(RefusedSource) as caught:
        fetch("http://127.1/", dest, max_bytes=MB)
    assert str(caught.value) == (
        "refusing to fetch http://127.1/: 127.1 resolves to 127.0.0.1, which is a loopback "
        "address; add it to RELAYQ_ALLOW_PRIVATE_URLS on the runner only if you trust that address"
    )


def test_a_public_looking_name_that_resolves_privately_is_refused(dest: Path) -> None:
    # One private answer among public ones is enough: the connection may pick any of them.
    with serve({"/a.ogg": body(AUDIO)}) as (base, hits):
        with pytest.raises(RefusedSource, match="podcasts.example resolves to 10.0.0.5"):
            fetch(
                f"http://podcasts.example:{port_of(base)}/a.ogg", dest, max_bytes=MB,
                resolver=lambda host, port: ["93.184.216.34", "10.0.0.5"],
            )  # fmt: skip
    assert hits == []


def test_the_name_is_resolved_once_and_the_checked_address_is_dialled(dest: Path) -> None:
    # A rebinding DNS server answers public first, private after: asking twice would lose.
    answers = iter([["127.0.0.1"], ["10.0.0.5"]])
    asked: list[tuple[str, int]] = []

    def rebinding(host: str, port: int) -> list[str]:
        asked.append((host, port))
        return next(answers)

    with serve({"/a.ogg": body(AUDIO)}) as (base, _):
        result = fetch(
            f"http://media.example:{port_of(base)}/a.ogg", dest, max_bytes=MB,
            resolver=rebinding, guard=only_loopback_1,
        )  # fmt: skip
    assert result.size == len(AUDIO)
    assert asked == [("media.example", int(port_of(base)))]


def test_each_checked_address_is_tried_in_turn(dest: Path) -> None:
    with serve({"/a.ogg": body(AUDIO)}) as (base, _):
        result = fetch(
            f"http://media.example:{port_of(base)}/a.ogg", dest, max_bytes=MB,
            resolver=lambda host, port: ["127.0.0.3", "127.0.0.1"],  # nothing on .3
            allow=ALL_PRIVATE,
        )  # fmt: skip
    assert result.size == len(AUDIO)


def test_a_redirect_to_a_private_address_is_refused_at_that_hop(dest: Path) -> None:
    with serve({"/a.ogg": body(AUDIO)}, host="127.0.0.2") as (inner, inner_hits):
        with serve({"/go": redirect(f"{inner}/a.ogg")}) as (outer, outer_hits):
            with pytest.raises(RefusedSource, match=r"127\.0\.0\.2 is a loopback address"):
                fetch(f"{outer}/go", dest, max_bytes=MB, guard=only_loopback_1)
    assert outer_hits == ["/go"]
    assert inner_hits == []


def test_a_redirect_to_a_name_that_resolves_privately_is_refused_at_that_hop(
    dest: Path,
) -> None:
    addresses = {"cdn.example": ["127.0.0.1"], "nas.example": ["192.168.1.10"]}
    with serve({"/go": redirect("http://nas.example/a.ogg")}) as (base, hits):
        with pytest.raises(
            RefusedSource, match=r"http://nas\.example/a\.ogg: nas\.example resolves to 192\.168"
        ):
            fetch(
                f"http://cdn.example:{port_of(base)}/go", dest, max_bytes=MB,
                resolver=lambda host, port: addresses[host], guard=only_loopback_1,
            )  # fmt: skip
    assert hits == ["/go"]


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        ("file:///etc/passwd", "only http and https links are accepted"),
        ("gopher://127.0.0.1:70/", "only http and https links are accepted"),
        ("http://admin:hunter2@cdn.example/a.ogg", "user name or password"),
    ],
)
def test_a_redirect_to_a_forbidden_link_is_refused(
    dest: Path, location: str, expected: str
) -> None:
    with serve({"/go": redirect(location)}) as (base, _):
        with pytest.raises(RefusedSource) as caught:
            fetch(f"{base}/go", dest, max_bytes=MB, allow=ALL_PRIVATE)
    assert expected in str(caught.value)
    assert "hunter2" not in str(caught.value)


# -- size cap ------------------------------------------------------------------------------


def test_a_declared_oversize_body_is_refused_before_reading(dest: Path) -> None:
    with serve({"/big.mp3": body(b"x" * 10, length=5 * MB)}) as (base, _):
        with pytest.raises(
            TooLarge, match=r"larger than the 1 MB limit; .* raise RELAYQ_MAX_DOWNLOAD_MB"
        ):
            fetch(f"{base}/big.mp3", dest, max_bytes=MB, allow=ALL_PRIVATE)
    assert list(dest.iterdir()) == []


def test_an_undeclared_oversize_stream_is_cut_at_the_cap_and_removed(dest: Path) -> None:
    largest = [0]

    def measure() -> None:
        # The server is in this process: it can watch the file grow while it sends.
        sizes = [p.stat().st_size for p in dest.iterdir()]
        largest[0] = max([largest[0], *sizes])

    route = stream(b"y" * 65536, count=80, delay_s=0.002, before_each=measure)
    with serve({"/big.mp3": route}) as (base, _):
        with pytest.raises(TooLarge, match="larger than the 1 MB limit"):
            fetch(f"{base}/big.mp3", dest, max_bytes=MB, allow=ALL_PRIVATE)
    assert list(dest.iterdir()) == []
    assert 0 < largest[0] <= MB  # seen growing, never past the cap


def test_a_content_length_that_lies_low_cannot_bring_more_than_it_declared(dest: Path) -> None:
    with serve({"/lie.mp3": body(b"z" * (2 * MB), length=100)}) as (base, _):
        result = fetch(f"{base}/lie.mp3", dest, max_bytes=MB, allow=ALL_PRIVATE)
    assert result.size == 100
    assert result.path.stat().st_size == 100


def test_a_content_length_that_lies_high_is_a_broken_download(dest: Path) -> None:
    with serve({"/short.mp3": body(b"a" * 1000, length=50_000)}) as (base, _):
        with pytest.raises(SourceUnreachable, match="broke off before the file was complete"):
            fetch(f"{base}/short.mp3", dest, max_bytes=MB, allow=ALL_PRIVATE, read_timeout_s=2)
    assert list(dest.iterdir()) == []


# -- time ----------------------------------------------------------------------------------

HEAD = b"HTTP/1.0 200 OK\r\nContent-Type: audio/mpeg\r\n\r\n"


@pytest.mark.parametrize(
    "route",
    [
        pytest.param(stream(b"s", count=100, delay_s=0.1), id="body one byte at a time"),
        pytest.param(trickle(HEAD + b"x" * 100, delay_s=0.1), id="headers one byte at a time"),
        pytest.param(stall(HEAD + b"x" * 10), id="body that stops"),
        pytest.param(stall(), id="no answer at all"),
    ],
)
def test_a_slow_server_is_cut_off_at_the_deadline(dest: Path, route: Route) -> None:
    started = time.monotonic()
    with serve({"/slow.mp3": route}) as (base, _):
        with pytest.raises(TooLarge, match=r"took longer than 0.5 s; .*RELAYQ_DOWNLOAD_TIMEOUT_S"):
            fetch(f"{base}/slow.mp3", dest, max_bytes=MB, allow=ALL_PRIVATE, timeout_s=0.5)
    assert time.monotonic() - started < 1.5
    assert list(dest.iterdir()) == []


def test_a_server_that_stops_sending_hits_the_read_timeout(dest: Path) -> None:
    with serve({"/quiet.mp3": stall(HEAD + b"x" * 10)}) as (base, _):
        with pytest.raises(SourceUnreachable, match="stopped sending data"):
            fetch(f"{base}/quiet.mp3", dest, max_bytes=MB, allow=ALL_PRIVATE, read_timeout_s=0.3)
    assert list(dest.iterdir()) == []


def test_ctrl_c_while_streaming_leaves_no_partial_file(dest: Path) -> None:
    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, interrupt)
    try:
        with serve({"/slow.mp3": stream(b"s" * 1000, count=100, delay_s=0.05)}) as (base, _):
            signal.setitimer(signal.ITIMER_REAL, 0.4)
            with pytest.raises(KeyboardInterrupt):
                fetch(f"{base}/slow.mp3", dest, max_bytes=MB, allow=ALL_PRIVATE, timeout_s=10)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert list(dest.iterdir()) == []


def test_no_watchdog_thread_outlives_a_download(dest: Path) -> None:
    with serve({"/a.ogg": body(AUDIO)}) as (base, _):
        fetch(f"{base}/a.ogg", dest, max_bytes=MB, allow=ALL_PRIVATE)
    assert [t for t in threading.enumerate() if isinstance(t, threading.Timer)] == []


# -- unreachable sources -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (401, "answered HTTP 401: the file needs a login or is not public"),
        (403, "answered HTTP 403: the file needs a login or is not public"),
        (404, "answered HTTP 404: the file is not there"),
        (429, "answered HTTP 429: the server is limiting requests; try again later"),
        (500, "answered HTTP 500: the server failed; try again later"),
        (304, "answered HTTP 304: check that the link points straight at the file"),
    ],
)
def test_http_errors_say_the_status_and_what_to_do(dest: Path, code: int, expected: str) -> None:
    with serve({"/x.mp3": status(code)}) as (base, _):
        with pytest.raises(SourceUnreachable, match=expected):
            fetch(f"{base}/x.mp3", dest, max_bytes=MB, allow=ALL_PRIVATE)
    assert list(dest.iterdir()) == []


def test_a_redirect_without_a_location_is_unreachable(dest: Path) -> None:
    with serve({"/go": status(302)}) as (base, _):
        with pytest.raises(SourceUnreachable, match="redirected without saying where"):
            fetch(f"{base}/go", dest, max_bytes=MB, allow=ALL_PRIVATE)


@pytest.mark.parametrize("answers", [[], ["not-an-address"]])
def test_an_unknown_host_is_unreachable(dest: Path, answers: list[str]) -> None:
    with pytest.raises(SourceUnreachable, match="could not find the host nowhere.invalid"):
        fetch("http://nowhere.invalid/a.mp3", dest, max_bytes=MB, resolver=lambda h, p: answers)


def test_a_closed_port_is_unreachable(dest: Path) -> None:
    with serve({}) as (base, _):
        pass  # the server is gone: its port is closed now
    with pytest.raises(
        SourceUnreachable, match="could not connect to 127.0.0.1:.*connection refused"
    ):
        fetch(f"{base}/a.mp3", dest, max_bytes=MB, allow=ALL_PRIVATE)


# -- TLS: verified against the name, while connected to the checked address -------------------


@pytest.fixture
def tls_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """An HTTPS server whose certificate names media.example, signed by a CA we trust."""
    pytest.importorskip("cryptography")
    files = tls_for(["media.example"], tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(files.ca))
    with serve({"/a.ogg": body(AUDIO)}, tls=files.context) as (base, _):
        yield port_of(base)


def test_https_is_verified_against_the_name_in_the_link(dest: Path, tls_site: str) -> None:
    result = fetch(
        f"https://media.example:{tls_site}/a.ogg", dest, max_bytes=MB,
        resolver=to_loopback_1, guard=only_loopback_1,
    )  # fmt: skip
    assert result.path.read_bytes() == AUDIO


def test_https_with_a_certificate_for_another_name_is_unreachable(
    dest: Path, tls_site: str
) -> None:
    with pytest.raises(
        SourceUnreachable, match="could not verify the TLS certificate of evil.example"
    ):
        fetch(
            f"https://evil.example:{tls_site}/a.ogg", dest, max_bytes=MB,
            resolver=to_loopback_1, guard=only_loopback_1,
        )  # fmt: skip
    assert list(dest.iterdir()) == []


def test_https_with_an_untrusted_certificate_is_unreachable(
    dest: Path, tls_site: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    empty = tmp_path / "no-cas.pem"
    empty.write_text("")
    monkeypatch.setenv("SSL_CERT_FILE", str(empty))
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path))
    with pytest.raises(SourceUnreachable, match="could not verify the TLS certificate"):
        fetch(
            f"https://media.example:{tls_site}/a.ogg", dest, max_bytes=MB,
            resolver=to_loopback_1, guard=only_loopback_1,
        )  # fmt: skip


# -- the small helpers ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [("https://a.example/x", True), ("HTTP://a.example/x", True), ("ftp://a", True),
     ("file:///x", True), ("/tmp/a.mp3", False), ("a.mp3", False), ("C:\\a.mp3", False),
     ("./http://x", False)],
)  # fmt: skip
def test_is_url(source: str, expected: bool) -> None:
    assert is_url(source) is expected


@pytest.mark.parametrize(
    ("url", "expected_error"),
    [("https://a.example/x.mp3", None), ("http://a.example", None),
     ("ftp://a.example/x", "only http and https"), ("javascript://alert(1)", "only http and https"),
     ("https://u:p@a.example/", "user name or password")],
)  # fmt: skip
def test_check_url(url: str, expected_error: str | None) -> None:
    if expected_error is None:
        check_url(url)
    else:
        with pytest.raises(RefusedSource, match=expected_error):
            check_url(url)


@pytest.mark.parametrize(
    ("url", "expected"),
    [("ftp://a.example/x", "an ftp"), ("FTP://a.example/x", "an ftp"), ("ftps://a/x", "an ftps"),
     ("sftp://a/x", "an sftp"), ("ssh://a", "an ssh"), ("smb://nas/share", "an smb"),
     ("rtsp://cam/live", "an rtsp"), ("rtmp://a/x", "an rtmp"), ("nfs://a/x", "an nfs"),
     ("s3://bucket/a.mp3", "an s3"), ("ldap://a", "an ldap"), ("irc://a", "an irc"),
     ("file:///etc/passwd", "a file"), ("data://x", "a data"), ("javascript://x", "a javascript"),
     ("gopher://a", "a gopher"), ("dict://a", "a dict"), ("ws://a", "a ws"), ("wss://a", "a wss"),
     ("git+ssh://a/x", "a git+ssh"), ("unix://a", "a unix"), ("about://blank", "an about"),
     ("magnet://x", "a magnet"), ("mms://a/x", "an mms"), ("hdfs://a/x", "an hdfs")],
)  # fmt: skip
def test_schemes_are_named_with_the_right_article(url: str, expected: str) -> None:
    with pytest.raises(RefusedSource) as caught:
        check_url(url)
    assert str(caught.value) == (
        f"refusing to fetch {expected} link: only http and https links are accepted; send an "
        "http(s) link or upload the file"
    )


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://me:pw@host.example:8443/a.mp3?sig=SECRET", "https://host.example:8443/a.mp3"),
        ("https://api.telegram.org/file/bot123456:AAE-secret_x/voice/f.oga", "https://api.telegram.org/file/bot(token)/voice/f.oga"),
        ("http://[::1]:80/a", "http://[::1]:80/a"),
        ("http://127.0.0.1:99999/x", "http://127.0.0.1:99999/x"),  # a bad port, as typed
        ("http://u:pw@[::1]:9x9/x", "http://[::1]:9x9/x"),
        ("http://h.example/" + "p" * 200, "http://h.example/" + "p" * 76 + "..."),
    ],
)  # fmt: skip
def test_printed_links_lose_credentials_query_and_tokens(url: str, expected: str) -> None:
    assert safe_url(url) == expected
