"""make audit's own tools: the secret scan finds secret-shaped strings and never prints them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Built at run time so this file itself never holds a secret-shaped string.
SHAPED = {
    "Telegram bot token": "1234567890:" + "A" * 35,
    "GitHub token": "ghp_" + "b" * 36,
    "OpenAI key": "sk-proj-" + "c" * 48,
    "OpenRouter key": "sk-or-v1-" + "d" * 64,
}


def scan(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "tools" / "secret_scan.py"), str(root)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip


@pytest.mark.parametrize("kind", sorted(SHAPED))
def test_a_committed_secret_is_found_by_kind_and_place_never_by_value(
    tmp_path: Path, kind: str
) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "settings.env").write_text(f"# fine\nVALUE={SHAPED[kind]}\n")
    subprocess.run(["git", "-C", str(tmp_path), "add", "."], check=True)
    done = scan(tmp_path)
    assert done.returncode == 1
    assert f"settings.env:2: looks like a {kind}" in done.stderr
    assert SHAPED[kind] not in done.stderr + done.stdout


def test_this_repository_has_no_secret_shaped_strings_and_canaries_do_not_count() -> None:
    done = scan(ROOT)
    assert done.returncode == 0, done.stderr
