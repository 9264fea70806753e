"""yt-dlp's own error messages, as the sites word them, become one sentence each."""

from __future__ import annotations

import pytest
from yt_dlp.utils import DownloadError, ExtractorError, GeoRestrictedError

from jobs.errors import NotAudio, RelayqError, SiteRefused, SourceUnreachable
from jobs.fetch.siteerrors import site_error

COOKIES_FAQ = (
    " Use --cookies-from-browser or --cookies for the authentication. See  https://github.com/"
    "yt-dlp/yt-dlp/wiki/FAQ#how-do-i-pass-cookies-to-yt-dlp  for how to manually pass cookies."
)


@pytest.mark.parametrize(
    ("message", "kind", "expected"),
    [
        ("ERROR: [youtube] abc: Private video. Sign in if you've been granted access to this "
         "video", SiteRefused, "the recording is private; ask for a public link or upload the "
         "file"),
        ("ERROR: [youtube] abc: Sign in to confirm you\u2019re not a bot." + COOKIES_FAQ,
         SiteRefused, "the site wants a sign-in or a bot check first; set RELAYQ_YTDLP_COOKIES "
         "on the runner (docs/SETUP_RUNNERS_mac.md) or upload the file"),
        ("ERROR: [youtube] abc: Sign in to confirm your age. This video may be inappropriate "
         "for some users." + COOKIES_FAQ, SiteRefused, "the site wants a sign-in"),
        ("ERROR: [soundcloud] x: This video is only available for registered users",
         SiteRefused, "the site wants a sign-in"),
        ("ERROR: [youtube] abc: Video unavailable. The uploader has not made this video "
         "available in your country", SiteRefused, "does not offer it in the runner's country"),
        ("ERROR: [vimeo] 1: This video is not available from your location due to geo "
         "restriction", SiteRefused, "does not offer it in the runner's country"),
        ("ERROR: [youtube] abc: Video unavailable. This video has been removed by the uploader",
         SiteRefused, "it is not there (any more); check the link"),
        ("ERROR: Unsupported URL: https://example.org/about", NotAudio,
         "found no recording there"),
        ("ERROR: [generic] x: Unable to download webpage: HTTP Error 503: Service Unavailable",
         SourceUnreachable, "the site failed; try again later, or upload the file"),
        ("ERROR: [generic] x: Unable to download webpage: HTTP Error 429: Too Many Requests",
         SourceUnreachable, "the site is limiting requests"),
        ("ERROR: something new\nwith a second line\nTraceback (most recent call last):",
         SourceUnreachable, "could not fetch the recording on the page; try again later"),
    ],
)  # fmt: skip
def test_a_site_error_is_one_sentence(message: str, kind: type[RelayqError], expected: str) -> None:
    err = site_error(DownloadError(message), "the page")
    assert type(err) is kind
    assert expected in str(err)
    assert "\n" not in str(err) and "ERROR" not in str(err)


def test_the_original_error_under_a_download_error_is_read_too() -> None:
    geo = GeoRestrictedError("This video is not available from your location", countries=["DE"])
    wrapped = DownloadError("ERROR: [x] 1: see above", exc_info=(type(geo), geo, None))
    assert isinstance(site_error(wrapped, "the page"), SiteRefused)
    assert isinstance(site_error(ExtractorError("Unsupported URL: x"), "the page"), NotAudio)
