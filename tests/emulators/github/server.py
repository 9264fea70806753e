"""The emulator's HTTP face: the GitHub REST endpoints relayq's executor uses.

Responses carry GitHub's shapes (checked against the official OpenAPI description in
tests/contract), rate-limit headers, ETags with 304s that do not count, and injectable faults.
Runs are executed by `act` on the emulator's "runners" (see actrun.py).
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import shutil
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from jobs.checkrun import CheckRun, Throttle, WriteFailed
from jobs.progress import ProgressRecord
from tests.emulators.github import checks
from tests.emulators.github.actrun import ActRun, workflow_inputs, workflow_labels, workflow_meta
from tests.emulators.github.state import Clock, Model, Run, iso

RATE_LIMIT = 5000
DISPATCH_DOCS = "https://docs.github.com/rest/actions/workflows#create-a-workflow-dispatch-event"


def _invalid(message: str) -> dict[str, str]:
    """GitHub's 422 body (its `basic-error` shape)."""
    return {"message": message, "documentation_url": DISPATCH_DOCS, "status": "422"}


@dataclass
class Fault:
    method: str
    pattern: str
    status: int
    times: int = 1
    headers: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] | None = None
    apply_first: bool = False  # do the real work, then answer with the fault ("created, then 502")
    delay_s: float = 0.0
    drop: bool = False  # close the connection without an answer


@dataclass
class Hit:
    method: str
    path: str
    status: int
    counted: bool
    authorization: str | None
    at: float = field(default_factory=time.monotonic)  # when it was answered


class GitHubEmulator:
    """`with GitHubEmulator(tmp) as gh:` — `gh.api_url`, `gh.add_runner(...)`, `gh.model.runs`."""

    def __init__(self, work_dir: Path, *, mode: str = "github", repo: str = "owner/relayq",
                 job_env: dict[str, str] | None = None, synthetic_run_s: float | None = None,
                 groups: bool = True, listing_lag_s: float = 0.0,
                 refuses_run_details: bool | None = None,
                 declared_inputs: dict[str, set[str]] | None = None,
                 synthetic_results: Callable[[dict[str, str], Path], bool] | None = None,
                 synthetic_progress_every_s: float | None = None,
                 ) -> None:  # fmt: skip
        self.work_dir = work_dir
        # "github" (dispatch answers 200 with run details) or "ghes" (GitHub Enterprise Server:
        # no queue: max, and it refuses `return_run_details`, so its dispatches answer 204).
        self.mode = mode
        # Answer `return_run_details` with GitHub's 422 "not a permitted key", as GitHub
        # Enterprise Server and older API versions do (default: "ghes" does).
        self.refuses_run_details = (
            mode == "ghes" if refuses_run_details is None else refuses_run_details
        )
        # As on real GitHub, a new run is in the run listings only some time after it was
        # created (fetched by its id it is there at once).
        self.listing_lag_s = listing_lag_s
        # A workflow's declared inputs as the test wants them (default: the file's own).
        self.declared_inputs = {k: frozenset(v) for k, v in (declared_inputs or {}).items()}
        self.repo = repo
        self.job_env = job_env or {}
        # Repository secrets and variables, as `secrets.*` and `vars.*` in the workflows.
        self.secrets: dict[str, str] = {}
        self.variables: dict[str, str] = {}
        # For budget benchmarks: runs that take this long and skip act (no model, no CPU),
        # and optionally no concurrency groups (many runs at once).
        self.synthetic_run_s = synthetic_run_s
        # What a synthetic run leaves in its results, given its inputs; True: it succeeded
        # (default: the five result files, and success).
        self.synthetic_results = synthetic_results
        # A synthetic run that reports its progress into its check run all the way through, as
        # the runner's writer does (jobs/checkrun.py: its throttle, this least time between
        # writes, real PATCHes with the job's token).
        self.synthetic_progress_every_s = synthetic_progress_every_s
        self.groups = groups
        self.clock = Clock()
        self.model = Model(self.clock, honour_queue_max=(mode == "github"))
        self.faults: list[Fault] = []
        self.hits: list[Hit] = []
        self.deleted_artifacts: list[int] = []  # actions/delete-artifact, in order
        self.storage_hits: list[Hit] = []
        self.remaining = RATE_LIMIT
        self._acts: dict[int, ActRun] = {}
        self._stop = threading.Event()
        self._servers: list[ThreadingHTTPServer] = []
        self._threads: list[threading.Thread] = []

    # -- lifecycle -----------------------------------------------------------------------------

    def __enter__(self) -> GitHubEmulator:
        self.api = self._serve(_ApiHandler)
        self.storage = self._serve(_StorageHandler)
        scheduler = threading.Thread(target=self._schedule, daemon=True)
        scheduler.start()
        self._threads.append(scheduler)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for act in list(self._acts.values()):
            act.cancel()
        for server in self._servers:
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=30)

    def _serve(self, handler: type[BaseHTTPRequestHandler]) -> ThreadingHTTPServer:
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        server.daemon_threads = True
        server.block_on_close = False
        server.emulator = self  # type: ignore[attr-defined]
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        self._servers.append(server)
        return server

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api.server_address[1]}"

    @property
    def storage_url(self) -> str:
        return f"http://127.0.0.1:{self.storage.server_address[1]}"

    # -- test controls ---------------------------------------------------------------------------

    def add_runner(
        self, name: str, labels: list[str], *, online: bool = True, os: str = "Linux"
    ) -> None:
        self.model.add_runner(name, labels, online=online, os=os)

    def set_online(self, name: str, online: bool) -> None:
        self.model.set_online(name, online)

    def inject(self, fault: Fault) -> None:
        with self.model.lock:
            self.faults.append(fault)

    def check_run_hits(self, method: str, status: int | None = None) -> list[Hit]:
        """The requests made of check runs (`PATCH`: the jobs' writes; `GET`: the bot's reads,
        `status=304` those that found nothing new)."""
        return [h for h in self.hits if h.method == method and "/check-runs/" in h.path
                and (status is None or h.status == status)]  # fmt: skip

    def dispatches(self) -> list[Hit]:
        return [h for h in self.hits if h.method == "POST" and h.path.endswith("/dispatches")]

    def runs(self) -> list[Run]:
        with self.model.lock:
            return sorted(self.model.runs.values(), key=lambda r: r.id)

    @contextmanager
    def paused_runners(self) -> Iterator[None]:
        """Hold every runner offline inside the block (jobs pile up in their groups)."""
        names = list(self.model.runners)
        for name in names:
            self.set_online(name, False)
        try:
            yield
        finally:
            for name in names:
                self.set_online(name, True)

    # -- runs ------------------------------------------------------------------------------------

    def dispatch(self, workflow_file: str, inputs: dict[str, str]) -> Run:
        meta = workflow_meta(workflow_file)
        if not self.groups:
            meta = {**meta, "group": None}
        return self.model.create_run(workflow_file, meta, inputs, workflow_labels(workflow_file))

    def _schedule(self) -> None:
        while not self._stop.is_set():
            for run, _runner in self.model.expire_and_pick():
                thread = threading.Thread(target=self._execute, args=(run,), daemon=True)
                thread.start()
                self._threads.append(thread)
            time.sleep(0.05)

    def _execute(self, run: Run) -> None:
        run.artifact_dir = self.work_dir / "artifacts" / str(run.id)
        run.artifact_dir.mkdir(parents=True, exist_ok=True)
        if self.synthetic_run_s is not None:
            self._synthetic(run)
            return
        # As on GitHub: the job's GITHUB_TOKEN (`github.token`), the API's address, and the
        # id of its check run (`job.check_run_id`, which act does not know: actrun.py).
        github = {"GITHUB_API_URL": self.api_url, "GITHUB_REPOSITORY": self.repo}
        act = ActRun(run.workflow_file, run.inputs, run.labels, run.artifact_dir, self.job_env,
                     secrets={**self.secrets, "GITHUB_TOKEN": run.job_token},
                     variables=self.variables, check_run_id=run.check_run_id,
                     github=github)  # fmt: skip
        self._acts[run.id] = act
        ok = act.run(lambda name, state: self.model.step_event(run, name, state))
        self._finish(run, ok)
        (self.work_dir / f"act-{run.id}.log").write_text("\n".join(act.log))

    def _synthetic(self, run: Run) -> None:
        assert run.artifact_dir is not None and self.synthetic_run_s is not None
        steps = [s.name for s in run.steps]
        report = self._reporter(run)
        for name in steps:
            self.model.step_event(run, name, "started")
            report(self.synthetic_run_s / len(steps))
            if run.runner_lost:
                self._finish(run, False)
                return
            self.model.step_event(run, name, "success")
        folder = run.artifact_dir / f"relayq-{run.inputs.get('request_id', '')}"
        folder.mkdir(parents=True, exist_ok=True)
        if self.synthetic_results is not None:
            self._finish(run, self.synthetic_results(dict(run.inputs), folder))
            return
        for name in (
            "transcript.txt",
            "transcript.srt",
            "transcript.vtt",
            "segments.json",
            "meta.json",
        ):
            (folder / name).write_text("{}\n" if name.endswith(".json") else "synthetic\n")
        self._finish(run, True)

    def _reporter(self, run: Run) -> Callable[[float], None]:
        """A pause of the synthetic run that reports its progress on the way, if it is to."""
        every_s, total = self.synthetic_progress_every_s, self.synthetic_run_s or 0.0
        if every_s is None:
            return time.sleep
        throttle, start = Throttle(every_s=every_s), time.monotonic()
        target = CheckRun(api_url=self.api_url, repo=self.repo,
                          check_run_id=str(run.check_run_id), token=run.job_token)  # fmt: skip

        def pause(seconds: float) -> None:
            end = time.monotonic() + seconds
            while (now := time.monotonic()) < end:
                done = now - start
                record = ProgressRecord("transcribe", min(1.0, done / total), None, done,
                                        max(0.0, total - done))  # fmt: skip
                if throttle.wait_s(record, now) == 0:
                    throttle.wrote(record, now)
                    with suppress(WriteFailed):
                        target.write(record)
                time.sleep(min(0.02, end - now))

        return pause

    def _finish(self, run: Run, ok: bool) -> None:
        with self.model.lock:
            self._acts.pop(run.id, None)
            uploaded = run.artifact_dir / f"relayq-{run.inputs.get('request_id', '')}"
            if uploaded.is_dir() and any(uploaded.iterdir()):
                run.artifact_id = self.model.next_id()
            if run.runner_lost:
                conclusion = (
                    "failure"  # "The self-hosted runner lost communication with the server"
                )
            else:
                conclusion = (
                    "cancelled" if run.cancel_requested else ("success" if ok else "failure")
                )
            self.model.complete(run, conclusion)
            run.finished_mono = time.monotonic()

    def lose_runner(self, name: str) -> None:
        """The runner drops off mid-run (its machine lost power or network): it is offline
        from now on, and GitHub fails the job it was running."""
        with self.model.lock:
            self.model.runners[name].online = False
            running = [r for r in self.model.runs.values()
                       if r.runner == name and r.status == "in_progress"]  # fmt: skip
            for run in running:
                run.runner_lost = True
        for run in running:
            act = self._acts.get(run.id)
            if act is not None:
                act.cancel()

    def cancel(self, run: Run) -> bool:
        with self.model.lock:
            if run.status == "completed":
                return False
            run.cancel_requested = True
            if run.status == "queued":
                self.model.complete(run, "cancelled", ended_by="user")
                return True
        act = self._acts.get(run.id)
        if act is not None:
            act.cancel()
        return True

    def artifact_zip(self, run: Run) -> bytes:
        assert run.artifact_dir is not None
        folder = run.artifact_dir / f"relayq-{run.inputs.get('request_id', '')}"
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(folder.rglob("*")):
                if path.is_file():
                    archive.write(path, path.relative_to(folder).as_posix())
        return buffer.getvalue()

    # -- JSON shapes -------------------------------------------------------------------------------

    def repo_url(self) -> str:
        return f"{self.api_url}/repos/{self.repo}"

    def run_json(self, run: Run) -> dict[str, Any]:
        base = self.repo_url()
        return {
            "id": run.id, "name": run.name, "node_id": f"WFR_{run.id}", "display_title": run.display_title,
            "run_number": run.id - 1000, "run_attempt": 1, "event": "workflow_dispatch",
            "status": run.status, "conclusion": run.conclusion, "workflow_id": run.workflow_id,
            "head_branch": "main", "head_sha": "0" * 40, "path": f".github/workflows/{run.workflow_file}",
            "check_suite_id": run.id, "check_suite_node_id": f"CS_{run.id}",
            "url": f"{base}/actions/runs/{run.id}", "html_url": f"https://github.com/{self.repo}/actions/runs/{run.id}",
            "jobs_url": f"{base}/actions/runs/{run.id}/jobs", "logs_url": f"{base}/actions/runs/{run.id}/logs",
            "check_suite_url": f"{base}/check-suites/{run.id}", "artifacts_url": f"{base}/actions/runs/{run.id}/artifacts",
            "cancel_url": f"{base}/actions/runs/{run.id}/cancel", "rerun_url": f"{base}/actions/runs/{run.id}/rerun",
            "workflow_url": f"{base}/actions/workflows/{run.workflow_id}",
            "created_at": iso(run.created_at), "updated_at": iso(run.updated_at),
            "run_started_at": iso(run.started_at or run.created_at),
            "pull_requests": [], "head_commit": None, "repository": self.repo_json(), "head_repository": self.repo_json(),
        }  # fmt: skip

    def repo_json(self) -> dict[str, Any]:
        owner, name = self.repo.split("/")
        api, web = self.repo_url(), f"https://github.com/{self.repo}"
        user = f"{self.api_url}/users/{owner}"
        owner_json = {"login": owner, "id": 1, "node_id": "U_1", "type": "User", "site_admin": False,
                      "url": user, "html_url": f"https://github.com/{owner}", "avatar_url": "",
                      "gravatar_id": "", **{f"{k}_url": f"{user}/{k}" for k in (
                          "events", "followers", "following", "gists", "organizations",
                          "received_events", "repos", "starred", "subscriptions")}}  # fmt: skip
        links = ["archive", "assignees", "blobs", "branches", "collaborators", "comments", "commits", "compare", "contents", "contributors", "deployments", "downloads", "events", "forks", "git_commits", "git_refs", "git_tags", "hooks", "issue_comment", "issue_events", "issues", "keys", "labels", "languages", "merges", "milestones", "notifications", "pulls", "releases", "stargazers", "statuses", "subscribers", "subscription", "tags", "teams", "trees"]  # fmt: skip
        return {"id": 1, "node_id": "R_1", "name": name, "full_name": self.repo, "private": True,
                "owner": owner_json, "url": api, "html_url": web, "description": None, "fork": False,
                **{f"{k}_url": f"{api}/{k.replace('_', '/')}" for k in links}}  # fmt: skip

    def jobs_json(self, run: Run) -> dict[str, Any]:
        base = self.repo_url()
        status = run.status
        job = {
            "id": run.id * 10, "run_id": run.id, "run_url": f"{base}/actions/runs/{run.id}", "node_id": f"J_{run.id}",
            "head_sha": "0" * 40, "url": f"{base}/actions/jobs/{run.id * 10}",
            "html_url": f"https://github.com/{self.repo}/actions/runs/{run.id}/job/{run.id * 10}",
            "status": status, "conclusion": run.conclusion, "created_at": iso(run.created_at),
            "started_at": iso(run.started_at or run.created_at), "completed_at": iso(run.updated_at) if status == "completed" else None,
            "name": f"{run.inputs and 'transcribe'} / run", "check_run_url": f"{base}/check-runs/{run.id * 10}",
            "labels": run.labels, "runner_id": None, "runner_name": run.runner, "runner_group_id": None,
            "runner_group_name": None, "workflow_name": run.name, "head_branch": "main",
            "steps": [
                {"name": s.name, "status": s.status, "conclusion": s.conclusion, "number": s.number,
                 "started_at": iso(s.started_at), "completed_at": iso(s.completed_at)}
                for s in run.steps
            ],
        }  # fmt: skip
        return {"total_count": 1, "jobs": [job]}

    def artifacts_json(self, run: Run) -> dict[str, Any]:
        if run.artifact_id is None:
            return {"total_count": 0, "artifacts": []}
        base = self.repo_url()
        name = f"relayq-{run.inputs.get('request_id', '')}"
        artifact = {
            "id": run.artifact_id, "node_id": f"A_{run.artifact_id}", "name": name,
            "size_in_bytes": len(self.artifact_zip(run)), "url": f"{base}/actions/artifacts/{run.artifact_id}",
            "archive_download_url": f"{base}/actions/artifacts/{run.artifact_id}/zip",
            "expired": run.artifact_expired, "created_at": iso(run.updated_at), "updated_at": iso(run.updated_at),
            "expires_at": iso(run.updated_at + 3 * 86400), "digest": None,
            "workflow_run": {"id": run.id, "repository_id": 1, "head_repository_id": 1, "head_branch": "main", "head_sha": "0" * 40},
        }  # fmt: skip
        return {"total_count": 1, "artifacts": [artifact]}

    def runners_json(self) -> dict[str, Any]:
        with self.model.lock:
            runners = [
                {"id": r.id, "name": r.name, "os": r.os, "status": "online" if r.online else "offline",
                 "busy": r.busy, "ephemeral": False,
                 "labels": [{"id": i + 1, "name": lb, "type": "read-only" if lb == "self-hosted" else "custom"}
                            for i, lb in enumerate(r.labels)]}
                for r in self.model.runners.values()
            ]  # fmt: skip
        return {"total_count": len(runners), "runners": runners}


class _ApiHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Any

    def log_message(self, format: str, *args: object) -> None:
        pass

    @property
    def gh(self) -> GitHubEmulator:
        return self.server.emulator  # type: ignore[no-any-return]

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def _handle(self, method: str) -> None:
        path = urlsplit(self.path).path
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        fault = self._take_fault(method, path)
        if fault is not None and fault.delay_s:
            time.sleep(fault.delay_s)
        if fault is not None and fault.drop:
            self.close_connection = True
            self.connection.shutdown(2)
            return
        if fault is not None and not fault.apply_first:
            self._send(
                fault.status, fault.body or {"message": "emulated failure"}, extra=fault.headers
            )
            return
        if not (self.headers.get("Authorization") or "").lower().startswith(("token ", "bearer ")):
            self._send(401, {"message": "Requires authentication"})
            return
        status, body, extra = self._route(method, path, raw)
        if fault is not None:  # the work is done; the answer is lost
            status, body, extra = (
                fault.status,
                fault.body or {"message": "Bad gateway"},
                fault.headers,
            )
        self._send(status, body, extra=extra)

    def _take_fault(self, method: str, path: str) -> Fault | None:
        with self.gh.model.lock:
            for fault in self.gh.faults:
                if fault.method == method and re.search(fault.pattern, path) and fault.times > 0:
                    fault.times -= 1
                    return fault
        return None

    def _route(self, method: str, path: str, raw: bytes) -> tuple[int, Any, dict[str, str]]:
        gh = self.gh
        prefix = f"/repos/{gh.repo}"
        query = parse_qs(urlsplit(self.path).query)
        if method == "GET" and path == "/rate_limit":
            core = {"limit": RATE_LIMIT, "remaining": gh.remaining, "reset": int(time.time()) + 3600,
                    "used": RATE_LIMIT - gh.remaining, "resource": "core"}  # fmt: skip
            search = {
                "limit": 30,
                "remaining": 30,
                "reset": core["reset"],
                "used": 0,
                "resource": "search",
            }
            return 200, {"resources": {"core": core, "search": search}, "rate": core}, {}
        if not path.startswith(prefix):
            return 404, {"message": "Not Found"}, {}
        rest = path[len(prefix) :]
        if method == "GET" and rest == "":
            return 200, gh.repo_json(), {}
        if m := re.fullmatch(r"/actions/workflows/([\w.-]+)/dispatches", rest):
            return self._dispatch(m.group(1), raw)
        if method == "GET" and (m := re.fullmatch(r"/actions/workflows/([\w.-]+)", rest)):
            file = m.group(1)
            wid = gh.model.workflow_id(file)
            return 200, {"id": wid, "node_id": f"W_{wid}", "name": file, "path": f".github/workflows/{file}",
                         "state": "active", "created_at": iso(0), "updated_at": iso(0),
                         "url": f"{gh.repo_url()}/actions/workflows/{wid}",
                         "html_url": f"https://github.com/{gh.repo}/actions/workflows/{file}",
                         "badge_url": ""}, {}  # fmt: skip
        if method == "GET" and (m := re.fullmatch(r"/actions(?:/workflows/([\w.-]+))?/runs", rest)):
            listed_before = gh.clock.now() - gh.listing_lag_s
            runs = [
                r
                for r in gh.runs()
                if m.group(1) in (None, r.workflow_file, str(r.workflow_id))
                and r.created_at <= listed_before
            ]
            # `created=>=YYYY-MM-DDTHH:MM:SSZ`, the one date filter relayq uses.
            if (created := query.get("created", [""])[0]).startswith(">="):
                runs = [r for r in runs if iso(r.created_at) >= created[2:]]  # type: ignore[operator]
            runs.sort(key=lambda r: -r.id)
            per_page = int(query.get("per_page", ["30"])[0])
            page = [gh.run_json(r) for r in runs[:per_page]]
            return 200, {"total_count": len(runs), "workflow_runs": page}, {}
        if m := re.fullmatch(r"/actions/runs/(\d+)(/jobs|/artifacts|/cancel)?", rest):
            run = gh.model.runs.get(int(m.group(1)))
            if run is None:
                return 404, {"message": "Not Found"}, {}
            part = m.group(2)
            if method == "POST" and part == "/cancel":
                return (
                    (202, {}, {})
                    if gh.cancel(run)
                    else (409, {"message": "Cannot cancel a workflow run that is completed."}, {})
                )
            with gh.model.lock:
                if part is None:
                    return 200, gh.run_json(run), {}
                if part == "/jobs":
                    return 200, gh.jobs_json(run), {}
                return 200, gh.artifacts_json(run), {}
        if method == "DELETE" and (m := re.fullmatch(r"/actions/artifacts/(\d+)", rest)):
            return self._delete_artifact(int(m.group(1)))
        if method == "GET" and (m := re.fullmatch(r"/actions/artifacts/(\d+)/zip", rest)):
            run = next((r for r in gh.runs() if r.artifact_id == int(m.group(1))), None)
            if run is None:
                return 404, {"message": "Not Found"}, {}
            if run.artifact_expired:
                return 410, {"message": "Artifact has expired"}, {}
            return 302, None, {"Location": f"{gh.storage_url}/blob/{run.artifact_id}?sig=emulated"}
        if method == "GET" and rest == "/actions/runners":
            return 200, gh.runners_json(), {}
        if m := re.fullmatch(r"/check-runs/(\d+)", rest):
            return self._check_run(method, int(m.group(1)), raw)
        return 404, {"message": "Not Found"}, {}

    def _delete_artifact(self, artifact_id: int) -> tuple[int, Any, dict[str, str]]:
        """DELETE an artifact (actions/delete-artifact): 204 and gone from the run's listing,
        its download and its files; 404 for one that is not (or no longer) there."""
        gh = self.gh
        with gh.model.lock:
            run = next((r for r in gh.model.runs.values() if r.artifact_id == artifact_id), None)
            if run is None:
                return 404, {"message": "Not Found"}, {}
            run.artifact_id = None
            gh.deleted_artifacts.append(artifact_id)
            if run.artifact_dir is not None:
                shutil.rmtree(run.artifact_dir, ignore_errors=True)
        return 204, None, {}

    def _check_run(
        self, method: str, check_run_id: int, raw: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        gh = self.gh
        with gh.model.lock:
            run = next((r for r in gh.model.runs.values() if r.check_run_id == check_run_id), None)
            if run is None or method not in ("GET", "PATCH"):
                return 404, {"message": "Not Found"}, {}
            if method == "PATCH":
                status, refusal = checks.update(run, raw, self.headers.get("Authorization"),
                                                checks=checks.granted(run.workflow_file))  # fmt: skip
                if status != 200:
                    return status, refusal, {}
            return 200, checks.check_run_json(gh.repo_url(), gh.repo, run), {}

    def _dispatch(self, file: str, raw: bytes) -> tuple[int, Any, dict[str, str]]:
        gh = self.gh
        try:
            body = json.loads(raw or b"{}")
            workflow_meta(file)
        except (ValueError, OSError):
            return 404, {"message": "Not Found"}, {}
        permitted = {"ref", "inputs"} | (
            set() if gh.refuses_run_details else {"return_run_details"}
        )
        if unknown := [key for key in body if key not in permitted]:
            # GitHub's validation answer: a multi-line message (GHES, older API versions).
            return 422, _invalid(f'Invalid request.\n\n"{unknown[0]}" is not a permitted key.'), {}
        inputs = {k: str(v) for k, v in (body.get("inputs") or {}).items()}
        declared = gh.declared_inputs.get(file) or workflow_inputs(file)
        if unexpected := sorted(set(inputs) - declared):
            return 422, _invalid(f"Unexpected inputs provided: {json.dumps(unexpected)}"), {}
        run = gh.dispatch(file, inputs)
        if body.get("return_run_details"):
            return 200, {"workflow_run_id": run.id, "run_url": f"{gh.repo_url()}/actions/runs/{run.id}",
                         "html_url": f"https://github.com/{gh.repo}/actions/runs/{run.id}"}, {}  # fmt: skip
        return 204, None, {}

    def _send(self, status: int, body: Any, *, extra: dict[str, str] | None = None) -> None:
        gh = self.gh
        data = b"" if body is None or status in (204, 304) else json.dumps(body).encode()
        etag = f'W/"{hashlib.sha256(data).hexdigest()[:40]}"' if data else None
        if status == 200 and etag and self.headers.get("If-None-Match") == etag:
            status, data = 304, b""
        counted = status != 304 and urlsplit(self.path).path != "/rate_limit"
        with gh.model.lock:
            if counted:
                gh.remaining = max(0, gh.remaining - 1)
            gh.hits.append(
                Hit(
                    self.command,
                    urlsplit(self.path).path,
                    status,
                    counted,
                    self.headers.get("Authorization"),
                )
            )
            remaining = gh.remaining
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Content-Length": str(len(data)),
            "X-RateLimit-Limit": str(RATE_LIMIT),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Used": str(RATE_LIMIT - remaining),
            "X-RateLimit-Reset": str(int(time.time()) + 3600),
            "X-RateLimit-Resource": "core",
        }
        if etag and status in (200, 304):
            headers["ETag"] = etag
        headers.update(extra or {})  # a fault's headers replace the usual ones
        try:
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client is gone (killed): GitHub does not mind


class _StorageHandler(BaseHTTPRequestHandler):
    """Where artifact downloads are redirected: a different host that must not see the token."""

    server: Any

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        gh: GitHubEmulator = self.server.emulator
        path = urlsplit(self.path).path
        m = re.fullmatch(r"/blob/(\d+)", path)
        run = next((r for r in gh.runs() if m and r.artifact_id == int(m.group(1))), None)
        gh.storage_hits.append(
            Hit("GET", path, 200 if run else 404, False, self.headers.get("Authorization"))
        )
        data = gh.artifact_zip(run) if run else b"not found"
        self.send_response(200 if run else 404)
        self.send_header("Content-Type", "application/zip")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


Callback = Callable[[], None]
