"""`python -m bot` at start, as systemd runs it: a token Telegram refuses is one line without
the token and exit 8; Telegram out of reach is waited for, said in the log once a minute, and
the bot answers as soon as Telegram does (systemd never sees a crash loop)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.emulators.telegram import BotApiEmulator

pytestmark = pytest.mark.slow
TOKEN = "123456:CANARY-startup-token"
OWNER = 1111
ROOT = Path(__file__).resolve().parents[2]


def bot_env(tmp_path: Path, api_base: str, token: str = TOKEN) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RELAYQ_", "GITHUB_"))}
    env.update(TELEGRAM_BOT_TOKEN=token, RELAYQ_ALLOWED_USERS=str(OWNER),
               RELAYQ_TELEGRAM_API_BASE=api_base, RELAYQ_STATE_DIR=str(tmp_path / "state"),
               RELAYQ_POLICY=str(ROOT / "policy" / "policy.yaml"), RELAYQ_EXECUTOR="local",
               HOME=str(tmp_path / "home"))  # fmt: skip
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_token_telegram_refuses_is_one_line_without_the_token_and_exit_8(
    tmp_path: Path,
) -> None:
    with BotApiEmulator(TOKEN) as tg:
        wrong = "654321:CANARY-wrong-token"
        done = subprocess.run([sys.executable, "-m", "bot"], env=bot_env(tmp_path, tg.base, wrong),
                              capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    (tmp_path / "bot.log").write_text(done.stdout + done.stderr)  # the canary scan reads it
    assert done.returncode == 8
    lines = [line for line in done.stderr.splitlines() if line.startswith("relayq: ")]
    assert lines == [
        "relayq: Telegram refused TELEGRAM_BOT_TOKEN; copy the bot's token from @BotFather "
        "into /etc/relayq/env and start relayq again"
    ]
    assert "Traceback" not in done.stderr
    assert "CANARY" not in done.stdout + done.stderr and wrong.split(":")[0] not in done.stderr


def test_telegram_out_of_reach_at_start_is_waited_for_then_the_bot_answers(
    tmp_path: Path,
) -> None:
    port = free_port()
    log = tmp_path / "bot.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "bot"],
                                env=bot_env(tmp_path, f"http://127.0.0.1:{port}"),
                                stdout=out, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        time.sleep(4)  # tries at about 0, 1, 3 s: each refused
        assert proc.poll() is None, log.read_text()
        said = [
            line for line in log.read_text().splitlines() if "Telegram is not answering" in line
        ]
        assert len(said) == 1, said  # once a minute, not once a try
        assert f"at http://127.0.0.1:{port} (NetworkError); relayq keeps trying" in said[0]
        with BotApiEmulator(TOKEN, port=port) as tg:
            tg.user_sends(OWNER, "/help")
            answered = tg.wait_for(lambda: tg.to_chat(OWNER), 30)
            assert answered[0].text.startswith("Send me a link")
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(30)
    text = log.read_text()
    assert code == 0, text
    assert "Traceback" not in text and "CANARY" not in text
