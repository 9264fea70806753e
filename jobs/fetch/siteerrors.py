"""What a media site's refusal means, in one sentence: yt-dlp's errors are long, multi-line and
meant for its own command line; the user gets what was wrong and what to do, with the exit
code that says which kind (12 the site refused, 4 no recording there, 3 unreachable)."""

from __future__ import annotations

import logging
import re

from jobs.errors import NotAudio, RelayqError, SiteRefused, SourceUnreachable

__all__ = ["TRY_AGAIN", "site_error"]

TRY_AGAIN = "try again later, or upload the file"
_log = logging.getLogger("relayq.ytdlp")

# (pattern in yt-dlp's message, error class, what to tell the user); the first match wins.
_SITE_ERRORS: tuple[tuple[str, type[RelayqError], str], ...] = (
    (r"private video|is private|been made private", SiteRefused,
     "the recording is private; ask for a public link or upload the file"),
    (r"sign in|log ?in|registered users|cookies|not a bot|confirm your age|age.restricted",
     SiteRefused, "the site wants a sign-in or a bot check first; set RELAYQ_YTDLP_COOKIES on "
     "the runner (docs/SETUP_RUNNERS_mac.md) or upload the file"),
    (r"geo|not available (from|in) your (location|country)|country", SiteRefused,
     "the site does not offer it in the runner's country; upload the file instead"),
    (r"removed|no longer available|deleted|terminated|video unavailable|does not exist|"
     r"HTTP Error 404|HTTP Error 410", SiteRefused,
     "it is not there (any more); check the link"),
    (r"HTTP Error 40[13]", SiteRefused, "the site refused access; ask for a public link or "
     "upload the file"),
    (r"Unsupported URL|no video formats|no media found", NotAudio,
     "found no recording there; send the link of the recording's own page, or upload the file"),
    (r"Requested format is not available", NotAudio,
     "it offers no audio this runner can fetch on its own; send a direct link to the file or "
     "upload it"),
    (r"HTTP Error 429", SourceUnreachable, "the site is limiting requests; " + TRY_AGAIN),
    (r"HTTP Error 5\d\d", SourceUnreachable, "the site failed; " + TRY_AGAIN),
    (r"connection refused|name or service|nodename|getaddrinfo|unreachable|no route",
     SourceUnreachable, "could not connect to it; check the link, or " + TRY_AGAIN),
    (r"timed out|timeout", SourceUnreachable, "it did not answer in time; " + TRY_AGAIN),
    (r"certificate|SSL", SourceUnreachable, "its TLS certificate could not be verified; "
     "check the link"),
)  # fmt: skip


def site_error(exc: Exception, shown: str) -> RelayqError:
    """One sentence for what yt-dlp said (never its multi-line message or a traceback)."""
    text = str(exc)
    original = getattr(exc, "exc_info", None)
    if original and original[1] is not None:
        text += " " + str(original[1])
    for pattern, kind, advice in _SITE_ERRORS:
        if re.search(pattern, text, re.IGNORECASE):
            return kind(f"{shown}: {advice}")
    _log.debug("unclassified yt-dlp error: %s", text)
    return SourceUnreachable(f"could not fetch the recording on {shown}; {TRY_AGAIN}")
