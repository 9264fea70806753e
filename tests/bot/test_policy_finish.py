"""select() with choose: earliest_finish: the candidate expected to finish first, by table."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.fleet import Fleet, Runner
from bot.policy import JobRequest, Policy, Workload, load_policy, select
from bot.render import render_decision
from bot.speed import Sample, SpeedModel
from jobs.errors import TooLarge

SHIPPED = Path(__file__).resolve().parents[2] / "policy" / "policy.yaml"
LABELS = {
    "mac-mini": {"self-hosted", "macmini", "audio", "ffmpeg", "heavy"},
    "pi4": {"self-hosted", "rpi4", "audio", "light"},
    "pi3": {"self-hosted", "rpi3", "overflow", "verylight"},
}


def shipped(choose: str = "earliest_finish", rpi4_max_min: int = 180) -> Policy:
    """The shipped policy with the transcribe route's choice set, and (so that the Pi 4 could
    take a 2-hour file at all) the Pi 4's and the pool's length limit raised."""
    text = SHIPPED.read_text().replace("choose: earliest_finish\n", "")
    text = text.replace("max_duration_min: 90}", f"max_duration_min: {rpi4_max_min}}}")
    text = text.replace("    prefer: [mac, rpi4]", f"    prefer: [mac, rpi4]\n    choose: {choose}")
    return load_policy(text)


def fleet(**states: str) -> Fleet:
    """Runners by name, each "free", "busy" or "offline"; unnamed ones are left out."""
    return Fleet(tuple(
        Runner(name, "Linux", state != "offline", state == "busy", frozenset(LABELS[name]))
        for name, state in states.items()
    ))  # fmt: skip


def hours(h: float, mb: float | None = 100) -> JobRequest:
    return JobRequest("transcribe", size_mb=mb, duration_min=h * 60)


NO_HISTORY = SpeedModel([], shipped())
MAC_BUSY_1_MIN = {"mac": Workload(running_left_s=(60.0,))}


def test_a_two_hour_file_waits_a_minute_for_the_mac_rather_than_take_the_free_pi() -> None:
    policy = shipped()
    decision = select(policy, hours(2), fleet(**{"mac-mini": "busy", "pi4": "free"}),
                      speed=NO_HISTORY, workloads=MAC_BUSY_1_MIN)  # fmt: skip
    assert (decision.target, decision.queued, decision.waiting_for) == ("mac", True, "mac")
    mac, pi = decision.expectation("mac"), decision.expectation("rpi4")
    assert mac is not None and pi is not None
    assert mac.start_in_s == 60 and mac.finish_in_s == pytest.approx(60 + 20 + 0.08 * 7200)
    assert pi.start_in_s == 0 and pi.finish_in_s == pytest.approx(40 + 0.4 * 7200)
    assert decision.summary.startswith("mac (Mac mini): busy, starts in about 1 min, done in")
    assert "the job will wait for it: expected to finish first" in decision.summary
    assert [(r.target, r.verdict) for r in decision.reasons] == [
        ("rpi4", "later"), ("pool", "later"), ("mac", "taken")]  # fmt: skip


def test_first_free_sends_the_same_file_to_the_free_pi() -> None:
    decision = select(shipped("first_free"), hours(2), fleet(**{"mac-mini": "busy", "pi4": "free"}),
                      speed=NO_HISTORY, workloads=MAC_BUSY_1_MIN)  # fmt: skip
    assert (decision.target, decision.queued) == ("rpi4", False)
    assert {e.target for e in decision.expected} == {"mac", "rpi4", "pool"}  # shown, not used


@pytest.mark.parametrize(
    ("request_", "states", "workloads", "expected"),
    [
        # a voice note: the Pi, free now, beats waiting 10 minutes for the Mac
        (hours(0.05, 1), {"mac-mini": "busy", "pi4": "free"}, {"mac": Workload((600.0,))}, ("rpi4", False)),
        # both free: the Mac is faster
        (hours(1), {"mac-mini": "free", "pi4": "free"}, {}, ("mac", False)),
        # a near-tie (the Pi 10 s sooner, within 30 s) goes to the earlier in preference: the Mac
        (hours(30 / 3600, 0.5), {"mac-mini": "busy", "pi4": "free"}, {"mac": Workload((40.0,))}, ("mac", True)),
        # the Mac busy with work relayq did not send: assumed free in 5 minutes
        (hours(1), {"mac-mini": "busy", "pi4": "free"}, {}, ("mac", True)),
        # a long queue already held for the Mac: the Pi finishes first
        (hours(1), {"mac-mini": "busy", "pi4": "free"}, {"mac": Workload((600.0,), (1200.0, 1200.0))}, ("rpi4", False)),
        # Mac offline: it has no foreseeable finish; the Pi takes it
        (hours(1), {"mac-mini": "offline", "pi4": "free"}, {}, ("rpi4", False)),
        # everything offline: first_free's rules, the fallback queues
        (hours(1), {"mac-mini": "offline", "pi4": "offline"}, {}, ("pool", True)),
        # no runner at all: the same
        (hours(1), {}, {}, ("pool", True)),
        # too long for the Pi and the pool (constraints unchanged): the busy Mac, waited for
        (hours(4), {"mac-mini": "busy", "pi4": "free"}, {}, ("mac", True)),
    ],
)  # fmt: skip
def test_earliest_finish_routing(
    request_: JobRequest, states: dict[str, str], workloads: dict[str, Workload],
    expected: tuple[str, bool],
) -> None:  # fmt: skip
    decision = select(shipped(), request_, fleet(**states), speed=NO_HISTORY, workloads=workloads)
    assert (decision.target, decision.queued) == expected


def test_constraints_still_skip_with_their_reason() -> None:
    decision = select(shipped(), hours(4), fleet(**{"mac-mini": "busy", "pi4": "free"}),
                      speed=NO_HISTORY)  # fmt: skip
    texts = [r.text for r in decision.reasons]
    assert (
        "rpi4 (Raspberry Pi 4): 240 minutes of audio is over its 180-minute limit — skipped"
        in texts
    )
    assert [e.target for e in decision.expected] == ["mac"]


def test_too_long_for_every_target_is_still_refused() -> None:
    with pytest.raises(TooLarge, match="too long for every transcribe target"):
        select(shipped(), hours(11), fleet(**{"mac-mini": "free"}), speed=NO_HISTORY)


@pytest.mark.parametrize("pin", ["rpi4", "mac"])
def test_a_pin_is_never_rerouted_by_expected_finish(pin: str) -> None:
    states = {"mac-mini": "busy", "pi4": "busy"}
    decision = select(shipped(), hours(1), fleet(**states), pin, speed=NO_HISTORY,
                      workloads={"rpi4": Workload((7200.0,))})  # fmt: skip
    assert (decision.target, decision.pinned, decision.waiting_for) == (pin, True, pin)
    assert [e.target for e in decision.expected] == [pin]


def test_unknown_fleet_counts_every_target_as_free_after_the_work_relayq_knows() -> None:
    free = select(shipped(), hours(1), None, speed=NO_HISTORY)
    assert (free.target, free.queued) == ("mac", False)
    loaded = select(shipped(), hours(0.1), None, speed=NO_HISTORY,
                    workloads={"mac": Workload((3000.0,))})  # fmt: skip
    assert loaded.target == "rpi4"
    assert "runner state unknown" in loaded.summary


def test_no_history_uses_the_policys_speeds_and_says_so() -> None:
    decision = select(shipped(), hours(1), fleet(**{"mac-mini": "free"}), speed=NO_HISTORY)
    mac = decision.expectation("mac")
    assert mac is not None
    assert (mac.basis, mac.n, mac.run_s) == ("default", 0, pytest.approx(20 + 0.08 * 3600))
    assert "first job on this runner" in decision.summary


def test_measured_history_replaces_the_defaults_and_can_change_the_choice() -> None:
    # This Mac turns out slow (0.5 s of work per audio second): the free Pi wins a 1-hour file
    # against a Mac that is itself free.
    slow_mac = [Sample("mac", "mac-mini", "large-v3", "local", 600, 320, 5, 15, 300, t)
                for t in range(5)]  # fmt: skip
    model = SpeedModel(slow_mac, shipped())
    decision = select(shipped(), hours(1), fleet(**{"mac-mini": "free", "pi4": "free"}),
                      speed=model)  # fmt: skip
    assert decision.target == "rpi4"
    mac = decision.expectation("mac")
    assert mac is not None and (mac.basis, mac.n) == ("measured", 5)


def test_an_unknown_length_is_assumed_from_the_size_and_said() -> None:
    decision = select(shipped(), JobRequest("transcribe", size_mb=48), fleet(**{"mac-mini": "free"}),
                      speed=NO_HISTORY)  # fmt: skip
    mac = decision.expectation("mac")
    assert mac is not None and "length assumed from its size (about 50 min)" in mac.note
    assert mac.run_s == pytest.approx(20 + 0.08 * 3000)


def test_without_a_speed_model_earliest_finish_routes_as_first_free() -> None:
    decision = select(shipped(), hours(2), fleet(**{"mac-mini": "busy", "pi4": "free"}))
    assert (decision.target, decision.expected) == ("rpi4", ())
    assert "expected" not in decision.to_json()


def test_the_json_carries_every_expectation() -> None:
    decision = select(shipped(), hours(2), fleet(**{"mac-mini": "busy", "pi4": "free"}),
                      speed=NO_HISTORY, workloads=MAC_BUSY_1_MIN)  # fmt: skip
    shown = decision.to_json()["expected"]
    assert isinstance(shown, list)
    assert [e["target"] for e in shown] == ["mac", "rpi4", "pool"]
    assert set(shown[0]) == {"target", "start_in_s", "run_s", "finish_in_s", "basis", "n", "note"}


def test_an_earliest_finish_decision_renders_with_a_mark_per_candidate() -> None:
    decision = select(shipped(), hours(2), fleet(**{"mac-mini": "busy", "pi4": "free"}),
                      speed=NO_HISTORY, workloads=MAC_BUSY_1_MIN)  # fmt: skip
    lines = render_decision(decision).splitlines()
    assert lines[1].startswith("queued: no runner with labels self-hosted, macmini is free now")
    assert lines[2].startswith(
        "  › rpi4 (Raspberry Pi 4): online and idle, starts now, done in about 49 min"
    )
    reasons = lines[: lines.index("Expected finish:")]  # then each candidate's finish
    assert reasons[-1].startswith(
        "  ✔ mac (Mac mini): busy, starts in about 1 min, done in about 11 min"
    )
