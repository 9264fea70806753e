"""`relayq route` and its shim: the checklist's answers through the command line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main

ROOT = Path(__file__).resolve().parents[2]
FLEETS = ROOT / "tests" / "fixtures" / "fleets"


@pytest.fixture(autouse=True)
def repo_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RELAYQ_POLICY", str(ROOT / "policy" / "policy.yaml"))


def route(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, object], str]:
    code = main(["route", "--json", *args])
    captured = capsys.readouterr()
    return code, (json.loads(captured.out) if captured.out else {}), captured.err


@pytest.mark.parametrize(
    ("args", "target", "workflow", "queued"),
    [
        (["--fleet", str(FLEETS / "all_idle.json")], "mac", "transcribe_mac.yml", False),
        (
            ["--fleet", str(FLEETS / "mac_offline.json"), "--size-mb", "40"],
            "rpi4",
            "transcribe_rpi.yml",
            False,
        ),
        (
            ["--fleet", str(FLEETS / "mac_busy.json"), "--size-mb", "40"],
            "rpi4",
            "transcribe_rpi.yml",
            False,
        ),
        (
            ["--fleet", str(FLEETS / "mac_busy_rpi4_busy.json"), "--size-mb", "40"],
            "pool",
            "transcribe_audio.yml",
            True,
        ),
        (
            ["--fleet", str(FLEETS / "mac_offline.json"), "--pin", "mac"],
            "mac",
            "transcribe_mac.yml",
            True,
        ),
        (
            ["--fleet", str(FLEETS / "all_idle.json"), "--job", "summarize"],
            "rpi4",
            "summarize_rpi.yml",
            False,
        ),
    ],
)
def test_route_json_gives_the_checklists_answers(
    capsys: pytest.CaptureFixture[str], args: list[str], target: str, workflow: str, queued: bool
) -> None:
    code, decision, _ = route(capsys, *args)
    assert code == 0
    assert (decision["target"], decision["workflow"], decision["queued"]) == (
        target,
        workflow,
        queued,
    )
    assert decision["labels"] and decision["reasons"]


def test_a_pin_to_an_offline_mac_explains_the_wait(capsys: pytest.CaptureFixture[str]) -> None:
    _, decision, _ = route(capsys, "--fleet", str(FLEETS / "mac_offline.json"), "--pin", "mac")
    reasons = decision["reasons"]
    assert isinstance(reasons, list)
    assert "offline — the job will wait for it" in reasons[0]["reason"]
    assert decision["waiting_for"] == "mac"


@pytest.mark.parametrize(
    ("args", "expected_code", "expected_text"),
    [
        (["--pin", "moon"], 2, "unknown pin 'moon'"),
        (["--job", "translate"], 2, "unknown job kind 'translate'"),
        (["--size-mb", "9000"], 5, "too big for every target"),
        (["--size-mb", "-1"], 2, "--size-mb must not be negative"),
        (["--fleet", "/nonexistent.json"], 8, "no fleet file at /nonexistent.json"),
    ],
)
def test_route_refusals_are_one_line(
    capsys: pytest.CaptureFixture[str], args: list[str], expected_code: int, expected_text: str
) -> None:
    code, _, err = route(capsys, *args)
    assert code == expected_code
    assert err.count("\n") == 1 and expected_text in err


def test_an_invalid_policy_exits_8_naming_the_field(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = tmp_path / "policy.yaml"
    bad.write_text(
        (ROOT / "policy" / "policy.yaml")
        .read_text()
        .replace("prefer: [mac, rpi4]", "prefer: [mac, macc]")
    )
    monkeypatch.setenv("RELAYQ_POLICY", str(bad))
    code, _, err = route(capsys)
    assert code == 8
    assert f"{bad}: routes.transcribe.prefer[1]: unknown target 'macc'" in err


def test_the_human_rendering_lists_every_candidate(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["route", "--fleet", str(FLEETS / "mac_busy_rpi4_busy.json")]) == 0
    out = capsys.readouterr().out
    assert (
        out.splitlines()[0]
        == "transcribe → pool (the pooled audio runners) via transcribe_audio.yml"
    )
    assert "queued: waiting for any runner with labels self-hosted, audio" in out
    assert "mac (Mac mini): busy — falls through" in out
    assert "rpi4 (Raspberry Pi 4): busy — falls through" in out


def test_the_select_target_shim_passes_its_arguments_through() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bin" / "select_target.py"), "--json", "--fleet", str(FLEETS / "mac_offline.json"), "--pin", "mac"],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["workflow"] == "transcribe_mac.yml"
