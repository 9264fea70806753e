"""Unpacking a run's artifact: regular files inside the folder, nothing else."""

from __future__ import annotations

import stat
import struct
import zipfile
from pathlib import Path

import pytest

from bot.executors.artifacts import UnsafeArtifact, extract_zip


def make_zip(path: Path, members: list[tuple[str, bytes, int | None]]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data, mode in members:
            info = zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            if mode is not None:
                info.external_attr = mode << 16
            archive.writestr(info, data)
    return path


def test_regular_files_are_unpacked(tmp_path: Path) -> None:
    archive = make_zip(
        tmp_path / "a.zip", [("transcript.txt", b"hello", None), ("meta.json", b"{}", None)]
    )
    written = extract_zip(archive, tmp_path / "out")
    assert sorted(p.name for p in written) == ["meta.json", "transcript.txt"]
    assert (tmp_path / "out" / "transcript.txt").read_bytes() == b"hello"


@pytest.mark.parametrize(
    ("members", "expected"),
    [
        ([("../escape.txt", b"x", None)], "unsafe path: '../escape.txt'"),
        ([("a/../../escape.txt", b"x", None)], "unsafe path"),
        ([("/etc/cron.d/evil", b"x", None)], "unsafe path: '/etc/cron.d/evil'"),
        ([("..\\evil.txt", b"x", None)], "unsafe path"),
        ([("link", b"/etc/passwd", stat.S_IFLNK | 0o777)], "has a link: 'link'"),
        ([(f"f{n}", b"", None) for n in range(101)], "more than 100 files"),
    ],
)
def test_hostile_archives_are_refused_and_nothing_is_written(
    tmp_path: Path, members: list[tuple[str, bytes, int | None]], expected: str
) -> None:
    archive = make_zip(tmp_path / "bad.zip", members)
    with pytest.raises(UnsafeArtifact, match=expected.replace("(", r"\(")):
        extract_zip(archive, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert not (tmp_path / "escape.txt").exists()


def test_a_zip_bomb_is_stopped_by_what_it_unpacks_to(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "bomb.zip", [("zeros", b"\0" * 5_000_000, None)])
    assert archive.stat().st_size < 50_000
    with pytest.raises(UnsafeArtifact, match="more than the allowed size"):
        extract_zip(archive, tmp_path / "out", max_bytes=1_000_000)


def test_not_a_zip_is_refused(tmp_path: Path) -> None:
    bogus = tmp_path / "x.zip"
    bogus.write_bytes(b"PK\x03\x04 garbage")
    with pytest.raises(UnsafeArtifact, match="not a valid zip"):
        extract_zip(bogus, tmp_path / "out")


def test_a_bomb_whose_header_lies_is_refused_and_leaves_nothing(tmp_path: Path) -> None:
    """The header says 1,000 bytes where 5 MB come out: the unpacking stops on what comes out
    (zipfile's own check then calls the member damaged), and no half-written file stays."""
    archive = make_zip(
        tmp_path / "lie.zip",
        [("meta.json", b"{}", None), ("transcript.txt", b"\0" * 5_000_000, None)],
    )
    data = bytearray(archive.read_bytes())
    local = data.find(b"PK\x03\x04", 1)  # the second member's local header
    central = data.rfind(b"PK\x01\x02")  # and its entry in the central directory
    struct.pack_into("<I", data, local + 22, 1000)
    struct.pack_into("<I", data, central + 24, 1000)
    archive.write_bytes(bytes(data))
    with pytest.raises(UnsafeArtifact, match="damaged|more than the allowed size"):
        extract_zip(archive, tmp_path / "out", max_bytes=1_000_000)
    assert not (tmp_path / "out").exists()
