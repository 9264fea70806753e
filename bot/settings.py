"""The one settings class: env vars, then `~/.config/relayq/env`, then `/etc/relayq/env`.

Names are fixed by DESIGN.md; every one is documented in `jobs/env.example`. Tests construct
`Settings(...)` directly (pass `_env_file=None` to ignore the files on the machine).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from jobs.errors import ConfigError
from jobs.fetch.allow import NO_PRIVATE, AllowPrivate, parse_allow

__all__ = ["Settings", "default_env_files", "load_settings", "readable_env_files"]


def default_env_files() -> tuple[Path, ...]:
    """Env files in increasing priority (pydantic-settings lets later files win)."""
    return (Path("/etc/relayq/env"), Path("~/.config/relayq/env").expanduser())


def readable_env_files() -> tuple[Path, ...]:
    """The default env files this process may read. The service's /etc/relayq/env is root's,
    mode 0600, and systemd has already put its settings in the environment (EnvironmentFile=)
    before starting the bot as a user who must not open it: a file that cannot be read is
    not ours to read, and is skipped rather than crashing every start."""
    return tuple(path for path in default_env_files() if _readable(path))


def _readable(path: Path) -> bool:
    try:
        return path.is_file() and os.access(path, os.R_OK)
    except OSError:  # a folder on the way we may not enter
        return False


def _state_dir_default() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path("~/.local/state").expanduser())
    return Path(base) / "relayq"


def _alias(name: str) -> AliasChoices:
    return AliasChoices(name)


class Settings(BaseSettings):
    """Everything relayq reads from its environment, VM side and runner side."""

    model_config = SettingsConfigDict(
        env_file=default_env_files(),
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
    )

    # -- VM side ---------------------------------------------------------------------------
    telegram_bot_token: SecretStr | None = Field(
        None, validation_alias=_alias("TELEGRAM_BOT_TOKEN")
    )
    allowed_users: str = Field("", validation_alias=_alias("RELAYQ_ALLOWED_USERS"))
    # Who hears when a runner goes offline or comes back: user ids, or "none"; unset, the
    # first of RELAYQ_ALLOWED_USERS (the owner).
    alert_users: str | None = Field(None, validation_alias=_alias("RELAYQ_ALERT_USERS"))
    fleet_check_s: float = Field(60, ge=1, validation_alias=_alias("RELAYQ_FLEET_CHECK_S"))
    telegram_api_base: str = Field(
        "https://api.telegram.org", validation_alias=_alias("RELAYQ_TELEGRAM_API_BASE")
    )
    telegram_download_limit_mb: float = Field(
        20, gt=0, validation_alias=_alias("RELAYQ_TELEGRAM_DOWNLOAD_LIMIT_MB")
    )
    executor: Literal["local", "github"] | None = Field(
        None, validation_alias=_alias("RELAYQ_EXECUTOR")
    )
    github_token: SecretStr | None = Field(None, validation_alias=_alias("GITHUB_TOKEN"))
    github_repo: str | None = Field(None, validation_alias=_alias("RELAYQ_GITHUB_REPO"))
    github_api_url: str = Field(
        "https://api.github.com", validation_alias=_alias("RELAYQ_GITHUB_API_URL")
    )
    github_ref: str = Field("main", validation_alias=_alias("RELAYQ_GITHUB_REF"))
    policy: Path = Field(Path("policy/policy.yaml"), validation_alias=_alias("RELAYQ_POLICY"))
    # Jobs one user may have in flight at once; the rest wait in the bot's queue, in turn
    # with other users' (bot/queueing.py), so one person's 50 links do not hold every runner.
    user_max_active: int = Field(2, ge=1, le=100, validation_alias=_alias("RELAYQ_USER_MAX_ACTIVE"))
    state_dir: Path = Field(
        default_factory=_state_dir_default, validation_alias=_alias("RELAYQ_STATE_DIR")
    )
    # Days results are kept, on both sides (bot: job folders, unpacked artifacts, the cache;
    # runner: its transcript cache); 0 keeps them forever. docs/LIBRARY.md, D36.
    keep_days: int = Field(90, ge=0, le=36500, validation_alias=_alias("RELAYQ_KEEP_DAYS"))

    # -- runner side -----------------------------------------------------------------------
    backend: Literal["auto", "local", "openai", "openrouter"] = Field(
        "auto", validation_alias=_alias("RELAYQ_BACKEND")
    )
    backend_fallback: str | None = Field(None, validation_alias=_alias("RELAYQ_BACKEND_FALLBACK"))
    whisper_model: str | None = Field(None, validation_alias=_alias("RELAYQ_WHISPER_MODEL"))
    whisper_compute_type: str = Field(
        "int8", validation_alias=_alias("RELAYQ_WHISPER_COMPUTE_TYPE")
    )
    whisper_beam_size: int = Field(
        5, ge=1, le=10, validation_alias=_alias("RELAYQ_WHISPER_BEAM_SIZE")
    )
    whisper_batch_size: int = Field(
        8, ge=1, le=64, validation_alias=_alias("RELAYQ_WHISPER_BATCH_SIZE")
    )
    whisper_threads: int = Field(0, ge=0, le=256, validation_alias=_alias("RELAYQ_WHISPER_THREADS"))
    # A progress record at most every this many seconds (and 5 % of a phase): jobs/progress.py.
    progress_every_s: float = Field(
        15, ge=0, le=3600, validation_alias=_alias("RELAYQ_PROGRESS_EVERY_S")
    )
    max_download_mb: float = Field(500, gt=0, validation_alias=_alias("RELAYQ_MAX_DOWNLOAD_MB"))
    download_timeout_s: float = Field(
        600, gt=0, validation_alias=_alias("RELAYQ_DOWNLOAD_TIMEOUT_S")
    )
    # NoDecode: a list of networks is our own syntax, not JSON for pydantic-settings to parse.
    allow_private_urls: Annotated[AllowPrivate, NoDecode] = Field(
        NO_PRIVATE, validation_alias=_alias("RELAYQ_ALLOW_PRIVATE_URLS")
    )
    ytdlp_cookies: Path | None = Field(None, validation_alias=_alias("RELAYQ_YTDLP_COOKIES"))
    cache_dir: Path | None = Field(None, validation_alias=_alias("RELAYQ_CACHE_DIR"))
    # A copy of each job's results goes there (jobs/nas.py); a missing folder: not mounted.
    nas_dir: Path | None = Field(None, validation_alias=_alias("RELAYQ_NAS_DIR"))
    models_dir: Path | None = Field(None, validation_alias=_alias("RELAYQ_MODELS_DIR"))
    openai_api_key: SecretStr | None = Field(None, validation_alias=_alias("OPENAI_API_KEY"))
    openai_base_url: str | None = Field(None, validation_alias=_alias("OPENAI_BASE_URL"))
    openai_model: str | None = Field(None, validation_alias=_alias("RELAYQ_OPENAI_MODEL"))
    openrouter_api_key: SecretStr | None = Field(
        None, validation_alias=_alias("OPENROUTER_API_KEY")
    )
    openrouter_model: str | None = Field(None, validation_alias=_alias("RELAYQ_OPENROUTER_MODEL"))
    openrouter_base_url: str = Field(
        "https://openrouter.ai/api/v1", validation_alias=_alias("RELAYQ_OPENROUTER_BASE_URL")
    )
    openrouter_endpoint: Literal["transcriptions", "chat"] = Field(
        "transcriptions", validation_alias=_alias("RELAYQ_OPENROUTER_ENDPOINT")
    )
    remote_chunk_s: float = Field(
        30, ge=5, le=1500, validation_alias=_alias("RELAYQ_REMOTE_CHUNK_S")
    )
    remote_concurrency: int = Field(
        4, ge=1, le=32, validation_alias=_alias("RELAYQ_REMOTE_CONCURRENCY")
    )
    remote_max_mb: float = Field(24, gt=0.1, le=25, validation_alias=_alias("RELAYQ_REMOTE_MAX_MB"))
    summary_model: str | None = Field(None, validation_alias=_alias("RELAYQ_SUMMARY_MODEL"))
    # Read by jobs/runner_venv.sh on a runner (also settable as repository variables).
    venv: Path | None = Field(None, validation_alias=_alias("RELAYQ_VENV"))
    venv_update: Literal["auto", "never"] = Field(
        "auto", validation_alias=_alias("RELAYQ_VENV_UPDATE")
    )

    @field_validator("allowed_users", "alert_users")
    @classmethod
    def _user_ids(cls, value: str | None) -> str | None:
        if value is None or value.strip().lower() == "none":
            return value
        if not all(part.strip().isdigit() for part in value.split(",") if part.strip()):
            raise ValueError("must be Telegram user ids (numbers) separated by commas")
        return value

    @field_validator("allow_private_urls", mode="before")
    @classmethod
    def _allow_list(cls, value: object) -> AllowPrivate:
        if not isinstance(value, str | bool | AllowPrivate | None):
            raise PydanticCustomError("allow_list", "must be 1, or addresses and networks")
        try:
            return parse_allow(value)
        except ValueError as err:
            # Our sentence as it is, without pydantic's "Value error, " in front.
            raise PydanticCustomError("allow_list", str(err)) from None

    @field_validator("backend_fallback")
    @classmethod
    def _backend_list(cls, value: str | None) -> str | None:
        if value is None:
            return value
        names = [part.strip() for part in value.split(",") if part.strip()]
        wrong = [n for n in names if n not in ("local", "openai", "openrouter")]
        if wrong:
            raise ValueError(
                f"names {wrong[0]!r}; list backends from local, openai and openrouter, "
                "comma-separated"
            )
        return ",".join(names)

    @field_validator("nas_dir", mode="before")
    @classmethod
    def _unset_when_empty(cls, value: object) -> object:
        """`RELAYQ_NAS_DIR=` (as env.example has it) is no NAS, not the working folder."""
        if isinstance(value, str):
            return Path(value.strip()).expanduser() if value.strip() else None
        return value

    @field_validator("github_repo")
    @classmethod
    def _owner_slash_name(cls, value: str | None) -> str | None:
        if value is not None and (value.count("/") != 1 or not all(value.split("/"))):
            raise ValueError("must look like owner/name")
        return value

    @property
    def fallback_backends(self) -> tuple[str, ...]:
        return tuple(n for n in (self.backend_fallback or "").split(",") if n)

    @property
    def allowed_user_ids(self) -> frozenset[int]:
        return frozenset(_ids(self.allowed_users))

    @property
    def owner_id(self) -> int | None:
        """The owner: the first of RELAYQ_ALLOWED_USERS."""
        ids = _ids(self.allowed_users)
        return ids[0] if ids else None

    @property
    def alert_user_ids(self) -> tuple[int, ...]:
        if self.alert_users is None:
            return _ids(self.allowed_users)[:1]
        return () if self.alert_users.strip().lower() == "none" else _ids(self.alert_users)

    @property
    def resolved_executor(self) -> Literal["local", "github"]:
        """`local` unless asked for, or unless the GitHub settings are all present."""
        if self.executor is not None:
            return self.executor
        if self.github_token is not None and self.github_repo:
            return "github"
        return "local"

    @property
    def resolved_cache_dir(self) -> Path:
        return self.cache_dir if self.cache_dir is not None else self.state_dir / "cache"

    @property
    def resolved_models_dir(self) -> Path:
        """Where the bundled multilingual model is unpacked (jobs/models.py)."""
        from jobs.models import default_models_dir

        return (
            self.models_dir if self.models_dir is not None else default_models_dir(self.state_dir)
        )


def load_settings(**overrides: object) -> Settings:
    """Read the settings once, turning a validation error into one clear ConfigError."""
    overrides.setdefault("_env_file", readable_env_files())
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = first.get("loc") or ("?",)
        name = str(loc[0])
        said = str(first.get("msg", "bad value")).removeprefix("Value error, ")
        files = overrides.get("_env_file") or ()
        read = [str(f) for f in (files if isinstance(files, tuple | list) else (files,))]
        # The service's settings reach it through systemd's EnvironmentFile=, /etc/relayq/env.
        here = "the environment (the service's is /etc/relayq/env)"
        where = here if name in os.environ or not read else " or ".join(read)
        raise ConfigError(f"setting {name} is invalid: {said}; fix it in {where}") from None


def _ids(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(",") if part.strip())
