"""A full disk, or a read-only one, wherever a job writes: the download (TMPDIR), the file
sent to the bot (TMPDIR), the results (--out) and the cache. One sentence that names the
folder and what to do, a documented exit code (9: no space left on the device; 2: an --out
that cannot be written), no traceback, and nothing partial left behind.

Which disk: as root with `unshare` (this development VM, CI), each job runs in its own mount
namespace with a real tmpfs of a few kilobytes mounted on the folder, filled up or remounted
read-only, and the folder's contents are listed before the namespace goes. Where mounting
is not permitted, the same jobs run with the folder made a small disk at the file layer
(`tests/jobs/nospace.py`: ENOSPC once its room is used, EROFS when read-only); both ways run
when both are possible. The expected sentences are the same either way.
"""

from __future__ import annotations

import functools
import io
import os
import subprocess
import sys
import wave
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from jobs.decode import decode
from tests.conftest import SAMPLES
from tests.emulators.telegram import BotApiEmulator
from tests.jobs.httpserver import body, serve
from tests.jobs.media import reencode

RELAYQ = Path(sys.executable).with_name("relayq")
ROOT = Path(__file__).resolve().parents[2]
TOKEN = "424242:CANARY-full-disk-token"
# Mounted inside the job's own namespace: gone with it, so what is left is listed first.
_TMPFS = """
mount -t tmpfs -o "size=${SIZE_KB}k" tmpfs "$DISK" || exit 99
if [ "$FILL" = 1 ]; then dd if=/dev/zero of="$DISK/filler" bs=4k 2>/dev/null; fi
if [ "$READ_ONLY" = 1 ]; then mount -o remount,ro "$DISK" || exit 99; fi
"$@"; code=$?
(cd "$DISK" && find . -mindepth 1 ! -name filler) > "$LEFT"
exit $code
"""


@functools.cache
def can_mount() -> bool:
    """True when this process may mount a tmpfs in a private mount namespace (root)."""
    if os.geteuid() != 0 or not Path("/usr/bin/unshare").exists():
        return False
    probe = Path(os.environ.get("TMPDIR", "/tmp")) / f"relayq-mount-probe-{os.getpid()}"
    probe.mkdir(exist_ok=True)
    try:
        done = subprocess.run(
            ["unshare", "-m", "sh", "-c", f"mount -t tmpfs -o size=64k tmpfs {probe}"],
            capture_output=True, timeout=30, check=False,
        )  # fmt: skip
        return done.returncode == 0
    finally:
        probe.rmdir()


WAYS = ["tmpfs", "injected"] if can_mount() else ["injected"]


@dataclass(frozen=True)
class Disk:
    """How big the small disk is, each way: a tmpfs counts 4 KiB pages, the injector bytes."""

    tmpfs_kb: int
    injected_bytes: int
    fill: bool = False
    read_only: bool = False


FULL = Disk(tmpfs_kb=64, injected_bytes=0, fill=True)
READ_ONLY = Disk(tmpfs_kb=64, injected_bytes=0, read_only=True)


@dataclass
class Job:
    code: int
    stderr: str
    left: list[str]  # what is left on the small disk, besides a filler


def run_on_small_disk(
    way: str, folder: Path, disk: Disk, args: list[str], env: dict[str, str]
) -> Job:
    """`relayq ARGS` with `folder` on a small disk, in its own process."""
    folder.mkdir(parents=True, exist_ok=True)
    left_file = folder.parent / f"{folder.name}.left"
    if way == "tmpfs":
        argv = ["unshare", "-m", "sh", "-c", _TMPFS, "sh", str(RELAYQ), *args]
        env = dict(env, DISK=str(folder), SIZE_KB=str(disk.tmpfs_kb), FILL=str(int(disk.fill)),
                   READ_ONLY=str(int(disk.read_only)), LEFT=str(left_file))  # fmt: skip
    else:
        how = "ro" if disk.read_only else "rw"
        argv = [sys.executable, "-m", "tests.jobs.nospace", str(folder),
                str(disk.injected_bytes), how, "--", *args]  # fmt: skip
    done = subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, text=True, timeout=300,
                          check=False)  # fmt: skip
    assert done.returncode != 99, f"could not set up the small disk: {done.stderr}"
    if way == "tmpfs":
        left = sorted(line.removeprefix("./") for line in left_file.read_text().splitlines())
    else:
        left = sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))
    return Job(done.returncode, done.stderr, left)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("RELAYQ_", "TMPDIR"))}
    (tmp_path / "tmp").mkdir()
    return dict(clean, TMPDIR=str(tmp_path / "tmp"), RELAYQ_STATE_DIR=str(tmp_path / "state"),
                RELAYQ_ALLOW_PRIVATE_URLS="1", HF_HUB_OFFLINE="1",
                PYTHONPATH=str(ROOT))  # fmt: skip


@pytest.fixture(scope="module")
def big_wav() -> bytes:
    """The sample as 16-bit WAV: about 800 kB, more than any of these small disks hold."""
    samples = decode(SAMPLES / "speech.ogg").samples
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes((samples * 32767).astype(np.int16).tobytes())
    return buffer.getvalue()


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two seconds of speech: one short transcription."""
    folder = tmp_path_factory.mktemp("clip")
    return reencode(SAMPLES / "speech.ogg", folder / "clip.ogg", "libopus", seconds=2.0)


@pytest.fixture
def tg() -> Iterator[BotApiEmulator]:
    with BotApiEmulator(TOKEN) as emulator:
        yield emulator


def assert_one_sentence(job: Job, expected: str) -> None:
    lines = job.stderr.splitlines()
    assert "Traceback" not in job.stderr, job.stderr
    assert lines[-1] == f"relayq: {expected}", job.stderr


TMPDIR_FIX = "free some space there, or set TMPDIR to a folder on a disk with room"


@pytest.mark.parametrize("way", WAYS)
def test_a_download_that_fills_tmpdir_is_exit_9_naming_it_and_leaves_nothing(
    tmp_path: Path, env: dict[str, str], big_wav: bytes, way: str
) -> None:
    small = Disk(tmpfs_kb=256, injected_bytes=256 * 1024)
    tmpdir = tmp_path / "tmp"
    with serve({"/talk.wav": body(big_wav, "audio/wav")}) as (base, _):
        job = run_on_small_disk(way, tmpdir, small,
                                ["transcribe", "--out", str(tmp_path / "o"), f"{base}/talk.wav"],
                                env)  # fmt: skip
    assert job.code == 9, job.stderr
    assert_one_sentence(
        job, f"no space left on the device to download {base}/talk.wav into {tmpdir}; {TMPDIR_FIX}"
    )
    assert job.left == []
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("way", WAYS)
def test_a_file_sent_to_the_bot_that_fills_tmpdir_is_exit_9_and_leaves_nothing(
    tmp_path: Path, env: dict[str, str], big_wav: bytes, tg: BotApiEmulator, way: str
) -> None:
    tg.user_uploads(1, big_wav)
    source = f"tg:{sorted(tg.files)[-1]}"
    env = dict(env, TELEGRAM_BOT_TOKEN=TOKEN, RELAYQ_TELEGRAM_API_BASE=tg.base)
    small = Disk(tmpfs_kb=256, injected_bytes=256 * 1024)
    job = run_on_small_disk(way, tmp_path / "tmp", small,
                            ["transcribe", "--out", str(tmp_path / "o"), source], env)  # fmt: skip
    assert job.code == 9, job.stderr
    assert_one_sentence(
        job,
        f"no space left on the device to download the file you sent into {tmp_path / 'tmp'}; "
        f"{TMPDIR_FIX}",
    )
    assert TOKEN.split(":")[1] not in job.stderr
    assert job.left == []


@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize(
    "disk",
    [FULL, Disk(tmpfs_kb=8, injected_bytes=120)],  # no room at all; room for two files of five
    ids=["full", "fills-up"],
)
def test_results_on_a_full_disk_are_exit_9_naming_the_folder_and_leave_nothing(
    tmp_path: Path, env: dict[str, str], clip: Path, way: str, disk: Disk
) -> None:
    results = tmp_path / "results"
    job = run_on_small_disk(way, results, disk,
                            ["transcribe", "--no-cache", "--out", str(results / "o"), str(clip)],
                            env)  # fmt: skip
    assert job.code == 9, job.stderr
    assert_one_sentence(
        job,
        f"no space left on the device for the results in {results}; free some space there or "
        "choose another --out folder",
    )
    assert job.left == []  # no partial file, no staging folder, no empty --out


@pytest.mark.parametrize("way", WAYS)
def test_a_full_cache_is_a_note_and_the_job_still_delivers(
    tmp_path: Path, env: dict[str, str], clip: Path, way: str
) -> None:
    cache = tmp_path / "cache"
    out = tmp_path / "o"
    job = run_on_small_disk(way, cache, FULL, ["transcribe", "--out", str(out), str(clip)],
                            dict(env, RELAYQ_CACHE_DIR=str(cache)))  # fmt: skip
    assert job.code == 0, job.stderr
    assert (
        f"relayq: note: the transcript cache in {cache} has no space left on the device, so "
        "this transcript is not kept for reuse; free some space there or set RELAYQ_CACHE_DIR "
        "to a folder with room\n"
    ) in job.stderr
    assert job.stderr.splitlines()[-1].startswith("relayq: done in ")
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["meta.json", "segments.json", "transcript.srt", "transcript.txt", "transcript.vtt"]
    )
    # No partial entry, no empty folder of one; only the retention sweep's mark (an empty
    # file, made before the job filled the disk).
    assert job.left == [".swept"]


@pytest.mark.parametrize("way", WAYS)
def test_a_read_only_out_is_exit_2_before_any_work_and_says_nothing_of_space(
    tmp_path: Path, env: dict[str, str], clip: Path, way: str
) -> None:
    results = tmp_path / "results"
    job = run_on_small_disk(way, results, READ_ONLY,
                            ["transcribe", "--out", str(results / "o"), str(clip)], env)  # fmt: skip
    assert job.code == 2, job.stderr
    assert job.stderr == (
        f"relayq: --out {results / 'o'} cannot be made in {results} (it is on a read-only file "
        "system); choose another folder\n"
    )


@pytest.mark.parametrize(
    ("out", "expected"),
    [
        ("/proc/nope/out", "--out /proc/nope/out cannot be made in /proc (no such file or directory); choose another folder"),
        ("/sys/nope", "--out /sys/nope cannot be made in /sys (operation not permitted); choose another folder"),
    ],
)  # fmt: skip
def test_an_out_folder_that_cannot_be_made_is_exit_2_before_any_work(
    env: dict[str, str], clip: Path, out: str, expected: str
) -> None:
    done = subprocess.run([str(RELAYQ), "transcribe", "--out", out, str(clip)], env=env,
                          capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    assert (done.returncode, done.stderr) == (2, f"relayq: {expected}\n")
    assert "space" not in done.stderr
