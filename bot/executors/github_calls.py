"""The GitHub executor's calls: PyGithub set up without its retries, relayq's own retries for
reads (honouring GitHub's rate-limit answers), and the sentence for each refusal.

A POST is never retried here: whether to send a dispatch again is the dispatcher's decision
(github_dispatch.py), made after looking for the run the first one may have made.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import requests
from github import Auth, Github, GithubException
from github.Artifact import Artifact
from github.CheckRun import CheckRun
from github.PaginatedList import PaginatedList
from github.Repository import Repository
from github.Workflow import Workflow
from github.WorkflowRun import WorkflowRun

from bot.executors.base import Unavailable
from jobs.errors import ConfigError, RelayqError

__all__ = ["GitHubCalls", "GitHubUnavailable", "Pacing", "passing", "read_refused"]

T = TypeVar("T")


class GitHubUnavailable(Unavailable):
    pass


@dataclass(frozen=True)
class Pacing:
    """How often to ask GitHub. Defaults keep a 10-minute job within 25 counted requests, its
    progress included (bench/github_budget.py)."""

    first_poll_s: float = 2.0
    max_poll_s: float = 30.0
    max_poll_running_s: float = 4.0
    growth: float = 1.6
    runners_every_s: float = 120.0
    retries: int = 6
    retry_base_s: float = 1.0
    secondary_limit_s: float = 60.0
    # How long a run made by a dispatch whose answer was lost may take to appear in GitHub's
    # listings; no dispatch is sent again for the job before a look after that shows none.
    find_run_s: float = 60.0
    # After a read of a running job's check run that found new progress, the next one waits
    # this long (one that finds nothing new is a free 304, and the next poll asks again).
    progress_every_s: float = 90.0
    # All the running jobs' progress reads together, at most (so that 50 jobs at once stay
    # within the budget): with many jobs running, each one's progress is read less often.
    progress_reads_per_hour: float = 300.0


class GitHubCalls:
    """One PyGithub client for the executor, and the calls made through it."""

    def __init__(self, *, token: str, repo: str, api_url: str, pacing: Pacing,
                 timeout_s: float) -> None:  # fmt: skip
        self.token = token
        self.pacing = pacing
        self.repo_url = f"{api_url.rstrip('/')}/repos/{repo}"
        # retry=None: a failed POST must never be re-sent behind our back (it would start a
        # second run); reads are retried here, where rate limits are honoured explicitly.
        self.gh = Github(auth=Auth.Token(token), base_url=api_url.rstrip("/"), retry=None,
                         timeout=int(timeout_s), per_page=30)  # fmt: skip
        # A repository handle without a GET: every call names its own URL.
        self.repo = Repository(self.gh.requester, headers={}, completed=False,
                               attributes={"url": self.repo_url, "full_name": repo})  # fmt: skip

    def workflow(self, file: str) -> Workflow:
        url = f"{self.repo_url}/actions/workflows/{file}"
        return Workflow(self.gh.requester, headers={}, attributes={"url": url}, completed=False)

    def run(self, run_id: int) -> WorkflowRun:
        """A handle on a run; its first `update()` is what fetches it."""
        url = f"{self.repo_url}/actions/runs/{run_id}"
        return WorkflowRun(self.gh.requester, headers={}, completed=False,
                           attributes={"id": run_id, "url": url})  # fmt: skip

    def run_artifacts(self, run_id: int) -> list[Artifact]:
        """Run `run_id`'s artifacts, listed without fetching the run first."""
        url = f"{self.repo_url}/actions/runs/{run_id}/artifacts"
        return self.read(lambda: list(PaginatedList(Artifact, self.gh.requester, url, None,
                                                    list_item="artifacts")))  # fmt: skip

    def check_run(self, url: str) -> CheckRun:
        """A handle on a job's check run (`check_run_url`); its first `update()` fetches it."""
        return CheckRun(self.gh.requester, headers={}, attributes={"url": url}, completed=False)

    def read(self, call: Callable[[], T]) -> T:
        """A read call with retries that honour GitHub's rate-limit answers."""
        for attempt in range(self.pacing.retries):
            try:
                return call()
            except GithubException as exc:
                if not passing(exc):
                    raise read_refused(exc) from None
                self.sleep_for(exc, attempt)
            except (requests.ConnectionError, requests.Timeout):
                self.back_off(attempt)
        raise GitHubUnavailable(
            f"GitHub did not answer after {self.pacing.retries} tries; the job is kept and "
            "will be checked again"
        )

    def sleep_for(self, exc: GithubException, attempt: int) -> None:
        headers = {k.lower(): v for k, v in (exc.headers or {}).items()}
        if "retry-after" in headers:
            time.sleep(float(headers["retry-after"]))
        elif headers.get("x-ratelimit-remaining") == "0" and "x-ratelimit-reset" in headers:
            time.sleep(max(0.0, float(headers["x-ratelimit-reset"]) - time.time()) + 1)
        elif exc.status in (403, 429):  # a secondary limit without a hint: at least a minute
            time.sleep(self.pacing.secondary_limit_s * 2**attempt)
        else:
            self.back_off(attempt)

    def back_off(self, attempt: int) -> None:
        time.sleep(self.pacing.retry_base_s * 2**attempt)

    def close(self) -> None:
        self.gh.close()


def message(exc: GithubException, limit: int = 300) -> str:
    """What GitHub said, in one line: its `message` and its `errors` list, which may both run
    over several lines ("Invalid request.\n\n\"x\" is not a permitted key.")."""
    data = exc.data
    if not isinstance(data, dict):
        return ""
    errors = data.get("errors")
    details = [_error_text(e) for e in (errors if isinstance(errors, list) else [])]
    text = str(data.get("message") or "")
    if details:
        text = f"{text} {'; '.join(details)}" if text else "; ".join(details)
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _error_text(error: object) -> str:
    """One item of GitHub's `errors`: a string, or an object with a message or a code."""
    if not isinstance(error, dict):
        return str(error)
    return str(error.get("message") or " ".join(
        str(error[k]) for k in ("resource", "field", "code") if k in error))  # fmt: skip


def passing(exc: GithubException) -> bool:
    """A server error or a rate limit: asking again later helps. A 403 is a rate limit only
    when GitHub says so (a header or its message); otherwise it is a permission refused, which
    waiting never mends."""
    if exc.status >= 500 or exc.status == 429:
        return True
    if exc.status != 403:
        return False
    headers = {k.lower(): v for k, v in (exc.headers or {}).items()}
    limited = "retry-after" in headers or headers.get("x-ratelimit-remaining") == "0"
    return limited or "rate limit" in message(exc).lower()


def read_refused(exc: GithubException) -> RelayqError:
    """The sentence for a read GitHub refuses: what is wrong, what to change."""
    if exc.status == 401:
        return ConfigError("GitHub refused the token (HTTP 401); check GITHUB_TOKEN, it may "
                           "have expired or been revoked")  # fmt: skip
    if exc.status == 403:
        return ConfigError(
            f"GitHub did not let the token do this ({message(exc) or 'HTTP 403'}); give "
            "it the permissions in docs/SETUP_OCI_TRIGGER.md (Actions: read and write, "
            "Administration: read-only)"
        )
    if exc.status == 404:
        return ConfigError("GitHub does not show this token the repository or the run; check "
                           "RELAYQ_GITHUB_REPO and the token's repository access")  # fmt: skip
    return RelayqError(f"GitHub refused the request (HTTP {exc.status}: {message(exc)})")


def dispatch_refused(workflow: str, exc: GithubException) -> str:
    said = message(exc)
    if exc.status == 403:
        return (f"GitHub refused to start {workflow} ({said or 'HTTP 403'}); give the "
                "token Actions: read and write (docs/SETUP_OCI_TRIGGER.md)")  # fmt: skip
    if exc.status == 404:
        return (f"GitHub has no workflow {workflow} in this repository (or the token cannot see "
                "it); check RELAYQ_GITHUB_REPO and the token's Actions permission")  # fmt: skip
    if exc.status == 401:
        return "GitHub refused the token; check GITHUB_TOKEN"
    return f"GitHub refused to start {workflow} (HTTP {exc.status}: {said}); check the inputs"
