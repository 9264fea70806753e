"""load_policy(): a valid file becomes a Policy; an invalid one fails with the bad field's path."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.policy import load_policy, load_policy_file
from jobs.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
POLICIES = ROOT / "tests" / "fixtures" / "policies"
SHIPPED = ROOT / "policy" / "policy.yaml"
SHIPPED_TEXT = SHIPPED.read_text()


def broken(old: str, new: str) -> str:
    """The shipped policy with one edit (the edit must apply, or the test would prove nothing)."""
    assert SHIPPED_TEXT.count(old) == 1, old
    return SHIPPED_TEXT.replace(old, new)


@pytest.mark.parametrize(
    ("text", "expected_error"),
    [
        (broken("prefer: [mac, rpi4]", "prefer: [mac, macc]"),
         "policy.yaml: routes.transcribe.prefer[1]: unknown target 'macc' (expected one of: mac, pool, rpi3, rpi4)"),
        (broken("prefer: [mac, rpi4]", "prefer: [mac, rpi3]"),
         "policy.yaml: routes.transcribe.prefer[1]: target 'rpi3' has no workflow for transcribe jobs"),
        (broken("    fallback: pool\n  summarize", "    fallback: cloud\n  summarize"),
         "policy.yaml: routes.transcribe.fallback: unknown target 'cloud'"),
        (broken("    fallback: pool\n  summarize", "    fallback: rpi3\n  summarize"),
         "policy.yaml: routes.transcribe.fallback: target 'rpi3' has no workflow for transcribe jobs"),
        (broken("  allowed: [mac, rpi4, rpi3, pool]", "  allowed: [mac, moon]"),
         "policy.yaml: pins.allowed[1]: unknown target 'moon'"),
        (broken("max_input_mb: 200, max_duration_min: 90}\n\n  rpi3", "max_input_mb: lots, max_duration_min: 90}\n\n  rpi3"),
         "policy.yaml: targets.rpi4.capabilities.max_input_mb: Input should be a valid number (got 'lots')"),
        (broken("memory_gb: 16,", "memory_gb: '16',"),
         "policy.yaml: targets.mac.capabilities.memory_gb: Input should be a valid number"),
        (broken("memory_gb: 16,", "memory_gb: 0,"),
         "policy.yaml: targets.mac.capabilities.memory_gb: Input should be greater than 0"),
        (broken("description: Mac mini", "description: Mac mini\n    colour: grey"),
         "policy.yaml: targets.mac.colour: unknown field"),
        (broken("version: 1", "version: 2"), "policy.yaml: version: unsupported version 2 (expected 1)"),
        (broken("    fallback: pool\n  summarize", "  summarize"),
         "policy.yaml: routes.transcribe.fallback: required field is missing"),
        (broken("    fallback: pool\n  summarize", "    fallback: pool\n    on_runner_lost: retry\n  summarize"),
         "policy.yaml: routes.transcribe.on_runner_lost: Input should be 'requeue' or 'fail'"),
        (broken("prefer: [mac, rpi4]", "prefer: []"),
         "policy.yaml: routes.transcribe.prefer: List should have at least 1 item"),
        (broken("transcribe: transcribe_mac.yml", "transcribe: ../evil.sh"),
         "policy.yaml: targets.mac.workflows.transcribe: expected a workflow file name like x.yml, got '../evil.sh'"),
        (broken("runner_labels: [self-hosted, macmini, audio, ffmpeg, heavy]", "runner_labels: [self-hosted, audio]"),
         "policy.yaml: targets.mac.runner_labels: must include every runs-on label of the target (missing: macmini)"),
        (broken("requires: {min_memory_gb: 2}", "requires: {min_memory_gb: 64}"),
         "policy.yaml: routes.transcribe.requires: no target of this route meets these requirements"),
        ("targets: [\n", "policy.yaml: not valid YAML (line 2, column 1)"),
        ("- a\n- b\n", "policy.yaml: expected a mapping with version, targets and routes"),
        ("", "policy.yaml: expected a mapping"),
    ],
)  # fmt: skip
def test_an_invalid_policy_fails_at_load_naming_the_field(text: str, expected_error: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_policy(text, "policy.yaml")
    assert expected_error in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("fixture", "expected_error"),
    [
        ("duplicate_target.yaml", "duplicate_target.yaml: not valid YAML (line 8, column 3): duplicate key 'mac'"),
        ("generous_pool.yaml",
         "generous_pool.yaml: targets.pool.capabilities.max_input_mb: 2000 is more than rpi4 allows (200); "
         "its runners also carry the labels self-hosted, audio, so this target must declare its weakest member's limits"),
        ("unmeetable_requirement.yaml", "unmeetable_requirement.yaml: routes.transcribe.requires: no target"),
        ("no_such_file.yaml", "no policy file at"),
    ],
)  # fmt: skip
def test_an_invalid_policy_file_names_the_file(fixture: str, expected_error: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_policy_file(POLICIES / fixture)
    assert str(POLICIES / fixture) in str(caught.value)
    assert expected_error in str(caught.value)


@pytest.mark.parametrize(
    "fixture",
    ["minimal.yaml", "fallback_also_preferred.yaml", "size_vs_length.yaml", "two_big_targets.yaml"],
)
def test_the_valid_fixture_policies_load(fixture: str) -> None:
    assert load_policy_file(POLICIES / fixture).version == 1


def test_the_shipped_policy_routes_as_the_checklist_says() -> None:
    policy = load_policy_file(SHIPPED)
    assert policy.chain("transcribe") == ("mac", "rpi4", "pool")
    assert policy.chain("summarize") == ("rpi4", "rpi3", "mac", "pool")
    assert {name: t.workflows for name, t in policy.targets.items()} == {
        "mac": {"transcribe": "transcribe_mac.yml", "summarize": "summarize_mac.yml"},
        "rpi4": {"transcribe": "transcribe_rpi.yml", "summarize": "summarize_rpi.yml"},
        "rpi3": {"summarize": "summarize_rpi3.yml"},
        "pool": {"transcribe": "transcribe_audio.yml", "summarize": "summarize_audio.yml"},
    }


def test_the_shipped_policy_names_every_checklist_label() -> None:
    targets = load_policy_file(SHIPPED).targets
    assert {name: (t.labels, t.runner_labels) for name, t in targets.items()} == {
        "mac": (["self-hosted", "macmini"], ["self-hosted", "macmini", "audio", "ffmpeg", "heavy"]),
        "rpi4": (["self-hosted", "rpi4"], ["self-hosted", "rpi4", "audio", "light"]),
        "rpi3": (["self-hosted", "rpi3"], ["self-hosted", "rpi3", "overflow", "verylight"]),
        "pool": (["self-hosted", "audio"], ["self-hosted", "audio"]),
    }


def test_the_shipped_pool_declares_the_pi_4s_limits() -> None:
    targets = load_policy_file(SHIPPED).targets
    assert targets["pool"].capabilities == targets["rpi4"].capabilities
