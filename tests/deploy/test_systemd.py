"""The bot's systemd unit: systemd's own checks, and the promises docs/OPSEC.md makes of it."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

UNIT = Path(__file__).resolve().parents[2] / "deploy" / "systemd" / "relayq-bot.service"
EXPOSURE_BAR = 1.5


def analyze(*args: str) -> subprocess.CompletedProcess[str]:
    # `make test` installs Debian's systemd where systemd-analyze is missing.
    assert shutil.which("systemd-analyze"), "systemd-analyze is missing: run `make test`"
    return subprocess.run(["systemd-analyze", *args], capture_output=True, text=True,
                          timeout=120, check=False)  # fmt: skip


def settings(text: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in text.splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, value = line.split("=", 1)
            found.setdefault(key.strip(), []).append(value.strip())
    return found


def test_systemd_verifies_the_unit_cleanly(tmp_path: Path) -> None:
    # verify insists that ExecStart exists: point it at this checkout's relayq, nothing else
    # changed, so the check is of the unit as shipped.
    relayq = Path(sys.executable).parent / "relayq"
    assert relayq.exists()
    text = UNIT.read_text().replace("/opt/relayq/.venv/bin/relayq", str(relayq))
    assert text != UNIT.read_text()
    unit = tmp_path / UNIT.name
    unit.write_text(text)
    done = analyze("verify", str(unit))
    assert (done.returncode, done.stdout + done.stderr) == (0, "")


def test_the_sandbox_exposure_is_at_most_1_5() -> None:
    done = analyze("security", "--offline=true", str(UNIT))
    match = re.search(r"Overall exposure level for \S+: ([0-9.]+)", done.stdout)
    assert match is not None, done.stdout + done.stderr
    assert float(match.group(1)) <= EXPOSURE_BAR, done.stdout


def test_the_unit_runs_the_bot_as_a_throwaway_user_with_its_secrets_from_a_root_file() -> None:
    unit = settings(UNIT.read_text())
    assert unit["ExecStart"] == ["/opt/relayq/.venv/bin/relayq bot"]
    assert unit["DynamicUser"] == ["yes"] and unit["StateDirectory"] == ["relayq"]
    assert "RELAYQ_STATE_DIR=/var/lib/relayq" in unit["Environment"]
    assert unit["EnvironmentFile"] == ["/etc/relayq/env"]
    assert unit["Restart"] == ["on-failure"] and unit["StartLimitBurst"] == ["5"]
    assert unit["SocketBindDeny"] == ["any"]  # long polling: the bot never listens
    assert "TELEGRAM_BOT_TOKEN=" not in UNIT.read_text()  # secrets stay in the env file


@pytest.mark.parametrize("setting", ["ProtectSystem=strict", "NoNewPrivileges=yes",
                                     "MemoryDenyWriteExecute=yes", "PrivateDevices=yes"])  # fmt: skip
def test_the_sandbox_keeps_its_key_walls(setting: str) -> None:
    key, value = setting.split("=")
    assert settings(UNIT.read_text())[key] == [value]
