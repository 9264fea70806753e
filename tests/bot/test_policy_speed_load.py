"""The policy's speed and choose fields: defaults, and bad values failing with their path."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.policy import load_policy
from jobs.errors import ConfigError

SHIPPED = (Path(__file__).resolve().parents[2] / "policy" / "policy.yaml").read_text()


def edited(old: str, new: str) -> str:
    assert SHIPPED.count(old) == 1, old
    return SHIPPED.replace(old, new)


def test_the_shipped_speeds_and_choices() -> None:
    policy = load_policy(SHIPPED)
    assert {n: t.speed.realtime_factor for n, t in policy.targets.items()} == {
        "mac": 0.08, "rpi4": 0.4, "rpi3": 0.8, "pool": 0.4}  # fmt: skip
    assert {k: r.choose for k, r in policy.routes.items()} == {
        "transcribe": "first_free", "summarize": "first_free"}  # fmt: skip


def test_a_policy_without_them_gets_the_defaults() -> None:
    text = SHIPPED.replace("    speed: {realtime_factor: 0.08, startup_s: 20}\n", "")
    mac = load_policy(text).targets["mac"]
    assert (mac.speed.realtime_factor, mac.speed.startup_s) == (0.5, 30)


@pytest.mark.parametrize(
    ("text", "expected_error"),
    [
        (edited("speed: {realtime_factor: 0.08, startup_s: 20}", "speed: {realtime_factor: 0, startup_s: 20}"),
         "targets.mac.speed.realtime_factor: Input should be greater than 0"),
        (edited("speed: {realtime_factor: 0.08, startup_s: 20}", "speed: {realtime_factor: '0.08'}"),
         "targets.mac.speed.realtime_factor: Input should be a valid number"),
        (edited("speed: {realtime_factor: 0.08, startup_s: 20}", "speed: {rtf: 0.08}"),
         "targets.mac.speed.rtf: unknown field"),
        (edited("speed: {realtime_factor: 0.8, startup_s: 60}", "speed: {realtime_factor: 0.8, startup_s: -1}"),
         "targets.rpi3.speed.startup_s: Input should be greater than or equal to 0"),
        (edited("    prefer: [mac, rpi4]", "    prefer: [mac, rpi4]\n    choose: fastest"),
         "routes.transcribe.choose: Input should be 'first_free' or 'earliest_finish'"),
        # a pool that expects to be faster than the Pi 4 it can land on
        (edited("    speed: {realtime_factor: 0.4, startup_s: 40}\n\nroutes", "    speed: {realtime_factor: 0.1}\n\nroutes"),
         "targets.pool.speed.realtime_factor: 0.1 is faster than rpi4's 0.4"),
    ],
)  # fmt: skip
def test_bad_values_fail_at_load_with_their_path(text: str, expected_error: str) -> None:
    with pytest.raises(ConfigError, match=expected_error.replace("(", r"\(").replace(")", r"\)")):
        load_policy(text, "policy.yaml")
