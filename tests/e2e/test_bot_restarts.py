"""The bot is killed with SIGKILL at awkward moments and started again: no job is lost,
delivered twice or dispatched twice."""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.ledger import Ledger
from tests.emulators.telegram import BotApiEmulator
from tests.jobs.httpserver import body, serve

pytestmark = pytest.mark.slow
TOKEN = "123456:CANARY-restart-token"
OWNER = 1111
ROOT = Path(__file__).resolve().parents[2]


class BotProcess:
    def __init__(self, env: dict[str, str], log: Path) -> None:
        self._env, self._log = env, log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, *, wrapper: list[str] | None = None) -> None:
        """Start `python -m bot`; `wrapper` runs it through another command (which ends by
        exec-ing "$@")."""
        with self._log.open("ab") as log:
            self.proc = subprocess.Popen(
                [*(wrapper or []), sys.executable, "-m", "bot"],
                env=self._env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def log_text(self) -> str:
        return self._log.read_text(errors="replace")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        # Dead at once, unless the kernel holds it in a write (SQLite's fsync) on a busy disk.
        self.proc.wait(120)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def bot_env(tg: BotApiEmulator, state: Path, home: Path, **extra: str) -> dict[str, str]:
    """The bot's environment: this one without any RELAYQ_ setting, then the test's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RELAYQ_")}
    env.update(
        TELEGRAM_BOT_TOKEN=TOKEN,
        RELAYQ_ALLOWED_USERS=str(OWNER),
        RELAYQ_TELEGRAM_API_BASE=tg.base,
        RELAYQ_STATE_DIR=str(state),
        RELAYQ_ALLOW_PRIVATE_URLS="1",
        RELAYQ_POLICY=str(ROOT / "policy" / "policy.yaml"),
        HF_HUB_OFFLINE="1",
        HOME=str(home),
        **extra,
    )
    return env


World = tuple[BotApiEmulator, BotProcess, str, Path]


@pytest.fixture
def world(tmp_path: Path, speech_ogg: Path) -> Iterator[World]:
    """The bot as a process with the local executor, the Bot API emulator, the sample at a
    link; its jobs run the model (their length is what some kills aim at)."""
    with _world(tmp_path, speech_ogg) as made:
        yield made


@pytest.fixture
def world_cached(tmp_path: Path, speech_ogg: Path, transcripts: Path) -> Iterator[World]:
    """The same, its jobs reusing the run's transcript of the sample: for tests whose kills
    or faults do not aim at the transcription."""
    with _world(tmp_path, speech_ogg, RELAYQ_CACHE_DIR=str(transcripts)) as made:
        yield made


@contextlib.contextmanager
def _world(tmp_path: Path, speech_ogg: Path, **extra: str) -> Iterator[World]:
    state = tmp_path / "state"
    with (
        BotApiEmulator(TOKEN) as tg,
        serve({"/talk.ogg": body(speech_ogg.read_bytes())}) as (base, _),
    ):
        bot = BotProcess(
            bot_env(tg, state, tmp_path, RELAYQ_EXECUTOR="local", **extra), tmp_path / "bot.log"
        )
        try:
            yield tg, bot, f"{base}/talk.ogg", state
        finally:
            bot.stop()
            assert TOKEN not in (tmp_path / "bot.log").read_text(errors="replace")


def deliveries(tg: BotApiEmulator) -> tuple[int, int]:
    done = [s for s in tg.to_chat(OWNER) if s.text.startswith("✅")]
    srts = [s for s in tg.to_chat(OWNER) if s.document and s.document[0] == "transcript.srt"]
    return len(done), len(srts)


def subtitles(tg: BotApiEmulator, rows: list[Any]) -> dict[str, int]:
    """How many subtitle files each job's transcript got (each is a reply to it)."""
    return {
        row.id: sum(
            1
            for s in tg.to_chat(OWNER)
            if s.document and s.document[0] == "transcript.srt"
            and s.reply_to == row.progress_message_id
        )
        for row in rows
    }  # fmt: skip


def ledger_states(state: Path) -> list[str]:
    """Every job's state, read without writing (opening a Ledger records the opening)."""
    ledger = state / "ledger.sqlite3"
    if not ledger.exists():
        return []
    with contextlib.closing(sqlite3.connect(f"{ledger.as_uri()}?mode=ro", uri=True)) as db:
        try:
            return [
                str(r[0]) for r in db.execute("SELECT state FROM jobs ORDER BY created_at, seq")
            ]
        except sqlite3.OperationalError:  # the bot is creating it
            return []


def settle(tg: BotApiEmulator, state: Path, jobs: int, timeout: float = 120) -> list[Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = (
            Ledger(state / "ledger.sqlite3").all_jobs()
            if (state / "ledger.sqlite3").exists()
            else []
        )
        # Delivered: the text is in the chat and the files have gone (D14).
        if len(rows) == jobs and all(r.state == "delivered" for r in rows):
            time.sleep(1.5)  # anything sent twice would show by now
            return rows
        time.sleep(0.2)
    raise AssertionError(f"jobs did not all deliver: {Ledger(state / 'ledger.sqlite3').all_jobs()}")


def test_killed_mid_run_and_restarted_delivers_exactly_once(world: Any) -> None:
    tg, bot, link, state = world
    bot.start()
    tg.user_sends(OWNER, link)
    tg.wait_for(lambda: any("⚙️" in s.text for s in tg.to_chat(OWNER)), 60)
    tg.wait_for(lambda: _job_processes(state), 60)  # its process has started
    bot.kill()
    # The job runs on in its own session until its next line to the dead bot fails, or the
    # next bot stops it (tests/bot/test_local_executor.py shows that part on its own).
    left = _job_processes(state)
    bot.start()
    tg.wait_for(lambda: _job_processes(state) - left, 60)  # the job runs again
    assert not any(_running(pid) for pid in left)
    rows = settle(tg, state, jobs=1)
    assert deliveries(tg) == (1, 1)
    assert rows[0].progress_message_id == next(
        s.message_id for s in tg.to_chat(OWNER) if s.text.startswith("✅")
    )


def _job_processes(state: Path) -> set[int]:
    return {int(p.read_text().split()[0]) for p in (state / "local-jobs").glob("*/process")}


def _running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_killed_right_after_fetching_the_update_the_job_still_happens(world_cached: Any) -> None:
    tg, bot, link, state = world_cached
    killed: list[bool] = []

    def kill_now(batch: list[dict[str, Any]]) -> None:
        if not killed:  # (said killed once it is dead: the next bot is started on that word)
            bot.kill()
            killed.append(True)

    tg.on_updates_delivered = kill_now
    bot.start()
    tg.user_sends(OWNER, link)
    tg.wait_for(lambda: killed, 60)
    tg.on_updates_delivered = None
    bot.start()
    settle(tg, state, jobs=1)
    assert deliveries(tg) == (1, 1)


def test_killed_while_telegram_holds_back_the_subtitles_they_still_arrive_once(
    world_cached: Any,
) -> None:
    from tests.emulators.telegram.server import Fault

    tg, bot, link, state = world_cached
    bot.start()
    tg.inject(Fault("sendDocument", 429, retry_after=60))
    tg.user_sends(OWNER, link)
    tg.wait_for(lambda: tg.faults[0].times == 0, 120)  # the text is in; the file must wait
    bot.kill()
    bot.start()
    settle(tg, state, jobs=1)
    assert deliveries(tg) == (1, 1)


@pytest.mark.parametrize("delay", [0.3, 1.2, 2.5])
def test_killed_at_other_moments_nothing_is_lost_or_doubled(world: Any, delay: float) -> None:
    tg, bot, link, state = world
    bot.start()
    tg.user_sends(OWNER, link)
    tg.user_sends(OWNER, f"and also {link}?again")
    time.sleep(delay)
    bot.kill()
    bot.start()
    rows = settle(tg, state, jobs=2)
    assert deliveries(tg) == (2, 2)
    assert len({r.id for r in rows}) == 2
