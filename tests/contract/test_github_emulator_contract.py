"""Every JSON body the GitHub emulator returns matches GitHub's own OpenAPI description.

The schemas come from the npm package @octokit/openapi (the subset relayq uses is committed in
github_openapi_subset.json; tools/openapi_subset.py regenerates it).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import urllib3

from tests.e2e.conftest import MAC, PI4, TOKEN, job_env
from tests.emulators.github import GitHubEmulator

SUBSET = json.loads((Path(__file__).parent / "github_openapi_subset.json").read_text())
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[GitHubEmulator, int]]:
    tmp = tmp_path_factory.mktemp("contract")
    with GitHubEmulator(tmp / "gh", job_env=job_env(tmp)) as gh:
        gh.add_runner("mac-mini", MAC, os="macOS")
        gh.add_runner("pi4", PI4, online=False)
        sample = Path(__file__).resolve().parents[2] / "jobs" / "samples" / "speech.ogg"
        status, body = call(gh, "POST", "/actions/workflows/transcribe_mac.yml/dispatches",
                            {"ref": "main", "inputs": {"source": str(sample), "request_id": "c1"},
                             "return_run_details": True})  # fmt: skip
        assert status == 200
        run_id = body["workflow_run_id"]
        deadline = time.monotonic() + 120
        while call(gh, "GET", f"/actions/runs/{run_id}")[1]["status"] != "completed":
            assert time.monotonic() < deadline
            time.sleep(0.3)
        yield gh, run_id


def call(gh: GitHubEmulator, method: str, path: str, payload: object = None) -> tuple[int, Any]:
    url = path if path.startswith("/rate_limit") else f"/repos/{gh.repo}{path}"
    response = urllib3.request(method, gh.api_url + url, redirect=False,
                               headers={"Authorization": f"token {TOKEN}"},
                               body=json.dumps(payload) if payload is not None else None)  # fmt: skip
    return response.status, (json.loads(response.data) if response.data else None)


@pytest.mark.parametrize(
    ("operation", "method", "path", "expected_status"),
    [
        ("actions/get-workflow", "GET", "/actions/workflows/transcribe_mac.yml", "200"),
        ("actions/list-workflow-runs", "GET", "/actions/workflows/transcribe_mac.yml/runs", "200"),
        ("actions/get-workflow-run", "GET", "/actions/runs/{run}", "200"),
        ("actions/list-jobs-for-workflow-run", "GET", "/actions/runs/{run}/jobs", "200"),
        ("actions/list-workflow-run-artifacts", "GET", "/actions/runs/{run}/artifacts", "200"),
        ("actions/list-self-hosted-runners-for-repo", "GET", "/actions/runners", "200"),
        ("rate-limit/get", "GET", "/rate_limit", "200"),
    ],
)
def test_emulator_answers_match_githubs_schema(
    finished: tuple[GitHubEmulator, int],
    operation: str,
    method: str,
    path: str,
    expected_status: str,
) -> None:
    gh, run_id = finished
    status, body = call(gh, method, path.replace("{run}", str(run_id)))
    assert str(status) == expected_status
    jsonschema.Draft4Validator(SUBSET["operations"][operation][expected_status]).validate(body)


def test_dispatch_with_run_details_matches_githubs_schema(
    finished: tuple[GitHubEmulator, int],
) -> None:
    gh, _ = finished
    status, body = call(gh, "POST", "/actions/workflows/transcribe_rpi.yml/dispatches",
                        {"ref": "main", "inputs": {"source": "x", "request_id": "c2"}, "return_run_details": True})  # fmt: skip
    assert status == 200
    jsonschema.Draft4Validator(
        SUBSET["operations"]["actions/create-workflow-dispatch"]["200"]
    ).validate(body)


def test_the_artifact_listing_points_at_a_download_that_redirects(
    finished: tuple[GitHubEmulator, int],
) -> None:
    gh, run_id = finished
    _, listing = call(gh, "GET", f"/actions/runs/{run_id}/artifacts")
    (artifact,) = listing["artifacts"]
    response = urllib3.request("GET", artifact["archive_download_url"], redirect=False,
                               headers={"Authorization": f"token {TOKEN}"})  # fmt: skip
    assert response.status == 302
    assert response.headers["Location"].startswith(gh.storage_url)


def test_the_schemas_are_githubs(finished: tuple[GitHubEmulator, int]) -> None:
    assert SUBSET["source"].startswith("@octokit/openapi")
    run_schema = SUBSET["operations"]["actions/get-workflow-run"]["200"]
    assert {"id", "status", "conclusion", "html_url", "display_title"} <= set(
        run_schema["properties"]
    )
