"""`relayq route` and its `bin/select_target.py` shim: the checklist's answers on the command line."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main

ROOT = Path(__file__).resolve().parents[2]
FLEETS = ROOT / "tests" / "fixtures" / "fleets"
SHIPPED = ROOT / "policy" / "policy.yaml"


@pytest.fixture(autouse=True)
def shipped_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RELAYQ_POLICY", str(SHIPPED))


def route_json(
    capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, dict[str, object], str]:
    code = main(["route", "--json", *args])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if out else {}), err


def fleet(name: str) -> list[str]:
    return ["--fleet", str(FLEETS / f"{name}.json")]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        # the checklist's acceptance cases
        (fleet("all_idle"), ("mac", "transcribe_mac.yml", ["self-hosted", "macmini"], False)),
        ([*fleet("mac_offline"), "--size-mb", "40"], ("rpi4", "transcribe_rpi.yml", ["self-hosted", "rpi4"], False)),
        ([*fleet("mac_busy"), "--size-mb", "40"], ("rpi4", "transcribe_rpi.yml", ["self-hosted", "rpi4"], False)),
        ([*fleet("mac_busy_rpi4_busy"), "--size-mb", "40"], ("pool", "transcribe_audio.yml", ["self-hosted", "audio"], True)),
        ([*fleet("mac_offline"), "--pin", "mac"], ("mac", "transcribe_mac.yml", ["self-hosted", "macmini"], True)),
        ([*fleet("all_idle"), "--job", "summarize"], ("rpi4", "summarize_rpi.yml", ["self-hosted", "rpi4"], False)),
        # edge cases
        ([*fleet("mac_busy"), "--size-mb", "900"], ("mac", "transcribe_mac.yml", ["self-hosted", "macmini"], True)),
        ([*fleet("mac_offline"), "--duration-min", "120"], ("mac", "transcribe_mac.yml", ["self-hosted", "macmini"], True)),
        (fleet("empty"), ("pool", "transcribe_audio.yml", ["self-hosted", "audio"], True)),
        (fleet("all_offline"), ("pool", "transcribe_audio.yml", ["self-hosted", "audio"], True)),
        (fleet("mixed_case_extra"), ("mac", "transcribe_mac.yml", ["self-hosted", "macmini"], False)),
        ([], ("mac", "transcribe_mac.yml", ["self-hosted", "macmini"], False)),
    ],
)  # fmt: skip
def test_route_json_gives_the_checklists_answers(
    capsys: pytest.CaptureFixture[str], args: list[str], expected: tuple[str, str, list[str], bool]
) -> None:
    code, decision, err = route_json(capsys, *args)
    assert (code, err) == (0, "")
    assert (
        decision["target"],
        decision["workflow"],
        decision["labels"],
        decision["queued"],
    ) == expected
    assert isinstance(decision["reasons"], list) and decision["reasons"]


def test_a_pin_to_an_offline_mac_says_it_waits_for_the_mac(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, decision, _ = route_json(capsys, *fleet("mac_offline"), "--pin", "mac")
    assert decision["reasons"] == [
        {
            "target": "mac",
            "verdict": "taken",
            "reason": "pinned to mac (Mac mini): offline — the job will wait for it "
            "(size unknown, so its 2000 MB limit was not checked)",
        }
    ]
    assert (decision["waiting_for"], decision["pinned"]) == ("mac", True)


@pytest.mark.parametrize(
    ("args", "expected_code", "expected_error"),
    [
        (["--pin", "moon"], 2, "relayq: unknown pin 'moon'; pin one of: mac, rpi4, rpi3, pool"),
        (["--job", "translate"], 2, "relayq: unknown job kind 'translate'; choose one of: summarize, transcribe"),
        (["--size-mb", "9000"], 5, "relayq: this 9000 MB input is too big for every transcribe target"),
        (["--pin", "rpi4", "--size-mb", "900"], 5, "relayq: pinned to rpi4 (Raspberry Pi 4), but the input of 900 MB is over its 200 MB limit"),
        (["--size-mb", "-1"], 2, "relayq: --size-mb must not be negative"),
        (["--size-mb", "lots"], 2, "relayq: argument --size-mb: invalid float value: 'lots'"),
        (["--fleet", "/nonexistent.json"], 8, "relayq: no fleet file at /nonexistent.json"),
    ],
)  # fmt: skip
def test_refusals_are_one_line_and_an_exit_code(
    capsys: pytest.CaptureFixture[str], args: list[str], expected_code: int, expected_error: str
) -> None:
    try:
        code = main(["route", "--json", *args])
    except SystemExit as exit_:  # argparse's own refusals
        code = int(exit_.code or 0)
    out, err = capsys.readouterr()
    assert (code, out) == (expected_code, "")
    assert err.startswith(expected_error) and err.count("\n") == 1


def test_an_invalid_policy_exits_8_naming_the_file_and_field(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = tmp_path / "policy.yaml"
    bad.write_text(SHIPPED.read_text().replace("prefer: [mac, rpi4]", "prefer: [mac, macc]"))
    monkeypatch.setenv("RELAYQ_POLICY", str(bad))
    code, _, err = route_json(capsys)
    assert code == 8
    assert err == (
        f"relayq: {bad}: routes.transcribe.prefer[1]: unknown target 'macc' "
        "(expected one of: mac, pool, rpi3, rpi4)\n"
    )


def test_the_default_policy_path_is_relative_to_the_working_directory(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "policy").mkdir()
    shutil.copy(ROOT / "tests/fixtures/policies/minimal.yaml", tmp_path / "policy/policy.yaml")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("RELAYQ_POLICY")
    _, decision, _ = route_json(capsys)
    assert decision["target"] == "box"


def test_without_a_policy_in_the_working_directory_the_repositorys_is_used(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("RELAYQ_POLICY")
    _, decision, _ = route_json(capsys)
    assert decision["workflow"] == "transcribe_mac.yml"


def test_the_human_form_names_the_target_the_queue_and_every_candidate(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["route", *fleet("mac_busy_rpi4_busy"), "--size-mb", "40"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "transcribe → pool (the pooled audio runners) via transcribe_audio.yml",
        "queued: no runner with labels self-hosted, audio is free now; the job will wait for one",
        "  … mac (Mac mini): busy — falls through",
        "  … rpi4 (Raspberry Pi 4): busy — falls through",
        "  ✔ pool (the pooled audio runners): busy — taken as the fallback; the job will queue "
        "until one of its runners is free",
    ]


def test_the_select_target_shim_passes_its_arguments_through(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bin" / "select_target.py"), "--json", *fleet("mac_offline"), "--pin", "mac"],
        capture_output=True, text=True, check=False, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    decision = json.loads(done.stdout)
    assert (decision["workflow"], decision["queued"]) == ("transcribe_mac.yml", True)


def test_the_select_target_shim_passes_the_exit_code_through(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bin" / "select_target.py"), "--pin", "moon"],
        capture_output=True, text=True, check=False, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.startswith("relayq: unknown pin 'moon'")


def documented_examples() -> list[tuple[str, str]]:
    """Each `$ relayq route ...` in docs/ROUTING_POLICY.md's console blocks, with its output."""
    text = (ROOT / "docs" / "ROUTING_POLICY.md").read_text()
    examples = []
    for block in re.findall(r"```console\n(.*?)```", text, flags=re.DOTALL):
        for chunk in re.split(r"^(?=\$ )", block, flags=re.MULTILINE):
            if chunk.strip():
                command, _, output = chunk.partition("\n")
                examples.append((command.removeprefix("$ "), output.rstrip("\n")))
    return examples


@pytest.mark.parametrize(("command", "expected"), documented_examples())
def test_the_guides_examples_are_what_relayq_route_prints(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, command: str, expected: str
) -> None:
    monkeypatch.chdir(ROOT)  # the examples name fixture files relative to the repository
    program, *args = shlex.split(command)
    assert program == "relayq"
    main(args)
    out, err = capsys.readouterr()
    assert (out + err).rstrip("\n") == expected
