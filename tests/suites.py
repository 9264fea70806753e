"""The hostile-input and fault suites' figures, and the suite-wide secret-canary scan.

Tests marked `hostile` or `fault` are counted by outcome; a test adds its own figures (faults
injected, jobs lost, ...) with the `tally` fixture. At the end of the run a table is printed
(and recorded in docs/RELIABILITY.md by hand). Then every file the run left under pytest's
temporary folder (outside source checkouts and virtualenvs) is read: a canary secret (any text containing "canary", as every fake
token, key and password in these tests does) may sit only in a file its owner alone can read
(mode 0600: env files, act's secret file). Anywhere else (a log, a result, a message dump, an
artifact) it is a leak, and the run fails.
"""

from __future__ import annotations

import os
import stat
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

__all__ = ["Tally", "find_leaks"]

SUITES = ("hostile", "fault")
CANARY = b"canary"
# Which tests make up each suite: file → the test names (prefixes) that belong to it.
MEMBERS: dict[str, dict[str, tuple[str, ...]]] = {
    "hostile": {
        "tests/jobs/test_netguard.py": ("test_refusal_reason",),
        "tests/jobs/test_fetch.py": (
            "test_a_sixth_redirect", "test_internal_and_odd_destinations",
            "test_a_public_looking_name", "test_a_redirect_to_a", "test_a_declared_oversize",
            "test_an_undeclared_oversize", "test_a_content_length_that_lies",
            "test_a_slow_server", "test_a_server_that_stops", "test_check_url",
            "test_https_with", "test_printed_links_lose", "test_malformed_links",
            "test_schemes_are_named",
        ),
        "tests/bot/test_artifacts.py": ("test_hostile_archives", "test_a_zip_bomb", "test_not_a_zip"),
        "tests/jobs/test_telegram_file.py": ("test_odd_getfile_answers", "test_what_cannot_be"),
        "tests/jobs/test_decode.py": ("test_things_that_are_not_audio", "test_a_file_cut"),
        "tests/jobs/test_transcribe.py": (
            "test_bad_input_is_refused", "test_a_download_over_the_cap", "test_a_silent_file",
            "test_a_file_cut_short", "test_a_playlist",
        ),
        "tests/e2e/test_github_executor.py": ("test_shell_metacharacters",),
        "tests/jobs/test_remote_backends.py": ("test_two_hours_of_silence",),
        "tests/e2e/test_telegram_bot.py": (
            "test_a_stranger", "test_fifty_links", "test_the_token_never_appears",
            "test_an_upload_over_20_mb", "test_an_upload_reaches_a_github_runner",
            "test_an_upload_whose_name",
        ),
    },
    "fault": {
        "tests/e2e/test_bot_restarts.py": ("test_",),
        "tests/e2e/test_faults.py": ("test_",),
        "tests/e2e/test_kill_storm_local.py": ("test_",),
        "tests/e2e/test_kill_storm_github.py": ("test_",),
        "tests/e2e/test_github_executor.py": (
            "test_a_5xx_storm", "test_created_but_answered_502", "test_a_dispatch_that_failed",
            "test_a_run_nobody_picks_up", "test_rate_limit_answers", "test_a_server_that_never",
            "test_a_dropped_connection", "test_an_expired_artifact",
        ),
        "tests/e2e/test_telegram_bot.py": (
            "test_429_floods", "test_a_5xx_storm", "test_pinned_to_an_offline_mac",
            "test_when_the_remote_backend",
        ),
        "tests/jobs/test_remote_backends.py": (
            "test_passing_trouble", "test_failures_are_one_sentence", "test_a_chunk_the_server",
            "test_a_failing_backend", "test_when_every_backend",
        ),
        "tests/bot/test_interrupts.py": ("test_",),
        "tests/jobs/test_transcribe.py": ("test_interrupting",),
        "tests/jobs/test_full_disk.py": ("test_",),
    },
}  # fmt: skip
_outcomes: dict[str, Counter[str]] = {suite: Counter() for suite in SUITES}
_figures: Counter[str] = Counter()
_scan: dict[str, object] = {}


class Tally:
    """What a test adds to the suites' figures. They travel on the test's report
    (`user_properties`), so the figures add up the same with or without pytest-xdist."""

    def __init__(self, node: pytest.Item) -> None:
        self._node = node

    def add(self, figure: str, amount: int = 1) -> None:
        self._node.user_properties.append((_FIGURE, (figure, amount)))


_FIGURE = "relayq-figure"


@pytest.fixture
def tally(request: pytest.FixtureRequest) -> Tally:
    return Tally(request.node)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "hostile: a hostile input: refused, nothing ran or leaked")
    config.addinivalue_line("markers", "fault: an injected failure: no job lost or doubled")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        path = item.nodeid.split("::", 1)[0]
        for suite, files in MEMBERS.items():
            if item.name.startswith(files.get(path, ())):
                item.add_marker(suite)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when != "call" and not (report.when == "setup" and report.outcome != "passed"):
        return
    for suite in SUITES:
        if suite in report.keywords:
            _outcomes[suite][report.outcome] += 1
    if report.when == "call":
        for name, value in report.user_properties:
            if name == _FIGURE:
                figure, amount = value
                _figures[figure] += amount


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    factory = getattr(session.config, "_tmp_path_factory", None)
    if factory is None or getattr(session.config, "workerinput", None) is not None:
        return
    try:
        base = factory.getbasetemp()
    except (OSError, ValueError):
        return
    files, size, leaks = find_leaks(base)
    _scan.update(files=files, bytes=size, leaks=leaks)
    if leaks and session.exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def find_leaks(base: Path) -> tuple[int, int, list[Path]]:
    """(files read, their bytes, the files holding a canary outside a 0600 secret file)."""
    files, size, leaks = 0, 0, []
    for path in _outputs(base):
        try:
            info = path.lstat()
        except OSError:
            continue
        if not stat.S_ISREG(info.st_mode):
            continue
        files += 1
        size += info.st_size
        if stat.S_IMODE(info.st_mode) & 0o077 == 0:  # only its owner can read it: a secret store
            continue
        try:
            data = path.read_bytes()
        except OSError:
            continue
        if CANARY in data.lower():
            leaks.append(path.relative_to(base))
    return files, size, leaks


def _outputs(base: Path) -> Iterator[Path]:
    """Every file under `base` except inside source checkouts (a clone, or a copy with its
    pyproject.toml) and virtualenvs (the setup-guide test clones relayq, whose own code and
    docs talk about canaries): what the run produced."""
    for folder, dirs, names in os.walk(base):
        if ".git" in dirs or "pyvenv.cfg" in names or "pyproject.toml" in names:
            dirs.clear()
            continue
        for name in names:
            yield Path(folder) / name


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    write = terminalreporter.write_line
    if any(_outcomes[s] for s in SUITES) or _figures:
        terminalreporter.section("relayq: hostile-input and fault suites")
        for suite in SUITES:
            counts = _outcomes[suite]
            if counts:
                write(
                    f"{suite:>8}: {sum(counts.values())} cases tried, {counts['passed']} held, "
                    f"{counts['failed']} failed"
                )
        for figure, amount in sorted(_figures.items()):
            write(f"{figure:>40}: {amount}")
    if _scan:
        leaks: list[Path] = _scan["leaks"]  # type: ignore[assignment]
        terminalreporter.section("relayq: secret canaries")
        write(
            f"scanned {_scan['files']} files ({int(str(_scan['bytes'])) / 1e6:.1f} MB) the run "
            f"left behind: {len(leaks)} with a canary outside a 0600 secret file"
        )
        for leak in leaks:
            write(f"  LEAK: {leak}", red=True)
