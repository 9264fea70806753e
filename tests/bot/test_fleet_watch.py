"""The fleet watch: runner changes recorded in the ledger, told to the owner, and the waiting
line a queued job shows ("waiting for the Mac mini — offline since 14:02")."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from bot.chat import RunnerNotice
from bot.fleet import Fleet, Runner
from bot.health import check_fleet, machine_of
from bot.ledger import Ledger, RunnerSeen
from bot.policy import load_policy_file
from bot.telegram.card_texts import runner_change_text, runner_title, waiting_text
from bot.telegram.texts import status_text

POLICY = load_policy_file(Path(__file__).resolve().parents[2] / "policy" / "policy.yaml")
MAC = frozenset({"self-hosted", "macmini", "audio", "ffmpeg", "heavy"})
PI4 = frozenset({"self-hosted", "rpi4", "audio", "light"})
T0 = time.mktime((2026, 11, 24, 14, 2, 0, 0, 0, -1))


def fleet(mac_online: bool, pi_online: bool = True) -> Fleet:
    return Fleet((Runner("mac-mini", "macOS", mac_online, False, MAC),
                  Runner("pi4", "Linux", pi_online, False, PI4)))  # fmt: skip


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    return Ledger(tmp_path / "ledger.sqlite3")


def test_the_first_look_records_runners_without_reporting_changes(ledger: Ledger) -> None:
    assert ledger.observe_runners({"mac-mini": False, "pi4": True}, T0) == []
    assert ledger.runners() == [
        RunnerSeen("mac-mini", False, T0, exact=False),
        RunnerSeen("pi4", True, T0, exact=False),
    ]


def test_a_change_is_reported_once_with_its_time(ledger: Ledger) -> None:
    ledger.observe_runners({"mac-mini": True}, T0)
    assert ledger.observe_runners({"mac-mini": False}, T0 + 60) == [
        RunnerSeen("mac-mini", False, T0 + 60, exact=True)
    ]
    assert ledger.observe_runners({"mac-mini": False}, T0 + 120) == []
    assert ledger.runners()[0].since == T0 + 60


def test_a_runner_removed_from_github_counts_as_offline(ledger: Ledger) -> None:
    ledger.observe_runners({"mac-mini": True, "pi4": True}, T0)
    assert [c.name for c in ledger.observe_runners({"pi4": True}, T0 + 60)] == ["mac-mini"]


async def test_the_owner_hears_when_a_runner_goes_and_comes_back(ledger: Ledger) -> None:
    told: list[str] = []

    async def notify(notice: RunnerNotice) -> None:
        told.append(runner_change_text(notice))

    assert await check_fleet(fleet(True), ledger, POLICY, notify) == 0
    assert await check_fleet(fleet(False), ledger, POLICY, notify) == 1
    assert await check_fleet(fleet(False), ledger, POLICY, notify) == 0
    assert await check_fleet(fleet(True), ledger, POLICY, notify) == 1
    assert len(told) == 2
    assert told[0].startswith("🔴 Mac mini (mac-mini) went offline at ")
    assert told[1].startswith("🟢 Mac mini (mac-mini) is back online after 0 min offline")


@pytest.mark.parametrize(
    ("name", "labels", "expected"),
    [
        ("mac-mini", MAC, "Mac mini (mac-mini)"),
        ("pi4", PI4, "Raspberry Pi 4 (pi4)"),
        ("spare", frozenset({"self-hosted", "audio"}), "the pooled audio runners (spare)"),
        ("odd", frozenset({"self-hosted", "gpu"}), "odd"),
    ],
)
def test_a_runner_is_named_after_the_target_its_labels_fit_best(
    name: str, labels: frozenset[str], expected: str
) -> None:
    assert runner_title(name, machine_of(labels, POLICY)) == expected


@pytest.mark.parametrize(
    ("why", "seen", "expected"),
    [
        ("none online", [RunnerSeen("mac-mini", False, T0, True)],
         "waiting for the Mac mini — offline since 14:02"),
        ("none online", [RunnerSeen("mac-mini", False, T0, False)],
         "waiting for the Mac mini — offline since at least 14:02"),
        ("none online", [], "waiting for the Mac mini — offline"),
        ("all busy", [], "waiting for the Mac mini — busy with another job (since 14:02)"),
        ("none registered", [],
         "waiting for the Mac mini — no runner with labels self-hosted, macmini is registered "
         "(since 14:02)"),
    ],
)  # fmt: skip
def test_the_waiting_line_says_which_machine_and_since_when(
    why: str, seen: list[RunnerSeen], expected: str
) -> None:
    assert waiting_text("the Mac mini", why, ("self-hosted", "macmini"), seen, T0) == expected


def test_back_online_says_how_long_it_was_gone() -> None:
    back = RunnerSeen("mac-mini", True, T0 + 37 * 60, exact=True)
    assert runner_change_text(RunnerNotice(back, "Mac mini", T0)) == (
        "🟢 Mac mini (mac-mini) is back online after 37 min offline (14:39)."
    )


def test_status_shows_since_when_and_the_queue_of_everyone(ledger: Ledger) -> None:
    ledger.observe_runners({"mac-mini": True, "pi4": True}, T0 - 600)
    ledger.observe_runners({"mac-mini": False, "pi4": True}, T0)
    for n, (user, target) in enumerate([(1, "mac"), (2, "mac"), (2, "rpi4")]):
        ledger.accept(f"j{n}", chat_id=user, user_id=user, message_id=n, seq=0,
                      kind="transcribe", source="https://x/a.mp3", pin=None)  # fmt: skip
        ledger.update(f"j{n}", target=target, state="dispatched")
    seen = {r.name: r for r in ledger.runners()}
    text = status_text(fleet(False), ledger.unfinished(), 1, (4990, 5000), "github", seen)
    assert "• mac-mini: offline since 14:02 — audio, ffmpeg, heavy, macmini, self-hosted" in text
    assert "• pi4: online — " in text  # online since the first look: no time to tell
    assert "Queue: mac: 2, rpi4: 1" in text
    assert "Your active jobs: j0 (dispatched)" in text


def test_status_without_github_says_so_and_shows_the_runners_as_last_seen(
    ledger: Ledger,
) -> None:
    ledger.observe_runners({"mac-mini": True, "pi4": True}, T0 - 600)
    ledger.observe_runners({"mac-mini": False, "pi4": True}, T0)
    ledger.accept("j0", chat_id=1, user_id=1, message_id=1, seq=0, kind="transcribe",
                  source="https://x/a.mp3", pin=None)  # fmt: skip
    ledger.update("j0", target="mac", state="dispatched")
    seen = {r.name: r for r in ledger.runners()}
    down = "GitHub is not answering right now."
    text = status_text(None, ledger.unfinished(), 1, None, "github", seen, down)
    assert text.splitlines() == [
        down,
        "Executor: github",
        "Runners when last seen:",
        "• mac-mini: offline since 14:02",
        "• pi4: online since at least 13:52",
        "Queue: mac: 1",
        "Your active jobs: j0 (dispatched)",
        "Your defaults: language auto (detected) · files txt, srt",
    ]
