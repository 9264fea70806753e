"""Speech in four languages with known text, spoken by espeak-ng (Debian `espeak-ng`), for the
language tests and bench/languages.py. The voices and speeds are the ones the multilingual
base model hears best among those tried (espeak-ng's French is hard for it: the plain `fr`
voice at its default speed is detected as Thai; `fr+m1` at 120 words a minute is French)."""

from __future__ import annotations

import subprocess
from pathlib import Path

__all__ = ["LANGS", "VOICES", "speak", "text"]

HERE = Path(__file__).resolve().parent
VOICES: dict[str, tuple[str, int]] = {  # language: (espeak-ng voice, words per minute)
    "en": ("en", 130),
    "de": ("de", 130),
    "es": ("es", 130),
    "fr": ("fr+m1", 120),
}
LANGS = tuple(VOICES)


def text(language: str) -> str:
    return (HERE / f"{language}.txt").read_text(encoding="utf-8")


def speak(language: str, folder: Path) -> Path:
    """`folder`/`language`.wav: the language's text, spoken (about 20 s)."""
    voice, speed = VOICES[language]
    wav = folder / f"{language}.wav"
    subprocess.run(
        [
            "espeak-ng",
            "-v",
            voice,
            "-s",
            str(speed),
            "-w",
            str(wav),
            "-f",
            str(HERE / f"{language}.txt"),
        ],
        check=True,
        capture_output=True,
    )
    return wav
