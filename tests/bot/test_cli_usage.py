"""The command line's own answers: every subcommand explains itself, bad numbers are refused
with one line and exit 2, and an option that would be ignored is refused instead."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

RELAYQ = [sys.executable, "-m", "bot.cli"]


def relayq(*args: str, tmp_path: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RELAYQ_", "GITHUB_"))}
    env.update({"RELAYQ_STATE_DIR": str(tmp_path / "state"), "HOME": str(tmp_path), **extra})
    return subprocess.run([*RELAYQ, *args], env=env, capture_output=True, text=True, timeout=60,
                          check=False)  # fmt: skip


@pytest.mark.parametrize("command", ["transcribe", "summarize", "route", "dispatch", "status",
                                     "demo", "bot"])  # fmt: skip
def test_every_command_says_what_it_does_in_its_help(command: str, tmp_path: Path) -> None:
    done = relayq(command, "--help", tmp_path=tmp_path)
    assert done.returncode == 0
    _, _, rest = done.stdout.partition("\n\n")
    description = rest.split("\n\n", 1)[0]
    assert not description.startswith(("positional arguments", "options")), done.stdout


@pytest.mark.parametrize(("limit", "why"), [("0", "must be at least 1, not 0"),
                                            ("-1", "must be at least 1, not -1"),
                                            ("ten", "expected a whole number, not 'ten'")])  # fmt: skip
def test_status_limit_must_be_a_count_of_at_least_one(limit: str, why: str, tmp_path: Path) -> None:
    done = relayq("status", "--limit", limit, tmp_path=tmp_path)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and why in done.stderr


def test_dispatch_out_without_wait_on_github_is_refused_not_ignored(tmp_path: Path) -> None:
    done = relayq("dispatch", "--url", "https://example.org/a.mp3", "--out", str(tmp_path / "o"),
                  tmp_path=tmp_path, RELAYQ_EXECUTOR="github", GITHUB_TOKEN="ghp_CANARY_x",
                  RELAYQ_GITHUB_REPO="owner/relayq",
                  RELAYQ_GITHUB_API_URL="http://127.0.0.1:9")  # fmt: skip
    assert done.returncode == 2
    assert done.stderr == (
        "relayq: --out needs --wait with the GitHub executor (the results stay with the run "
        "otherwise); add --wait, or leave out --out\n"
    )


SAMPLE = Path(__file__).resolve().parents[2] / "jobs" / "samples" / "speech.ogg"


@pytest.mark.parametrize("wait", [[], ["--wait"]])
def test_dispatch_to_a_state_folder_it_cannot_write_says_so_and_starts_nothing(
    tmp_path: Path, wait: list[str]
) -> None:
    """Detached, the job used to vanish (exit 0, a job id, nothing anywhere); with --wait, a
    traceback."""
    state = tmp_path / "ro"
    state.mkdir()
    (state / "not-a-folder").write_text("")
    done = relayq("dispatch", "--file", str(SAMPLE), *wait, tmp_path=tmp_path,
                  RELAYQ_STATE_DIR=str(state / "not-a-folder"))  # fmt: skip
    assert done.returncode == 8 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "cannot write the job folders in" in done.stderr
    assert done.stderr.rstrip().endswith("point RELAYQ_STATE_DIR at a folder this user can write")


def test_dispatch_out_that_cannot_be_a_folder_is_refused_before_the_job(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("")
    done = relayq("dispatch", "--file", str(SAMPLE), "--wait", "--out", str(tmp_path / "afile"),
                  tmp_path=tmp_path)  # fmt: skip
    assert done.returncode == 2 and done.stdout == ""
    assert (
        done.stderr
        == f"relayq: --out {tmp_path / 'afile'} is not a folder; choose a folder for the results\n"
    )
    assert not (tmp_path / "state" / "local-jobs").exists() or not any(
        (tmp_path / "state" / "local-jobs").iterdir()
    )  # no job was run
