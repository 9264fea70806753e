"""A copy of each job's results on a NAS (`RELAYQ_NAS_DIR`), whole or not at all.

    <dir>/<yyyy>/<mm>/<yyyy-mm-dd>-<title or file name>-<job>/   the five result files

The files are written into a hidden sibling (`.<name>.partial-<random>`) in the same month
folder, each flushed to the NAS (fsync), then the folder is renamed into place: someone
browsing the share sees the whole folder or none of it. Whatever goes wrong on the way, the
partial folder (and a year or month folder made for it) is removed.

A NAS is a place the transcript is kept, not a step of the job: one that is not mounted,
read-only, full or gone quiet never fails the job. `meta.json` says what happened, in the
job's results and in the copy:

    "nas": {"copied": true, "path": "2026/12/2026-12-04-Team-call-20261204-093012-3f9a1c/"}
    "nas": {"copied": false, "reason": "the NAS is full"}

The reason is one plain sentence without any path of the machine (the card shows it), and so
are the job's lines about the copy. `RELAYQ_NAS_DIR` itself is never made: a missing folder is a
NAS that is not mounted, and its files must not silently fill the runner's own disk.

The date is the day the job was sent (from its id, bot/dispatching.new_job_id), so a job run
again under the same job id, on any later day, finds its folder there (meta.json in it: it is
complete) and keeps it: the first complete copy stays, and the rename stays atomic (a
directory cannot be swapped for another in one step on Linux, macOS, SMB or NFS).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import secrets
import shutil
import stat
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

from jobs import disk
from jobs.outputs import RESULT_FILES

__all__ = ["NasCopy", "copy_results", "folder_name"]

_NAME_CHARS = 60  # of the title in the folder's name
_NAME_BYTES = 150  # and in UTF-8: the whole name stays far below NAME_MAX (255 bytes)
_NO_ANSWER = frozenset({errno.ETIMEDOUT, errno.EHOSTDOWN, errno.EHOSTUNREACH, errno.ENODEV,
                        errno.ESTALE, errno.EIO, errno.ENOTCONN, errno.ENXIO})  # fmt: skip
_JOB_ID = re.compile(r"(\d{8}-\d{6})-[0-9a-f]+$")  # bot/dispatching.new_job_id
NOT_MOUNTED = "the NAS folder is not there (is the NAS mounted?)"


@dataclass(frozen=True)
class NasCopy:
    """What became of the copy: `path` relative to the NAS folder when it is there (`kept`:
    it was already, from an earlier run of the same job), else the `reason`."""

    copied: bool
    path: str | None = None
    reason: str | None = None
    kept: bool = False

    def entry(self) -> dict[str, object]:
        """meta.json's `nas` entry."""
        if not self.copied:
            return {"copied": False, "reason": self.reason}
        return {"copied": True, "path": self.path, **({"kept": True} if self.kept else {})}


def copy_results(
    out_dir: Path,
    nas_dir: Path,
    *,
    job: str | None,
    files: Sequence[str] = RESULT_FILES,
    now: datetime | None = None,
    note: Callable[[str], None] = lambda _: None,
) -> NasCopy:
    """Copy the results in `out_dir` to the NAS and record the outcome in their meta.json.
    Never raises for the NAS or the disk. `note` hears a line for the job's log, which the
    local executor shows as a step on the card: it names no path of this machine (the folder
    relative to the NAS folder only)."""
    meta = _read_meta(out_dir)
    if meta is None:  # no whole set of results (meta.json comes last): nothing to copy
        note("note: not copied to the NAS: the results have no readable meta.json")
        return NasCopy(False, reason="the job's results were incomplete")
    when = _started(job) or now or datetime.now().astimezone()
    name = folder_name(meta, job, when)
    relative = f"{when:%Y}/{when:%m}/{name}/"
    try:
        done = _copy(out_dir, nas_dir, relative, meta, files)
    except OSError as exc:
        done = NasCopy(False, reason=_reason(exc))
        note(f"note: not copied to the NAS (RELAYQ_NAS_DIR): {done.reason} ({disk.why(exc)})")
    else:
        note(f"{'already on' if done.kept else 'copied to'} the NAS: {relative}")
    try:
        _write_meta(out_dir, {**meta, "nas": done.entry()})
    except OSError as exc:
        note(f"note: meta.json does not say where the NAS copy is ({disk.why(exc)})")
    return done


def folder_name(meta: Mapping[str, object], job: str | None, when: datetime) -> str:
    """`2026-12-04-Team-call-<job>`: the date, the title (a media page's) or the file's name,
    and the job; without a job id, the result's cache key stands for it (the same audio made
    with the same settings)."""
    ident = _clean(job or "", keep="-_", limit=40)
    if not ident:
        ident = _clean(str(meta.get("cache_key") or meta.get("sha256") or ""), keep="", limit=12)
    return f"{when:%Y-%m-%d}-{_title(meta)}-{ident or 'job'}"


def _started(job: str | None) -> datetime | None:
    """When the job was sent, from its id (`20261204-093012-3f9a1c`, UTC), in this machine's
    time: a job run again on a later day finds the folder its first run made."""
    match = _JOB_ID.match(job or "")
    if match is None:
        return None
    try:
        sent = datetime.strptime(match.group(1), "%Y%m%d-%H%M%S").replace(tzinfo=UTC)
    except ValueError:
        return None
    return sent.astimezone()


def _copy(
    out_dir: Path, nas_dir: Path, relative: str, meta: Mapping[str, object], files: Sequence[str]
) -> NasCopy:
    # ENOENT: not mounted (or a typo); an automount that cannot reach the NAS says so here.
    if not stat.S_ISDIR(nas_dir.stat().st_mode):
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(nas_dir))
    target = nas_dir / relative
    if (target / "meta.json").is_file():
        return NasCopy(True, path=relative, kept=True)
    copied = {**meta, "nas": NasCopy(True, path=relative).entry()}
    month = target.parent
    with disk.removing_new_folders(month):
        month.mkdir(parents=True, exist_ok=True)
        partial = month / f".{target.name}.partial-{secrets.token_hex(4)}"
        partial.mkdir()
        try:
            for name in files:
                if name == "meta.json":
                    _write_file(partial / name, _json(copied))
                elif (out_dir / name).is_file():
                    _copy_file(out_dir / name, partial / name)
            _sync_folder(partial)
            try:
                partial.rename(target)
            except OSError:
                if not (target / "meta.json").is_file():
                    raise
                # Another run of the same job got there first: its copy is whole, keep it.
                shutil.rmtree(partial, ignore_errors=True)
                return NasCopy(True, path=relative, kept=True)
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)
            raise
    _sync_folder(month)
    return NasCopy(True, path=relative)


def _copy_file(source: Path, target: Path) -> None:
    with source.open("rb") as src, target.open("xb") as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
        dst.flush()
        os.fsync(dst.fileno())


def _write_file(target: Path, data: bytes) -> None:
    with target.open("xb") as dst:
        dst.write(data)
        dst.flush()
        os.fsync(dst.fileno())


def _sync_folder(folder: Path) -> None:
    """The folder's entries on the disk too. Some network file systems refuse to sync a
    folder (EINVAL, ENOTSUP); their server commits the entries itself."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _reason(exc: OSError) -> str:
    """The sentence for meta.json and the card: what is wrong with the NAS, no path."""
    code = exc.errno
    if code in disk.NO_SPACE:
        return "the NAS is full"
    if code == errno.EROFS:
        return "the NAS is mounted read-only"
    if code in (errno.EACCES, errno.EPERM):
        return "the runner may not write to the NAS folder (permission denied)"
    if code == errno.ENOENT:
        return NOT_MOUNTED
    if code == errno.ENOTDIR:
        return "RELAYQ_NAS_DIR is not a folder"
    if code in _NO_ANSWER:
        return f"the NAS did not answer ({disk.why(exc)})"
    return f"the copy to the NAS failed ({disk.why(exc)})"


def _title(meta: Mapping[str, object]) -> str:
    """The title of a media page, else the name of the file (without its extension) or the
    last part of the link; `transcript` when nothing is left."""
    title = meta.get("title")
    if isinstance(title, str) and title.strip():
        return _clean(title) or "transcript"
    name = meta.get("source_name") or meta.get("source")
    if not isinstance(name, str) or name.startswith("tg:"):
        return "transcript"  # a file sent to the bot without a name: never its file id
    if "://" in name:
        name = unquote(urlsplit(name).path)
    base = name.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
    stem, dot, suffix = base.rpartition(".")
    if dot and stem and 0 < len(suffix) <= 5 and suffix.isalnum():
        base = stem
    return _clean(base) or "transcript"


def _clean(text: str, *, keep: str = "-_.", limit: int = _NAME_CHARS) -> str:
    """`text` as a part of a file name on any file system (SMB's included): letters and
    digits of every script, the characters in `keep`; anything else (spaces, `/`, `:`, `?`,
    control characters) becomes `-`. No leading dot or dash, at most `limit` characters."""
    kept = ""
    for c in unicodedata.normalize("NFC", text):
        kind = unicodedata.category(c)[0]
        # A mark (an accent NFC could not join, a variation selector) only on a letter.
        letter = kind in "LN" or (kind == "M" and kept[-1:].isalnum())
        kept += c if letter or c in keep else "-"
    while "--" in kept:
        kept = kept.replace("--", "-")
    kept = kept.strip("-.")[:limit]
    while len(kept.encode("utf-8")) > _NAME_BYTES:
        kept = kept[:-1]
    return kept.strip("-.")


def _read_meta(out_dir: Path) -> dict[str, object] | None:
    try:
        meta = json.loads((out_dir / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) else None


def _json(meta: Mapping[str, object]) -> bytes:
    return (json.dumps(meta, indent=2, ensure_ascii=False, default=str) + "\n").encode("utf-8")


def _write_meta(out_dir: Path, meta: Mapping[str, object]) -> None:
    """meta.json replaced in one rename: a reader sees the old one or the new one."""
    staged = out_dir / f".meta.json.{secrets.token_hex(4)}"
    try:
        _write_file(staged, _json(meta))
        staged.replace(out_dir / "meta.json")
    finally:
        staged.unlink(missing_ok=True)
