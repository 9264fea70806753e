"""Settings: names fixed by the design, env files in their order, one sentence on bad values."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.settings import Settings, load_settings
from jobs.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


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


def test_a_bad_value_names_the_file_it_came_from_in_plain_words(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RELAYQ_ALLOWED_USERS", raising=False)
    env = tmp_path / "env"
    env.write_text("RELAYQ_ALLOWED_USERS=alice\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(_env_file=(env,))
    assert str(caught.value) == (
        "setting RELAYQ_ALLOWED_USERS is invalid: must be Telegram user ids (numbers) separated "
        f"by commas; fix it in {env}"
    )  # not pydantic's "Value error, ", nor a file it was not in
    monkeypatch.setenv("RELAYQ_ALLOWED_USERS", "bob")
    with pytest.raises(
        ConfigError, match=r"; fix it in the environment \(the service's is /etc/relayq/env\)$"
    ):
        load_settings(_env_file=(env,))


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


def test_a_system_env_file_the_service_may_not_read_is_skipped_not_a_crash(
    tmp_path: Path,
) -> None:
    """Under systemd /etc/relayq/env is root's (0600, in a 0750 folder): systemd has already
    put its settings in the environment, and the bot, started as a throwaway user, cannot
    open it. Here the reader is root without its capabilities (setpriv), so a locked folder
    stops it exactly as it stops that user."""
    locked = tmp_path / "etc-relayq"
    locked.mkdir()
    (locked / "env").write_text("RELAYQ_GITHUB_REF=from-the-locked-file\n")
    user = tmp_path / "user.env"
    user.write_text("RELAYQ_MAX_DOWNLOAD_MB=7\n")
    locked.chmod(0)
    program = (
        "from pathlib import Path\n"
        "import bot.settings as s\n"
        f"s.default_env_files = lambda: (Path({str(locked / 'env')!r}), Path({str(user)!r}))\n"
        "got = s.load_settings()\n"
        "print(got.telegram_bot_token.get_secret_value(), got.max_download_mb, got.github_ref)\n"
    )
    drop = ["setpriv", "--bounding-set=-all", "--inh-caps=-all"] if os.geteuid() == 0 else []
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "TELEGRAM_BOT_TOKEN": "1:from-systemd",
    }
    try:
        done = subprocess.run(
            [*drop, sys.executable, "-c", program], env=env, capture_output=True, text=True,
            cwd=ROOT, timeout=60,
        )  # fmt: skip
    finally:
        locked.chmod(0o750)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["1:from-systemd", "7.0", "main"]
