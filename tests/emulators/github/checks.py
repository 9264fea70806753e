"""The emulator's check runs: each run's one job has one, as on GitHub.

`GET /repos/{o}/{r}/check-runs/{id}` answers GitHub's shape (with an ETag, so a conditional
request that finds nothing new is a free 304, done by the server's `_send`); `PATCH` takes
GitHub's request body (checked against its OpenAPI schema) from the job's own GITHUB_TOKEN
alone, while the job runs, and only when the workflows grant the job `checks: write` (a job
called with `uses:` gets no more than its caller allows).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from tests.emulators.github.state import Run, iso

ROOT = Path(__file__).resolve().parents[3]
_SUBSET = ROOT / "tests" / "contract" / "github_openapi_subset.json"
_LEVELS = {"none": 0, "read": 1, "write": 2}
NOT_ACCESSIBLE = {
    "message": "Resource not accessible by integration",
    "documentation_url": "https://docs.github.com/rest/checks/runs#update-a-check-run",
    "status": "403",
}


def _permissions(holder: dict[str, Any], inherited: dict[str, str]) -> dict[str, str]:
    given = holder.get("permissions", inherited)
    if given in ("read-all", "write-all"):
        return {"checks": given.split("-")[0]}
    return dict(given or {})


def granted(workflow_file: str, scope: str = "checks") -> str:
    """The permission a dispatchable workflow's job ends up with: the caller's grant capped by
    the called workflow's own (`none`, `read` or `write`)."""
    folder = ROOT / ".github" / "workflows"
    caller = yaml.safe_load((folder / workflow_file).read_text())
    top = _permissions(caller, {})
    level = "none"
    for job in caller["jobs"].values():
        allowed = _permissions(job, top).get(scope, "none")
        uses = str(job.get("uses", ""))
        if not uses.startswith("./.github/workflows/"):
            level = allowed
            continue
        called = yaml.safe_load((ROOT / uses.removeprefix("./")).read_text())
        called_top = _permissions(called, {scope: allowed})
        for inner in called["jobs"].values():
            wanted = _permissions(inner, called_top).get(scope, "none")
            level = min(allowed, wanted, key=lambda name: _LEVELS[name])
    return level


def check_run_json(base: str, repo: str, run: Run) -> dict[str, Any]:
    status = run.status if run.status in ("queued", "in_progress", "completed") else "queued"
    cid = run.check_run_id
    return {
        "id": cid, "node_id": f"CR_{cid}", "head_sha": "0" * 40, "external_id": str(cid),
        "url": f"{base}/check-runs/{cid}", "html_url": f"https://github.com/{repo}/runs/{cid}",
        "details_url": f"https://github.com/{repo}/actions/runs/{run.id}/job/{cid}",
        "status": status, "conclusion": run.conclusion if status == "completed" else None,
        "started_at": iso(run.started_at), "completed_at": iso(run.updated_at) if status == "completed" else None,
        "output": {**run.check_output, "annotations_count": 0,
                   "annotations_url": f"{base}/check-runs/{cid}/annotations"},
        "name": "run", "check_suite": {"id": run.id}, "app": None, "pull_requests": [],
    }  # fmt: skip


def update(run: Run, raw: bytes, authorization: str | None, *, checks: str) -> tuple[int, Any]:
    """A PATCH of the run's check run: (status, body); the output is kept when it is allowed."""
    token = (authorization or "").partition(" ")[2]
    if not run.job_token or token != run.job_token or run.status != "in_progress":
        return 403, NOT_ACCESSIBLE  # only the job's own token, while the job runs
    if checks != "write":
        return 403, NOT_ACCESSIBLE
    try:
        body = json.loads(raw or b"{}")
        schema = json.loads(_SUBSET.read_text())["requests"]["checks/update"]
        jsonschema.Draft4Validator(schema).validate(body)
    except (ValueError, jsonschema.ValidationError) as err:
        return 422, {"message": f"Invalid request. {str(err).splitlines()[0]}", "status": "422"}
    output = body.get("output")
    if isinstance(output, dict):
        run.check_output = {key: output.get(key) for key in ("title", "summary", "text")}
    return 200, None
