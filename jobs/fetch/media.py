"""Media pages (a video, podcast or SoundCloud page, an HLS playlist) through yt-dlp.

yt-dlp's Python API, never a subprocess, and only its own downloaders: no ffmpeg or external
program ever fetches a link (ffmpeg is hidden from it, formats that would need one are not
chosen, and `connguard` stops any program started during the fetch). One recording, audio
first (`bestaudio/best`): a playlist or a live stream is refused. What the page says is
checked before anything is downloaded (its length against `max_duration_s`, in yt-dlp's match
filter); the bytes are counted as they arrive (a progress hook, whatever `Content-Length`
says) and the deadline is enforced from outside the connections. Every connection yt-dlp
makes is checked at connect time (`connguard`) against the same guard as `download.py`.
yt-dlp prints nothing: its lines go to our logger, its errors become one sentence each.
Everything it writes stays in `dest_dir`, and a failure leaves nothing there.
"""

from __future__ import annotations

import gc
import logging
import shutil
import unicodedata
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jobs.errors import (
    ConfigError,
    NotAudio,
    NotOneRecording,
    RefusedSource,
    RelayqError,
    SourceUnreachable,
    TooLarge,
    TooLong,
)
from jobs.fetch.allow import NO_PRIVATE, AllowPrivate, allowing
from jobs.fetch.connguard import Block, Stopped, checked_connections
from jobs.fetch.guard import refusal_hint
from jobs.fetch.links import check_url, safe_url
from jobs.fetch.netguard import refusal_reason
from jobs.fetch.siteerrors import TRY_AGAIN, site_error

__all__ = ["MEDIA_HOSTS", "MediaResult", "fetch_media", "is_media_site"]

# Hosts whose links are pages, never files: they go to yt-dlp without a direct try first.
MEDIA_HOSTS = frozenset({
    "youtube.com", "youtu.be", "youtube-nocookie.com", "soundcloud.com", "vimeo.com",
    "dailymotion.com", "twitch.tv", "tiktok.com", "bandcamp.com", "mixcloud.com",
    "podcasts.apple.com", "open.spotify.com", "archive.org", "x.com", "twitter.com",
    "instagram.com", "facebook.com", "rumble.com", "ted.com", "bilibili.com",
})  # fmt: skip
# yt-dlp's own downloaders for these; anything else (rtmp, rtsp, mms, ...) needs a program.
_NATIVE = r"^(https?|m3u8_native|m3u8|http_dash_segments)$"
_FORMAT = f"bestaudio[protocol~='{_NATIVE}']/best[protocol~='{_NATIVE}']"
_PYTHON_HANDLERS = frozenset({"Urllib", "Requests"})
_LIVE = {"is_live", "is_upcoming", "post_live"}
_HIDDEN = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}  # control, format (bidi), unassigned
_log = logging.getLogger("relayq.ytdlp")


@dataclass(frozen=True)
class MediaResult:
    path: Path
    title: str | None
    uploader: str | None
    page_url: str
    duration_s: float | None


def is_media_site(url: str) -> bool:
    """True when `url`'s host is (under) a known media site's: a page, not a file."""
    host = (urlsplit(url.strip()).hostname or "").lower().rstrip(".")
    return any(host == site or host.endswith("." + site) for site in MEDIA_HOSTS)


def fetch_media(
    url: str,
    dest_dir: Path,
    *,
    max_bytes: int,
    timeout_s: float = 600.0,
    max_duration_s: float | None = None,
    allow: AllowPrivate = NO_PRIVATE,
    name: str | None = None,
    cookies: Path | None = None,
    guard: Callable[[str], str | None] = refusal_reason,
    on_bytes: Callable[[int, int | None], None] = lambda _done, _total: None,
) -> MediaResult:
    """Fetch the one recording on the page at `url` into `dest_dir` (made if needed).

    Raises RefusedSource, SourceUnreachable, NotAudio, TooLarge (size or deadline), TooLong
    (before any media byte), NotOneRecording (playlist, live) or SiteRefused, each with its
    sentence; `name` is what they call the source (default: the link, printed safely).
    `guard` and `on_bytes` as in `download.fetch`; `allow` is RELAYQ_ALLOW_PRIVATE_URLS.
    """
    check_url(url)
    shown = name or safe_url(url)
    if cookies is not None and not cookies.is_file():
        raise ConfigError(
            f"RELAYQ_YTDLP_COOKIES names {cookies}, which is not a file on this runner; "
            "export the cookies file again or unset the setting"
        )
    dest_dir.mkdir(parents=True, exist_ok=True)
    work = dest_dir / "media"
    work.mkdir(exist_ok=True)
    state = _State(shown, max_bytes, max_duration_s, on_bytes)
    try:
        if cookies is not None:
            # A copy of ours: yt-dlp writes its cookie jar back when it closes, and the
            # owner's file is not its to rewrite.
            jar = work / "cookies.txt"
            shutil.copyfile(cookies, jar)
            jar.chmod(0o600)
            cookies = jar
        with checked_connections(allowing(allow, guard), timeout_s, sandboxed_js) as block:
            try:
                info = _run(url.strip(), _params(work, state, cookies, timeout_s), state)
            except Stopped:
                raise _stopped(block, state, timeout_s) from None
            except RelayqError:
                raise
            except Exception as exc:  # yt-dlp's errors, and anything it did not expect
                if block.refused or block.programs or block.expired:
                    raise _stopped(block, state, timeout_s) from None
                raise site_error(exc, shown) from None
        return _result(info, work, dest_dir, url)
    except BaseException as exc:
        _release_open_files(exc)
        shutil.rmtree(work, ignore_errors=True)
        raise


def sandboxed_js(argv: list[str]) -> bool:
    """The one program a media fetch may start: deno, yt-dlp's default JavaScript runtime for
    YouTube's challenges, as yt-dlp runs it (`deno run --no-remote … -`): no remote code, and
    no network, files or environment, since none was granted (`--allow-*`) and `--no-prompt`
    refuses any request for them. Anything else, ffmpeg above all, is refused."""
    if not argv or Path(argv[0]).name not in ("deno", "deno.exe") or argv[1:2] != ["run"]:
        return False
    options = argv[2:]
    granted = any(o.startswith(("--allow-", "-A")) or o == "--unstable-net" for o in options)
    return "--no-remote" in options and "--no-prompt" in options and not granted


class _State:
    def __init__(
        self,
        shown: str,
        max_bytes: int,
        max_duration_s: float | None,
        on_bytes: Callable[[int, int | None], None],
    ) -> None:
        self.shown = shown
        self.on_bytes = on_bytes
        self.max_bytes = max_bytes
        self.max_duration_s = max_duration_s
        self.error: RelayqError | None = None

    def stop(self, error: RelayqError) -> None:
        self.error = error
        raise Stopped(type(error).__name__)

    def match(self, info: dict[str, Any], *, incomplete: bool = False) -> None:
        """yt-dlp's match filter: the page's own word, checked before any download."""
        if info.get("_type", "video") != "video":
            return
        if info.get("is_live") or info.get("live_status") in _LIVE:
            self.stop(
                NotOneRecording(
                    f"{self.shown} is a live stream, not a recording; send it again once the "
                    "stream has ended and the recording is up"
                )
            )
        duration = info.get("duration")
        limit = self.max_duration_s
        if limit is not None and isinstance(duration, int | float) and duration > limit:
            self.stop(
                TooLong(
                    f"{self.shown} is {_length(duration)} long, more than the {_length(limit)} "
                    "this runner takes; send a shorter recording",
                    duration_s=float(duration),
                    max_duration_s=float(limit),
                )
            )

    def progress(self, update: dict[str, Any]) -> None:
        """yt-dlp's progress hook: the bytes that really arrived, against the cap."""
        done = update.get("downloaded_bytes") or 0
        announced = update.get("total_bytes") or 0
        if done > self.max_bytes or announced > self.max_bytes:
            self.stop(
                TooLarge(
                    f"{self.shown} is larger than the {self.max_bytes / 1_000_000:g} MB limit; "
                    "send a shorter recording or raise RELAYQ_MAX_DOWNLOAD_MB on the runner"
                )
            )
        # A fraction only when the size is known (not yt-dlp's estimate for fragments).
        if isinstance(done, int) and update.get("status") == "downloading":
            self.on_bytes(done, announced if isinstance(announced, int) and announced else None)


class _Logger:
    """Where yt-dlp's lines go instead of the terminal: our debug log, never stdout."""

    def debug(self, msg: str) -> None:
        _log.debug("%s", msg)

    info = debug

    def warning(self, msg: str) -> None:
        _log.debug("warning: %s", msg)

    def error(self, msg: str) -> None:
        _log.debug("error: %s", msg)


def _params(work: Path, state: _State, cookies: Path | None, timeout_s: float) -> dict[str, Any]:
    return {
        "format": _FORMAT,
        "noplaylist": True,
        "extract_flat": "in_playlist",  # a playlist's entries are never fetched, only refused
        "match_filter": state.match,
        "progress_hooks": [state.progress],
        "logger": _Logger(),
        "quiet": True,
        "no_warnings": True,
        "noprogress": True,
        "color": {"stdout": "no_color", "stderr": "no_color"},
        "socket_timeout": min(30.0, timeout_s),
        "outtmpl": {"default": "recording.%(ext)s"},
        "paths": {"home": str(work), "temp": str(work)},
        "restrictfilenames": True,
        "overwrites": True,
        "cachedir": False,
        "cookiefile": str(cookies) if cookies is not None else None,
        "proxy": "",  # like download.py: straight to the checked address, no proxy from env
        # Only yt-dlp's own downloaders: hide ffmpeg, never hand a link to a program.
        "external_downloader": {"default": "native"},
        "hls_prefer_native": True,
        "ffmpeg_location": str(work / "no-ffmpeg"),
        "fixup": "never",
        "postprocessors": [],
        "concurrent_fragment_downloads": 1,  # every connection in this thread
        "retries": 2,
        "fragment_retries": 2,
        "extractor_retries": 1,
        "writesubtitles": False,
        "writethumbnail": False,
        "check_formats": False,
        "ignoreerrors": False,
    }


def youtube_dl(params: dict[str, Any]) -> Any:
    """yt-dlp with only the request handlers whose sockets are Python's (urllib, requests),
    so that connguard sees every connection: curl_cffi, when installed, connects inside
    libcurl, where no audit hook reaches."""
    from yt_dlp import YoutubeDL

    class Guarded(YoutubeDL):  # type: ignore[misc]
        def build_request_director(self, handlers: Any, preferences: Any = None) -> Any:
            ours = [h for h in handlers if getattr(h, "RH_KEY", None) in _PYTHON_HANDLERS]
            return super().build_request_director(ours, preferences)

    return Guarded(params)


def _run(url: str, params: dict[str, Any], state: _State) -> dict[str, Any]:
    from yt_dlp.postprocessor.ffmpeg import FFmpegPostProcessor

    # What yt-dlp's own command line sets: its downloaders ask "is ffmpeg there?" without
    # our params, and would run `ffmpeg -version` (a program; connguard stops it) to see.
    hidden = FFmpegPostProcessor._ffmpeg_location.set(params["ffmpeg_location"])
    try:
        with youtube_dl(params) as ydl:
            found = ydl.extract_info(url, download=False, process=False)
            _one_recording(found, state)
            if found.get("_type") in ("url", "url_transparent"):
                # The page points elsewhere (JSON-LD, an embed) and may say how long it is:
                # judged now, before the link it points at is opened at all.
                state.match({**found, "_type": "video"})
            info = ydl.process_ie_result(found, download=False)
            _one_recording(info, state)
            done = ydl.process_ie_result(info, download=True)
    finally:
        FFmpegPostProcessor._ffmpeg_location.reset(hidden)
    if state.error is not None:
        raise state.error
    return dict(done or {})


def _one_recording(info: dict[str, Any] | None, state: _State) -> None:
    if not info:
        raise NotAudio(f"found no recording on {state.shown}; send a link to the recording itself")
    if info.get("_type") in ("playlist", "multi_video") or "entries" in info:
        raise NotOneRecording(
            f"{state.shown} is a playlist or a channel, not one recording; send the link of "
            "the one recording you want transcribed"
        )


def _result(info: dict[str, Any], work: Path, dest_dir: Path, url: str) -> MediaResult:
    downloads = info.get("requested_downloads") or [info]
    where = downloads[0].get("filepath") or downloads[0].get("_filename")
    files = [p for p in work.glob("recording.*") if p.is_file() and p.suffix != ".part"]
    path = Path(where) if where and Path(where).is_file() else (files[0] if files else None)
    if path is None:
        raise SourceUnreachable(f"yt-dlp saved nothing for {safe_url(url)}; {TRY_AGAIN}")
    final = dest_dir / ("source" + path.suffix.lower())
    path.replace(final)
    shutil.rmtree(work, ignore_errors=True)
    duration = info.get("duration")
    title = _text(info.get("title"))
    if title and info.get("extractor") == "html5" and str(info.get("id", "")).endswith("-1"):
        title = title.removesuffix(" (1)")  # yt-dlp numbers a page's <audio> even when alone
    return MediaResult(
        path=final,
        title=title,
        uploader=_text(info.get("uploader") or info.get("channel") or info.get("creator")),
        page_url=_page_url(str(info.get("webpage_url") or url)),
        duration_s=float(duration) if isinstance(duration, int | float) else None,
    )


def _page_url(url: str) -> str:
    """A media site's page link as it is (its query names the video: watch?v=…); any other
    printed safely, without the query a signed link carries."""
    parts = urlsplit(url)
    plain = parts.scheme in ("http", "https") and "@" not in parts.netloc
    return url if plain and is_media_site(url) else safe_url(url)


def _release_open_files(exc: BaseException) -> None:
    """Close what a stopped yt-dlp left open: its fragment downloader keeps the output file
    open when a fragment is stopped mid-way, referenced from the frames of the exception that
    stopped it (our error's context: a frame keeps its function, and the function the file)
    until the garbage collector finds them. The context's tracebacks go (the sentence is the
    error; its own traceback stays), then the collector runs."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)  # the leak is yt-dlp's, closed here
        seen: set[int] = {id(exc)}
        pending = [exc.__context__, exc.__cause__]
        while pending:
            err = pending.pop()
            if err is None or id(err) in seen:
                continue
            seen.add(id(err))
            err.__traceback__ = None
            pending += [err.__context__, err.__cause__]
        gc.collect()


def _stopped(block: Block, state: _State, timeout_s: float) -> RelayqError:
    """The sentence for a fetch our own checks stopped."""
    if state.error is not None:
        return state.error
    if block.refused:
        address, reason = block.refused[0]
        return RefusedSource(
            f"refusing to fetch {state.shown}: it led to {address}, which is {reason}; "
            f"{refusal_hint(reason)}"
        )
    if block.programs:
        return RefusedSource(
            f"refusing to let yt-dlp start {Path(block.programs[0]).name} for {state.shown}; "
            "send a direct link to the file or upload it"
        )
    return TooLarge(
        f"downloading {state.shown} took longer than {timeout_s:g} s; send a shorter "
        "recording, or raise RELAYQ_DOWNLOAD_TIMEOUT_S on the runner"
    )


def _length(seconds: float) -> str:
    minutes = seconds / 60
    if minutes >= 90:
        return f"{minutes / 60:.1f} h"
    return f"{minutes:.0f} min" if minutes >= 1 else f"{seconds:.0f} s"


def _text(value: object) -> str | None:
    """What a page calls itself, fit to print on one line: no control or direction-changing
    characters (a page is anyone's to write), at most 200 characters."""
    if not isinstance(value, str):
        return None
    kept = "".join(" " if unicodedata.category(c) in _HIDDEN else c for c in value)
    kept = " ".join(kept.split())
    return (kept if len(kept) <= 200 else kept[:199] + "…") or None
