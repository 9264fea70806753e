"""Settings: names fixed by the design, env files in their order, one sentence on bad values."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import Settings, load_settings
from jobs.errors import ConfigError


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in (
        "GITHUB_TOKEN", "RELAYQ_GITHUB_REPO", "RELAYQ_EXECUTOR", "RELAYQ_MAX_DOWNLOAD_MB",
        "RELAYQ_ALLOWED_USERS", "RELAYQ_STATE_DIR", "RELAYQ_CACHE_DIR", "TELEGRAM_BOT_TOKEN",
    ):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "local"),
        ({"GITHUB_TOKEN": "ghp_x"}, "local"),
        ({"GITHUB_TOKEN": "ghp_x", "RELAYQ_GITHUB_REPO": "me/relayq"}, "github"),
        (
            {
                "GITHUB_TOKEN": "ghp_x",
                "RELAYQ_GITHUB_REPO": "me/relayq",
                "RELAYQ_EXECUTOR": "local",
            },
            "local",
        ),
    ],
)
def test_the_executor_is_local_unless_github_is_fully_configured(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert Settings(_env_file=None).resolved_executor == expected


def test_environment_beats_user_file_which_beats_system_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    system = tmp_path / "etc.env"
    user = tmp_path / "user.env"
    system.write_text("RELAYQ_MAX_DOWNLOAD_MB=10\nRELAYQ_ALLOWED_USERS=1\nRELAYQ_GITHUB_REF=sys\n")
    user.write_text("RELAYQ_MAX_DOWNLOAD_MB=20\nRELAYQ_ALLOWED_USERS=2\n")
    monkeypatch.setenv("RELAYQ_MAX_DOWNLOAD_MB", "30")
    settings = Settings(_env_file=(system, user))
    assert settings.max_download_mb == 30
    assert settings.allowed_user_ids == frozenset({2})
    assert settings.github_ref == "sys"


def test_secrets_do_not_show_in_the_settings_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456:canary-token")
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_canary")
    text = repr(Settings(_env_file=None))
    assert "canary" not in text


def test_a_bad_value_is_one_sentence_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RELAYQ_MAX_DOWNLOAD_MB", "lots")
    with pytest.raises(
        ConfigError, match=r"^setting RELAYQ_MAX_DOWNLOAD_MB is invalid: .*; fix it"
    ):
        load_settings(_env_file=None)


def test_the_cache_lives_in_the_state_dir_unless_set(tmp_path: Path) -> None:
    assert (
        Settings(_env_file=None, RELAYQ_STATE_DIR=tmp_path).resolved_cache_dir == tmp_path / "cache"
    )


@pytest.mark.parametrize(
    ("allowed", "alert", "expected"),
    [
        ("42,7", None, (42,)),  # the owner: the first allowed user
        ("42,7", "7, 9", (7, 9)),
        ("42,7", "none", ()),
        ("", None, ()),
    ],
)
def test_runner_alerts_go_to_the_owner_unless_told_otherwise(
    allowed: str, alert: str | None, expected: tuple[int, ...]
) -> None:
    extra = {} if alert is None else {"RELAYQ_ALERT_USERS": alert}
    settings = Settings(_env_file=None, RELAYQ_ALLOWED_USERS=allowed, **extra)  # type: ignore[call-arg]
    assert settings.alert_user_ids == expected


def test_user_ids_that_are_not_numbers_are_refused_at_load(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RELAYQ_ALLOWED_USERS", "42,@alice")
    with pytest.raises(ConfigError, match="RELAYQ_ALLOWED_USERS"):
        load_settings()
