"""Bring a run's artifact home: follow GitHub's redirect without the token, unzip safely."""

from __future__ import annotations

import stat
import zipfile
from pathlib import Path, PurePosixPath

import urllib3

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
    first = http.request("GET", url, headers=headers, redirect=False, preload_content=False)
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
            raise SourceUnreachable(
                f"GitHub answered HTTP {first.status} for the run's results; try again later"
            )
        if response.status != 200:
            raise SourceUnreachable(
                f"the artifact storage answered HTTP {response.status}; try again later"
            )
        size = 0
        with dest.open("wb") as out:
            while chunk := response.read1(1 << 16):
                size += len(chunk)
                if size > max_bytes:
                    raise UnsafeArtifact(f"the run's artifact is over {max_bytes // 1_000_000} MB")
                out.write(chunk)
        return dest
    except BaseException:
        dest.unlink(missing_ok=True)
        raise
    finally:
        first.release_conn()
        http.clear()


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
        dest.mkdir(parents=True, exist_ok=True)
        written: list[Path] = []
        budget = max_bytes
        for member in members:
            if member.is_dir():
                continue
            target = dest / member.filename
            target.parent.mkdir(parents=True, exist_ok=True)
            with zipped.open(member) as src, target.open("wb") as out:
                # Count what really comes out, not what the header claims (zip bombs lie).
                while block := src.read(1 << 16):
                    budget -= len(block)
                    if budget < 0:
                        raise UnsafeArtifact(
                            "the run's artifact unpacks to more than the allowed size"
                        )
                    out.write(block)
            written.append(target)
        return written
