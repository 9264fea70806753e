"""select(): the checklist's routing cases and the edge cases, by table, on the shipped policy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.fleet import Fleet, Runner, load_fleet_file
from bot.policy import JobRequest, Policy, load_policy, load_policy_file, select
from jobs.errors import RelayqError, TooLarge, UsageError

ROOT = Path(__file__).resolve().parents[2]
FLEETS = ROOT / "tests" / "fixtures" / "fleets"
POLICIES = ROOT / "tests" / "fixtures" / "policies"
SHIPPED = ROOT / "policy" / "policy.yaml"


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy_file(SHIPPED)


def fleet(name: str | None) -> Fleet | None:
    """A fixture fleet by name; None is "no fleet information" (no GitHub configured)."""
    return None if name is None else load_fleet_file(FLEETS / f"{name}.json")


def job(
    kind: str = "transcribe", mb: float | None = 30, minutes: float | None = None
) -> JobRequest:
    return JobRequest(kind, size_mb=mb, duration_min=minutes)


@pytest.mark.parametrize(
    ("request_", "fleet_name", "pin", "expected"),
    [
        # transcribe → mac when the Mac is online and idle
        (job(), "all_idle", None, ("mac", "transcribe_mac.yml", False, None)),
        # Mac offline or busy → rpi4 when the input fits
        (job(), "mac_offline", None, ("rpi4", "transcribe_rpi.yml", False, None)),
        (job(), "mac_busy", None, ("rpi4", "transcribe_rpi.yml", False, None)),
        (job(mb=None), "mac_offline", None, ("rpi4", "transcribe_rpi.yml", False, None)),
        # ... else the pool, queued
        (job(), "mac_busy_rpi4_busy", None, ("pool", "transcribe_audio.yml", True, "pool")),
        (job(), "mac_offline_rpi4_busy", None, ("pool", "transcribe_audio.yml", True, "pool")),
        (job(), "all_offline", None, ("pool", "transcribe_audio.yml", True, "pool")),
        (job(), "empty", None, ("pool", "transcribe_audio.yml", True, "pool")),
        (job(), "only_unrelated", None, ("pool", "transcribe_audio.yml", True, "pool")),
        # another idle runner in the pool: the pool takes it without queueing
        (job(), "spare_audio_idle", None, ("pool", "transcribe_audio.yml", False, None)),
        # too big for the Pi, so for the pool: wait for the Mac rather than land on the Pi
        (job(mb=900), "mac_busy", None, ("mac", "transcribe_mac.yml", True, "mac")),
        (job(mb=900), "mac_busy_rpi4_busy", None, ("mac", "transcribe_mac.yml", True, "mac")),
        (job(mb=None, minutes=120), "mac_offline", None, ("mac", "transcribe_mac.yml", True, "mac")),
        # labels match case-insensitively; unrelated runners change nothing
        (job(), "mixed_case_extra", None, ("mac", "transcribe_mac.yml", False, None)),
        # pins override preference and never reroute
        (job(), "mac_offline", "mac", ("mac", "transcribe_mac.yml", True, "mac")),
        (job(), "mac_busy", "mac", ("mac", "transcribe_mac.yml", True, "mac")),
        (job(), "all_idle", "mac", ("mac", "transcribe_mac.yml", False, None)),
        (job(), "all_idle", "rpi4", ("rpi4", "transcribe_rpi.yml", False, None)),
        (job(), "all_idle", "pool", ("pool", "transcribe_audio.yml", False, None)),
        # summarize → rpi4, then rpi3 for very light jobs, then mac
        (job("summarize", 0.1), "all_idle", None, ("rpi4", "summarize_rpi.yml", False, None)),
        (job("summarize", 0.1), "mac_offline_rpi4_busy", None, ("rpi3", "summarize_rpi3.yml", False, None)),
        (job("summarize", 20), "mac_busy", None, ("rpi4", "summarize_rpi.yml", False, None)),
        (job("summarize", 20), "mac_offline_rpi4_busy", None, ("pool", "summarize_audio.yml", True, "pool")),
        (job("summarize", 0.1), "all_offline", None, ("pool", "summarize_audio.yml", True, "pool")),
        (job("summarize", 900), "mac_busy", None, ("mac", "summarize_mac.yml", True, "mac")),
        (job("summarize", 0.1), "all_idle", "rpi3", ("rpi3", "summarize_rpi3.yml", False, None)),
        # no fleet information: the first target that accepts the input, not queued
        (job(), None, None, ("mac", "transcribe_mac.yml", False, None)),
        (job(mb=900), None, None, ("mac", "transcribe_mac.yml", False, None)),
        (job("summarize", 0.1), None, None, ("rpi4", "summarize_rpi.yml", False, None)),
        (job(), None, "rpi4", ("rpi4", "transcribe_rpi.yml", False, None)),
    ],
)  # fmt: skip
def test_routing(
    policy: Policy,
    request_: JobRequest,
    fleet_name: str | None,
    pin: str | None,
    expected: tuple[str, str, bool, str | None],
) -> None:
    decision = select(policy, request_, fleet(fleet_name), pin)
    assert (decision.target, decision.workflow, decision.queued, decision.waiting_for) == expected
    assert decision.labels == tuple(policy.targets[decision.target].labels)
    assert decision.pinned is (pin is not None)


@pytest.mark.parametrize(
    ("request_", "fleet_name", "expected"),
    [
        (job(), "all_idle", [("mac", "taken")]),
        (job(), "mac_busy", [("mac", "busy"), ("rpi4", "taken")]),
        (job(), "mac_busy_rpi4_busy", [("mac", "busy"), ("rpi4", "busy"), ("pool", "taken")]),
        (job(), "only_unrelated", [("mac", "no-runner"), ("rpi4", "no-runner"), ("pool", "taken")]),
        (job(mb=900), "mac_busy", [("mac", "busy"), ("rpi4", "constraint"), ("pool", "constraint"), ("mac", "taken")]),
        (job("summarize", 20), "mac_offline_rpi4_busy",
         [("rpi4", "busy"), ("rpi3", "constraint"), ("mac", "offline"), ("pool", "taken")]),
    ],
)  # fmt: skip
def test_every_candidate_considered_has_a_verdict_and_the_last_took_the_job(
    policy: Policy, request_: JobRequest, fleet_name: str, expected: list[tuple[str, str]]
) -> None:
    decision = select(policy, request_, fleet(fleet_name))
    assert [(r.target, r.verdict) for r in decision.reasons] == expected
    assert decision.summary == decision.reasons[-1].text


@pytest.mark.parametrize(
    ("request_", "fleet_name", "pin", "target", "expected_text"),
    [
        (job(), "mac_offline", "mac", "mac", "pinned to mac (Mac mini): offline — the job will wait for it"),
        (job(), "mac_busy", None, "mac", "mac (Mac mini): busy — falls through"),
        (job(), "mac_offline", None, "mac", "mac (Mac mini): offline — falls through"),
        (job(), "mac_busy_rpi4_busy", None, "pool",
         "pool (the pooled audio runners): busy — taken as the fallback; the job will queue until one of its runners is free"),
        (job(), "empty", None, "mac", "mac (Mac mini): no runner has the labels self-hosted, macmini — falls through"),
        (job(mb=900), "mac_busy", None, "rpi4", "rpi4 (Raspberry Pi 4): the input of 900 MB is over its 200 MB limit — skipped"),
        (job(mb=900), "mac_busy", None, "pool",
         "pool (the pooled audio runners): the input of 900 MB is over its 200 MB limit — skipped as the fallback"),
        (job(mb=None, minutes=120), "mac_offline", None, "rpi4",
         "rpi4 (Raspberry Pi 4): 120 minutes of audio is over its 90-minute limit — skipped"),
        (job(), None, None, "mac", "mac (Mac mini): runner state unknown (no fleet information) — taken"),
        (job(mb=None), "all_idle", None, "mac",
         "mac (Mac mini): online and idle — taken (size unknown, so its 2000 MB limit was not checked)"),
    ],
)  # fmt: skip
def test_reasons_say_why(
    policy: Policy,
    request_: JobRequest,
    fleet_name: str | None,
    pin: str | None,
    target: str,
    expected_text: str,
) -> None:
    decision = select(policy, request_, fleet(fleet_name), pin)
    assert expected_text in [r.text for r in decision.reasons if r.target == target]


def test_waiting_for_the_mac_says_the_fallback_cannot_take_the_input(policy: Policy) -> None:
    decision = select(policy, job(mb=900), fleet("mac_busy"))
    assert decision.summary == (
        "mac (Mac mini): busy — the job will wait for it: it can take this input and the "
        "fallback cannot"
    )


@pytest.mark.parametrize(
    ("request_", "pin", "expected_error", "match"),
    [
        (job("translate"), None, UsageError, "unknown job kind 'translate'; choose one of: summarize, transcribe"),
        (job(), "moon", UsageError, "unknown pin 'moon'; pin one of: mac, rpi4, rpi3, pool"),
        (job(), "rpi3", UsageError, r"pinned to rpi3 \(.*\), which does not run transcribe jobs; unpin \(/unpin in the bot\) or pin one of: mac, rpi4, pool"),
        (job(mb=900), "rpi4", TooLarge, r"pinned to rpi4 \(Raspberry Pi 4\), but the input of 900 MB is over its 200 MB limit; unpin \(/unpin in the bot\)"),
        (job("summarize", 20), "rpi3", TooLarge, "over its 5 MB limit; unpin"),
        (job(mb=5000), None, TooLarge, r"this 5000 MB input is too big for every transcribe target; the largest accepted is 2000 MB, by mac \(Mac mini\) — split the audio"),
        (job(mb=None, minutes=900), None, TooLarge, "this 900-minute recording is too long for every transcribe target; the longest accepted is 600 minutes, by mac"),
        (job(mb=5000), "mac", TooLarge, "pinned to mac .* over its 2000 MB limit"),
    ],
)  # fmt: skip
def test_refusals_are_one_sentence_never_a_silent_reroute(
    policy: Policy,
    request_: JobRequest,
    pin: str | None,
    expected_error: type[RelayqError],
    match: str,
) -> None:
    with pytest.raises(expected_error, match=match):
        select(policy, request_, fleet("all_idle"), pin)


def test_a_pin_to_a_target_below_the_routes_requirements_is_refused() -> None:
    text = SHIPPED.read_text().replace(
        "prefer: [rpi4, rpi3, mac]", "prefer: [rpi4, rpi3, mac]\n    requires: {min_memory_gb: 2}"
    )
    with pytest.raises(
        UsageError, match="pinned to rpi3 .* which has 1 GB of memory, the job needs 2 GB"
    ):
        select(load_policy(text), job("summarize", 0.1), fleet("all_idle"), "rpi3")


def test_a_target_that_is_not_pinnable_is_refused_by_name() -> None:
    minimal = load_policy_file(POLICIES / "minimal.yaml")
    with pytest.raises(
        UsageError, match="'box' may not be pinned in this policy; pin one of: \\(none"
    ):
        select(minimal, job(), None, "box")


def test_no_single_target_for_a_big_short_and_a_small_long_input_is_too_large() -> None:
    split = load_policy_file(POLICIES / "size_vs_length.yaml")
    assert select(split, job(mb=1000, minutes=30), None).target == "big"
    assert select(split, job(mb=100, minutes=300), None).target == "long"
    with pytest.raises(
        TooLarge, match="no transcribe target accepts 1000 MB and 300 minutes together"
    ):
        select(split, job(mb=1000, minutes=300), None)


def test_a_fallback_that_is_also_preferred_takes_the_job_queued() -> None:
    both = load_policy_file(POLICIES / "fallback_also_preferred.yaml")
    busy = Fleet((Runner("f", "Linux", True, True, frozenset({"self-hosted", "fast", "audio"})),))
    decision = select(both, job(), busy)
    assert (decision.target, decision.queued) == ("pool", True)
    assert [(r.target, r.verdict) for r in decision.reasons] == [
        ("fast", "busy"),
        ("pool", "busy"),
        ("pool", "taken"),
    ]
    assert decision.chain == ("fast", "pool")


def test_one_idle_runner_among_busy_ones_makes_a_target_free(policy: Policy) -> None:
    labels = frozenset({"self-hosted", "macmini"})
    two = Fleet(
        (Runner("m1", "macOS", True, True, labels), Runner("m2", "macOS", True, False, labels))
    )
    assert select(policy, job(), two).queued is False


def test_an_offline_runner_that_says_busy_counts_as_offline(policy: Policy) -> None:
    stale = Runner("m", "macOS", False, True, frozenset({"self-hosted", "macmini"}))
    assert select(policy, job(), Fleet((stale,))).reasons[0].verdict == "offline"


def test_the_chain_is_the_routes_order_and_a_pin_alone(policy: Policy) -> None:
    assert select(policy, job("summarize", 0.1), fleet("all_idle")).chain == (
        "rpi4",
        "rpi3",
        "mac",
        "pool",
    )
    assert select(policy, job(), fleet("all_idle"), "rpi4").chain == ("rpi4",)


def test_the_json_form_has_the_contract_fields(policy: Policy) -> None:
    payload = select(policy, job(), fleet("mac_offline"), "mac").to_json()
    assert json.loads(json.dumps(payload)) == {
        "job": "transcribe",
        "target": "mac",
        "description": "Mac mini",
        "workflow": "transcribe_mac.yml",
        "labels": ["self-hosted", "macmini"],
        "queued": True,
        "waiting_for": "mac",
        "pinned": True,
        "chain": ["mac"],
        "reasons": [
            {
                "target": "mac",
                "verdict": "taken",
                "reason": "pinned to mac (Mac mini): offline — the job will wait for it",
            }
        ],
    }


@pytest.mark.parametrize(("mb", "minutes"), [(-1, None), (None, -5), (float("nan"), None)])
def test_a_negative_or_meaningless_size_is_a_usage_error(
    mb: float | None, minutes: float | None
) -> None:
    with pytest.raises(UsageError, match="must be a number of at least 0"):
        JobRequest("transcribe", mb, minutes)


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        ("busy", "busy", "first"),
        ("offline", "offline", "first"),
        ("offline", "busy", "second"),
        ("absent", "offline", "second"),
        ("absent", "absent", "first"),
    ],
)
def test_an_input_only_the_preferred_can_take_waits_for_the_one_likeliest_to_free_up(
    first: str, second: str, expected: str
) -> None:
    policy = load_policy_file(POLICIES / "two_big_targets.yaml")
    runners = [
        Runner(name, "Linux", state != "offline", state == "busy", frozenset({"self-hosted", name}))
        for name, state in (("first", first), ("second", second), ("small", "busy"))
        if state != "absent"
    ]
    decision = select(policy, job(mb=500), Fleet(tuple(runners)))
    assert (decision.target, decision.queued, decision.waiting_for) == (expected, True, expected)
