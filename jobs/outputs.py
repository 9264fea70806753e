"""The five result files, rendered by pure functions and written atomically."""

from __future__ import annotations

import contextlib
import errno
import json
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from jobs import disk
from jobs.backends.base import Segment
from jobs.errors import NoSpace, RelayqError, UsageError

__all__ = [
    "RESULT_FILES",
    "check_out_dir",
    "install",
    "render_segments_json",
    "render_srt",
    "render_txt",
    "render_vtt",
    "timestamp",
    "write_results",
]

# meta.json last: its presence means the set is complete.
RESULT_FILES = (
    "transcript.txt",
    "transcript.srt",
    "transcript.vtt",
    "segments.json",
    "meta.json",
)


def timestamp(seconds: float, separator: str = ",") -> str:
    """HH:MM:SS,mmm (SRT) or, with separator='.', HH:MM:SS.mmm (WebVTT)."""
    millis = max(0, round(seconds * 1000))
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def render_txt(segments: Sequence[Segment]) -> str:
    text = " ".join(s.text.strip() for s in segments if s.text.strip())
    return text + "\n" if text else ""


def render_srt(segments: Sequence[Segment]) -> str:
    blocks = [
        f"{n}\n{timestamp(s.start)} --> {timestamp(s.end)}\n{_one_cue(s.text)}\n"
        for n, s in enumerate(segments, start=1)
    ]
    return "\n".join(blocks)


def render_vtt(segments: Sequence[Segment]) -> str:
    blocks = [
        f"{timestamp(s.start, '.')} --> {timestamp(s.end, '.')}\n{_one_cue(s.text)}\n"
        for s in segments
    ]
    return "WEBVTT\n\n" + "\n".join(blocks)


def render_segments_json(segments: Sequence[Segment]) -> str:
    rows = [{"start": s.start, "end": s.end, "text": s.text} for s in segments]
    return json.dumps(rows, indent=2, ensure_ascii=False) + "\n"


def _one_cue(text: str) -> str:
    # A blank line ends a cue in both formats; "-->" would start a new timing line.
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return "\n".join(lines).replace("-->", "->")


def write_results(out_dir: Path, segments: Sequence[Segment], meta: Mapping[str, object]) -> None:
    """Write all five files; a reader never sees a half-written file or a partial set."""
    contents = {
        "transcript.txt": render_txt(segments),
        "transcript.srt": render_srt(segments),
        "transcript.vtt": render_vtt(segments),
        "segments.json": render_segments_json(segments),
        "meta.json": json.dumps(meta, indent=2, ensure_ascii=False, default=str) + "\n",
    }
    install(out_dir, contents)


def check_out_dir(out_dir: Path) -> None:
    """Refuse an output folder we could not write, before any work is done: UsageError for
    one that cannot be written at all, NoSpace for a disk with no room left."""
    existing = out_dir
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        where = "" if existing == out_dir else f" ({existing} is a file)"
        raise UsageError(f"--out {out_dir} is not a folder{where}; choose a folder for the results")
    try:
        disk.probe(existing)
    except OSError as exc:
        raise _write_error(exc, out_dir, existing) from None
    if disk.free_bytes(existing) == 0:
        raise _no_space(existing)


def install(
    out_dir: Path, contents: Mapping[str, str | bytes], names: Sequence[str] = RESULT_FILES
) -> None:
    """Stage every file in a hidden folder inside `out_dir`, then rename each into place in
    the order of `names` (meta.json last: its presence means the set is complete). On
    failure nothing of it is left: no staged file, no folder it made."""
    try:
        with disk.removing_new_folders(out_dir):
            _install(out_dir, contents, names)
    except OSError as exc:
        existing = out_dir
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent
        raise _write_error(exc, out_dir, existing) from None


def _write_error(exc: OSError, out_dir: Path, existing: Path) -> RelayqError:
    """The sentence for a results folder that could not be written. Space is mentioned only
    when space is what is missing, and then for the folder that exists (`existing`)."""
    if exc.errno in disk.NO_SPACE:
        return _no_space(existing)
    if exc.errno in disk.READ_ONLY | {errno.ENOENT, errno.ENOTDIR}:
        where = "cannot be written" if existing == out_dir else f"cannot be made in {existing}"
        return UsageError(f"--out {out_dir} {where} ({disk.why(exc)}); choose another folder")
    return RelayqError(
        f"could not write the results to {out_dir} ({disk.why(exc)}); choose another --out folder"
    )


def _no_space(folder: Path) -> NoSpace:
    return NoSpace(
        f"no space left on the device for the results in {folder}; free some space there or "
        "choose another --out folder"
    )


def _install(out_dir: Path, contents: Mapping[str, str | bytes], names: Sequence[str]) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".relayq-partial-", dir=out_dir))
    try:
        for name in names:
            if name in contents:
                data = contents[name]
                raw = data if isinstance(data, bytes) else data.encode("utf-8")
                (staging / name).write_bytes(raw)
        # Everything is staged: only renames are left. Until meta.json is back, the set is
        # marked incomplete, so a crash between two renames never passes for a finished one.
        (out_dir / "meta.json").unlink(missing_ok=True)
        for name in names:
            if (staging / name).exists():
                (staging / name).replace(out_dir / name)
    finally:
        with contextlib.suppress(OSError):
            shutil.rmtree(staging)
