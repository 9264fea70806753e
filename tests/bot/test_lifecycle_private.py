"""Private jobs through the lifecycle, with the in-memory chat and a scripted executor:
/private and #private mark the rows (which keep it across restarts), the runner is told to
use the local model only, a private job never goes to a target that would send its audio out
(it waits for the owner's machines instead), its summary and translation are private too, and
the delivered card says where it stayed."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

from bot.executors.base import JobSpec, JobState, Phase
from bot.fleet import Fleet, Runner
from bot.ledger import Ledger, Prefs
from bot.lifecycle import JobService, Upload, driving
from bot.policy import Policy, load_policy_file
from bot.settings import Settings
from bot.telegram.card_texts import card_text
from tests.bot.lifecycle_fakes import MemoryChat, ScriptedExecutor, settled

ROOT = Path(__file__).resolve().parents[2]
CLOUD = load_policy_file(ROOT / "tests" / "fixtures" / "policies" / "cloud_fallback.yaml")
LINK = "https://example.org/talk.mp3"
MAC = frozenset({"self-hosted", "macmini", "audio", "ffmpeg", "heavy"})
PI4 = frozenset({"self-hosted", "rpi4", "audio", "light"})
CLOUD_BOX = frozenset({"self-hosted", "cloud"})


def fleet(mac: bool, pi4: bool = False, cloud: bool = True, busy: bool = False) -> Fleet:
    """Runners as GitHub lists them; `busy`: the Mac and the Pi (when online) are at work."""
    return Fleet((Runner("mac-mini", "macOS", mac, busy, MAC),
                  Runner("pi4", "Linux", pi4, busy, PI4),
                  Runner("cloud-1", "Linux", cloud, False, CLOUD_BOX)))  # fmt: skip


@pytest.fixture(autouse=True)
def _no_outage_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(driving, "OUTAGE_FIRST_S", 0.0)


def results(root: Path, spec: JobSpec, *, kept: bool) -> Path:
    """What a runner sends back: its meta.json says whether it kept the job private."""
    folder = root / spec.job_id / "out"
    folder.mkdir(parents=True, exist_ok=True)
    name = "summary.md" if spec.kind == "summarize" else "transcript.txt"
    (folder / name).write_text("Hello there.\n")
    meta = {"duration_s": 10.0, "backend": "local" if kept else "openai", "model": "tiny.en",
            "host": "mac-mini", "private": kept}  # fmt: skip
    (folder / "meta.json").write_text(json.dumps(meta))
    return folder


def runner(root: Path, fleet_now: Fleet | None = None) -> ScriptedExecutor:
    """Delivers every job, keeping it private when the spec says so (as jobs/ does)."""

    def script(spec: JobSpec) -> list[JobState]:
        folder = results(root, spec, kept=spec.private and spec.backend == "local")
        return [JobState(spec.job_id, Phase.SUCCEEDED, "done", result_dir=folder)]

    return ScriptedExecutor(script, fleet_now=fleet_now)


def make(tmp_path: Path, executor: ScriptedExecutor, policy: Policy = CLOUD,
         chat: MemoryChat | None = None) -> tuple[JobService, MemoryChat]:  # fmt: skip
    settings = Settings(_env_file=None, RELAYQ_STATE_DIR=tmp_path / "state")  # type: ignore[call-arg]
    ledger = Ledger(tmp_path / "state" / "ledger.sqlite3")
    chat = chat or MemoryChat()
    return JobService(ledger=ledger, executor=executor, policy=policy, settings=settings,
                      chat=chat), chat  # fmt: skip


def send(service: JobService, message_id: int, *, private: bool = False) -> str:
    (row,) = service.intake.accept(chat_id=7, user_id=7, message_id=message_id, sources=[LINK],
                                   private=private)  # fmt: skip
    return row.id


async def test_private_on_marks_every_new_job_and_the_runner_gets_the_local_model_only(
    tmp_path: Path,
) -> None:
    executor = runner(tmp_path, fleet(mac=True))
    service, chat = make(tmp_path, executor)
    service.ledger.set_prefs(7, replace(service.ledger.prefs(7), private=True))
    job = send(service, 1)
    await service.driver.drained()
    (spec,) = executor.submitted
    assert (spec.private, spec.backend, spec.target) == (True, "local", "mac")
    assert service.ledger.get(job).private == 1
    said = card_text(chat.last(job))
    assert "🔒 stayed on your machines · Mac mini" in said
    await service.close()


async def test_private_in_one_message_marks_that_job_alone(tmp_path: Path) -> None:
    executor = runner(tmp_path, fleet(mac=True))
    service, chat = make(tmp_path, executor)
    kept, ordinary = send(service, 1, private=True), send(service, 2)
    await service.driver.drained()
    specs = {s.job_id: s for s in executor.submitted}
    assert (specs[kept].private, specs[kept].backend) == (True, "local")
    assert (specs[ordinary].private, specs[ordinary].backend) == (False, "")
    assert "🔒" not in card_text(chat.last(ordinary))
    assert "🔒 stayed on your machines" in card_text(chat.last(kept))
    await service.close()


async def test_an_upload_marked_private_is_a_private_job(tmp_path: Path) -> None:
    executor = runner(tmp_path, fleet(mac=True))
    service, _ = make(tmp_path, executor)
    row = service.intake.accept_upload(chat_id=7, user_id=7, message_id=3,
                                       upload=Upload("F1", name="memo.m4a"), private=True)  # fmt: skip
    await service.driver.drained()
    assert row.private == 1 and executor.submitted[0].private
    await service.close()


async def test_with_its_machines_offline_a_private_job_waits_for_them_not_the_cloud(
    tmp_path: Path,
) -> None:
    """The normal fallback (runners that transcribe with OpenAI) takes the ordinary job; the
    private one goes to the Mac's workflow to wait for it there (as a pin to an offline Mac
    does), saying why the cloud was skipped."""
    executor = runner(tmp_path, fleet(mac=False))
    service, chat = make(tmp_path, executor)
    ordinary, kept = send(service, 1), send(service, 2, private=True)
    await service.driver.drained()
    targets = {s.job_id: (s.target, s.workflow, s.backend) for s in executor.submitted}
    assert targets == {ordinary: ("cloud", "transcribe_cloud.yml", ""),
                       kept: ("mac", "transcribe_mac.yml", "local")}  # fmt: skip
    (decision,) = [c.decision for c in chat.cards_of(kept) if c.decision is not None]
    assert (decision.target, decision.queued, decision.waiting_for) == ("mac", True, "mac")
    (cloud,) = [r for r in decision.reasons if r.target == "cloud"]
    assert cloud.text.endswith("sends the audio to OpenAI (backend: openai) — skipped as the "
                               "fallback")  # fmt: skip
    await service.close()


async def test_with_its_machines_busy_a_private_job_is_held_for_them_not_sent_to_the_cloud(
    tmp_path: Path,
) -> None:
    executor = runner(tmp_path, fleet(mac=True, busy=True))
    service, _ = make(tmp_path, executor)
    ordinary, kept = send(service, 1), send(service, 2, private=True)
    await settled(service)
    assert [(s.job_id, s.target) for s in executor.submitted] == [(ordinary, "cloud")]
    assert kept in service.driver.queue.holding()
    executor.fleet_now = fleet(mac=True)
    service.driver.queue.wake()
    await service.driver.drained()
    assert [(s.job_id, s.target, s.backend) for s in executor.submitted][1:] == [
        (kept, "mac", "local")]  # fmt: skip
    await service.close()


async def test_a_private_summary_where_no_target_keeps_it_home_fails_with_the_reason(
    tmp_path: Path,
) -> None:
    executor = runner(tmp_path, fleet(mac=True))
    service, chat = make(tmp_path, executor)
    job = send(service, 1, private=True)
    await service.driver.drained()
    (summary,) = service.intake.accept(chat_id=7, user_id=7, message_id=9,
                                       sources=[f"job:{job}"], kind="summarize")  # fmt: skip
    assert summary.private == 1  # a private transcript's summary is private
    await service.driver.drained()
    row = service.ledger.get(summary.id)
    assert row.state == "failed"
    assert row.detail.startswith("this job is private, and no summarize target keeps the audio")
    assert [s.kind for s in executor.submitted] == ["transcribe"]  # nothing was dispatched
    assert chat.last(summary.id).state is not None
    await service.close()


async def test_a_private_transcripts_summary_and_translation_stay_private(tmp_path: Path) -> None:
    shipped = load_policy_file(ROOT / "policy" / "policy.yaml")
    executor = runner(tmp_path, None)
    service, chat = make(tmp_path, executor, shipped)
    job = send(service, 1, private=True)
    await service.driver.drained()
    service.ledger.update(job, heard="de")
    (summary,) = service.intake.accept(chat_id=7, user_id=7, message_id=9,
                                       sources=[f"job:{job}"], kind="summarize")  # fmt: skip
    translation = service.intake.translate(service.ledger.get(job), chat_id=7, message_id=10)
    await service.driver.drained()
    specs = {s.job_id: s for s in executor.submitted}
    assert specs[summary.id].private and specs[translation.id].private
    assert translation.private == 1
    assert "🔒 stayed on your machines" in card_text(chat.last(summary.id))
    await service.close()


async def test_a_job_sent_again_after_its_runner_was_lost_is_still_private(tmp_path: Path) -> None:
    def lost(spec: JobSpec) -> list[JobState]:
        return [JobState(spec.job_id, Phase.FAILED, "the runner mac-mini went offline",
                         runner_lost="mac-mini")]  # fmt: skip

    executor = ScriptedExecutor(lost, fleet_now=fleet(mac=True))
    service, _ = make(tmp_path, executor)
    send(service, 1, private=True)
    await service.driver.drained()
    assert [(s.private, s.backend) for s in executor.submitted] == [(True, "local")] * 2
    assert [r.private for r in service.ledger.all_jobs()] == [1, 1]
    await service.close()


async def test_private_survives_a_restart(tmp_path: Path) -> None:
    executor = runner(tmp_path, fleet(mac=True, busy=True))  # held in relayq's queue
    service, chat = make(tmp_path, executor)
    service.ledger.set_prefs(7, Prefs("de", ("srt",), private=True))
    job = send(service, 1)
    await settled(service)
    await service.close()
    service.ledger.close()
    assert executor.submitted == []
    # The bot starts again with the Mac free: the job is taken up as private.
    executor = runner(tmp_path, fleet(mac=True))
    again, _ = make(tmp_path, executor, chat=chat)
    assert again.ledger.prefs(7) == Prefs("de", ("srt",), private=True)
    assert again.resume_all() == 1
    await again.driver.drained()
    (spec,) = executor.submitted
    assert (spec.job_id, spec.private, spec.backend, spec.target) == (job, True, "local", "mac")
    await again.close()


async def test_a_result_that_does_not_say_it_was_kept_private_is_not_called_private(
    tmp_path: Path,
) -> None:
    def careless(spec: JobSpec) -> list[JobState]:
        return [JobState(spec.job_id, Phase.SUCCEEDED, "done",
                         result_dir=results(tmp_path, spec, kept=False))]  # fmt: skip

    service, chat = make(tmp_path, ScriptedExecutor(careless, fleet_now=fleet(mac=True)))
    job = send(service, 1, private=True)
    await service.driver.drained()
    said = card_text(chat.last(job))
    assert "stayed on your machines" not in said
    assert "⚠️ asked to stay private, but the runner's results do not say it did" in said
    await service.close()


def test_an_old_ledger_opens_with_nothing_private(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    db = sqlite3.connect(path)
    db.executescript(
        "CREATE TABLE jobs (id TEXT PRIMARY KEY, chat_id INTEGER NOT NULL, user_id INTEGER NOT"
        " NULL, message_id INTEGER NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL, source"
        " TEXT NOT NULL, pin TEXT, state TEXT NOT NULL DEFAULT 'accepted', target TEXT, workflow"
        " TEXT, run_url TEXT, progress_message_id INTEGER, detail TEXT NOT NULL DEFAULT '',"
        " srt_sent INTEGER NOT NULL DEFAULT 0, created_at REAL NOT NULL, updated_at REAL NOT"
        " NULL, UNIQUE (chat_id, message_id, seq));"
        "CREATE TABLE prefs (user_id INTEGER PRIMARY KEY, language TEXT, formats TEXT);"
        "INSERT INTO jobs (id, chat_id, user_id, message_id, seq, kind, source, created_at,"
        " updated_at) VALUES ('old', 7, 7, 1, 0, 'transcribe', 'https://x.org/a', 1, 1);"
        "INSERT INTO prefs VALUES (7, 'fr', 'txt');"
    )
    db.commit()
    db.close()
    ledger = Ledger(path)
    assert ledger.get("old").private == 0
    assert ledger.prefs(7) == Prefs("fr", ("txt",), private=False)
    ledger.set_prefs(7, Prefs("fr", ("txt",), private=True))
    assert ledger.prefs(7).private is True
    ledger.close()
