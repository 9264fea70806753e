"""Route a job and hand it to the configured executor: the service behind `relayq dispatch`
and `relayq demo` (and, later, the Telegram bot).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bot.executors.base import Executor
from bot.executors.local import LocalExecutor

if TYPE_CHECKING:
    from bot.executors.github import GitHubActionsExecutor
from bot.settings import Settings
from jobs.errors import ConfigError, SourceUnreachable, UsageError

__all__ = [
    "Source",
    "build_executor",
    "local_jobs_dir",
    "new_job_id",
    "resolve_policy_path",
]


def new_job_id() -> str:
    """Sortable and unguessable: `20261124-093012-3f9a1c`."""
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + secrets.token_hex(3)


def resolve_policy_path(settings: Settings) -> Path:
    """`RELAYQ_POLICY` as given; the relative default falls back to the repository's copy."""
    path = settings.policy
    if path.is_absolute() or path.exists():
        return path
    repo_copy = Path(__file__).resolve().parents[1] / path
    return repo_copy if repo_copy.exists() else path


def local_jobs_dir(settings: Settings) -> Path:
    return settings.state_dir / "local-jobs"


def github_results_dir(settings: Settings) -> Path:
    """Where the GitHub executor unpacks (and keeps) each run's results, by run id."""
    return settings.state_dir / "github-results"


def build_executor(settings: Settings, *, quick: bool = False) -> Executor:
    """The executor the settings ask for (`local` unless GitHub is configured); `quick`, see
    `build_github_executor`."""
    if settings.resolved_executor == "github":
        return build_github_executor(settings, quick=quick)
    return LocalExecutor(local_jobs_dir(settings))


def build_github_executor(settings: Settings, *, quick: bool = False) -> GitHubActionsExecutor:
    """`quick`: for a command that answers a person (`relayq route`, `status`): few tries with
    short timeouts, so the process ends within seconds whatever GitHub does."""
    if settings.github_token is None:
        raise ConfigError("RELAYQ_EXECUTOR=github needs GITHUB_TOKEN; set it in /etc/relayq/env")
    if not settings.github_repo:
        raise ConfigError(
            "RELAYQ_EXECUTOR=github needs RELAYQ_GITHUB_REPO (owner/name of the repository "
            "with the workflows)"
        )
    try:
        from bot.executors.github import GitHubActionsExecutor, Pacing
    except ImportError:
        raise ConfigError("the GitHub executor needs PyGithub: install relayq[bot]") from None
    return GitHubActionsExecutor(
        token=settings.github_token.get_secret_value(),
        repo=settings.github_repo,
        api_url=settings.github_api_url,
        ref=settings.github_ref,
        work_dir=github_results_dir(settings),
        pacing=Pacing(retries=2, retry_base_s=1.0, secondary_limit_s=2.0) if quick else None,
        timeout_s=4.0 if quick else 30.0,
    )


@dataclass(frozen=True)
class Source:
    """What the user asked to transcribe: a URL, or a file on this machine."""

    value: str
    size_mb: float | None

    @classmethod
    def from_args(cls, url: str | None, file: Path | None) -> Source:
        if url is not None:
            if not url.lower().startswith(("http://", "https://")):
                raise UsageError(
                    f"--url takes an http(s) link, not {url[:80]!r}; use --file for a file"
                )
            return cls(url, None)
        if file is None:
            raise UsageError("give the audio as --url URL or --file PATH")
        path = file.expanduser().resolve()
        if not path.is_file():
            raise SourceUnreachable(f"no such file: {file}; check the path")
        return cls(str(path), path.stat().st_size / 1_000_000)
