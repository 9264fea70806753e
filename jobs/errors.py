"""The error tree every relayq component raises.

    RelayqError                  exit 1   anything relayq understands but did not plan for
    ├── UsageError               exit 2   a bad option or argument
    ├── SourceUnreachable        exit 3   the source could not be read (DNS, HTTP, timeout, no file)
    ├── NotAudio                 exit 4   the input has no audio stream we can decode
    ├── TooLarge                 exit 5   over the size cap, the deadline, or every target's limits
    ├── RefusedSource            exit 6   a scheme or address we will not fetch (SSRF guard)
    ├── BackendFailed            exit 7   the transcription backend could not produce a transcript
    ├── ConfigError              exit 8   settings or the policy file are invalid or incomplete
    ├── NoSpace                  exit 9   no space left on the device (temp files, results)
    ├── TooLong                  exit 10  longer than this runner takes (refusal.json says how long)
    ├── NotOneRecording          exit 11  a playlist, channel or live stream, not one recording
    ├── SiteRefused              exit 12  the media site refused (private, sign-in, geo, removed)
    ├── LanguageUnsupported      exit 13  this runner's models cannot do that language or task
    ├── PrivateRefused           exit 14  a private job would have to leave the owner's machines
    └── Interrupted              exit 130 Ctrl-C / SIGTERM

Each carries the one sentence a user sees (`str(err)`): what was wrong and what to do.
The CLI prints it as one line on stderr, never a traceback.
"""

from __future__ import annotations

__all__ = [
    "BackendFailed",
    "ConfigError",
    "Interrupted",
    "LanguageUnsupported",
    "NoSpace",
    "NotAudio",
    "NotOneRecording",
    "PrivateRefused",
    "RefusedSource",
    "RelayqError",
    "SiteRefused",
    "SourceUnreachable",
    "TooLarge",
    "TooLong",
    "UsageError",
]


class RelayqError(Exception):
    """Base class: `str(err)` is the sentence shown to the user."""

    exit_code = 1


class UsageError(RelayqError):
    exit_code = 2


class SourceUnreachable(RelayqError):
    exit_code = 3


class NotAudio(RelayqError):
    exit_code = 4


class TooLarge(RelayqError):
    exit_code = 5


class RefusedSource(RelayqError):
    exit_code = 6


class BackendFailed(RelayqError):
    exit_code = 7


class ConfigError(RelayqError):
    exit_code = 8


class NoSpace(RelayqError):
    """A disk filled up: the sentence names the folder, and what to free or change."""

    exit_code = 9


class TooLong(RelayqError):
    """The recording is longer than this runner takes. `duration_s` is how long it is (what the
    page or the file says), so the bot can route the job once more to a target that takes it;
    the CLI writes it to `refusal.json` in the output folder."""

    exit_code = 10

    def __init__(self, message: str, *, duration_s: float, max_duration_s: float) -> None:
        super().__init__(message)
        self.duration_s = duration_s
        self.max_duration_s = max_duration_s


class NotOneRecording(RelayqError):
    exit_code = 11


class SiteRefused(RelayqError):
    exit_code = 12


class LanguageUnsupported(RelayqError):
    exit_code = 13


class PrivateRefused(RelayqError):
    """A private job (/private, #private) that only a remote service or a machine not the
    owner's could do: refused with the reason, never sent there (docs/PRIVACY.md)."""

    exit_code = 14


class Interrupted(RelayqError):
    exit_code = 130
