"""select() with privacy as a constraint: a private job goes only to a target whose runners
are self-hosted and transcribe locally; a fallback that would send the audio out is skipped
with its reason, a pin to one is refused, and a route with none refuses the job — by table,
on a policy with a cloud fallback and GitHub-hosted runners, and on the shipped policy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.fleet import Fleet, Runner
from bot.policy import JobRequest, Policy, load_policy, load_policy_file, select
from bot.render import render_decision
from jobs.errors import ConfigError, PrivateRefused

ROOT = Path(__file__).resolve().parents[2]
CLOUD = load_policy_file(ROOT / "tests" / "fixtures" / "policies" / "cloud_fallback.yaml")
SHIPPED = load_policy_file(ROOT / "policy" / "policy.yaml")

MAC = frozenset({"self-hosted", "macmini", "audio", "ffmpeg", "heavy"})
PI4 = frozenset({"self-hosted", "rpi4", "audio", "light"})
CLOUD_BOX = frozenset({"self-hosted", "cloud"})
STATES = {"free": (True, False), "busy": (True, True), "offline": (False, False)}


def fleet(mac: str, pi4: str, cloud: str = "free") -> Fleet:
    runners = [(n, labels, STATES[s]) for n, labels, s in
               (("mac-mini", MAC, mac), ("pi4", PI4, pi4), ("cloud-1", CLOUD_BOX, cloud))]  # fmt: skip
    return Fleet(tuple(Runner(n, "Linux", on, busy, labels) for n, labels, (on, busy) in runners))


def private(kind: str = "transcribe", mb: float | None = 30) -> JobRequest:
    return JobRequest(kind, size_mb=mb, private=True)


@pytest.mark.parametrize(
    ("job", "fleet_", "expected"),
    [
        # an ordinary job takes the cloud fallback when the Mac and the Pi are away ...
        (JobRequest("transcribe", 30), fleet("offline", "offline"), ("cloud", False)),
        (JobRequest("transcribe", 30), fleet("busy", "busy"), ("cloud", False)),
        # ... a private one never: it waits for its own machines (busy before offline)
        (private(), fleet("offline", "offline"), ("mac", True)),
        (private(), fleet("busy", "busy"), ("mac", True)),
        (private(), fleet("offline", "busy"), ("rpi4", True)),
        (private(), fleet("offline", "offline", cloud="offline"), ("mac", True)),
        # free machines of one's own take it as they take any job
        (private(), fleet("free", "free"), ("mac", False)),
        (private(), fleet("offline", "free"), ("rpi4", False)),
        (private(), None, ("mac", False)),  # runners unknown: the first preferred
        # too big for the Pi and the Mac away: it waits for the Mac, not the cloud
        (private(mb=900), fleet("offline", "free"), ("mac", True)),
        (JobRequest("transcribe", 900), fleet("offline", "free"), ("cloud", False)),
    ],
)
def test_private_routing(job: JobRequest, fleet_: Fleet | None, expected: tuple[str, bool]) -> None:
    decision = select(CLOUD, job, fleet_)
    assert (decision.target, decision.queued) == expected
    assert decision.private is job.private


def test_the_skipped_fallback_says_why() -> None:
    decision = select(CLOUD, private(), fleet("offline", "offline"))
    (cloud,) = [r for r in decision.reasons if r.target == "cloud"]
    assert cloud.verdict == "constraint"
    assert cloud.text == (
        "cloud (the OpenAI runners): a private job stays on your machines, and it sends the "
        "audio to OpenAI (backend: openai) — skipped as the fallback"
    )
    assert decision.keeps_private == ("mac", "rpi4")
    assert decision.reasons[-1].text == (
        "mac (Mac mini): offline — the job will wait for it: it keeps the audio on your "
        "machines and the fallback does not"
    )


def test_route_explains_that_only_the_owners_machines_can_take_it() -> None:
    said = render_decision(select(CLOUD, private(), fleet("offline", "offline")), CLOUD)
    assert (
        "private: stays on your machines — only mac (Mac mini), rpi4 (Raspberry Pi 4) can take it"
        in said
    )
    ordinary = render_decision(
        select(CLOUD, JobRequest("transcribe", 30), fleet("free", "free")), CLOUD
    )
    assert "private" not in ordinary


def test_the_json_form_lists_who_may_take_a_private_job() -> None:
    said = select(CLOUD, private(), fleet("free", "free")).to_json()
    assert (said["private"], said["keeps_private"]) == (True, ["mac", "rpi4"])
    assert "private" not in select(CLOUD, JobRequest("transcribe", 30), None).to_json()
    json.dumps(said)


@pytest.mark.parametrize(
    ("pin", "why"),
    [
        (
            "cloud",
            "pinned to cloud (the OpenAI runners), but a private job stays on your machines, "
            "and it sends the audio to OpenAI (backend: openai); unpin (/unpin in the bot) "
            "or pin one of: mac, rpi4 — or /private off",
        ),
    ],
)
def test_a_pin_that_would_send_the_audio_out_is_refused_in_one_sentence(pin: str, why: str) -> None:
    with pytest.raises(PrivateRefused) as caught:
        select(CLOUD, private(), fleet("free", "free"), pin)
    assert str(caught.value) == why
    # an ordinary job pinned there runs there, and a private one pinned to the Mac waits for it
    assert select(CLOUD, JobRequest("transcribe", 30), None, pin).target == pin
    waits = select(CLOUD, private(), fleet("offline", "free"), "mac")
    assert (waits.target, waits.queued, waits.pinned) == ("mac", True, True)


def test_a_route_with_no_target_of_ones_own_refuses_a_private_job() -> None:
    # summaries: GitHub's hosted runners, then the cloud — neither keeps it at home
    assert select(CLOUD, JobRequest("summarize"), None).target == "hosted"
    with pytest.raises(PrivateRefused) as caught:
        select(CLOUD, private("summarize"), fleet("free", "free"))
    said = str(caught.value)
    assert said.startswith("this job is private, and no summarize target keeps the audio on")
    assert "/private off" in said and "\n" not in said


def test_a_hosted_target_is_skipped_for_having_no_self_hosted_label() -> None:
    policy = load_policy(
        (ROOT / "tests" / "fixtures" / "policies" / "cloud_fallback.yaml")
        .read_text()
        .replace("prefer: [hosted]", "prefer: [hosted, mac]")
    )
    decision = select(policy, private("summarize"), fleet("free", "free"))
    assert decision.target == "mac"
    assert decision.reasons[0].text == (
        "hosted (GitHub's hosted runners): a private job stays on your machines, and it runs on "
        "GitHub's machines, not yours (no self-hosted label) — skipped"
    )


@pytest.mark.parametrize(
    "fleet_",
    [
        fleet("free", "free"),
        fleet("offline", "free"),
        fleet("busy", "busy"),
        fleet("offline", "offline"),
        None,
    ],
)
def test_on_the_shipped_policy_a_private_job_goes_where_any_job_would(fleet_: Fleet | None) -> None:
    """Every shipped target is self-hosted with the local backend possible (`auto`)."""
    ordinary = select(SHIPPED, JobRequest("transcribe", 30), fleet_)
    kept = select(SHIPPED, private(), fleet_)
    assert (kept.target, kept.queued, kept.reasons) == (
        ordinary.target, ordinary.queued, ordinary.reasons)  # fmt: skip
    assert kept.keeps_private == ("mac", "rpi4", "pool")


def test_a_backend_the_schema_does_not_know_fails_at_load_with_its_path() -> None:
    text = (ROOT / "tests" / "fixtures" / "policies" / "cloud_fallback.yaml").read_text()
    with pytest.raises(ConfigError) as caught:
        load_policy(text.replace("backend: openai", "backend: whisper-cloud"), "p.yaml")
    assert str(caught.value).startswith("p.yaml: targets.cloud.backend: ")


def test_the_policy_files_targets_may_declare_a_backend() -> None:
    assert CLOUD.targets["cloud"].backend == "openai"
    assert CLOUD.targets["rpi4"].backend == "auto"
    assert isinstance(SHIPPED, Policy)


def test_relayq_route_private_skips_the_cloud_fallback(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.cli import main

    monkeypatch.setenv("RELAYQ_POLICY", str(ROOT / "tests/fixtures/policies/cloud_fallback.yaml"))
    offline = ["--fleet", str(ROOT / "tests/fixtures/fleets/all_offline.json")]
    assert main(["route", "--json", *offline]) == 0
    ordinary = json.loads(capsys.readouterr().out)
    assert main(["route", "--json", "--private", *offline]) == 0
    kept = json.loads(capsys.readouterr().out)
    assert (ordinary["target"], "private" in ordinary) == ("cloud", False)
    assert (kept["target"], kept["queued"], kept["keeps_private"]) == ("mac", True, ["mac", "rpi4"])
    assert main(["route", "--private", *offline]) == 0
    assert "private: stays on your machines — only mac, rpi4 can take it" in capsys.readouterr().out
