"""render_decision(): the text `relayq route` prints (and the bot's /route will send)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.fleet import load_fleet_file
from bot.policy import JobRequest, load_policy_file, select
from bot.render import render_decision

ROOT = Path(__file__).resolve().parents[2]
POLICY = load_policy_file(ROOT / "policy" / "policy.yaml")


def rendered(job: JobRequest, fleet_name: str | None, pin: str | None = None) -> str:
    fleet = (
        load_fleet_file(ROOT / f"tests/fixtures/fleets/{fleet_name}.json") if fleet_name else None
    )
    return render_decision(select(POLICY, job, fleet, pin))


@pytest.mark.parametrize(
    ("job", "fleet_name", "pin", "expected"),
    [
        (JobRequest("transcribe", 30), "all_idle", None, """\
transcribe → mac (Mac mini) via transcribe_mac.yml
not queued: runs on a runner with labels self-hosted, macmini
  ✔ mac (Mac mini): online and idle — taken"""),
        (JobRequest("transcribe", 30), "mac_busy_rpi4_busy", None, """\
transcribe → pool (the pooled audio runners) via transcribe_audio.yml
queued: no runner with labels self-hosted, audio is free now; the job will wait for one
  … mac (Mac mini): busy — falls through
  … rpi4 (Raspberry Pi 4): busy — falls through
  ✔ pool (the pooled audio runners): busy — taken as the fallback; the job will queue until one of its runners is free"""),
        (JobRequest("transcribe", 30), "mac_offline", "mac", """\
transcribe → mac (Mac mini) via transcribe_mac.yml [pinned]
queued: no runner with labels self-hosted, macmini is free now; the job will wait for one
  ✔ pinned to mac (Mac mini): offline — the job will wait for it"""),
        (JobRequest("transcribe", 900), "mac_busy", None, """\
transcribe → mac (Mac mini) via transcribe_mac.yml
queued: no runner with labels self-hosted, macmini is free now; the job will wait for one
  … mac (Mac mini): busy — falls through
  ✘ rpi4 (Raspberry Pi 4): the input of 900 MB is over its 200 MB limit — skipped
  ✘ pool (the pooled audio runners): the input of 900 MB is over its 200 MB limit — skipped as the fallback
  ✔ mac (Mac mini): busy — the job will wait for it: it can take this input and the fallback cannot"""),
        (JobRequest("summarize", 20), "mac_offline_rpi4_busy", None, """\
summarize → pool (the pooled audio runners) via summarize_audio.yml
queued: no runner with labels self-hosted, audio is free now; the job will wait for one
  … rpi4 (Raspberry Pi 4): busy — falls through
  ✘ rpi3 (Raspberry Pi 3): the input of 20 MB is over its 5 MB limit — skipped
  ↓ mac (Mac mini): offline — falls through
  ✔ pool (the pooled audio runners): busy — taken as the fallback; the job will queue until one of its runners is free"""),
        (JobRequest("transcribe", 30), "empty", None, """\
transcribe → pool (the pooled audio runners) via transcribe_audio.yml
queued: no runner with labels self-hosted, audio is free now; the job will wait for one
  ∅ mac (Mac mini): no runner has the labels self-hosted, macmini — falls through
  ∅ rpi4 (Raspberry Pi 4): no runner has the labels self-hosted, rpi4 — falls through
  ✔ pool (the pooled audio runners): no runner has the labels self-hosted, audio — taken as the fallback; the job will queue until one of its runners is free"""),
        (JobRequest("transcribe"), None, None, """\
transcribe → mac (Mac mini) via transcribe_mac.yml
not queued: runs on a runner with labels self-hosted, macmini
  ✔ mac (Mac mini): runner state unknown (no fleet information) — taken (size unknown, so its 2000 MB limit was not checked)"""),
    ],
)  # fmt: skip
def test_a_decision_renders_as_target_queue_state_and_one_line_per_candidate(
    job: JobRequest, fleet_name: str | None, pin: str | None, expected: str
) -> None:
    assert rendered(job, fleet_name, pin) == expected
