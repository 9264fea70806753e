"""docs/SETUP_OCI_TRIGGER.md, sections 4-6, followed in a throwaway root: the guide's own
commands install relayq, write the env file and install the unit; then the bot is started the
way the unit starts it (its ExecStart, EnvironmentFile and Environment=) and must answer on
Telegram (the Bot API emulator) and stop cleanly on SIGTERM.

What cannot run here is checked, not run: `apt-get` (the packages it names must be what the
next commands use), the clone's URL on GitHub (the deploy-key form is checked, and this
checkout is cloned instead; everything else in that command, its `core.sshCommand` included,
runs) and `systemctl`/`journalctl` (no systemd as PID 1 in a test). `ssh-keygen` runs for real,
its key landing under the throwaway root. The guide's
`pip install` runs with `--no-deps`, the dependencies coming from this test's own environment
through a .pth file (the build backend comes from the registry as usual): they are the same `pyproject.toml`, already installed by `make test`, and
installing them again from the registry would add minutes for no new information.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import sysconfig
from pathlib import Path

from tests.emulators.telegram import BotApiEmulator

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "SETUP_OCI_TRIGGER.md"
UNIT = ROOT / "deploy" / "systemd" / "relayq-bot.service"
TOKEN = "424242:setup-guide-token"
OWNER = 5555
CLONE_URL = "git@github.com:you/relayq.git"  # ssh: the repository is private (deploy key)


def section(number: int) -> str:
    text = GUIDE.read_text()
    start = text.index(f"\n## {number}.")
    end = text.index("\n## ", start + 1)
    return text[start:end]


def blocks(text: str) -> list[str]:
    return re.findall(r"```sh\n(.*?)```", text, flags=re.DOTALL)


def commands(block: str) -> list[list[str]]:
    found = []
    for line in block.replace("\\\n", " ").splitlines():
        line = line.split("  #")[0].strip()
        for part in line.split("&&"):
            words = shlex.split(part)
            if words and words[0] == "sudo":
                words = words[1:]
            if words:
                found.append(words)
    return found


def rooted(words: list[str], root: Path) -> list[str]:
    """The same command with the guide's system paths moved under `root`."""
    return [re.sub(r"^/(opt|etc|var|root)/", lambda m: f"{root}/{m.group(1)}/", w) for w in words]


def test_following_the_vm_guide_gets_the_bot_answering(tmp_path: Path) -> None:
    root = tmp_path / "root"
    env = dict(os.environ, HOME=str(tmp_path / "home"))
    installed: list[str] = []

    # 4. Install relayq on the VM
    for words in [w for block in blocks(section(4)) for w in commands(block)]:
        if words[0] == "apt-get":
            installed += [
                w for w in words[1:] if not w.startswith("-") and w not in ("update", "install")
            ]
            continue
        words = rooted(words, root)
        if words[0] == "git" and words[1] == "clone":
            assert CLONE_URL in words
            words[words.index(CLONE_URL)] = str(ROOT)  # this checkout: no network in tests
        if words[0] == "python3":
            words[0] = sys.executable
        if words[0].endswith("/bin/pip"):
            venv = Path(words[0]).parents[1]
            pth = venv / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}"
            (pth / "site-packages" / "make-test-deps.pth").write_text(
                sysconfig.get_paths()["purelib"] + "\n"
            )
            words = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-deps",
                     *words[2:]]  # fmt: skip
        subprocess.run(words, check=True, env=env, capture_output=True, timeout=300)
    assert set(installed) == {"git", "openssh-client", "python3-venv"}
    relayq = root / "opt" / "relayq" / ".venv" / "bin" / "relayq"
    assert relayq.exists()
    # A later `git fetch` (RUNBOOK.md) goes through the deploy key the guide made.
    ssh_command = subprocess.run(
        ["git", "-C", str(root / "opt" / "relayq"), "config", "core.sshCommand"],
        check=True, capture_output=True, text=True,
    ).stdout.split()  # fmt: skip
    assert ssh_command[0] == "ssh" and "IdentitiesOnly=yes" in ssh_command
    deploy_key = Path(rooted([ssh_command[ssh_command.index("-i") + 1]], root)[0])
    assert oct(deploy_key.stat().st_mode & 0o777) == "0o600"
    assert deploy_key.with_name(deploy_key.name + ".pub").read_text().startswith("ssh-ed25519 ")

    # 5. The environment file
    steps, settings = blocks(section(5))
    for words in commands(steps):
        words = rooted(words, root)
        if words[0] == "sudoedit":  # the person types the settings; written below
            continue
        subprocess.run(words, check=True, env=env, timeout=60)
    env_file = root / "etc" / "relayq" / "env"
    assert oct(env_file.stat().st_mode & 0o777) == "0o600"
    assert oct((root / "etc" / "relayq").stat().st_mode & 0o777) == "0o750"
    names = re.findall(r"^([A-Z_]+)=", settings, flags=re.MULTILINE)
    assert {"TELEGRAM_BOT_TOKEN", "RELAYQ_ALLOWED_USERS", "RELAYQ_EXECUTOR"} <= set(names)

    # 6. The service: the unit is installed where the guide says; systemctl is not run here.
    service_steps = commands(blocks(section(6))[0])
    assert [w[:2] for w in service_steps[1:]] == [
        ["systemctl", "daemon-reload"], ["systemctl", "enable"], ["systemctl", "status"],
        ["journalctl", "-u"]]  # fmt: skip
    (root / "etc" / "systemd" / "system").mkdir(parents=True)  # there on every systemd machine
    subprocess.run(rooted(service_steps[0], root), check=True, timeout=60)
    unit = (root / "etc" / "systemd" / "system" / "relayq-bot.service").read_text()
    assert unit == UNIT.read_text()

    # What `systemctl start` does: ExecStart with EnvironmentFile and Environment=.
    exec_start = re.search(r"^ExecStart=(.+)$", unit, flags=re.MULTILINE)
    env_files = re.findall(r"^EnvironmentFile=(.+)$", unit, flags=re.MULTILINE)
    assignments = re.findall(r"^Environment=(\w+)=(.+)$", unit, flags=re.MULTILINE)
    assert exec_start is not None and env_files == ["/etc/relayq/env"]
    with BotApiEmulator(TOKEN) as tg:
        lines = [f"TELEGRAM_BOT_TOKEN={TOKEN}", f"RELAYQ_ALLOWED_USERS={OWNER}",
                 "RELAYQ_EXECUTOR=local", f"RELAYQ_TELEGRAM_API_BASE={tg.base}"]  # fmt: skip
        env_file.write_text("\n".join(lines) + "\n")
        service_env = {"PATH": os.environ["PATH"], "HF_HUB_OFFLINE": "1"}
        for line in env_file.read_text().splitlines():
            key, value = line.split("=", 1)
            service_env[key] = value
        for key, value in assignments:
            service_env[key] = rooted([value], root)[0]
        argv = rooted(shlex.split(exec_start.group(1)), root)
        with subprocess.Popen(argv, env=service_env, stderr=subprocess.PIPE, text=True) as bot:
            try:
                tg.wait_for(lambda: tg.commands, 60)
                tg.user_sends(OWNER, "/status")
                tg.wait_for(
                    lambda: any(s.text.startswith("Executor") for s in tg.to_chat(OWNER)), 60
                )
            finally:
                bot.send_signal(signal.SIGTERM)
                code = bot.wait(timeout=60)
        assert code == 0
    assert (root / "var" / "lib" / "relayq" / "ledger.sqlite3").exists()
