"""Getting a source onto the runner's disk: the runner's only way onto the network.

    links.py      which sources are links, which links we accept, how we print them
    netguard.py   which addresses a runner may connect to (pure tables, the SSRF guard's core)
    allow.py      RELAYQ_ALLOW_PRIVATE_URLS: which refused addresses are allowed anyway
    guard.py      resolve a host once and check every address it resolves to
    watchdog.py   the overall deadline of a download, cut from outside the connection
    download.py   the guarded HTTP download: every hop checked, streamed to disk under a cap
    media.py      media pages (video and podcast pages, HLS) through yt-dlp's Python API
    connguard.py  every connection yt-dlp makes, checked at connect time (an audit hook
                  active only inside a fetch), and no program started meanwhile
    siteerrors.py what a media site's refusal means, in one sentence
    pick.py       a link, fetched by the fetcher it needs (a file, or a page for yt-dlp)

`media.py` and `pick.py` are imported on their own (`jobs.fetch.pick.fetch_link`); yt-dlp
itself is loaded only by a fetch that needs it.
"""

from jobs.fetch.allow import ALL_PRIVATE, NO_PRIVATE, AllowPrivate, allowing, parse_allow
from jobs.fetch.download import BadStatus, FetchResult, fetch
from jobs.fetch.guard import Guard, Resolver, literal_refusal
from jobs.fetch.links import BadLink, check_url, is_url, looks_like_link, safe_url
from jobs.fetch.netguard import refusal_reason

__all__ = [
    "ALL_PRIVATE",
    "NO_PRIVATE",
    "AllowPrivate",
    "BadLink",
    "BadStatus",
    "FetchResult",
    "Guard",
    "Resolver",
    "allowing",
    "check_url",
    "fetch",
    "is_url",
    "literal_refusal",
    "looks_like_link",
    "parse_allow",
    "refusal_reason",
    "safe_url",
]
