"""The fault suite's other storms: a state folder that cannot be written, and a runner lost in
the middle of a run. Nothing accepted is lost or doubled, and the ledger stays whole. (The
bot killed at random moments: test_kill_storm_local.py and test_kill_storm_github.py.)"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.e2e import test_bot_restarts as restarts
from tests.e2e.test_bot_restarts import OWNER, deliveries, settle
from tests.e2e.test_kill_storm_local import assert_whole
from tests.suites import Tally

pytestmark = [pytest.mark.slow, pytest.mark.fault]
world_cached = restarts.world_cached  # the same bot process, Bot API emulator and audio server


# Run as root in a private mount namespace, the bot's state folder is made read-only, or
# replaced by a copy on a tmpfs then filled up; the real folder is untouched outside.
READ_ONLY = 'mount --bind "$S" "$S" && mount -o remount,ro,bind "$S" && exec "$@"'
FULL = (
    'cp -a "$S" "$S.copy" && mount -t tmpfs -o "size=$(($(du -sk "$S.copy" | cut -f1) + 256))k" '
    'tmpfs "$S" && cp -a "$S.copy/." "$S/" '
    '&& rm -rf "$S.copy" && { dd if=/dev/zero of="$S/filler" bs=4k 2>/dev/null; true; } '
    '&& exec "$@"'
)


@pytest.mark.parametrize(
    ("script", "says"),
    [(READ_ONLY, "it is read-only"), (FULL, "the disk is full")],
    ids=["read-only", "full"],
)
def test_a_state_folder_that_cannot_be_written_stops_the_bot_with_one_sentence(
    world_cached: Any, tally: Tally, script: str, says: str
) -> None:
    """A job is under way when the bot stops; started again on a state folder it cannot
    write, the bot refuses to start and touches nothing; once the folder is writable, the
    job that was under way is delivered, once."""
    tg, bot, link, state = world_cached
    assert shutil.which("unshare") and os.geteuid() == 0, "needs root and unshare (util-linux)"
    bot.start()
    tg.user_sends(OWNER, link)
    tg.wait_for(lambda: restarts.ledger_states(state), 60)  # accepted: the ledger has it
    bot.stop()
    before = len(bot.log_text())
    bot.start(wrapper=["unshare", "-m", "sh", "-c", script.replace("$S", str(state)), "sh"])
    assert bot.proc is not None
    code = bot.proc.wait(60)
    tally.add("faults injected: state folder read-only or full", 1)
    said = bot.log_text()[before:]
    assert code == 8, said
    assert said.strip() == (
        f"relayq: cannot write the ledger in {state} ({says}); make RELAYQ_STATE_DIR a "
        "writable folder with free space, then start relayq again"
    )
    assert_whole(state / "ledger.sqlite3")
    assert restarts.ledger_states(state) not in ([], ["delivered"])  # still under way
    bot.start()  # writable again: nothing was lost, and the bot works on
    rows = settle(tg, state, jobs=1)
    assert deliveries(tg) == (1, 1) and rows[0].state == "delivered"


@pytest.mark.parametrize("on_runner_lost", ["requeue", "fail"])
async def test_a_runner_lost_mid_run_is_explained_and_the_policy_decides_what_next(
    tmp_path: Path, on_runner_lost: str, tally: Tally
) -> None:
    import asyncio

    from bot.app import run_bot
    from bot.ledger import Ledger
    from tests.e2e.conftest import MAC, PI4, job_env
    from tests.e2e.test_telegram_bot import TOKEN, bot_settings
    from tests.emulators.github import GitHubEmulator
    from tests.emulators.telegram import BotApiEmulator

    policy = tmp_path / "policy.yaml"
    text = (Path(__file__).resolve().parents[2] / "policy" / "policy.yaml").read_text()
    policy.write_text(
        text.replace(
            "    fallback: pool\n", f"    fallback: pool\n    on_runner_lost: {on_runner_lost}\n", 1
        )
    )
    with (
        BotApiEmulator(TOKEN) as tg,
        GitHubEmulator(tmp_path / "gh", job_env=job_env(tmp_path), synthetic_run_s=6.0) as gh,
    ):
        gh.add_runner("mac-mini", MAC, os="macOS")
        gh.add_runner("pi4", PI4)
        settings = bot_settings(
            tg, tmp_path, RELAYQ_EXECUTOR="github", GITHUB_TOKEN="ghp_CANARY_emulated",
            RELAYQ_GITHUB_REPO=gh.repo, RELAYQ_GITHUB_API_URL=gh.api_url, RELAYQ_POLICY=policy,
        )  # fmt: skip
        stop = asyncio.Event()
        task = asyncio.create_task(run_bot(settings, stop=stop))
        try:
            tg.user_sends(OWNER, "https://example.org/talk.ogg")
            await asyncio.to_thread(
                tg.wait_for, lambda: gh.runs() and gh.runs()[0].status == "in_progress", 60
            )
            gh.lose_runner("mac-mini")
            tally.add("faults injected: runner lost mid-run", 1)
            failed = await asyncio.to_thread(
                tg.wait_for,
                lambda: next((s for s in tg.to_chat(OWNER) if "❌" in s.text), None),
                60,
            )
            if on_runner_lost == "requeue":
                ledger = Ledger(settings.state_dir / "ledger.sqlite3")
                await asyncio.to_thread(
                    tg.wait_for,
                    lambda: [r.state for r in ledger.all_jobs()] == ["failed", "delivered"],
                    60,
                )
                ledger.close()
            else:
                await asyncio.sleep(2.0)  # time enough for a second run, if one were started
        finally:
            stop.set()
            await asyncio.wait_for(task, 60)
    assert "the runner mac-mini went offline in the middle of the run" in failed.text
    runs = gh.runs()
    assert runs[0].workflow_file == "transcribe_mac.yml" and runs[0].conclusion == "failure"
    rows = Ledger(settings.state_dir / "ledger.sqlite3").all_jobs()
    if on_runner_lost == "requeue":
        assert [r.state for r in rows] == ["failed", "delivered"]
        assert f"sent again as job {rows[1].id}" in failed.text
        assert [r.workflow_file for r in runs] == ["transcribe_mac.yml", "transcribe_rpi.yml"]
        assert runs[1].runner == "pi4" and len(gh.dispatches()) == 2
    else:
        assert [r.state for r in rows] == ["failed"] and len(runs) == 1
        assert "sent again" not in failed.text
