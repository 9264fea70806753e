"""A runner that could not copy a job's results to its NAS (meta.json's `nas` entry,
jobs/nas.py), through the lifecycle with the in-memory chat: the delivered message says so
and why, the job is delivered all the same, and the owner hears it once per runner and
reason, until a copy on that runner works again, across restarts too."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.chat import ChatUnavailable, NasNotice, read_result
from bot.executors.base import JobSpec, JobState, Phase
from bot.fleet import Fleet, Runner
from bot.ledger import Ledger
from bot.lifecycle import JobService, driving
from bot.policy import load_policy_file
from bot.settings import Settings
from bot.telegram.card_texts import card_text
from bot.telegram.chat import TelegramChat
from bot.telegram.nas_texts import nas_line, nas_notice_text
from tests.bot.lifecycle_fakes import MemoryChat, ScriptedExecutor

ROOT = Path(__file__).resolve().parents[2]
POLICY = load_policy_file(ROOT / "tests" / "fixtures" / "policies" / "cloud_fallback.yaml")
MAC = frozenset({"self-hosted", "macmini", "audio", "ffmpeg", "heavy"})
FULL = {"copied": False, "reason": "the NAS is full"}
GONE = {"copied": False, "reason": "the NAS folder is not there (is the NAS mounted?)"}
COPIED = {"copied": True, "path": "2026/12/2026-12-04-talk-J1/"}


@pytest.fixture(autouse=True)
def _no_outage_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(driving, "OUTAGE_FIRST_S", 0.0)


class Runners:
    """Delivers each job with the next of `outcomes` as its meta.json's `nas` entry (None:
    the runner has no NAS), made on `host`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.outcomes: list[tuple[dict[str, object] | None, str]] = []
        self.sent = 0  # messages sent, each a new job
        fleet = Fleet((Runner("mac-mini", "macOS", True, False, MAC),))
        self.executor = ScriptedExecutor(self.script, fleet_now=fleet)

    def script(self, spec: JobSpec) -> list[JobState]:
        nas, host = self.outcomes.pop(0)
        folder = self.root / spec.job_id / "out"
        folder.mkdir(parents=True)
        (folder / "transcript.txt").write_text("Hello there.\n")
        meta: dict[str, object] = {"duration_s": 10.0, "backend": "local", "model": "tiny.en",
                                   "host": host}  # fmt: skip
        if nas is not None:
            meta["nas"] = nas
        (folder / "meta.json").write_text(json.dumps(meta))
        return [JobState(spec.job_id, Phase.SUCCEEDED, "done", result_dir=folder)]


def service_for(tmp_path: Path, runners: Runners, chat: MemoryChat) -> JobService:
    settings = Settings(_env_file=None, RELAYQ_STATE_DIR=tmp_path / "state",  # type: ignore[call-arg]
                        RELAYQ_ALLOWED_USERS="7")  # fmt: skip
    ledger = Ledger(tmp_path / "state" / "ledger.sqlite3")
    return JobService(ledger=ledger, executor=runners.executor, policy=POLICY,
                      settings=settings, chat=chat)  # fmt: skip


async def deliver(
    service: JobService, runners: Runners, nas: dict[str, object] | None, host: str = "mac-mini"
) -> str:
    """One job, delivered; its id."""
    runners.outcomes.append((nas, host))
    runners.sent += 1
    (row,) = service.intake.accept(chat_id=7, user_id=7, message_id=runners.sent,
                                   sources=["https://example.org/talk.mp3"])  # fmt: skip
    await service.driver.drained()
    assert service.ledger.get(row.id).state == "delivered"
    return row.id


def told(chat: MemoryChat) -> list[tuple[str | None, str, str]]:
    return [(n.host, n.reason, n.job_id) for n in chat.notices if isinstance(n, NasNotice)]


async def test_a_failed_copy_is_in_the_card_and_told_to_the_owner_once(tmp_path: Path) -> None:
    runners, chat = Runners(tmp_path / "runs"), MemoryChat()
    service = service_for(tmp_path, runners, chat)
    first = await deliver(service, runners, FULL)
    second = await deliver(service, runners, FULL)
    for job in (first, second):
        said = card_text(chat.last(job))
        assert "⚠️ not copied to the NAS: the NAS is full" in said
        assert "Hello there." in said  # the transcript is delivered all the same
    assert told(chat) == [("mac-mini", "the NAS is full", first)]
    (notice,) = (n for n in chat.notices if isinstance(n, NasNotice))
    assert (notice.machine, notice.local) == ("Mac mini", False)
    await service.close()


async def test_a_new_reason_is_told_and_a_copy_that_works_starts_over(tmp_path: Path) -> None:
    runners, chat = Runners(tmp_path / "runs"), MemoryChat()
    service = service_for(tmp_path, runners, chat)
    full = await deliver(service, runners, FULL)
    gone = await deliver(service, runners, GONE)
    copied = await deliver(service, runners, COPIED)
    assert "NAS" not in card_text(chat.last(copied))  # a copy that worked: the chat is quiet
    again = await deliver(service, runners, FULL)
    await deliver(service, runners, None)  # a runner without a NAS changes nothing
    await deliver(service, runners, FULL)
    assert told(chat) == [("mac-mini", "the NAS is full", full),
                          ("mac-mini", GONE["reason"], gone),
                          ("mac-mini", "the NAS is full", again)]  # fmt: skip
    await service.close()


async def test_each_runner_is_told_of_on_its_own(tmp_path: Path) -> None:
    runners, chat = Runners(tmp_path / "runs"), MemoryChat()
    service = service_for(tmp_path, runners, chat)
    mac = await deliver(service, runners, FULL, host="mac-mini")
    pi = await deliver(service, runners, FULL, host="pi4")
    await deliver(service, runners, COPIED, host="pi4")  # the Pi's NAS is back; the Mac's not
    await deliver(service, runners, FULL, host="mac-mini")
    assert told(chat) == [("mac-mini", "the NAS is full", mac), ("pi4", "the NAS is full", pi)]
    await service.close()


async def test_what_was_told_is_kept_across_a_restart(tmp_path: Path) -> None:
    runners, chat = Runners(tmp_path / "runs"), MemoryChat()
    service = service_for(tmp_path, runners, chat)
    first = await deliver(service, runners, FULL)
    await service.close()
    service.ledger.close()
    later = service_for(tmp_path, runners, chat)
    await deliver(later, runners, FULL)
    assert told(chat) == [("mac-mini", "the NAS is full", first)]
    await later.close()


async def test_an_owner_that_cannot_be_told_leaves_the_job_delivered(tmp_path: Path) -> None:
    """The chat did not answer: the job is delivered; the next failed copy tells it."""
    runners, chat = Runners(tmp_path / "runs"), MemoryChat()
    chat.fail["notify_owner"] = [ChatUnavailable("Telegram is not answering")]
    service = service_for(tmp_path, runners, chat)
    await deliver(service, runners, FULL)
    second = await deliver(service, runners, FULL)
    assert told(chat) == [("mac-mini", "the NAS is full", second)]
    await service.close()


@pytest.mark.parametrize(
    ("machine", "host", "local", "where"),
    [
        ("Mac mini", "mac-mini", False, "on Mac mini (mac-mini): job J1"),
        (None, "pi4", False, "on pi4: job J1"),
        (None, "vm-1", True, "on this machine (vm-1): job J1"),
        (None, None, False, "on a runner: job J1"),
    ],
)
def test_the_owners_notice_names_the_machine_and_the_reason(
    machine: str | None, host: str | None, local: bool, where: str
) -> None:
    text = nas_notice_text(NasNotice(machine, host, local, "the NAS is full", "J1"))
    assert text.startswith(f"⚠️ NAS copy failed {where} — the NAS is full. ")
    assert "The transcript was delivered" in text and "once" in text


class Messages:
    """Stands in for the Messenger: what TelegramChat sends, to whom."""

    def __init__(self) -> None:
        self.sent: list[tuple[int, str]] = []

    async def send(self, chat_id: int, text: str, buttons: object = None) -> int:
        self.sent.append((chat_id, text))
        return len(self.sent)


async def test_telegram_tells_whoever_hears_alerts(tmp_path: Path) -> None:
    messages = Messages()
    chat = TelegramChat(messages, (7, 9))  # type: ignore[arg-type]
    notice = NasNotice("Mac mini", "mac-mini", False, "the NAS is full", "J1")
    await chat.notify_owner(notice)
    assert messages.sent == [(7, nas_notice_text(notice)), (9, nas_notice_text(notice))]


def test_a_long_or_multiline_reason_is_one_short_line(tmp_path: Path) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "transcript.txt").write_text("Hi.\n")
    (folder / "meta.json").write_text(json.dumps({"nas": {"copied": False,
                                                          "reason": "bad\nnews " * 50}}))  # fmt: skip
    line = nas_line(read_result(folder, "transcribe"))
    assert line is not None and "\n" not in line and len(line) < 200
