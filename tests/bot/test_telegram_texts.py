"""What the bot says about pins, derived from the policy rather than written into the code."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.policy import Policy, load_policy, load_policy_file
from bot.telegram.texts import pin_refusal, pinnable

SHIPPED = load_policy_file(Path(__file__).resolve().parents[2] / "policy" / "policy.yaml")
# A Pi with a transcribe workflow but too little memory for the route, and a box that
# transcribes and nothing else.
SMALL = load_policy("""
version: 1
targets:
  pi:
    description: a small Pi
    labels: [self-hosted, pi]
    workflows: {transcribe: t_pi.yml, summarize: s_pi.yml}
    capabilities: {memory_gb: 1, max_input_mb: 5, max_duration_min: 30}
  box:
    description: the box
    labels: [self-hosted, box]
    workflows: {transcribe: t_box.yml}
    capabilities: {memory_gb: 8, max_input_mb: 100, max_duration_min: 60}
routes:
  transcribe: {prefer: [box], requires: {min_memory_gb: 2}, fallback: box}
  summarize: {prefer: [pi], fallback: pi}
pins: {allowed: [pi, box]}
""")


@pytest.mark.parametrize(
    ("policy", "pin", "kind", "expected"),
    [
        (SHIPPED, "mac", "transcribe", None),
        (SHIPPED, "pool", "transcribe", None),
        (SHIPPED, "rpi3", "summarize", None),
        (SHIPPED, "rpi3", "transcribe",
         "rpi3 (Raspberry Pi 3) takes only summaries, not transcriptions, so every one pinned "
         "there would fail; transcriptions run on mac, rpi4, pool: /pin one of those, or /unpin."),
        (SMALL, "pi", "transcribe",
         "pi (a small Pi) takes only summaries, not transcriptions, so every one pinned there "
         "would fail; transcriptions run on box: /pin one of those, or /unpin."),
        (SMALL, "box", "summarize",
         "box (the box) takes only transcriptions, not summaries, so every one pinned there "
         "would fail; summaries run on pi: /pin one of those, or /unpin."),
    ],
)  # fmt: skip
def test_a_pin_is_refused_when_the_policy_would_fail_its_jobs(
    policy: Policy, pin: str, kind: str, expected: str | None
) -> None:
    assert pin_refusal(policy, pin, kind) == expected


def test_the_pins_offered_are_the_ones_that_transcribe() -> None:
    assert pinnable(SHIPPED) == ["mac", "rpi4", "pool"]
    assert pinnable(SMALL, "summarize") == ["pi"]
