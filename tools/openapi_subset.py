"""Regenerate tests/contract/github_openapi_subset.json from GitHub's official OpenAPI description.

    npm install --no-save @octokit/openapi@23.0.2
    python tools/openapi_subset.py node_modules/@octokit/openapi/generated/api.github.com.deref.json

It keeps the JSON response schemas of the operations relayq uses (None for an answer with no
body, such as a 204), and the request schemas of
REQUESTS (dereferenced, with OpenAPI 3.0's `nullable` turned into JSON Schema's null type), so
the emulator's answers, and the bodies it takes, can be checked against them without the
400 MB package.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

OPERATIONS = {
    "actions/create-workflow-dispatch": (
        "/repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches",
        "post",
    ),
    "actions/get-workflow": ("/repos/{owner}/{repo}/actions/workflows/{workflow_id}", "get"),
    "actions/list-workflow-runs": (
        "/repos/{owner}/{repo}/actions/workflows/{workflow_id}/runs",
        "get",
    ),
    "actions/get-workflow-run": ("/repos/{owner}/{repo}/actions/runs/{run_id}", "get"),
    "actions/list-jobs-for-workflow-run": (
        "/repos/{owner}/{repo}/actions/runs/{run_id}/jobs",
        "get",
    ),
    "actions/list-workflow-run-artifacts": (
        "/repos/{owner}/{repo}/actions/runs/{run_id}/artifacts",
        "get",
    ),
    "actions/cancel-workflow-run": ("/repos/{owner}/{repo}/actions/runs/{run_id}/cancel", "post"),
    "actions/delete-artifact": ("/repos/{owner}/{repo}/actions/artifacts/{artifact_id}", "delete"),
    "actions/list-self-hosted-runners-for-repo": ("/repos/{owner}/{repo}/actions/runners", "get"),
    "rate-limit/get": ("/rate_limit", "get"),
    "checks/get": ("/repos/{owner}/{repo}/check-runs/{check_run_id}", "get"),
    "checks/update": ("/repos/{owner}/{repo}/check-runs/{check_run_id}", "patch"),
}
# Operations whose request body is kept too: the emulator refuses a body GitHub would refuse.
REQUESTS = ("checks/update",)
OUT = Path(__file__).resolve().parents[1] / "tests" / "contract" / "github_openapi_subset.json"


def to_json_schema(node: Any) -> Any:
    if isinstance(node, list):
        return [to_json_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    node = {k: to_json_schema(v) for k, v in node.items() if k not in ("example", "examples")}
    if node.pop("nullable", False):
        return {"anyOf": [node, {"type": "null"}]}
    return node


def main() -> None:
    spec = json.loads(Path(sys.argv[1]).read_text())
    subset: dict[str, Any] = {
        "source": f"@octokit/openapi {spec['info']['version']}",
        "operations": {},
        "requests": {},
    }
    for op_id, (path, method) in OPERATIONS.items():
        operation = spec["paths"][path][method]
        assert operation["operationId"] == op_id, op_id
        schemas = {}
        for status, response in operation["responses"].items():
            content = response.get("content", {}).get("application/json")
            if content and "schema" in content:
                schemas[status] = to_json_schema(content["schema"])
            elif not response.get("content"):
                schemas[status] = None  # an answer GitHub gives with no body (a 204)
        subset["operations"][op_id] = schemas
        if op_id in REQUESTS:
            body = operation["requestBody"]["content"]["application/json"]["schema"]
            subset["requests"][op_id] = to_json_schema(body)
    OUT.write_text(json.dumps(subset, indent=1, sort_keys=True) + "\n")
    print(f"wrote {OUT} ({OUT.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main()
