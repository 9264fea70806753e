"""Media pages through the real yt-dlp, against pages this test serves on loopback.

127.0.0.1 is allowed (RELAYQ_ALLOW_PRIVATE_URLS=127.0.0.1/32); a second server on 127.0.0.2
stands for the address a link must never reach, and counts the requests it gets.
"""

from __future__ import annotations

import json
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from jobs.decode import decode
from jobs.errors import (
    ConfigError,
    NotAudio,
    NotOneRecording,
    RefusedSource,
    SiteRefused,
    SourceUnreachable,
    TooLarge,
    TooLong,
)
from jobs.fetch import parse_allow
from jobs.fetch.connguard import Stopped, checked_connections
from jobs.fetch.media import fetch_media, is_media_site, sandboxed_js, youtube_dl
from jobs.fetch.pick import is_page
from tests.jobs.httpserver import Route, body, recording, redirect, serve, status, stream, trickle
from tests.jobs.media import hls_playlist, hls_segments

MB = 1_000_000
LOOPBACK_1 = parse_allow("127.0.0.1/32")
REFUSED_HOST = "127.0.0.2"


def html(title: str, inner: str, head: str = "") -> Route:
    page = (
        f"<!DOCTYPE html><html><head><title>{title} - Example</title>"
        f'<meta property="og:title" content="{title}">{head}</head>'
        f"<body><h1>{title}</h1>{inner}</body></html>"
    )
    return body(page.encode(), "text/html; charset=utf-8")


@pytest.fixture
def dest(tmp_path: Path) -> Path:
    return tmp_path / "job"


@pytest.fixture
def refused() -> Iterator[tuple[str, list[str]]]:
    """A server on the refused address, with everything a fetch could want from it."""
    routes = {
        "/page": html("Elsewhere", '<audio src="/talk.ogg"></audio>'),
        "/talk.ogg": body(b"OggS" + bytes(1000)),
        "/seg1.ts": body(bytes(1000), "video/mp2t"),
    }
    with serve(routes, host=REFUSED_HOST) as server:
        yield server


@pytest.fixture(scope="module")
def segments(tmp_path_factory: pytest.TempPathFactory, speech_ogg: Path) -> list[bytes]:
    folder = tmp_path_factory.mktemp("hls")
    return [p.read_bytes() for p in hls_segments(speech_ogg, folder)]


def left_in(folder: Path) -> list[str]:
    """The files a fetch left in its folder (the job's own folders may stay, empty)."""
    return sorted(p.name for p in folder.rglob("*") if not p.is_dir())


# -- what a good fetch looks like ----------------------------------------------------------


def test_a_page_with_an_audio_element_gives_its_recording_and_title(
    speech_ogg: Path, dest: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    routes = {
        "/episode/7": html("A talk about things", '<audio controls src="/media/talk.ogg"></audio>'),
        "/media/talk.ogg": body(speech_ogg.read_bytes()),
    }
    with serve(routes) as (base, hits):
        result = fetch_media(f"{base}/episode/7", dest, max_bytes=MB, allow=LOOPBACK_1)
    assert hits == ["/episode/7", "/media/talk.ogg"]
    assert result.title == "A talk about things"
    assert result.page_url == f"{base}/episode/7"
    assert result.path == dest / "source.ogg"
    assert result.path.read_bytes() == speech_ogg.read_bytes()
    assert left_in(dest) == ["source.ogg"]
    assert capfd.readouterr() == ("", "")  # yt-dlp printed nothing of its own


def test_an_hls_playlist_of_speech_segments_is_joined_into_one_recording(
    segments: list[bytes], dest: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    routes: dict[str, Route] = {
        f"/hls/seg{n}.ts": body(data, "video/mp2t") for n, data in enumerate(segments)
    }
    names = [f"seg{n}.ts" for n in range(len(segments))]
    routes["/hls/talk.m3u8"] = body(hls_playlist(names), "application/vnd.apple.mpegurl")
    with serve(routes) as (base, hits):
        result = fetch_media(f"{base}/hls/talk.m3u8", dest, max_bytes=MB, allow=LOOPBACK_1)
    assert [h for h in hits if h.endswith(".ts")] == [f"/hls/{n}" for n in names]
    assert result.duration_s == pytest.approx(4.0 * len(segments), abs=1)
    assert decode(result.path).duration_s == pytest.approx(25.5, abs=1.0)
    assert left_in(dest) == [result.path.name]
    assert capfd.readouterr() == ("", "")


def test_a_cookies_file_is_sent_to_the_site(speech_ogg: Path, dest: Path, tmp_path: Path) -> None:
    cookies = tmp_path / "cookies.txt"
    cookies.write_text(
        "# Netscape HTTP Cookie File\n127.0.0.1\tFALSE\t/\tFALSE\t0\tsession\tabc123\n"
    )
    seen: list[dict[str, str]] = []
    routes = {
        "/p": recording(seen, html("Members", '<audio src="/a.ogg"></audio>')),
        "/a.ogg": body(speech_ogg.read_bytes()),
    }
    before = cookies.read_bytes()
    with serve(routes) as (base, _hits):
        fetch_media(f"{base}/p", dest, max_bytes=MB, allow=LOOPBACK_1, cookies=cookies)
    assert seen[0].get("Cookie") == "session=abc123"
    assert cookies.read_bytes() == before  # yt-dlp saved its jar into a copy, not this file
    assert left_in(dest) == ["source.ogg"]


# -- SSRF: nothing is fetched from a refused address, however the link gets there ----------


@pytest.mark.parametrize("where", ["the page", "the recording"])
def test_a_redirect_chain_ending_at_a_refused_address_never_reaches_it(
    where: str, refused: tuple[str, list[str]], dest: Path
) -> None:
    far, far_hits = refused
    if where == "the page":
        routes = {"/go": redirect("/hop"), "/hop": redirect(f"{far}/page")}
    else:
        routes = {
            "/go": html("Here", '<audio src="/hop"></audio>'),
            "/hop": redirect(f"{far}/talk.ogg", 307),
        }
    with serve(routes) as (base, hits), pytest.raises(RefusedSource) as caught:
        fetch_media(f"{base}/go", dest, max_bytes=MB, allow=LOOPBACK_1)
    assert far_hits == []
    assert "/hop" in hits
    assert str(caught.value) == (
        f"refusing to fetch {base}/go: it led to 127.0.0.2, which is a loopback address; add "
        "it to RELAYQ_ALLOW_PRIVATE_URLS on the runner only if you trust that address"
    )
    assert left_in(dest) == []


def test_an_hls_fragment_at_a_refused_address_is_refused(
    segments: list[bytes], refused: tuple[str, list[str]], dest: Path
) -> None:
    far, far_hits = refused
    playlist = hls_playlist(["seg0.ts", f"{far}/seg1.ts"])
    routes = {
        "/talk.m3u8": body(playlist, "application/vnd.apple.mpegurl"),
        "/seg0.ts": body(segments[0], "video/mp2t"),
    }
    with serve(routes) as (base, _hits), pytest.raises(RefusedSource, match="127.0.0.2"):
        fetch_media(f"{base}/talk.m3u8", dest, max_bytes=MB, allow=LOOPBACK_1)
    assert far_hits == []
    assert left_in(dest) == []


def test_a_name_that_rebinds_to_a_refused_address_is_refused_at_the_second_connection(
    speech_ogg: Path, dest: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS rebinding: rebind.test answers 127.0.0.1 for the page, then 127.0.0.2 (the same
    port there) for the recording. The check sits at connect, so the second answer meets it."""
    answers = iter(["127.0.0.1", REFUSED_HOST])
    real = socket.getaddrinfo

    def dns(host: object, port: object, *args: object, **kwargs: object) -> object:
        # The test's DNS: only this made-up name, with the answers above, one per lookup.
        if host == "rebind.test":
            host = next(answers)
        return real(host, port, *args, **kwargs)  # type: ignore[arg-type]

    routes = {"/page": html("Rebound", '<audio src="/talk.ogg"></audio>'),
              "/talk.ogg": body(speech_ogg.read_bytes())}  # fmt: skip
    with serve(routes) as (base, hits):
        port = int(base.rsplit(":", 1)[1])
        with serve(routes, host=REFUSED_HOST, port=port) as (_far, far_hits):
            monkeypatch.setattr(socket, "getaddrinfo", dns)
            with pytest.raises(RefusedSource, match="it led to 127.0.0.2"):
                fetch_media(f"http://rebind.test:{port}/page", dest, max_bytes=MB,
                            allow=LOOPBACK_1)  # fmt: skip
            monkeypatch.undo()
    assert hits == ["/page"] and far_hits == []
    assert left_in(dest) == []


def test_without_an_allow_list_even_the_first_page_is_not_fetched(dest: Path) -> None:
    routes = {"/p": html("Mine", '<audio src="/a.ogg"></audio>')}
    with serve(routes) as (base, hits), pytest.raises(RefusedSource, match="127.0.0.1"):
        fetch_media(f"{base}/p", dest, max_bytes=MB)
    assert hits == []


def test_the_allow_list_lets_the_named_address_through_and_no_other(
    speech_ogg: Path, refused: tuple[str, list[str]], dest: Path
) -> None:
    far, far_hits = refused
    allow = parse_allow("127.0.0.2/32")
    result = fetch_media(f"{far}/page", dest / "a", max_bytes=MB, allow=allow)
    assert far_hits == ["/page", "/talk.ogg"] and result.title == "Elsewhere"
    with serve({"/p": html("Mine", "")}) as (base, hits), pytest.raises(RefusedSource):
        fetch_media(f"{base}/p", dest / "b", max_bytes=MB, allow=allow)
    assert hits == []


# -- limits: checked before the download from the page's word, and during it ---------------


def test_a_page_longer_than_the_limit_is_refused_before_any_media_byte(dest: Path) -> None:
    with serve({}) as (base, hits):
        ld = {
            "@context": "https://schema.org", "@type": "AudioObject", "name": "Three hours",
            "contentUrl": f"{base}/long.ogg", "duration": "PT3H",
        }  # fmt: skip
        script = f'<script type="application/ld+json">{json.dumps(ld)}</script>'
        routes = {"/long": html("Three hours", "", head=script)}
        with serve(routes) as (page_base, page_hits), pytest.raises(TooLong) as caught:
            fetch_media(
                f"{page_base}/long", dest, max_bytes=MB, max_duration_s=7200, allow=LOOPBACK_1
            )
    assert page_hits == ["/long"] and hits == []
    assert caught.value.duration_s == 10800 and caught.value.max_duration_s == 7200
    assert str(caught.value) == (
        f"{page_base}/long is 3.0 h long, more than the 2.0 h this runner takes; send a "
        "shorter recording"
    )
    assert left_in(dest) == []


def test_an_hls_playlist_longer_than_the_limit_is_refused_before_any_segment(
    dest: Path,
) -> None:
    names = [f"s{n}.ts" for n in range(2700)]  # 2700 x 4 s: three hours
    routes = {"/long.m3u8": body(hls_playlist(names), "application/vnd.apple.mpegurl")}
    with serve(routes) as (base, hits), pytest.raises(TooLong) as caught:
        fetch_media(f"{base}/long.m3u8", dest, max_bytes=MB, max_duration_s=7200, allow=LOOPBACK_1)
    assert set(hits) == {"/long.m3u8"}  # the playlist only: not one segment
    assert caught.value.duration_s == 10800
    assert left_in(dest) == []


def test_bytes_past_the_cap_stop_the_download_whatever_the_server_announces(
    dest: Path,
) -> None:
    routes = {
        "/p": html("Big", '<audio src="/big.mp3"></audio>'),
        "/big.mp3": stream(b"\xff\xfb" * 32_000, count=100),  # no Content-Length, 6.4 MB
    }
    with serve(routes) as (base, _hits), pytest.raises(TooLarge) as caught:
        fetch_media(f"{base}/p", dest, max_bytes=MB, allow=LOOPBACK_1)
    assert str(caught.value) == (
        f"{base}/p is larger than the 1 MB limit; send a shorter recording or raise "
        "RELAYQ_MAX_DOWNLOAD_MB on the runner"
    )
    assert left_in(dest) == []


def test_hls_fragments_count_against_the_cap_too(segments: list[bytes], dest: Path) -> None:
    names = [f"s{n}.ts" for n in range(40)]
    routes: dict[str, Route] = {f"/{n}": body(segments[0], "video/mp2t") for n in names}
    routes["/t.m3u8"] = body(hls_playlist(names), "application/vnd.apple.mpegurl")
    cap = 3 * len(segments[0])
    with serve(routes) as (base, hits), pytest.raises(TooLarge):
        fetch_media(f"{base}/t.m3u8", dest, max_bytes=cap, allow=LOOPBACK_1)
    assert len([h for h in hits if h.endswith(".ts")]) <= 4
    assert left_in(dest) == []


def test_a_page_title_is_one_printable_line(speech_ogg: Path, dest: Path) -> None:
    routes = {
        "/p": html("Line one\nline\u202etwo\u0007", '<audio src="/a.ogg"></audio>'),
        "/a.ogg": body(speech_ogg.read_bytes()),
    }
    with serve(routes) as (base, _hits):
        result = fetch_media(f"{base}/p", dest, max_bytes=MB, allow=LOOPBACK_1)
    assert result.title == "Line one line two"


def test_the_deadline_holds_while_a_server_trickles_its_page(dest: Path) -> None:
    raw = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n" + b"<html>" * 200
    started = time.monotonic()
    with serve({"/slow": trickle(raw, 0.05)}) as (base, _hits), pytest.raises(TooLarge) as caught:
        fetch_media(f"{base}/slow", dest, max_bytes=MB, timeout_s=1.0, allow=LOOPBACK_1)
    assert time.monotonic() - started < 5
    assert "took longer than 1 s" in str(caught.value)
    assert left_in(dest) == []


# -- not one recording ---------------------------------------------------------------------


def test_a_live_stream_is_refused_before_any_segment(segments: list[bytes], dest: Path) -> None:
    routes = {
        "/live.m3u8": body(hls_playlist(["s0.ts"], ended=False), "application/x-mpegurl"),
        "/s0.ts": body(segments[0], "video/mp2t"),
    }
    with serve(routes) as (base, hits), pytest.raises(NotOneRecording) as caught:
        fetch_media(f"{base}/live.m3u8", dest, max_bytes=MB, allow=LOOPBACK_1)
    assert "/s0.ts" not in hits
    assert str(caught.value) == (
        f"{base}/live.m3u8 is a live stream, not a recording; send it again once the stream "
        "has ended and the recording is up"
    )


def test_a_page_of_several_recordings_is_refused_as_a_playlist(dest: Path) -> None:
    routes = {"/album": html("Album", '<audio src="/1.ogg"></audio><audio src="/2.ogg"></audio>')}
    with serve(routes) as (base, hits), pytest.raises(NotOneRecording) as caught:
        fetch_media(f"{base}/album", dest, max_bytes=MB, allow=LOOPBACK_1)
    assert hits == ["/album"]
    assert str(caught.value) == (
        f"{base}/album is a playlist or a channel, not one recording; send the link of the "
        "one recording you want transcribed"
    )


# -- what the site says, in one sentence ---------------------------------------------------


def test_site_errors_are_one_sentence_each(dest: Path) -> None:
    routes = {"/empty": html("Nothing here", "<p>no media</p>"), "/gone": status(404)}
    with serve(routes) as (base, _hits):
        with pytest.raises(NotAudio) as empty:
            fetch_media(f"{base}/empty", dest / "1", max_bytes=MB, allow=LOOPBACK_1)
        with pytest.raises(SiteRefused) as gone:
            fetch_media(f"{base}/gone", dest / "2", max_bytes=MB, allow=LOOPBACK_1)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]  # bound, never listening: the connection is refused
        with pytest.raises(SourceUnreachable) as down:
            fetch_media(f"http://127.0.0.1:{closed}/x", dest / "3", max_bytes=MB, allow=LOOPBACK_1)
    assert str(empty.value) == (
        f"{base}/empty: found no recording there; send the link of the recording's own page, "
        "or upload the file"
    )
    assert str(gone.value) == f"{base}/gone: it is not there (any more); check the link"
    assert "could not connect" in str(down.value)
    for err in (empty, gone, down):
        assert "\n" not in str(err.value) and "yt-dlp" not in str(err.value).lower()
    assert left_in(dest) == []


def test_a_cookies_file_that_is_not_there_is_a_settings_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        fetch_media(
            "http://127.0.0.1:9/p", tmp_path / "d", max_bytes=MB, cookies=tmp_path / "no.txt"
        )
    assert str(caught.value) == (
        f"RELAYQ_YTDLP_COOKIES names {tmp_path / 'no.txt'}, which is not a file on this "
        "runner; export the cookies file again or unset the setting"
    )


# -- the connection guard itself -----------------------------------------------------------


def refuse_all(address: str) -> str | None:
    return "refused for the test"


def test_the_guard_checks_connections_only_inside_its_block() -> None:
    with serve({"/": status(204)}) as (base, _hits):
        port = int(base.rsplit(":", 1)[1])
        with checked_connections(refuse_all, 10) as block, pytest.raises(Stopped):
            socket.create_connection(("127.0.0.1", port), timeout=2)
        assert block.refused == [("127.0.0.1", "refused for the test")]
        socket.create_connection(("127.0.0.1", port), timeout=2).close()  # outside: untouched


def test_inside_the_block_no_program_starts_and_threads_are_checked_too() -> None:
    caught: list[BaseException] = []

    def dial() -> None:
        try:
            socket.create_connection(("127.0.0.1", 9), timeout=1)
        except BaseException as exc:
            caught.append(exc)

    with checked_connections(refuse_all, 10) as block:
        with pytest.raises(Stopped):
            subprocess.run(["true"], check=False)
        thread = threading.Thread(target=dial)
        thread.start()
        thread.join()
    assert block.programs == ["true"]
    assert len(caught) == 1 and isinstance(caught[0], Stopped)


def test_yt_dlp_gets_only_request_handlers_whose_sockets_the_guard_sees() -> None:
    from yt_dlp.networking.common import _REQUEST_HANDLERS

    ydl = youtube_dl({"quiet": True, "logger": None})
    try:
        kept = set(ydl._request_director.handlers)
    finally:
        ydl.close()
    assert kept == {"Urllib", "Requests"} & set(_REQUEST_HANDLERS)
    assert kept <= {"Urllib", "Requests"}


DENO = ["run", "--ext=js", "--no-code-cache", "--no-prompt", "--no-remote", "--no-lock",
        "--node-modules-dir=none", "--no-config", "--no-npm", "--cached-only", "-"]  # fmt: skip


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["/usr/local/bin/deno", *DENO], True),  # what yt-dlp runs for YouTube's challenges
        (["/usr/local/bin/deno", *DENO[:-1], "--allow-net", "-"], False),
        (["/usr/local/bin/deno", *DENO[:-1], "-A", "-"], False),
        (["/usr/local/bin/deno", "run", "--no-prompt", "-"], False),  # remote code allowed
        (["/usr/bin/ffmpeg", "-i", "https://example.org/a.m3u8", "out.m4a"], False),
        (["/usr/bin/node", "-"], False),
        (["deno"], False),
    ],
)
def test_only_a_sandboxed_deno_may_run_during_a_fetch(argv: list[str], expected: bool) -> None:
    assert sandboxed_js(argv) is expected


def test_a_sandboxed_deno_really_starts_inside_the_block_and_ffmpeg_does_not(
    tmp_path: Path,
) -> None:
    deno = tmp_path / "deno"
    deno.write_text("#!/bin/sh\necho solved\n")
    deno.chmod(0o755)
    with checked_connections(refuse_all, 10, sandboxed_js) as block:
        done = subprocess.run([str(deno), *DENO], capture_output=True, text=True, check=True)
        with pytest.raises(Stopped):
            subprocess.run(["ffmpeg", "-version"], check=False)
    assert done.stdout == "solved\n"
    assert block.programs == ["ffmpeg"]


@pytest.mark.parametrize(
    ("url", "content_type", "expected"),
    [
        ("https://www.youtube.com/watch?v=x", None, True),
        ("https://youtu.be/x", None, True),
        ("https://soundcloud.com/a/b", None, True),
        ("https://notyoutube.com/x", None, False),
        ("https://example.org/a.mp3", "audio/mpeg", False),
        ("https://example.org/talk", "text/html", True),
        ("https://example.org/hls/index.m3u8", "text/plain", True),
        ("https://example.org/radio.m3u", "audio/x-mpegurl", False),
    ],
)
def test_which_links_go_to_yt_dlp(url: str, content_type: str | None, expected: bool) -> None:
    assert (is_media_site(url) or is_page(content_type, url)) is expected
