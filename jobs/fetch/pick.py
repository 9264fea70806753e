"""A link, fetched by the fetcher it needs: `download.py` for a file, `media.py` for a page.

A link is tried as a file first (most are), through the guarded download; a server that
answers with an HTML page or an HLS playlist instead, or a known media site's host, hands the
link to yt-dlp. A radio playlist (`.m3u`, `audio/x-mpegurl`) stays a file, and is not audio.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from jobs.fetch.allow import NO_PRIVATE, AllowPrivate
from jobs.fetch.download import OnBytes, fetch
from jobs.fetch.media import MediaResult, fetch_media, is_media_site

__all__ = ["fetch_link", "is_page"]

# HTML, and HLS's own types; a radio playlist (.m3u, audio/x-mpegurl) stays a file, not audio.
_PAGE_TYPES = frozenset({
    "text/html", "application/xhtml+xml", "application/vnd.apple.mpegurl", "application/x-mpegurl",
})  # fmt: skip


def is_page(content_type: str | None, url: str) -> bool:
    """True when a download turned out to be a page for yt-dlp (HTML, an HLS playlist), not
    the recording itself."""
    kind = (content_type or "").lower()
    return kind in _PAGE_TYPES or urlsplit(url).path.lower().endswith(".m3u8")


def fetch_link(
    url: str,
    dest_dir: Path,
    *,
    max_bytes: int,
    timeout_s: float,
    max_duration_s: float | None = None,
    allow: AllowPrivate = NO_PRIVATE,
    name: str | None = None,
    cookies: Path | None = None,
    on_bytes: OnBytes = lambda _done, _total: None,
) -> tuple[Path, MediaResult | None]:
    """The recording `url` leads to, saved in `dest_dir`, and what its page said about it
    (None for a file). Raises what `download.fetch` and `media.fetch_media` raise."""
    if not is_media_site(url):
        result = fetch(url, dest_dir, max_bytes=max_bytes, timeout_s=timeout_s, allow=allow,
                       name=name, on_bytes=on_bytes)  # fmt: skip
        if not is_page(result.content_type, result.final_url):
            return result.path, None
        result.path.unlink()
    page = fetch_media(
        url, dest_dir, max_bytes=max_bytes, timeout_s=timeout_s, max_duration_s=max_duration_s,
        allow=allow, name=name, cookies=cookies, on_bytes=on_bytes,
    )  # fmt: skip
    return page.path, page
