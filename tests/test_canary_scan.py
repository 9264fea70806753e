"""The suite-wide canary scan (tests/suites.py) finds a canary where it must not be."""

from __future__ import annotations

import tempfile
from pathlib import Path

from tests.suites import find_leaks


def test_a_canary_outside_a_0600_file_is_a_leak_and_source_checkouts_are_not_read() -> None:
    # Outside pytest's own temporary folder: this planted leak must not fail the real scan.
    with tempfile.TemporaryDirectory() as folder:
        _check(Path(folder))


def _check(tmp_path: Path) -> None:
    (tmp_path / "job.log").write_text("sending with token 123:CANARY-token\n")
    secret = tmp_path / "env"
    secret.write_text("TELEGRAM_BOT_TOKEN=123:CANARY-token\n")
    secret.chmod(0o600)
    checkout = tmp_path / "clone"
    (checkout / ".git").mkdir(parents=True)
    (checkout / "README.md").write_text("the tests use canary secrets")
    copy = tmp_path / "copy" / "bot"  # a source copy without .git, known by its pyproject.toml
    copy.mkdir(parents=True)
    (copy.parent / "pyproject.toml").write_text("[project]\nname = 'relayq'\n")
    (copy / "forgetting.py").write_text("# greps for a canary word")
    (tmp_path / "result.txt").write_text("nothing to see")
    files, _, leaks = find_leaks(tmp_path)
    assert leaks == [Path("job.log")]
    assert files == 3  # job.log, env, result.txt: the checkout is not read
