"""Files sent to the bot, fetched on the runner by `tg:<file_id>` with the bot token it holds."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from jobs.errors import ConfigError, RelayqError, SourceUnreachable, UsageError
from jobs.fetch import ALL_PRIVATE
from jobs.quality import wer
from jobs.telegram_file import _file_path, fetch_upload
from tests.emulators.telegram import BotApiEmulator
from tests.jobs.test_transcribe import ENTRY, assert_no_temp_left, assert_one_error_line, env

TOKEN = "424242:CANARY-runner-token-never-printed"
__all__ = ["env"]  # the fixture, shared with the transcription tests


@pytest.fixture
def tg() -> Iterator[BotApiEmulator]:
    with BotApiEmulator(TOKEN) as emulator:
        yield emulator


def upload(tg: BotApiEmulator, data: bytes) -> str:
    tg.user_uploads(1, data)
    return f"tg:{sorted(tg.files)[-1]}"


def fetch_it(tg: BotApiEmulator, source: str, dest: Path, *, token: str | None = TOKEN) -> Path:
    result = fetch_upload(
        source, dest, token=token, api_base=tg.base, max_bytes=50_000_000, timeout_s=30,
        allow=ALL_PRIVATE,
    )  # fmt: skip
    return result.path


def test_an_upload_is_fetched_by_its_file_id(tg: BotApiEmulator, tmp_path: Path) -> None:
    source = upload(tg, b"OggS and the rest")
    path = fetch_it(tg, source, tmp_path / "d")
    assert path.read_bytes() == b"OggS and the rest"
    assert sorted(p.name for p in (tmp_path / "d").iterdir()) == [path.name]  # no getFile left


@pytest.mark.parametrize(
    ("source", "token", "expected_error", "says"),
    [
        ("tg:F999", TOKEN, SourceUnreachable, "no longer offers this upload"),
        ("tg:../../etc/passwd", TOKEN, UsageError, "not a Telegram file id"),
        ("tg:", TOKEN, UsageError, "not a Telegram file id"),
        ("tg:F1", None, ConfigError, "TELEGRAM_BOT_TOKEN is not set on this runner"),
        ("tg:F1", "not-a-token", ConfigError, "does not look like a bot token"),
        ("tg:F1", "1:wrong-token", ConfigError, "refused this runner's TELEGRAM_BOT_TOKEN"),
    ],
)
def test_what_cannot_be_fetched_is_said_in_one_sentence_without_the_token(
    tg: BotApiEmulator,
    tmp_path: Path,
    source: str,
    token: str | None,
    expected_error: type[RelayqError],
    says: str,
) -> None:
    upload(tg, b"OggS")
    with pytest.raises(expected_error, match=says) as caught:
        fetch_it(tg, source, tmp_path / "d", token=token)
    assert TOKEN.split(":")[1] not in str(caught.value)
    assert list((tmp_path / "d").glob("*")) == []


def test_an_upload_over_20_mb_is_refused_by_telegram_and_explained(
    tg: BotApiEmulator, tmp_path: Path
) -> None:
    source = upload(tg, b"\0" * (20 * 1024 * 1024 + 1))
    with pytest.raises(SourceUnreachable, match="over 20 MB"):
        fetch_it(tg, source, tmp_path / "d")


@pytest.mark.parametrize(
    ("answer", "says"),
    [
        ({"ok": True, "result": {"file_id": "F1"}}, "offers no download"),
        ({"ok": True, "result": {"file_path": "/var/lib/telegram-bot-api/x.oga"}}, "--local"),
        ({"ok": True, "result": {"file_path": "voice/../../x"}}, "--local"),
        ({"ok": False}, "no usable answer"),
        ([], "no usable answer"),
    ],
)
def test_odd_getfile_answers_are_refused(answer: object, says: str) -> None:
    with pytest.raises(RelayqError, match=says):
        _file_path(json.dumps(answer).encode())


@pytest.mark.slow
def test_the_job_transcribes_an_upload_and_never_prints_the_token(
    tg: BotApiEmulator, speech_ogg: Path, speech_text: str, tmp_path: Path, env: dict[str, str]
) -> None:
    source = upload(tg, speech_ogg.read_bytes())
    job_env = dict(env, TELEGRAM_BOT_TOKEN=TOKEN, RELAYQ_TELEGRAM_API_BASE=tg.base,
                   RELAYQ_ALLOW_PRIVATE_URLS="1")  # fmt: skip
    done = subprocess.run(
        ["bash", str(ENTRY), source, "--out", str(tmp_path / "o")],
        env=job_env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "relayq: fetch the file you sent\n" in done.stderr  # never Telegram's own file path
    assert "relayq: decode the file you sent\n" in done.stderr
    assert wer(speech_text, (tmp_path / "o" / "transcript.txt").read_text()) <= 0.25
    assert json.loads((tmp_path / "o" / "meta.json").read_text())["source"] == source
    secret = TOKEN.split(":")[1]
    assert secret not in done.stderr + done.stdout
    assert all(secret not in p.read_text() for p in (tmp_path / "o").iterdir())
    assert_no_temp_left(env)


def test_a_runner_without_the_token_says_which_secret_to_set(
    tg: BotApiEmulator, tmp_path: Path, env: dict[str, str]
) -> None:
    source = upload(tg, b"OggS")
    done = subprocess.run(
        ["bash", str(ENTRY), source, "--out", str(tmp_path / "o")],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 8
    assert_one_error_line(done.stderr, "TELEGRAM_BOT_TOKEN is not set on this runner")
    assert_no_temp_left(env)
