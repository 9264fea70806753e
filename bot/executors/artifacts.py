"""Bring a run's artifact home: follow GitHub's redirect without the token, unzip safely."""

from __future__ import annotations

import shutil
import stat
import zipfile
import zlib
from pathlib import Path, PurePosixPath

import urllib3

from bot.executors.base import Unavailable
from jobs.errors import RelayqError, SourceUnreachable

__all__ = ["ArtifactExpired", "UnsafeArtifact", "download_artifact", "extract_zip"]

MAX_ZIP_BYTES = 200_000_000
MAX_UNPACKED_BYTES = 500_000_000
MAX_FILES = 100


class ArtifactExpired(RelayqError):
    exit_code = 3


class UnsafeArtifact(RelayqError):
    exit_code = 7


def download_artifact(url: str, token: str, dest: Path, *, timeout_s: float = 60.0,
                      max_bytes: int = MAX_ZIP_BYTES) -> Path:  # fmt: skip
    """GET the archive URL with the token; the storage host it redirects to never sees it."""
    http = urllib3.PoolManager(timeout=urllib3.Timeout(connect=10, read=timeout_s), retries=False)
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json"}
    try:
        first = http.request("GET", url, headers=headers, redirect=False, preload_content=False)
    except urllib3.exceptions.HTTPError as err:
        raise Unavailable(f"GitHub did not hand over the run's results ({_short(err)})") from None
    try:
        if first.status == 410:
            raise ArtifactExpired(
                "the run's results have expired on GitHub (artifacts are kept 3 days); "
                "run the job again"
            )
        if first.status in (301, 302, 303, 307, 308):
            location = first.headers.get("Location") or ""
            response = http.request("GET", location, redirect=False, preload_content=False)
        elif first.status == 200:
            response = first
        else:
            raise _refused("GitHub", first.status)
        if response.status != 200:
            raise _refused("the artifact storage", response.status)
        size = 0
        with dest.open("wb") as out:
            while chunk := response.read1(1 << 16):
                size += len(chunk)
                if size > max_bytes:
                    raise UnsafeArtifact(f"the run's artifact is over {max_bytes // 1_000_000} MB")
                out.write(chunk)
        return dest
    except urllib3.exceptions.HTTPError as err:  # the storage went away mid-download
        dest.unlink(missing_ok=True)
        raise Unavailable(f"the run's results did not arrive ({_short(err)})") from None
    except BaseException:
        dest.unlink(missing_ok=True)
        raise
    finally:
        first.release_conn()
        http.clear()


def _refused(who: str, status: int) -> RelayqError:
    """A server error or a rate limit passes (the job is tried again later); anything else
    about the results will not change by asking again."""
    if status >= 500 or status in (403, 429):
        return Unavailable(f"{who} answered HTTP {status} for the run's results")
    return SourceUnreachable(f"{who} answered HTTP {status} for the run's results")


def _short(err: BaseException) -> str:
    # The kind only: urllib3's texts carry the URL, and the storage's URL is signed.
    return type(err).__name__


def extract_zip(archive: Path, dest: Path, *, max_bytes: int = MAX_UNPACKED_BYTES,
                max_files: int = MAX_FILES) -> list[Path]:  # fmt: skip
    """Unpack regular files only, each inside `dest`; refuse traversal, links and bombs."""
    try:
        zipped = zipfile.ZipFile(archive)
    except zipfile.BadZipFile:
        raise UnsafeArtifact("the run's artifact is not a valid zip file") from None
    with zipped:
        members = zipped.infolist()
        if len(members) > max_files:
            raise UnsafeArtifact(f"the run's artifact holds more than {max_files} files")
        if sum(m.file_size for m in members) > max_bytes:
            raise UnsafeArtifact("the run's artifact unpacks to more than the allowed size")
        for member in members:
            name = PurePosixPath(member.filename)
            mode = member.external_attr >> 16
            if name.is_absolute() or ".." in name.parts or "\\" in member.filename:
                raise UnsafeArtifact(f"the run's artifact has an unsafe path: {member.filename!r}")
            if stat.S_ISLNK(mode):
                raise UnsafeArtifact(f"the run's artifact has a link: {member.filename!r}")
        fresh = not dest.exists()
        dest.mkdir(parents=True, exist_ok=True)
        written: list[Path] = []
        try:
            budget = max_bytes
            for member in members:
                if member.is_dir():
                    continue
                target = dest / member.filename
                target.parent.mkdir(parents=True, exist_ok=True)
                written.append(target)
                with zipped.open(member) as src, target.open("wb") as out:
                    # Count what really comes out, not what the header claims (bombs lie).
                    while block := src.read(1 << 16):
                        budget -= len(block)
                        if budget < 0:
                            raise UnsafeArtifact(
                                "the run's artifact unpacks to more than the allowed size"
                            )
                        out.write(block)
        except (zipfile.BadZipFile, EOFError, zlib.error) as err:
            _remove(written, dest if fresh else None)
            raise UnsafeArtifact(f"the run's artifact is damaged ({err})") from None
        except BaseException:
            _remove(written, dest if fresh else None)  # no half of an artifact is ever kept
            raise
        return written


def _remove(files: list[Path], folder: Path | None) -> None:
    for path in files:
        path.unlink(missing_ok=True)
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)
