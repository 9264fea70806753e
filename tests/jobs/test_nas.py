"""The copy of a job's results on a NAS (RELAYQ_NAS_DIR, jobs/nas.py): whole or not at all,
in `<yyyy>/<mm>/<date>-<title>-<job>/`, and a NAS that is not mounted, read-only or full is
said in meta.json without failing the job.

Which disk: the NAS is a folder in the test's temporary folder; the read-only and the full
NAS are real tmpfs mounts on it (`mount -t tmpfs -o ro,size=1m`, `-o size=64k`), unmounted
when the test ends, whatever happened. The tests run as root, where a folder's mode bits
stop nothing, so chmod would prove nothing. Where mounting is not permitted, the same tests
run with the folder made a read-only or small disk at the file layer instead
(tests/jobs/nospace.py: EROFS, or ENOSPC once its room is used); where both are possible,
both run. The expected outcome is the same either way.
"""

from __future__ import annotations

import builtins
import errno
import functools
import io
import json
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest

from bot.cli import main
from bot.settings import Settings
from jobs import nas
from jobs.nas import NOT_MOUNTED, copy_results, folder_name
from jobs.outputs import RESULT_FILES
from tests.jobs import nospace

WHEN = datetime(2026, 12, 4, 9, 30)
JOB = "20261204-093012-3f9a1c"
FOLDER = f"2026/12/2026-12-04-Team-call-{JOB}/"
BIG = 200 * 1024  # a transcript bigger than the full NAS


def results(folder: Path, *, text_bytes: int = 100, **meta: object) -> Path:
    """A job's five result files, as jobs/outputs.py leaves them."""
    folder.mkdir(parents=True)
    (folder / "transcript.txt").write_text("x" * (text_bytes - 1) + "\n")
    (folder / "transcript.srt").write_text("1\n00:00:00,000 --> 00:00:01,000\nHello\n")
    (folder / "transcript.vtt").write_text("WEBVTT\n\n00:00:00.000 --> 00:00:01.000\nHello\n")
    (folder / "segments.json").write_text('[{"start": 0.0, "end": 1.0, "text": "Hello"}]\n')
    values = {"source": "/home/runner/in/call.m4a", "source_name": "Team call.m4a",
              "cache_key": "ab12cd34ef56" * 5, "duration_s": 1.0, **meta}  # fmt: skip
    (folder / "meta.json").write_text(json.dumps(values))
    return folder


def meta_of(folder: Path) -> dict[str, object]:
    data: dict[str, object] = json.loads((folder / "meta.json").read_text())
    return data


def everything(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@functools.cache
def can_mount() -> bool:
    """True when this process may mount a tmpfs (root, and a kernel that lets it)."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    probe = Path(os.environ.get("TMPDIR", "/tmp")) / f"relayq-nas-probe-{os.getpid()}"
    probe.mkdir(exist_ok=True)
    try:
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(probe)],
                              capture_output=True, timeout=30, check=False)  # fmt: skip
        if done.returncode == 0:
            subprocess.run(["umount", str(probe)], capture_output=True, timeout=30, check=True)
        return done.returncode == 0
    finally:
        probe.rmdir()


WAYS = ["tmpfs", "injected"] if can_mount() else ["injected"]


@pytest.fixture
def small_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[str, int, bool], Path]]:
    """`make(way, kilobytes, read_only)`: a folder that is a disk of that size, empty, or a
    read-only one. A tmpfs is unmounted at the end however the test ended."""
    mounted: list[Path] = []

    def make(way: str, kilobytes: int, read_only: bool) -> Path:
        folder = tmp_path / "nas"
        folder.mkdir()
        if way == "tmpfs":
            options = f"{'ro,' if read_only else ''}size={kilobytes}k"
            subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)],
                           capture_output=True, timeout=30, check=True)  # fmt: skip
            mounted.append(folder)
        else:
            # monkeypatch puts back what nospace.install replaces, when the test ends.
            for module, name in ((io, "open"), (builtins, "open"), (os, "mkdir"),
                                 (os, "access"), (shutil, "copyfile")):  # fmt: skip
                monkeypatch.setattr(module, name, getattr(module, name))
            nospace.install(folder, kilobytes * 1024, read_only)
        return folder

    yield make
    for folder in mounted:
        done = subprocess.run(["umount", str(folder)], capture_output=True, timeout=30)
        if done.returncode != 0:
            subprocess.run(["umount", "-l", str(folder)], capture_output=True, timeout=30)


def test_the_results_are_copied_whole_into_year_month_date_title_job(tmp_path: Path) -> None:
    out = results(tmp_path / "out")
    (tmp_path / "nas").mkdir()
    done = copy_results(out, tmp_path / "nas", job=JOB, now=WHEN)
    assert (done.copied, done.path) == (True, FOLDER)
    copy = tmp_path / "nas" / FOLDER
    assert everything(tmp_path / "nas") == ["2026", "2026/12", FOLDER.rstrip("/"),
                                            *(FOLDER + n for n in sorted(RESULT_FILES))]  # fmt: skip
    for name in RESULT_FILES[:-1]:
        assert (copy / name).read_bytes() == (out / name).read_bytes()
    # Both meta.json say where the copy is, relative to the NAS folder (no path of this host).
    assert meta_of(out)["nas"] == {"copied": True, "path": FOLDER}
    assert meta_of(copy) == meta_of(out)
    assert meta_of(out)["duration_s"] == 1.0  # the rest of it as it was


def test_a_copy_that_fails_midway_leaves_no_partial_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second file cannot be written (the NAS went away mid-copy): nothing is left on
    the NAS, not the partial folder, not the year and month folders made for it."""
    out = results(tmp_path / "out")
    (tmp_path / "nas").mkdir()
    real, calls = nas._copy_file, []

    def second_fails(source: Path, target: Path) -> None:
        calls.append(target)
        if len(calls) == 2:
            (target.parent / "half").write_bytes(b"half a file")  # written before it broke
            raise OSError(errno.EIO, "Input/output error")
        real(source, target)

    monkeypatch.setattr(nas, "_copy_file", second_fails)
    done = copy_results(out, tmp_path / "nas", job=JOB, now=WHEN)
    assert len(calls) == 2 and calls[1].parent.name.startswith(f".{Path(FOLDER).name}.partial-")
    assert (done.copied, done.reason) == (False, "the NAS did not answer (input/output error)")
    assert everything(tmp_path / "nas") == []
    assert meta_of(out)["nas"] == {"copied": False, "reason": done.reason}
    assert (out / "transcript.txt").stat().st_size == 100  # the job's own results untouched


def test_a_failed_copy_keeps_the_month_folder_that_was_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    month = tmp_path / "nas" / "2026" / "12"
    (month / "2026-12-01-earlier-job").mkdir(parents=True)

    def fails(source: Path, target: Path) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(nas, "_copy_file", fails)
    done = copy_results(results(tmp_path / "out"), tmp_path / "nas", job=JOB, now=WHEN)
    assert done.reason == "the NAS is full"
    assert everything(month) == ["2026-12-01-earlier-job"]


def test_a_nas_that_is_not_mounted_is_said_and_its_folder_never_made(tmp_path: Path) -> None:
    out = results(tmp_path / "out")
    lines: list[str] = []
    done = copy_results(out, tmp_path / "nas" / "relayq", job=JOB, now=WHEN, note=lines.append)
    assert (done.copied, done.reason) == (False, NOT_MOUNTED)
    assert not (tmp_path / "nas").exists()  # nothing of it on this machine's own disk
    assert meta_of(out)["nas"] == {"copied": False, "reason": NOT_MOUNTED}
    # The job's line names the setting, not the folder: a step of the card may show it.
    assert lines == [f"note: not copied to the NAS (RELAYQ_NAS_DIR): {NOT_MOUNTED} "
                     "(no such file or directory)"]  # fmt: skip


def test_a_nas_setting_that_names_a_file_is_said(tmp_path: Path) -> None:
    (tmp_path / "nas").write_text("")
    done = copy_results(results(tmp_path / "out"), tmp_path / "nas", job=JOB, now=WHEN)
    assert done.reason == "RELAYQ_NAS_DIR is not a folder"


@pytest.mark.parametrize("way", WAYS)
def test_a_read_only_nas_is_said_and_nothing_written(
    tmp_path: Path, small_disk: Callable[[str, int, bool], Path], way: str
) -> None:
    folder = small_disk(way, 1024, True)
    out = results(tmp_path / "out")
    done = copy_results(out, folder, job=JOB, now=WHEN)
    assert (done.copied, done.reason) == (False, "the NAS is mounted read-only")
    assert everything(folder) == []
    assert meta_of(out)["nas"] == {"copied": False, "reason": "the NAS is mounted read-only"}


@pytest.mark.parametrize("way", WAYS)
def test_a_full_nas_is_said_and_no_partial_folder_left(
    tmp_path: Path, small_disk: Callable[[str, int, bool], Path], way: str
) -> None:
    folder = small_disk(way, 64, False)
    out = results(tmp_path / "out", text_bytes=BIG)
    done = copy_results(out, folder, job=JOB, now=WHEN)
    assert (done.copied, done.reason) == (False, "the NAS is full")
    assert everything(folder) == []
    assert meta_of(out)["nas"] == {"copied": False, "reason": "the NAS is full"}
    assert (out / "transcript.txt").stat().st_size == BIG


@pytest.mark.parametrize("way", WAYS)
def test_results_that_fit_on_a_small_nas_are_copied(
    tmp_path: Path, small_disk: Callable[[str, int, bool], Path], way: str
) -> None:
    """The same small disk takes a transcript that fits: the failures above are the disk's."""
    folder = small_disk(way, 64, False)
    done = copy_results(results(tmp_path / "out"), folder, job=JOB, now=WHEN)
    assert (done.copied, done.path) == (True, FOLDER)
    assert (folder / FOLDER / "meta.json").is_file()


def test_the_same_job_run_again_keeps_the_first_copy(tmp_path: Path) -> None:
    (tmp_path / "nas").mkdir()
    copy_results(results(tmp_path / "one", text_bytes=10), tmp_path / "nas", job=JOB, now=WHEN)
    again = results(tmp_path / "two", text_bytes=20)
    done = copy_results(again, tmp_path / "nas", job=JOB, now=WHEN)
    assert (done.copied, done.path, done.kept) == (True, FOLDER, True)
    assert meta_of(again)["nas"] == {"copied": True, "path": FOLDER, "kept": True}
    assert (tmp_path / "nas" / FOLDER / "transcript.txt").stat().st_size == 10
    name = Path(FOLDER).name
    assert everything(tmp_path / "nas" / "2026" / "12") == [
        name, *(f"{name}/{n}" for n in sorted(RESULT_FILES))
    ]  # fmt: skip


def test_a_job_run_again_on_a_later_day_finds_the_folder_of_the_day_it_was_sent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    try:
        (tmp_path / "nas").mkdir()
        job = "20261130-235012-0a1b2c"  # sent late on the last day of November
        first = copy_results(results(tmp_path / "one"), tmp_path / "nas", job=job,
                             now=datetime(2026, 11, 30, 23, 59))  # fmt: skip
        again = copy_results(results(tmp_path / "two"), tmp_path / "nas", job=job,
                             now=datetime(2026, 12, 2, 8, 0))  # fmt: skip
        unsent = copy_results(results(tmp_path / "three"), tmp_path / "nas", job="cli",
                              now=datetime(2026, 12, 2, 8, 0))  # fmt: skip
    finally:
        monkeypatch.undo()
        time.tzset()
    assert first.path == f"2026/11/2026-11-30-Team-call-{job}/" and not first.kept
    assert (again.path, again.kept) == (first.path, True)
    assert not (tmp_path / "nas" / "2026" / "12" / f"2026-12-02-Team-call-{job}").exists()
    assert unsent.path == "2026/12/2026-12-02-Team-call-cli/"  # no date in its id: today's


def test_a_rename_beaten_by_another_run_of_the_job_keeps_that_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two runs of one job at once: the one that renames second finds the other's whole
    folder in place, removes its own partial folder and reports the copy there."""
    (tmp_path / "nas").mkdir()
    other = results(tmp_path / "other", text_bytes=30)
    real = nas._sync_folder

    def other_run_first(folder: Path) -> None:
        real(folder)
        if folder.name.startswith("."):  # the partial folder, just before its rename
            shutil.copytree(other, tmp_path / "nas" / FOLDER)

    monkeypatch.setattr(nas, "_sync_folder", other_run_first)
    done = copy_results(results(tmp_path / "out"), tmp_path / "nas", job=JOB, now=WHEN)
    assert (done.copied, done.kept) == (True, True)
    assert not [p for p in (tmp_path / "nas" / "2026" / "12").iterdir() if p.name[0] == "."]
    assert (tmp_path / "nas" / FOLDER / "transcript.txt").stat().st_size == 30


@pytest.mark.parametrize(
    ("meta", "job", "expected"),
    [
        ({"title": "Team call", "source_name": "x.m4a"}, "J1", "2026-12-04-Team-call-J1"),
        ({"source_name": "notes.final.mp3"}, "J1", "2026-12-04-notes.final-J1"),
        ({"source": "https://example.org/pod/ep%2012.mp3?x=1"}, "J1", "2026-12-04-ep-12-J1"),
        ({"source": "https://example.org/"}, "J1", "2026-12-04-transcript-J1"),
        ({"source": "tg:AgADBAAD-file-id"}, "J1", "2026-12-04-transcript-J1"),
        ({"title": "../../etc/passwd"}, "J1", "2026-12-04-etc-passwd-J1"),
        ({"title": "...hidden"}, "J1", "2026-12-04-hidden-J1"),
        ({"title": "Café: l'été / 2024?"}, "J1", "2026-12-04-Café-l-été-2024-J1"),
        ({"title": "東京の会議"}, "J1", "2026-12-04-東京の会議-J1"),
        ({"title": "a\nb\u202ec\td"}, "J1", "2026-12-04-a-b-c-d-J1"),
        ({"title": "🎙️"}, "J1", "2026-12-04-transcript-J1"),
        ({"title": "Talk", "cache_key": "0123456789abcdef"}, None, "2026-12-04-Talk-0123456789ab"),
        ({"title": "Talk"}, "../../x y", "2026-12-04-Talk-x-y"),
        ({"title": "Talk"}, None, "2026-12-04-Talk-job"),
    ],
)
def test_the_folder_name_is_safe_on_any_file_system(
    meta: dict[str, object], job: str | None, expected: str
) -> None:
    assert folder_name(meta, job, WHEN) == expected


def test_a_long_title_is_cut_to_a_name_every_file_system_takes() -> None:
    name = folder_name({"title": "Ünïcödé " * 40}, JOB, WHEN)
    title = name.removeprefix("2026-12-04-").removesuffix(f"-{JOB}")
    assert len(title) <= 60 and title.startswith("Ünïcödé-Ünïcödé")
    assert len(folder_name({"title": "会" * 200}, JOB, WHEN).encode()) < 255


def test_relayq_transcribe_delivers_whatever_the_nas_and_exits_0(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    speech_ogg: Path,
    cached_transcripts: Path,
    small_disk: Callable[[str, int, bool], Path],
) -> None:
    """The whole job through `relayq transcribe` (the run's shared cache: the model runs once
    per test run): a NAS that is not mounted or full changes nothing of the job but its
    meta.json; one with room gets the copy, named after --job-id."""
    monkeypatch.setenv("RELAYQ_STATE_DIR", str(tmp_path / "state"))
    argv = ["transcribe", str(speech_ogg), "--backend", "local", "--job-id", "J1"]

    said: list[str] = []

    def job(out: str, nas_dir: Path) -> dict[str, object]:
        monkeypatch.setenv("RELAYQ_NAS_DIR", str(nas_dir))
        assert main([*argv, "--out", str(tmp_path / out)]) == 0
        assert (tmp_path / out / "transcript.txt").read_text().strip()
        captured = capsys.readouterr()
        assert captured.out == f"{tmp_path / out}\n"
        said.append(captured.err)
        entry = meta_of(tmp_path / out)["nas"]
        assert isinstance(entry, dict)
        return entry

    assert job("a", tmp_path / "missing") == {"copied": False, "reason": NOT_MOUNTED}

    full = small_disk(WAYS[0], 64, False)
    with pytest.raises(OSError) as filled, (full / "filler").open("wb") as filler:
        while True:
            filler.write(b"\0" * 4096)
            filler.flush()
    assert filled.value.errno == errno.ENOSPC
    assert job("b", full) == {"copied": False, "reason": "the NAS is full"}
    assert everything(full) == ["filler"]

    (tmp_path / "nas-ok").mkdir()
    entry = job("c", tmp_path / "nas-ok")
    assert entry["copied"] is True and str(entry["path"]).endswith("-speech-J1/")
    copy = tmp_path / "nas-ok" / str(entry["path"])
    assert (copy / "transcript.txt").read_text() == (tmp_path / "c" / "transcript.txt").read_text()
    assert "relayq: note: not copied to the NAS (RELAYQ_NAS_DIR): the NAS is full" in said[1]
    assert f"relayq: copied to the NAS: {entry['path']}\n" in said[2]
    assert not [line for line in "".join(said).splitlines()
                if "NAS" in line and str(tmp_path) in line]  # fmt: skip


def test_results_without_their_meta_json_are_not_copied(tmp_path: Path) -> None:
    """meta.json comes last (jobs/outputs.py): without it the set is not whole."""
    out = results(tmp_path / "out")
    (out / "meta.json").unlink()
    (tmp_path / "nas").mkdir()
    done = copy_results(out, tmp_path / "nas", job=JOB, now=WHEN)
    assert (done.copied, done.reason) == (False, "the job's results were incomplete")
    assert everything(tmp_path / "nas") == [] and not (out / "meta.json").exists()


@pytest.mark.parametrize(
    ("value", "expected"),
    [("", None), ("  ", None), ("/mnt/nas/relayq", Path("/mnt/nas/relayq")),
     ("~/nas", Path.home() / "nas")],
)  # fmt: skip
def test_the_setting_empty_is_no_nas(value: str, expected: Path | None) -> None:
    settings = Settings(_env_file=None, RELAYQ_NAS_DIR=value)  # type: ignore[call-arg]
    assert settings.nas_dir == expected
