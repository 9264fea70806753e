"""The languages Whisper knows, by code, with their English names: what `/lang` accepts and
how the chat names a detected language ("German").

The table is the runner's (`jobs.language`, pure: it needs no faster-whisper, which the VM
does not have); tests/jobs/test_language.py checks it against faster-whisper's own list.
"""

from __future__ import annotations

from jobs.language import LANGUAGES

__all__ = ["LANGUAGES", "language_code", "language_name"]


_BY_NAME = {name.lower(): code for code, name in LANGUAGES.items()}


def language_code(said: str) -> str | None:
    """The code for what a person typed ("de", "DE", "German"); None when Whisper knows no
    such language."""
    said = said.strip().lower()
    return said if said in LANGUAGES else _BY_NAME.get(said)


def language_name(code: object) -> str | None:
    """ "German" for "de"; None for anything that is not a known code (absent, null, junk)."""
    return LANGUAGES.get(code.lower()) if isinstance(code, str) else None
