"""Run one workflow_dispatch run with act in host mode, as a self-hosted runner would.

The workflow files are the repository's own. act's schema predates some keys GitHub accepts
(`concurrency.queue`), so a copy without them is what act reads; pinned third-party actions
are pointed at small local stand-ins (checkout: the workspace already holds the repository;
upload-artifact: copy the files into the emulator's artifact store). act does not know
`job.check_run_id` either: the copy has the job's check run id in its place.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[3]
STUBS = Path(__file__).resolve().parent / "stubs"
_USES = re.compile(r"uses:\s*(actions/[\w-]+)@([0-9a-f]{40})")
_EXPRESSION = re.compile(r"\$\{\{(.*?)\}\}")
_STEP = re.compile(r"(⭐ Run Main|✅\s+Success - Main|❌\s+Failure - Main) (.+?)(?: \[[^\]]*\])?$")

StepEvent = Callable[[str, str], None]  # (step name, "started" | "success" | "failure")


def act_binary() -> str:
    return str(Path(sys.executable).parent / "act")


def pinned_actions() -> dict[str, str]:
    """`actions/x@sha` → local stand-in folder, for every pinned action the workflows use."""
    found: dict[str, str] = {}
    for path in (ROOT / ".github" / "workflows").glob("*.yml"):
        for name, sha in _USES.findall(path.read_text()):
            found[f"{name}@{sha}"] = str(STUBS / name.split("/", 1)[1])
    return found


def workflow_labels(workflow_file: str) -> list[str]:
    """The runs-on labels a dispatchable workflow passes to the shared job."""
    data = yaml.safe_load((ROOT / ".github" / "workflows" / workflow_file).read_text())
    for job in data["jobs"].values():
        runs_on = job.get("with", {}).get("runs_on")
        if runs_on:
            return list(json.loads(runs_on))
        if "runs-on" in job:
            value = job["runs-on"]
            return [value] if isinstance(value, str) else list(value)
    raise ValueError(f"{workflow_file}: no runs-on")


def workflow_inputs(workflow_file: str) -> frozenset[str]:
    """The inputs a dispatchable workflow declares (`on.workflow_dispatch.inputs`)."""
    data = yaml.safe_load((ROOT / ".github" / "workflows" / workflow_file).read_text())
    triggers = data.get(True) or data.get("on") or {}  # YAML 1.1 reads a bare `on` as True
    dispatch = triggers.get("workflow_dispatch") if isinstance(triggers, dict) else None
    return frozenset((dispatch or {}).get("inputs") or {})


def workflow_meta(workflow_file: str) -> dict[str, object]:
    data = yaml.safe_load((ROOT / ".github" / "workflows" / workflow_file).read_text())
    concurrency = data.get("concurrency") or {}
    return {
        "name": data.get("name", workflow_file),
        "run_name": data.get("run-name", ""),
        "group": concurrency.get("group"),
        "queue_max": concurrency.get("queue") == "max",
    }


class ActRun:
    """One act process; `cancel()` stops it the way a runner stops a cancelled job."""

    def __init__(self, workflow_file: str, inputs: dict[str, str], labels: list[str],
                 artifacts: Path, env: dict[str, str], *, secrets: dict[str, str] | None = None,
                 variables: dict[str, str] | None = None, check_run_id: int = 0,
                 github: dict[str, str] | None = None) -> None:  # fmt: skip
        self._workflow = workflow_file
        self._inputs = inputs
        self._labels = labels
        self._artifacts = artifacts
        self._env = env
        self._secrets = dict(secrets or {})
        self._variables = dict(variables or {})
        self._check_run_id = check_run_id
        # The variables Actions sets for every step (GITHUB_API_URL, ...): act sets its own
        # unless told (`--env`), whatever its own environment says.
        self._github = dict(github or {})
        self._process: subprocess.Popen[str] | None = None
        self.log: list[str] = []

    def run(self, on_step: StepEvent) -> bool:
        """Run to the end; True when the job succeeded."""
        with tempfile.TemporaryDirectory(prefix="relayq-act-") as tmp:
            workspace = Path(tmp) / "repo"
            _workspace_copy(workspace, self._check_run_id)
            event = Path(tmp) / "event.json"
            event.write_text(json.dumps({"inputs": self._inputs}))
            argv = [act_binary(), "workflow_dispatch", "-W", f".github/workflows/{self._workflow}",
                    "-e", str(event), "-P", "self-hosted=-self-hosted",
                    "--var", f"RELAYQ_VENV={sys.prefix}", "--var", "RELAYQ_VENV_UPDATE=never",
                    "--env", f"RELAYQ_ARTIFACTS={self._artifacts}"]  # fmt: skip
            for name, value in self._variables.items():
                argv += ["--var", f"{name}={value}"]
            for name, value in self._github.items():
                argv += ["--env", f"{name}={value}"]
            # Secrets go through a 0600 file: never on a command line (where `ps` shows it) nor
            # in act's own environment (which host-mode steps would inherit); act masks them.
            secret_file = Path(tmp) / "secrets.env"
            secret_file.touch(mode=0o600)
            secret_file.write_text("".join(f"{k}={v}\n" for k, v in self._secrets.items()))
            argv += ["--secret-file", str(secret_file)]
            for label in self._labels:
                argv += ["-P", f"{label}=-self-hosted"]
            for action, folder in pinned_actions().items():
                argv += ["--local-repository", f"{action}={folder}"]
            env = dict(os.environ, **self._env, HOME=str(Path(tmp) / "home"))
            with subprocess.Popen(
                argv, cwd=workspace, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                text=True, start_new_session=True,
            ) as process:  # fmt: skip
                self._process = process
                assert process.stdout is not None
                for line in process.stdout:
                    self.log.append(line.rstrip())
                    match = _STEP.search(line.rstrip())
                    if match:
                        kind, name = match.groups()
                        state = "started" if kind.startswith("⭐") else (
                            "success" if kind.startswith("✅") else "failure")  # fmt: skip
                        on_step(name.strip(), state)
                return process.wait() == 0

    def cancel(self) -> None:
        if self._process is not None and self._process.poll() is None:
            os.killpg(self._process.pid, signal.SIGINT)


def _workspace_copy(workspace: Path, check_run_id: int) -> None:
    (workspace / ".github").mkdir(parents=True)
    shutil.copytree(ROOT / ".github" / "workflows", workspace / ".github" / "workflows")
    shutil.copytree(ROOT / "jobs", workspace / "jobs", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(ROOT / "pyproject.toml", workspace / "pyproject.toml")
    for path in (workspace / ".github" / "workflows").glob("*.yml"):
        text = path.read_text()
        text = re.sub(r"(?m)^\s+queue:\s*max\s*\n", "", text)
        path.write_text(_EXPRESSION.sub(lambda m: _job_context(m, check_run_id), text))


def _job_context(found: re.Match[str], check_run_id: int) -> str:
    """An expression with `job.check_run_id` as GitHub evaluates it: act has no such property
    (its `job` context predates it), so the copy act reads has the job's id in its place."""
    return "${{" + re.sub(r"\bjob\.check_run_id\b", str(check_run_id), found.group(1)) + "}}"
