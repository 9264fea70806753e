"""The local backend: faster-whisper's batched pipeline with its VAD, int8 on CPU.

A runner holds its main model (`RELAYQ_WHISPER_MODEL`, default the bundled tiny.en) and, when
that one knows only English, the bundled multilingual base model for everything else: it
detects the language, and transcribes or translates what is not English (`jobs.language`
decides which model does what). Each model loads on first use.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from jobs import language as lang
from jobs.backends.base import Advance, Segment, Step, Transcript
from jobs.cues import Word, cues_from_words
from jobs.errors import BackendFailed, ConfigError, LanguageUnsupported, UsageError
from jobs.models import BASE, bundled_base_path, bundled_tiny_en_path, default_models_dir

__all__ = ["LocalWhisper", "bundled_model_path", "resolve_model"]

_SET_MODEL = "set RELAYQ_WHISPER_MODEL to a local model folder"
_DETECT_S = 90  # seconds of speech the language is told from (three of Whisper's windows)

bundled_model_path = bundled_tiny_en_path  # the embedded default


def resolve_model(model: str | None, models_dir: Path | None = None) -> tuple[str, str, bool]:
    """(what WhisperModel is given, the name meta.json shows, whether it is a local folder).
    The two bundled models answer to their names (`tiny.en`, `base`): nothing downloads."""
    if model == "tiny.en" and bundled_model_path() is not None:
        model = None
    if model == BASE:
        base = bundled_base_path(models_dir or default_models_dir())
        if base is not None:
            return str(base), BASE, True
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
    """faster-whisper on this machine. The models load on first use, not at construction."""

    name = "local"

    def __init__(
        self,
        model: str | None = None,
        *,
        compute_type: str = "int8",
        beam_size: int = 5,
        batch_size: int = 8,
        cpu_threads: int = 0,
        models_dir: Path | None = None,
    ) -> None:
        self._model_ref, self.model, self._is_folder = resolve_model(model, models_dir)
        self._compute_type = compute_type
        self._beam_size = beam_size
        self._batch_size = batch_size
        self._cpu_threads = cpu_threads
        self._models_dir = models_dir
        self._pipelines: dict[str, Any] = {}  # "main", "multilingual"

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

    def transcribe(
        self,
        audio: npt.NDArray[np.float32],
        *,
        language: str | None,
        task: str = "transcribe",
        step: Step = lambda _: None,
        begin: Step = lambda _: None,
        advance: Advance = lambda _: None,
    ) -> Transcript:
        _check_language(language)
        main = self._load("main")
        knows_all = bool(main.model.model.is_multilingual)
        have_other = knows_all or self._multilingual_ref() is not None
        try:
            if language is not None:
                spoken, probability = language, None
            else:
                detect = lang.detector(main_is_multilingual=knows_all, have_multilingual=have_other)
                step(f"detect the language with {self._shown(detect)}")
                found = self._detect(self._load(detect), audio)
                if found is None:
                    step("detected no speech")
                    return Transcript([], None, None, self.model)
                spoken, probability = found
                step(f"detected {lang.language_name(spoken)} ({round(probability * 100)}%)")
            which = lang.transcriber(
                spoken, task, main_is_multilingual=knows_all, have_multilingual=have_other
            )
        except lang.CannotDo as err:
            raise LanguageUnsupported(str(err)) from None
        pipeline = self._load(which)
        begin(self._shown(which))
        segments = self._run(pipeline, audio, spoken, task, advance)
        return Transcript(segments, spoken, probability, self._shown(which))

    def close(self) -> None:
        self._pipelines.clear()

    def _shown(self, which: str) -> str:
        return self.model if which == "main" else BASE

    def _multilingual_ref(self) -> Path | None:
        return bundled_base_path(self._models_dir or default_models_dir())

    def _detect(self, pipeline: Any, audio: npt.NDArray[np.float32]) -> tuple[str, float] | None:
        """The language of the first 90 s of speech and its probability; None when the VAD
        hears no speech at all (then there is no language to tell, and nothing to transcribe)."""
        from faster_whisper.vad import get_speech_timestamps

        try:
            spans = get_speech_timestamps(audio)
            if not spans:
                return None
            speech = np.concatenate([audio[s["start"] : s["end"]] for s in spans])
            code, probability, _all = pipeline.model.detect_language(
                speech[: _DETECT_S * 16000], language_detection_segments=_DETECT_S // 30
            )
        except (RuntimeError, ValueError, MemoryError) as exc:
            raise BackendFailed(
                f"faster-whisper failed while detecting the language ({type(exc).__name__}: "
                f"{str(exc)[:120]}); give the language, e.g. --language en"
            ) from None
        return str(code), round(float(probability), 4)

    def _run(
        self,
        pipeline: Any,
        audio: npt.NDArray[np.float32],
        language: str,
        task: str,
        advance: Advance,
    ) -> list[Segment]:
        try:
            segments, _info = pipeline.transcribe(
                audio,
                language=language,
                task=task,
                beam_size=self._beam_size,
                batch_size=self._batch_size,
                vad_filter=True,
                # Word times make sentence-sized subtitle cues. Timestamp tokens would do it
                # too, but they cost accuracy (WER 0.145 vs 0.069 on bench/speech_long.txt);
                # word alignment costs ~15% more time and no accuracy.
                word_timestamps=True,
            )
            # The segments come lazily, a batch at a time: each one's end is how far it got.
            words: list[Word] = []
            for segment in segments:
                said = segment.words or []
                words.extend(Word(float(w.start), float(w.end), w.word) for w in said)
                advance(float(segment.end))
            return cues_from_words(words)
        except (RuntimeError, ValueError, MemoryError) as exc:
            raise BackendFailed(
                f"faster-whisper failed while transcribing ({type(exc).__name__}: "
                f"{str(exc)[:120]}); try a smaller model or another runner"
            ) from None

    def _load(self, which: str) -> Any:
        if which not in self._pipelines:
            from faster_whisper import BatchedInferencePipeline, WhisperModel

            ref = self._model_ref if which == "main" else str(self._multilingual_ref())
            try:
                model = WhisperModel(
                    ref,
                    device="cpu",
                    compute_type=self._compute_type,
                    cpu_threads=self._cpu_threads,
                )
            except Exception as exc:  # CTranslate2 and huggingface_hub raise many kinds here
                if which != "main":
                    raise ConfigError(
                        f"could not load the bundled multilingual model in {ref} "
                        f"({type(exc).__name__}); remove that folder so that it is unpacked "
                        "again"
                    ) from None
                raise ConfigError(self._load_failure(exc)) from None
            self._pipelines[which] = BatchedInferencePipeline(model)
        return self._pipelines[which]

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


def _check_language(language: str | None) -> None:
    if language is not None and language not in lang.LANGUAGES:
        raise UsageError(
            f"unknown language {language!r}; give a code such as en, de or fr, or auto to detect it"
        )
