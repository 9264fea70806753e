"""The routing policy: the checklist's acceptance cases and edge cases, by table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.fleet import Fleet, Runner, load_fleet_file
from bot.policy import JobRequest, Policy, load_policy, load_policy_file, select
from jobs.errors import ConfigError, RelayqError, TooLarge, UsageError

ROOT = Path(__file__).resolve().parents[2]
FLEETS = ROOT / "tests" / "fixtures" / "fleets"
POLICY_TEXT = (ROOT / "policy" / "policy.yaml").read_text()


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy_file(ROOT / "policy" / "policy.yaml")


def fleet(name: str) -> Fleet:
    return load_fleet_file(FLEETS / f"{name}.json")


@pytest.mark.parametrize(
    ("job", "fleet_name", "pin", "target", "workflow", "queued", "waiting_for"),
    [
        # transcribe prefers the Mac mini
        (JobRequest("transcribe", 30), "all_idle", None, "mac", "transcribe_mac.yml", False, None),
        # Mac offline or busy → rpi4 when the input fits
        (JobRequest("transcribe", 30), "mac_offline", None, "rpi4", "transcribe_rpi.yml", False, None),
        (JobRequest("transcribe", 30), "mac_busy", None, "rpi4", "transcribe_rpi.yml", False, None),
        # ... else the pool, queued
        (JobRequest("transcribe", 30), "mac_busy_rpi4_busy", None, "pool", "transcribe_audio.yml", True,
         "any runner with labels self-hosted, audio"),
        (JobRequest("transcribe", 30), "all_offline", None, "pool", "transcribe_audio.yml", True,
         "any runner with labels self-hosted, audio"),
        (JobRequest("transcribe", 30), "empty", None, "pool", "transcribe_audio.yml", True,
         "any runner with labels self-hosted, audio"),
        # too big for the Pi (and so for the pool): wait for the Mac rather than land on the Pi
        (JobRequest("transcribe", 900), "mac_busy", None, "mac", "transcribe_mac.yml", True, "mac"),
        (JobRequest("transcribe", None, 120), "mac_offline", None, "mac", "transcribe_mac.yml", True, "mac"),
        # pinned to an offline Mac: its own workflow, queued, never rerouted
        (JobRequest("transcribe", 30), "mac_offline", "mac", "mac", "transcribe_mac.yml", True, "mac"),
        (JobRequest("transcribe", 30), "all_idle", "rpi4", "rpi4", "transcribe_rpi.yml", False, None),
        (JobRequest("transcribe", 30), "all_idle", "pool", "pool", "transcribe_audio.yml", False, None),
        # summarize prefers the Pi 4, then the Pi 3
        (JobRequest("summarize", 0.1), "all_idle", None, "rpi4", "summarize_rpi.yml", False, None),
        (JobRequest("summarize", 0.1), "mac_offline_rpi4_busy", None, "rpi3", "summarize_rpi3.yml", False, None),
        (JobRequest("summarize", 20), "mac_busy", None, "rpi4", "summarize_rpi.yml", False, None),
        (JobRequest("summarize", 0.1), "all_offline", None, "pool", "summarize_audio.yml", True,
         "any runner with labels self-hosted, audio"),
        # no fleet information (no GitHub): the first target that accepts the input
        (JobRequest("transcribe", 30), None, None, "mac", "transcribe_mac.yml", False, None),
    ],
)  # fmt: skip
def test_routing(
    policy: Policy,
    job: JobRequest,
    fleet_name: str | None,
    pin: str | None,
    target: str,
    workflow: str,
    queued: bool,
    waiting_for: str | None,
) -> None:
    decision = select(policy, job, fleet(fleet_name) if fleet_name else None, pin)
    assert (decision.target, decision.workflow, decision.queued, decision.waiting_for) == (
        target,
        workflow,
        queued,
        waiting_for,
    )
    assert decision.labels == tuple(policy.targets[target].labels)


def test_every_candidate_considered_has_a_reason(policy: Policy) -> None:
    decision = select(policy, JobRequest("transcribe", 30), fleet("mac_busy_rpi4_busy"))
    assert [(r.target, r.verdict) for r in decision.reasons] == [
        ("mac", "busy"),
        ("rpi4", "busy"),
        ("pool", "taken"),
    ]
    assert "will queue" in decision.reasons[-1].text
    assert decision.chain == ("mac", "rpi4", "pool")


def test_a_skipped_target_says_which_limit_it_failed(policy: Policy) -> None:
    decision = select(policy, JobRequest("transcribe", 900), fleet("mac_busy"))
    rpi4 = next(r for r in decision.reasons if r.target == "rpi4")
    assert rpi4.verdict == "constraint"
    assert "900 MB is over its 200 MB limit" in rpi4.text


def test_a_pin_to_an_offline_mac_says_it_waits_for_the_mac(policy: Policy) -> None:
    decision = select(policy, JobRequest("transcribe", 30), fleet("mac_offline"), pin="mac")
    assert decision.pinned
    assert [r.target for r in decision.reasons] == ["mac"]
    assert (
        "pinned to mac (Mac mini): offline — the job will wait for it" in decision.reasons[0].text
    )


@pytest.mark.parametrize(
    ("job", "pin", "expected_error", "match"),
    [
        (JobRequest("translate"), None, UsageError, "unknown job kind 'translate'; the policy has: summarize, transcribe"),
        (JobRequest("transcribe"), "moon", UsageError, "unknown pin 'moon'; pin one of: mac, rpi4, rpi3, pool"),
        (JobRequest("transcribe"), "rpi3", UsageError, "rpi3, which does not run transcribe jobs"),
        (JobRequest("transcribe", 5000), None, TooLarge, "too big for every target; the most any accepts is 2000 MB"),
        (JobRequest("transcribe", None, 900), None, TooLarge, "too big for every target"),
        (JobRequest("transcribe", 900), "rpi4", TooLarge, "pinned to rpi4 .* 900 MB is over its 200 MB limit; unpin"),
    ],
)  # fmt: skip
def test_refusals(
    policy: Policy, job: JobRequest, pin: str | None, expected_error: type[RelayqError], match: str
) -> None:
    with pytest.raises(expected_error, match=match):
        select(policy, job, fleet("all_idle"), pin)


def test_runner_labels_match_case_insensitively(policy: Policy) -> None:
    upper = Fleet((Runner("m", "macOS", True, False, frozenset({"self-hosted", "macmini"})),))
    data = {"runners": [{"name": "m", "os": "macOS", "status": "online", "busy": False,
                         "labels": [{"name": "Self-Hosted"}, {"name": "MacMini"}]}]}  # fmt: skip
    from bot.fleet import fleet_from_runners_json

    assert fleet_from_runners_json(data) == upper
    assert select(policy, JobRequest("transcribe", 1), upper).target == "mac"


def test_unrelated_runners_do_not_count(policy: Policy) -> None:
    other = Runner("ci", "Linux", True, False, frozenset({"self-hosted", "linux", "x64"}))
    decision = select(policy, JobRequest("transcribe", 1), Fleet((other,)))
    assert decision.target == "pool"
    assert decision.queued
    assert decision.reasons[0].verdict == "no-runner"


def test_one_free_runner_among_busy_ones_makes_a_target_free(policy: Policy) -> None:
    labels = frozenset({"self-hosted", "macmini"})
    two = Fleet(
        (Runner("m1", "macOS", True, True, labels), Runner("m2", "macOS", True, False, labels))
    )
    assert select(policy, JobRequest("transcribe", 1), two).queued is False


def test_the_decision_serialises_with_the_contract_fields(policy: Policy) -> None:
    payload = select(policy, JobRequest("transcribe", 1), fleet("all_idle")).to_json()
    assert {"target", "workflow", "labels", "queued", "reasons"} <= set(payload)
    json.dumps(payload)


# -- loading ------------------------------------------------------------------------------------


def _break(old: str, new: str) -> str:
    assert old in POLICY_TEXT
    return POLICY_TEXT.replace(old, new, 1)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (_break("prefer: [mac, rpi4]", "prefer: [mac, macc]"),
         "policy.yaml: routes.transcribe.prefer[1]: unknown target 'macc' (expected one of: mac, pool, rpi3, rpi4)"),
        (_break("fallback: pool\n  summarize", "fallback: cloud\n  summarize"),
         "policy.yaml: routes.transcribe.fallback: unknown target 'cloud'"),
        (_break("max_input_mb: 200, max_duration_min: 90}\n\n  rpi3", "max_input_mb: lots, max_duration_min: 90}\n\n  rpi3"),
         "policy.yaml: targets.rpi4.capabilities.max_input_mb: Input should be a valid number"),
        (_break("description: Mac mini", "description: Mac mini\n    colour: grey"),
         "policy.yaml: targets.mac.colour: unknown field"),
        (_break("version: 1", "version: 2"), "policy.yaml: version: unsupported version 2 (expected 1)"),
        (_break("    fallback: pool\n  summarize", "  summarize"), "policy.yaml: routes.transcribe.fallback: required field is missing"),
        (_break("prefer: [rpi4, rpi3, mac]", "prefer: [rpi4, rpi3, mac, rpi3x]"), "routes.summarize.prefer[3]: unknown target 'rpi3x'"),
        (_break("  allowed: [mac, rpi4, rpi3, pool]", "  allowed: [mac, moon]"), "pins.allowed[1]: unknown target 'moon'"),
        (_break("transcribe: transcribe_mac.yml", "transcribe: ../evil.sh"), "targets.mac.workflows.transcribe: expected a workflow file name"),
        ("targets: [\n", "policy.yaml: not valid YAML (line 2, column 1)"),
        ("- a\n- b\n", "policy.yaml: expected a mapping"),
    ],
)  # fmt: skip
def test_an_invalid_policy_fails_at_load_with_the_field_path(text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_policy(text, "policy.yaml")
    assert expected in str(caught.value)


def test_a_route_naming_a_target_without_that_workflow_is_invalid() -> None:
    text = _break("prefer: [mac, rpi4]", "prefer: [mac, rpi3]")
    with pytest.raises(
        ConfigError, match=r"routes.transcribe.prefer\[1\]: target 'rpi3' has no workflow"
    ):
        load_policy(text)


def test_the_shipped_policy_names_every_checklist_label(policy: Policy) -> None:
    assert policy.targets["mac"].runner_labels == [
        "self-hosted",
        "macmini",
        "audio",
        "ffmpeg",
        "heavy",
    ]
    assert policy.targets["rpi4"].runner_labels == ["self-hosted", "rpi4", "audio", "light"]
    assert policy.targets["rpi3"].runner_labels == ["self-hosted", "rpi3", "overflow", "verylight"]
    assert policy.targets["pool"].labels == ["self-hosted", "audio"]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("{", "not valid JSON"),
        ('{"runners": [{"name": "a", "status": "up", "busy": false, "labels": []}]}', "runners[0].status"),
        ('{"runners": [{"name": "a", "status": "online", "busy": "no", "labels": []}]}', "runners[0].busy"),
        ('{"count": 1}', "expected an object with a 'runners' list"),
    ],
)  # fmt: skip
def test_a_bad_fleet_file_is_one_sentence(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "fleet.json"
    path.write_text(content)
    with pytest.raises(ConfigError, match=expected.replace("[", r"\[").replace("]", r"\]")):
        load_fleet_file(path)
