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
        ("checks/get", "GET", "/check-runs/{check_run}", "200"),
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
    check_run = run_id * 10  # as the run's jobs listing says (`check_run_url`)
    path = path.replace("{run}", str(run_id)).replace("{check_run}", str(check_run))
    status, body = call(gh, method, path)
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


def test_an_artifact_deleted_is_a_204_with_no_body_and_gone_from_the_listing(
    tmp_path: Path,
) -> None:
    """actions/delete-artifact, as /forget calls it: GitHub's only answer is a 204 with no body
    (the subset holds None for it); the listing and the download no longer have it; a second
    DELETE is a 404 in GitHub's error shape."""
    assert SUBSET["operations"]["actions/delete-artifact"] == {"204": None}
    with GitHubEmulator(tmp_path / "gh", synthetic_run_s=0.2) as gh:
        gh.add_runner("mac-mini", MAC, os="macOS")
        run = gh.dispatch("transcribe_mac.yml", {"source": "x", "request_id": "c7"})
        deadline = time.monotonic() + 10
        while run.status != "completed":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        _, listing = call(gh, "GET", f"/actions/runs/{run.id}/artifacts")
        (artifact,) = listing["artifacts"]
        response = urllib3.request("DELETE", artifact["url"],
                                   headers={"Authorization": f"token {TOKEN}"})  # fmt: skip
        assert (response.status, response.data) == (204, b"")
        status, after = call(gh, "GET", f"/actions/runs/{run.id}/artifacts")
        assert status == 200 and after == {"total_count": 0, "artifacts": []}
        schema = SUBSET["operations"]["actions/list-workflow-run-artifacts"]["200"]
        jsonschema.Draft4Validator(schema).validate(after)
        download = urllib3.request("GET", artifact["archive_download_url"], redirect=False,
                                   headers={"Authorization": f"token {TOKEN}"})  # fmt: skip
        assert download.status == 404
        status, again = call(gh, "DELETE", f"/actions/artifacts/{artifact['id']}")
        assert status == 404
        jsonschema.Draft4Validator(BASIC_ERROR).validate(again)
        assert gh.deleted_artifacts == [artifact["id"]]


def test_the_schemas_are_githubs(finished: tuple[GitHubEmulator, int]) -> None:
    assert SUBSET["source"].startswith("@octokit/openapi")
    run_schema = SUBSET["operations"]["actions/get-workflow-run"]["200"]
    assert {"id", "status", "conclusion", "html_url", "display_title"} <= set(
        run_schema["properties"]
    )


BASIC_ERROR = SUBSET["operations"]["actions/cancel-workflow-run"]["409"]  # GitHub's basic-error


@pytest.mark.parametrize(
    ("emulator_options", "payload", "says"),
    [
        ({"mode": "ghes"}, {"return_run_details": True},
         'Invalid request.\n\n"return_run_details" is not a permitted key.'),
        ({"refuses_run_details": True}, {"return_run_details": True},
         'Invalid request.\n\n"return_run_details" is not a permitted key.'),
        ({}, {"inputs": {"source": "x", "request_id": "c3", "colour": "red"}},
         'Unexpected inputs provided: ["colour"]'),
    ],
    ids=["ghes-run-details", "old-api-run-details", "undeclared-input"],
)  # fmt: skip
def test_a_dispatch_github_would_refuse_is_a_422_in_githubs_error_shape_and_starts_nothing(
    tmp_path: Path, emulator_options: dict[str, Any], payload: dict[str, Any], says: str
) -> None:
    with GitHubEmulator(tmp_path / "gh", **emulator_options) as gh:
        body = {"ref": "main", "inputs": {"source": "x", "request_id": "c3"}, **payload}
        status, answer = call(gh, "POST", "/actions/workflows/transcribe_rpi.yml/dispatches", body)
        assert (status, answer["message"]) == (422, says)
        jsonschema.Draft4Validator(BASIC_ERROR).validate(answer)
        assert gh.runs() == []


def test_a_workflow_that_declares_an_input_takes_it(tmp_path: Path) -> None:
    with GitHubEmulator(
        tmp_path / "gh", declared_inputs={"transcribe_rpi.yml": {"source", "request_id", "name"}}
    ) as gh:
        body = {"ref": "main", "inputs": {"source": "x", "request_id": "c4", "name": "meeting.m4a"}}
        status, _ = call(gh, "POST", "/actions/workflows/transcribe_rpi.yml/dispatches", body)
        assert status == 204
        (run,) = gh.runs()
        assert run.inputs["name"] == "meeting.m4a"


def test_a_new_run_is_listed_only_after_the_listing_lag_but_can_be_fetched_at_once(
    tmp_path: Path,
) -> None:
    with GitHubEmulator(tmp_path / "gh", listing_lag_s=1.5) as gh:
        status, body = call(gh, "POST", "/actions/workflows/transcribe_rpi.yml/dispatches",
                            {"ref": "main", "inputs": {"source": "x", "request_id": "c5"},
                             "return_run_details": True})  # fmt: skip
        assert status == 200
        listing = "/actions/workflows/transcribe_rpi.yml/runs"
        assert call(gh, "GET", listing)[1]["workflow_runs"] == []
        assert call(gh, "GET", f"/actions/runs/{body['workflow_run_id']}")[0] == 200
        time.sleep(1.6)
        (run,) = call(gh, "GET", listing)[1]["workflow_runs"]
        assert run["id"] == body["workflow_run_id"]


def test_a_check_run_write_and_its_answer_are_in_githubs_shapes(tmp_path: Path) -> None:
    """The job's own token writes its check run while it runs; a body GitHub would refuse is a
    422; the bot's token may not write it; a read that finds nothing new is a 304."""
    with GitHubEmulator(tmp_path / "gh", synthetic_run_s=4.0) as gh:
        gh.add_runner("mac-mini", MAC, os="macOS")
        run = gh.dispatch("transcribe_mac.yml", {"source": "x", "request_id": "c6"})
        deadline = time.monotonic() + 10
        while run.status != "in_progress":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        path = f"{gh.api_url}/repos/{gh.repo}/check-runs/{run.check_run_id}"
        output = {"output": {"title": "42% transcribe", "summary": "**transcribe** 42%"}}

        def patch(token: str, payload: object) -> urllib3.BaseHTTPResponse:
            return urllib3.request("PATCH", path, body=json.dumps(payload),
                                   headers={"Authorization": f"Bearer {token}"})  # fmt: skip

        jsonschema.Draft4Validator(SUBSET["requests"]["checks/update"]).validate(output)
        answer = patch(run.job_token, output)
        assert answer.status == 200
        jsonschema.Draft4Validator(SUBSET["operations"]["checks/update"]["200"]).validate(
            json.loads(answer.data)
        )
        assert json.loads(answer.data)["output"]["title"] == "42% transcribe"
        assert patch(run.job_token, {"output": {"title": "no summary"}}).status == 422
        assert patch(TOKEN, output).status == 403
        first = urllib3.request("GET", path, headers={"Authorization": f"token {TOKEN}"})
        again = urllib3.request("GET", path, headers={"Authorization": f"token {TOKEN}",
                                                      "If-None-Match": first.headers["ETag"]})  # fmt: skip
        assert (first.status, again.status) == (200, 304)
        assert gh.check_run_hits("GET", 304) and not gh.check_run_hits("GET", 304)[0].counted


def test_every_dispatchable_workflow_lets_the_shared_job_write_its_check_run() -> None:
    """A job called with `uses:` gets no more than its caller allows: each caller grants
    `checks: write`, or the progress writes would be refused."""
    from tests.emulators.github.checks import granted

    workflows = Path(__file__).resolve().parents[2] / ".github" / "workflows"
    files = [p.name for p in workflows.glob("*.yml") if not p.name.startswith("_")]
    assert len(files) == 7 and {f: granted(f) for f in files} == dict.fromkeys(files, "write")
