"""End to end through the real PyGithub, the GitHub emulator and act running the workflows."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from bot.executors.base import JobSpec, JobState, Phase, Refusal
from bot.executors.github import GitHubActionsExecutor
from jobs.quality import wer
from tests.e2e.conftest import FAST, MAC, PI4, TOKEN, executor_for, job_env
from tests.emulators.github import GitHubEmulator
from tests.emulators.github.server import Fault

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


# A run may still appear for a minute after a lost answer; the emulator lists runs at once
# unless told otherwise, so tests of a dispatch that made nothing wait 2 s, not a minute.
LOOK = replace(FAST, find_run_s=2.0)


def spec(job_id: str, source: str, workflow: str = "transcribe_mac.yml",
         labels: tuple[str, ...] = ("self-hosted", "macmini")) -> JobSpec:  # fmt: skip
    return JobSpec(job_id=job_id, kind="transcribe", source=source, target="mac",
                   workflow=workflow, labels=labels)  # fmt: skip


async def follow(ex: GitHubActionsExecutor, job_id: str, timeout: float = 120) -> list[JobState]:
    async def collect() -> list[JobState]:
        return [s async for s in ex.watch(job_id)]

    return await asyncio.wait_for(collect(), timeout)


async def test_a_job_routed_to_the_mac_runs_there_and_its_transcript_comes_back(
    emulator: GitHubEmulator, tmp_path: Path, speech_ogg: Path, speech_text: str
) -> None:
    emulator.add_runner("mac-mini", MAC, os="macOS")
    ex = executor_for(emulator, tmp_path)
    handle = await ex.submit(spec("req-mac-1", str(speech_ogg)))
    assert handle.startswith("https://github.com/owner/relayq/actions/runs/")
    states = await follow(ex, "req-mac-1")
    final = states[-1]
    assert final.phase is Phase.SUCCEEDED, final.detail
    assert final.url == handle
    assert final.result_dir is not None
    assert wer(speech_text, (final.result_dir / "transcript.txt").read_text()) <= 0.25
    assert any(s.step == "Run the job" for s in states if s.phase is Phase.RUNNING)
    (run,) = emulator.runs()
    assert run.runner == "mac-mini" and run.display_title == "relayq transcribe req-mac-1"
    assert len(emulator.dispatches()) == 1
    # The storage host the artifact download is redirected to never sees the token.
    assert emulator.storage_hits and all(h.authorization is None for h in emulator.storage_hits)
    assert all(TOKEN not in str(value) for value in run.inputs.values())


async def test_pinned_to_an_offline_mac_the_job_waits_and_says_why_then_completes(
    emulator: GitHubEmulator, tmp_path: Path, speech_ogg: Path
) -> None:
    emulator.add_runner("mac-mini", MAC, online=False, os="macOS")
    emulator.add_runner("pi4", PI4)
    ex = executor_for(emulator, tmp_path)
    await ex.submit(spec("req-pin-1", str(speech_ogg)))
    states: list[JobState] = []
    async for state in ex.watch("req-pin-1"):
        states.append(state)
        if state.phase is Phase.QUEUED:
            assert (
                state.detail
                == "waiting for a runner with labels self-hosted, macmini — none online"
            )
            await asyncio.sleep(1.0)
            assert emulator.runs()[0].status == "queued"  # the Pi never took it
            emulator.set_online("mac-mini", True)
        if state.phase.terminal:
            break
    assert states[-1].phase is Phase.SUCCEEDED
    assert emulator.runs()[0].runner == "mac-mini"


@pytest.mark.parametrize(
    ("mode", "lag_s"), [("github", 0.0), ("ghes", 0.0), ("ghes", 3.0)],
    ids=["github", "ghes", "ghes-listed-late"],
)  # fmt: skip
async def test_five_jobs_in_one_group_all_complete(
    tmp_path: Path, speech_ogg: Path, mode: str, lag_s: float
) -> None:
    """Listed late, on GHES (no run details): a job sent again after GitHub cancelled its
    waiting run must not take that cancelled run, still listed, for the new one."""
    with GitHubEmulator(tmp_path / "gh", mode=mode, job_env=job_env(tmp_path),
                        listing_lag_s=lag_s) as gh:  # fmt: skip
        gh.add_runner("mac-mini", MAC, os="macOS")
        ex = executor_for(gh, tmp_path)
        ids = [f"req-five-{n}" for n in range(5)]
        with gh.paused_runners():  # all five wait in the group at once
            for job_id in ids:
                await ex.submit(spec(job_id, str(speech_ogg)))
        finals = await asyncio.wait_for(
            asyncio.gather(*(follow(ex, j, timeout=300) for j in ids)), 300
        )
        assert [f[-1].phase for f in finals] == [Phase.SUCCEEDED] * 5
        succeeded = [r for r in gh.runs() if r.conclusion == "success"]
        assert sorted(r.inputs["request_id"] for r in succeeded) == ids
        superseded = [r for r in gh.runs() if r.ended_by == "superseded"]
        if mode == "github":
            assert superseded == []  # queue: max keeps them all waiting
        else:
            assert superseded  # without it GitHub cancelled pending runs; relayq sent them again


async def test_a_5xx_storm_while_watching_still_completes_with_one_dispatch(
    emulator: GitHubEmulator, tmp_path: Path, speech_ogg: Path
) -> None:
    emulator.add_runner("mac-mini", MAC, os="macOS")
    ex = executor_for(emulator, tmp_path)
    await ex.submit(spec("req-storm", str(speech_ogg)))
    emulator.inject(Fault("GET", r"/actions/runs/\d+$", 502, times=4))
    emulator.inject(Fault("GET", r"/actions/runs/\d+/jobs$", 503, times=2))
    states = await follow(ex, "req-storm")
    assert states[-1].phase is Phase.SUCCEEDED
    assert len(emulator.dispatches()) == 1 and len(emulator.runs()) == 1


async def test_created_but_answered_502_is_still_exactly_one_run(
    emulator: GitHubEmulator, tmp_path: Path, speech_ogg: Path
) -> None:
    emulator.add_runner("mac-mini", MAC, os="macOS")
    emulator.inject(Fault("POST", r"/dispatches$", 502, apply_first=True))
    ex = executor_for(emulator, tmp_path)
    await ex.submit(spec("req-502", str(speech_ogg)))
    states = await follow(ex, "req-502")
    assert states[-1].phase is Phase.SUCCEEDED
    assert len(emulator.dispatches()) == 1
    assert len(emulator.runs()) == 1


async def test_a_dispatch_that_failed_before_creating_is_sent_again_once(
    emulator: GitHubEmulator, tmp_path: Path, speech_ogg: Path
) -> None:
    emulator.add_runner("mac-mini", MAC, os="macOS")
    emulator.inject(Fault("POST", r"/dispatches$", 503))
    ex = executor_for(emulator, tmp_path, LOOK)
    await ex.submit(spec("req-503", str(speech_ogg)))
    assert len(emulator.dispatches()) == 2 and len(emulator.runs()) == 1
    assert (await follow(ex, "req-503"))[-1].phase is Phase.SUCCEEDED


SECONDARY = {"message": "You have exceeded a secondary rate limit"}


@pytest.mark.parametrize(
    ("fault", "dispatches"),
    [
        (Fault("POST", r"/dispatches$", 429, headers={"Retry-After": "1"}), 2),
        (Fault("POST", r"/dispatches$", 403, body=SECONDARY), 2),
        (Fault("GET", r"/actions/runs/\d+$", 429, times=2, headers={"Retry-After": "1"}), 1),
        (Fault("GET", r"/actions/runs/\d+$", 403, times=2, body=SECONDARY), 1),
    ],
    ids=["dispatch-429", "dispatch-403-secondary", "polling-429", "polling-403-secondary"],
)
async def test_rate_limits_on_dispatch_and_polling_still_give_one_run(
    emulator: GitHubEmulator, tmp_path: Path, speech_ogg: Path, fault: Fault, dispatches: int
) -> None:
    """A refused dispatch (429, or a secondary limit's 403) created nothing: it is sent again
    once the wait is over, after a look for the run. Limits while watching are waited out."""
    emulator.add_runner("mac-mini", MAC, os="macOS")
    emulator.inject(fault)
    ex = executor_for(emulator, tmp_path)
    await ex.submit(spec("req-limit", str(speech_ogg)))
    assert (await follow(ex, "req-limit"))[-1].phase is Phase.SUCCEEDED
    assert len(emulator.dispatches()) == dispatches and len(emulator.runs()) == 1
    assert fault.times == 0


async def test_a_dispatch_answered_after_the_client_gave_up_is_still_one_run(
    emulator: GitHubEmulator, tmp_path: Path, speech_ogg: Path
) -> None:
    """GitHub creates the run but answers after the client's timeout: relayq looks for the
    run by its request id before sending anything again, and finds it."""
    emulator.add_runner("mac-mini", MAC, os="macOS")
    emulator.inject(Fault("POST", r"/dispatches$", 204, delay_s=2.0, apply_first=True))
    ex = GitHubActionsExecutor(token=TOKEN, repo=emulator.repo, api_url=emulator.api_url,
                               work_dir=tmp_path / "results", pacing=FAST, timeout_s=1.0)  # fmt: skip
    await ex.submit(spec("req-slow", str(speech_ogg)))
    assert (await follow(ex, "req-slow"))[-1].phase is Phase.SUCCEEDED
    assert len(emulator.dispatches()) == 1 and len(emulator.runs()) == 1


async def test_a_run_nobody_picks_up_for_24_hours_fails_with_a_reason(
    emulator: GitHubEmulator, tmp_path: Path, speech_ogg: Path
) -> None:
    emulator.add_runner("mac-mini", MAC, online=False, os="macOS")
    ex = GitHubActionsExecutor(token=TOKEN, repo=emulator.repo, api_url=emulator.api_url,
                               work_dir=tmp_path / "r", pacing=executor_for(emulator, tmp_path)._pacing,
                               clock=emulator.clock.now)  # fmt: skip
    await ex.submit(spec("req-expire", str(speech_ogg)))
    async for state in ex.watch("req-expire"):
        if state.phase is Phase.QUEUED:
            emulator.clock.advance(24 * 3600 + 5)
        if state.phase.terminal:
            break
    assert state.phase is Phase.FAILED
    assert "no runner picked it up within GitHub's 24-hour queue limit" in state.detail
    assert len(emulator.dispatches()) == 1


async def test_an_expired_artifact_is_a_clear_message(
    emulator: GitHubEmulator, tmp_path: Path, speech_ogg: Path
) -> None:
    emulator.add_runner("mac-mini", MAC, os="macOS")
    ex = executor_for(emulator, tmp_path)
    await ex.submit(spec("req-old", str(speech_ogg)))
    while not emulator.runs() or emulator.runs()[0].status != "completed":
        await asyncio.sleep(0.2)
    emulator.runs()[0].artifact_expired = True
    states = await follow(ex, "req-old")
    assert states[-1].phase is Phase.FAILED
    assert "expired" in states[-1].detail and "run the job again" in states[-1].detail


async def test_a_failed_job_says_why_in_the_runners_own_words(
    emulator: GitHubEmulator, tmp_path: Path
) -> None:
    """Not "open the run for its log" (hard from a phone): the job's own sentence, which the
    runner left in its results (jobs/run_job.sh)."""
    from tests.jobs.httpserver import serve

    emulator.add_runner("mac-mini", MAC, os="macOS")
    with serve({}) as (base, _):  # every path answers 404
        ex = executor_for(emulator, tmp_path)
        await ex.submit(spec("req-404", f"{base}/gone.ogg"))
        states = await follow(ex, "req-404")
    assert states[-1].phase is Phase.FAILED
    assert "gone.ogg answered HTTP 404" in states[-1].detail
    assert not states[-1].detail.startswith("relayq:")


@pytest.mark.parametrize(
    "hostile",
    ["$(id > /tmp/relayq-pwned-1)", "`id > /tmp/relayq-pwned-2`", '"; touch /tmp/relayq-pwned-3; "',
     "x\ntouch /tmp/relayq-pwned-4", "--out=/tmp/relayq-pwned-5"],
)  # fmt: skip
async def test_shell_metacharacters_in_the_source_run_nothing(
    emulator: GitHubEmulator, tmp_path: Path, hostile: str
) -> None:
    emulator.add_runner("mac-mini", MAC, os="macOS")
    ex = executor_for(emulator, tmp_path)
    await ex.submit(spec("req-hostile", hostile))
    states = await follow(ex, "req-hostile")
    assert states[-1].phase is Phase.FAILED
    assert not any(Path(f"/tmp/relayq-pwned-{n}").exists() for n in range(1, 6))
    log = (emulator.work_dir / f"act-{emulator.runs()[0].id}.log").read_text()
    assert "no such file" in log


async def test_shell_metacharacters_in_every_other_input_run_nothing(
    emulator: GitHubEmulator, tmp_path: Path, speech_ogg: Path
) -> None:
    emulator.add_runner("mac-mini", MAC, os="macOS")
    ex = executor_for(emulator, tmp_path)
    hostile = JobSpec(
        job_id="req-inputs", kind="transcribe", source=str(speech_ogg), target="mac",
        workflow="transcribe_mac.yml", labels=("self-hosted", "macmini"),
        backend="local$(touch /tmp/relayq-pwned-6)", model="`touch /tmp/relayq-pwned-7`",
        language="en\ntouch /tmp/relayq-pwned-8",
    )  # fmt: skip
    await ex.submit(hostile)
    states = await follow(ex, "req-inputs")
    assert states[-1].phase is Phase.FAILED
    assert not any(Path(f"/tmp/relayq-pwned-{n}").exists() for n in range(6, 9))
    (run,) = emulator.runs()
    assert run.inputs["model"] == "`touch /tmp/relayq-pwned-7`"  # it arrived as it was sent


@pytest.mark.parametrize(
    ("fault", "expected_min_pause"),
    [
        (Fault("GET", r"/actions/runners$", 429, headers={"Retry-After": "1"}), 1.0),
        (
            Fault(
                "GET",
                r"/actions/runners$",
                403,
                headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "{reset}"},
                body={"message": "API rate limit exceeded"},
            ),
            1.0,
        ),
        (
            Fault(
                "GET",
                r"/actions/runners$",
                403,
                body={"message": "You have exceeded a secondary rate limit"},
            ),
            0.2,
        ),
    ],
)
async def test_rate_limit_answers_are_waited_out(
    emulator: GitHubEmulator, tmp_path: Path, fault: Fault, expected_min_pause: float
) -> None:
    import time

    fault.headers = {
        k: v.replace("{reset}", str(int(time.time()) + 1)) for k, v in fault.headers.items()
    }
    emulator.add_runner("pi4", PI4)
    emulator.inject(fault)
    ex = executor_for(emulator, tmp_path)
    started = time.monotonic()
    fleet = await ex.fleet()
    assert time.monotonic() - started >= expected_min_pause * 0.9
    assert [r.name for r in fleet.runners] == ["pi4"]


@pytest.mark.parametrize(
    ("status", "message", "says"),
    [
        (401, "Bad credentials", "GitHub refused the token (HTTP 401); check GITHUB_TOKEN"),
        (403, "Resource not accessible by personal access token",
         "(Resource not accessible by personal access token); give it the permissions"),
        (404, "Not Found", "check RELAYQ_GITHUB_REPO and the token's repository access"),
    ],
)  # fmt: skip
async def test_a_refused_token_is_one_sentence_at_once_not_an_outage(
    emulator: GitHubEmulator, tmp_path: Path, status: int, message: str, says: str
) -> None:
    """A permission refused is no rate limit: waiting never mends it, so it is said at once
    (before, a 403 was waited on for minutes, then called an outage; a 401 was a raw error)."""
    from jobs.errors import ConfigError

    emulator.inject(Fault("GET", r"/actions/runners$", status, body={"message": message}))
    ex = executor_for(emulator, tmp_path)
    started = time.monotonic()
    with pytest.raises(ConfigError) as caught:
        await ex.fleet()
    assert says in str(caught.value)
    assert time.monotonic() - started < 1.0


async def test_a_server_that_never_recovers_gives_one_clear_error(
    emulator: GitHubEmulator, tmp_path: Path
) -> None:
    from bot.executors.github import GitHubUnavailable

    emulator.inject(Fault("GET", r"/actions/runners$", 502, times=100))
    ex = executor_for(emulator, tmp_path)
    with pytest.raises(GitHubUnavailable, match="GitHub did not answer after 6 tries"):
        await ex.fleet()


async def test_cancelling_a_running_job_stops_the_run(
    emulator: GitHubEmulator, tmp_path: Path, speech_ogg: Path
) -> None:
    emulator.add_runner("mac-mini", MAC, os="macOS")
    ex = executor_for(emulator, tmp_path)
    await ex.submit(spec("req-cancel", str(speech_ogg)))
    final = None
    async for state in ex.watch("req-cancel"):
        if state.phase is Phase.RUNNING:
            await ex.cancel("req-cancel")
        if state.phase.terminal:
            final = state
            break
    assert final is not None and final.phase is Phase.CANCELLED
    assert emulator.runs()[0].conclusion == "cancelled"
    assert len(emulator.dispatches()) == 1


async def test_a_dropped_connection_on_dispatch_still_gives_exactly_one_run(
    emulator: GitHubEmulator, tmp_path: Path, speech_ogg: Path
) -> None:
    emulator.add_runner("mac-mini", MAC, os="macOS")
    emulator.inject(Fault("POST", r"/dispatches$", 0, drop=True))
    ex = executor_for(emulator, tmp_path, LOOK)
    await ex.submit(spec("req-drop", str(speech_ogg)))
    assert len(emulator.runs()) == 1
    assert (await follow(ex, "req-drop"))[-1].phase is Phase.SUCCEEDED


async def test_a_run_that_ended_while_the_bot_was_down_for_two_days_is_taken_up_not_sent_again(
    emulator: GitHubEmulator, tmp_path: Path, speech_ogg: Path
) -> None:
    emulator.add_runner("mac-mini", MAC, os="macOS")
    accepted = time.time()
    url = await executor_for(emulator, tmp_path).submit(spec("req-away", str(speech_ogg)))
    run = emulator.runs()[0]
    while run.status != "completed":
        await asyncio.sleep(0.2)
    emulator.clock.advance(2 * 86400)  # the VM was off for two days
    later = GitHubActionsExecutor(token=TOKEN, repo=emulator.repo, api_url=emulator.api_url,
                                  work_dir=tmp_path / "after", pacing=FAST,
                                  clock=lambda: time.time() + 2 * 86400)  # fmt: skip
    await later.resume(spec("req-away", str(speech_ogg)), run_url=url, since=accepted)
    states = await follow(later, "req-away")
    assert states[-1].phase is Phase.SUCCEEDED
    assert len(emulator.dispatches()) == 1 and len(emulator.runs()) == 1


async def test_after_a_restart_the_newest_run_of_a_job_sent_again_is_the_one_followed(
    emulator: GitHubEmulator, tmp_path: Path, speech_ogg: Path
) -> None:
    """Killed just after GitHub cancelled the waiting run and relayq sent it again: the ledger
    still names the cancelled run, and the restarted bot must not send a third."""
    emulator.add_runner("mac-mini", MAC, os="macOS")
    accepted = time.time()
    inputs = {"source": str(speech_ogg), "request_id": "req-again"}
    with emulator.paused_runners():
        first = emulator.dispatch("transcribe_mac.yml", inputs)
        with emulator.model.lock:
            emulator.model.complete(first, "cancelled", ended_by="superseded")
        emulator.dispatch("transcribe_mac.yml", inputs)
    ex = executor_for(emulator, tmp_path)
    first_url = f"https://github.com/{emulator.repo}/actions/runs/{first.id}"
    await ex.resume(spec("req-again", str(speech_ogg)), run_url=first_url, since=accepted)
    states = await follow(ex, "req-again")
    assert states[-1].phase is Phase.SUCCEEDED
    assert emulator.dispatches() == [] and len(emulator.runs()) == 2


# -- a run GitHub lists late (issue 13, 2.2) ---------------------------------------------------

LAG_S = 6.0  # longer than the 4 s relayq used to look before sending a dispatch again


async def test_a_run_github_lists_late_after_a_502_is_found_not_dispatched_again(
    tmp_path: Path, speech_ogg: Path
) -> None:
    """GitHub creates the run, the answer is lost (502), and the run shows in the listings
    only 6 s later: relayq keeps looking (the default window is a minute) and sends nothing."""
    with GitHubEmulator(tmp_path / "gh", job_env=job_env(tmp_path), listing_lag_s=LAG_S) as gh:
        gh.add_runner("mac-mini", MAC, os="macOS")
        gh.inject(Fault("POST", r"/dispatches$", 502, apply_first=True))
        ex = executor_for(gh, tmp_path)
        await ex.submit(spec("req-lag", str(speech_ogg)))
        assert len(gh.dispatches()) == 1 and len(gh.runs()) == 1
        assert (await follow(ex, "req-lag"))[-1].phase is Phase.SUCCEEDED
        assert len(gh.dispatches()) == 1 and len(gh.runs()) == 1
        assert list((tmp_path / "results" / "dispatches").iterdir()) == []  # nothing kept
        looks = [h for h in gh.hits if h.method == "GET" and h.path.endswith("/runs")]
        assert any(not h.counted for h in looks), "the look repeats its listing with its ETag"


async def test_a_job_whose_dispatch_answer_was_lost_and_listed_late_is_delivered_once(
    tmp_path: Path, speech_ogg: Path, speech_text: str
) -> None:
    """The same through the bot, with its own (default) pacing: one run, one transcript."""
    from bot.ledger import Ledger
    from tests.e2e.test_telegram_bot import OWNER, bot_settings, running, wait_for
    from tests.e2e.test_telegram_bot import TOKEN as BOT_TOKEN
    from tests.emulators.telegram import BotApiEmulator
    from tests.jobs.httpserver import body, serve

    with (
        BotApiEmulator(BOT_TOKEN) as tg,
        GitHubEmulator(tmp_path / "gh", job_env=job_env(tmp_path), listing_lag_s=LAG_S) as gh,
        serve({"/talk.ogg": body(speech_ogg.read_bytes())}) as (base, _),
    ):
        gh.add_runner("mac-mini", MAC, os="macOS")
        gh.inject(Fault("POST", r"/dispatches$", 502, apply_first=True))
        settings = bot_settings(tg, tmp_path, RELAYQ_EXECUTOR="github", GITHUB_TOKEN=TOKEN,
                                RELAYQ_GITHUB_REPO=gh.repo, RELAYQ_GITHUB_API_URL=gh.api_url)  # fmt: skip
        ledger = Ledger(tmp_path / "state" / "ledger.sqlite3")
        try:
            async with running(settings):
                tg.user_sends(OWNER, f"{base}/talk.ogg")
                await wait_for(
                    tg, lambda: [r for r in ledger.all_jobs() if r.state == "delivered"], 180
                )
                await asyncio.sleep(LAG_S)  # a second run would be listed by now
        finally:
            ledger.close()
        assert len(gh.dispatches()) == 1 and len(gh.runs()) == 1
    done = [s for s in tg.to_chat(OWNER) if s.text.startswith("✅")]
    assert len(done) == 1
    assert wer(speech_text, done[0].text.split("\n\n", 1)[1]) <= 0.25


async def test_an_accepted_dispatch_whose_run_is_listed_late_is_found_not_sent_again(
    tmp_path: Path,
) -> None:
    """The 204 path (no run details): GitHub said it made the run, so relayq looks for it by
    its request id for as long as it takes to be listed (it gave up after 10 s)."""
    with GitHubEmulator(tmp_path / "gh", mode="ghes", refuses_run_details=False,
                        synthetic_run_s=1.0, listing_lag_s=12.0) as gh:  # fmt: skip
        gh.add_runner("mac-mini", MAC, os="macOS")
        gh.inject(Fault("POST", r"/dispatches$", 204, apply_first=True))  # no details
        ex = executor_for(gh, tmp_path)
        await ex.submit(spec("req-204-lag", "https://example.org/a.ogg"))
        assert (await follow(ex, "req-204-lag"))[-1].phase is Phase.SUCCEEDED
        assert len(gh.dispatches()) == 1 and len(gh.runs()) == 1


KILLED_MID_DISPATCH = """
import asyncio, sys
from pathlib import Path
from bot.executors.base import JobSpec
from bot.executors.github import GitHubActionsExecutor
ex = GitHubActionsExecutor(token=sys.argv[1], repo=sys.argv[2], api_url=sys.argv[3],
                           work_dir=Path(sys.argv[4]))
asyncio.run(ex.submit(JobSpec("req-killed", "transcribe", "https://example.org/a.ogg", "mac",
                              "transcribe_mac.yml", ("self-hosted", "macmini"))))
"""


async def test_a_bot_killed_while_its_dispatch_was_in_flight_does_not_send_it_again(
    tmp_path: Path,
) -> None:
    """Killed after the POST left and before any answer; GitHub makes the run a moment later
    and lists it 6 s after that. The bot started again must not take the missing run for no
    run: it looks for as long as a run of that POST could still appear."""
    with GitHubEmulator(tmp_path / "gh", synthetic_run_s=1.0, listing_lag_s=LAG_S) as gh:
        gh.add_runner("mac-mini", MAC, os="macOS")
        slow = Fault("POST", r"/dispatches$", 200, delay_s=2.0, apply_first=True)
        gh.inject(slow)
        work = tmp_path / "results"
        env = {k: v for k, v in os.environ.items() if k != "GITHUB_TOKEN"}
        accepted = time.time()
        with subprocess.Popen([sys.executable, "-c", KILLED_MID_DISPATCH, TOKEN, gh.repo,
                               gh.api_url, str(work)], env=env, cwd=ROOT) as first:  # fmt: skip
            deadline = time.monotonic() + 30
            while slow.times and time.monotonic() < deadline:  # until the POST has arrived
                await asyncio.sleep(0.05)
            first.send_signal(signal.SIGKILL)
            killed = time.monotonic()
        assert slow.times == 0 and gh.runs() == []  # GitHub has not made the run yet
        again = GitHubActionsExecutor(token=TOKEN, repo=gh.repo, api_url=gh.api_url,
                                      work_dir=work, pacing=FAST)  # fmt: skip
        job = spec("req-killed", "https://example.org/a.ogg")
        await again.resume(job, run_url=None, since=accepted)
        assert (await follow(again, "req-killed"))[-1].phase is Phase.SUCCEEDED
        # Until GitHub has answered the killed POST (and so made its run) and listed that run.
        await asyncio.sleep(max(0.0, killed + slow.delay_s + LAG_S + 0.5 - time.monotonic()))
        assert len(gh.dispatches()) == 1 and len(gh.runs()) == 1


# -- a GitHub that refuses `return_run_details` (issue 13, 2.3) --------------------------------


@pytest.fixture
def synthetic(tmp_path: Path) -> Iterator[GitHubEmulator]:
    """Runs that take a second and skip act: for what the dispatch does, not the job."""
    with GitHubEmulator(tmp_path / "gh", synthetic_run_s=1.0) as gh:
        gh.add_runner("mac-mini", MAC, os="macOS")
        yield gh


async def test_a_github_that_refuses_run_details_gets_the_dispatch_without_them_from_then_on(
    tmp_path: Path,
) -> None:
    """GHES and older API versions answer 422 "not a permitted key": relayq sends the dispatch
    again without the key (the 422 made no run), finds the run by its request id, and does not
    offer the key again in this process: 2 POSTs for the first job, 1 for the second."""
    with GitHubEmulator(tmp_path / "gh", refuses_run_details=True, synthetic_run_s=1.0) as gh:
        gh.add_runner("mac-mini", MAC, os="macOS")
        ex = executor_for(gh, tmp_path)
        await ex.submit(spec("req-ghes-1", "https://example.org/a.ogg"))
        assert [h.status for h in gh.dispatches()] == [422, 204]
        await ex.submit(spec("req-ghes-2", "https://example.org/b.ogg"))
        assert [h.status for h in gh.dispatches()] == [422, 204, 204]
        finals = [(await follow(ex, j))[-1] for j in ("req-ghes-1", "req-ghes-2")]
        assert [f.phase for f in finals] == [Phase.SUCCEEDED] * 2
        assert sorted(r.inputs["request_id"] for r in gh.runs()) == ["req-ghes-1", "req-ghes-2"]


@pytest.mark.parametrize(
    ("fault", "call", "says"),
    [
        (Fault("POST", r"/dispatches$", 422, body={
            "message": "Invalid request.\n\nFor 'properties/ref', 7 is not a string.",
            "errors": ["No ref found\nfor: nope", {"resource": "Workflow", "code": "custom",
                                                    "message": "check\nthe ref"}]}),
         "submit",
         "GitHub refused to start transcribe_mac.yml (HTTP 422: Invalid request. For "
         "'properties/ref', 7 is not a string. No ref found for: nope; check the ref)"),
        (Fault("GET", r"/actions/runners$", 403, body={
            "message": "Resource not accessible\nby personal access token"}),
         "fleet", "GitHub did not let the token do this (Resource not accessible by personal "
                  "access token)"),
    ],
    ids=["dispatch-422-with-errors", "read-403"],
)  # fmt: skip
async def test_githubs_multi_line_refusals_are_said_in_one_line(
    synthetic: GitHubEmulator, tmp_path: Path, fault: Fault, call: str, says: str
) -> None:
    from jobs.errors import ConfigError

    synthetic.inject(fault)
    ex = executor_for(synthetic, tmp_path)
    with pytest.raises(ConfigError) as caught:
        if call == "submit":
            await ex.submit(spec("req-lines", "https://example.org/a.ogg"))
        else:
            await ex.fleet()
    assert "\n" not in str(caught.value)
    assert says in str(caught.value)


# -- the user's name for the source (JobSpec.name) ---------------------------------------------

WITH_NAME = {"source", "request_id", "backend", "model", "language", "name"}
WITHOUT_NAME = WITH_NAME - {"name"}


def named(job_id: str, name: str) -> JobSpec:
    return replace(spec(job_id, "https://example.org/a.ogg"), name=name)


async def test_the_users_name_for_the_source_goes_to_a_workflow_that_declares_it(
    tmp_path: Path,
) -> None:
    with GitHubEmulator(tmp_path / "gh", synthetic_run_s=1.0,
                        declared_inputs={"transcribe_mac.yml": WITH_NAME}) as gh:  # fmt: skip
        ex = executor_for(gh, tmp_path)
        await ex.submit(named("req-named", "meeting.m4a"))
        await ex.submit(named("req-unnamed", ""))
        named_run, unnamed_run = gh.runs()
        assert named_run.inputs["name"] == "meeting.m4a"
        assert "name" not in unnamed_run.inputs  # empty: not sent at all
        assert len(gh.dispatches()) == 2


async def test_a_workflow_that_does_not_declare_name_gets_the_job_without_it(
    tmp_path: Path,
) -> None:
    """A workflow older than the `name` input (another ref, a summarize workflow) answers 422
    "Unexpected inputs provided": the job still goes, without the name; the next job to that
    workflow does not try it again."""
    with GitHubEmulator(tmp_path / "gh", synthetic_run_s=1.0,
                        declared_inputs={"transcribe_mac.yml": WITHOUT_NAME}) as gh:  # fmt: skip
        gh.add_runner("mac-mini", MAC, os="macOS")
        ex = executor_for(gh, tmp_path)
        await ex.submit(named("req-old-1", "meeting.m4a"))
        await ex.submit(named("req-old-2", "call.ogg"))
        assert [h.status for h in gh.dispatches()] == [422, 200, 200]
        assert all("name" not in r.inputs for r in gh.runs()) and len(gh.runs()) == 2
        assert (await follow(ex, "req-old-1"))[-1].phase is Phase.SUCCEEDED


async def test_a_translation_sends_its_task_and_language_and_a_transcription_sends_no_task(
    synthetic: GitHubEmulator, tmp_path: Path
) -> None:
    """The workflows declare `task` (default transcribe): a translation says so, with the
    language it was heard in; a plain transcription leaves `task` out, so a ref whose
    workflows predate the input still takes it."""
    ex = executor_for(synthetic, tmp_path)
    translate = JobSpec(job_id="req-tr", kind="transcribe", source="https://example.org/a.ogg",
                        target="mac", workflow="transcribe_mac.yml",
                        labels=("self-hosted", "macmini"), language="de", task="translate")  # fmt: skip
    await ex.submit(translate)
    await ex.submit(spec("req-plain", "https://example.org/b.ogg"))
    finals = [(await follow(ex, j))[-1] for j in ("req-tr", "req-plain")]
    assert [f.phase for f in finals] == [Phase.SUCCEEDED] * 2
    inputs = {r.inputs["request_id"]: r.inputs for r in synthetic.runs()}
    assert (inputs["req-tr"]["task"], inputs["req-tr"]["language"]) == ("translate", "de")
    assert "task" not in inputs["req-plain"] and inputs["req-plain"]["language"] == ""


async def test_a_run_the_runner_refused_as_too_long_ends_with_its_refusal(tmp_path: Path) -> None:
    """The job step fails with exit 10 and leaves refusal.json (and its sentence, error.txt)
    in the results it uploads: the watcher hands both on, for the bot to route it again."""

    def refuse(inputs: dict[str, str], folder: Path) -> bool:
        (folder / "refusal.json").write_text(
            '{"reason": "too_long", "duration_s": 10920, "max_duration_s": 7200}'
        )
        (folder / "error.txt").write_text(
            "relayq: the page says 3 h 2 min; this runner takes 2 h\n"
        )
        return False

    with GitHubEmulator(tmp_path / "gh", synthetic_run_s=1.0, synthetic_results=refuse) as gh:
        gh.add_runner("pi4", PI4, os="Linux")
        ex = executor_for(gh, tmp_path)
        await ex.submit(spec("req-long", "https://example.org/long", "transcribe_rpi.yml",
                             ("self-hosted", "rpi4")))  # fmt: skip
        final = (await follow(ex, "req-long"))[-1]
    assert final.phase is Phase.FAILED
    assert final.detail == "the page says 3 h 2 min; this runner takes 2 h"
    assert final.refusal == Refusal("too_long", 10920.0, 7200.0)


async def test_the_task_input_reaches_the_runners_command_line_as_one_argument(
    emulator: GitHubEmulator, tmp_path: Path, speech_ogg: Path
) -> None:
    """Through act and the real workflows: the `task` input goes by `env:` to jobs/run_job.sh
    and on to `relayq transcribe --task` as one argument, so a hostile value is only refused
    by the CLI, in its own words, and runs nothing."""
    emulator.add_runner("mac-mini", MAC, os="macOS")
    ex = executor_for(emulator, tmp_path)
    hostile = "translate$(touch /tmp/relayq-pwned-9)"
    await ex.submit(JobSpec(job_id="req-task", kind="transcribe", source=str(speech_ogg),
                            target="mac", workflow="transcribe_mac.yml",
                            labels=("self-hosted", "macmini"), task=hostile))  # fmt: skip
    final = (await follow(ex, "req-task"))[-1]
    assert final.phase is Phase.FAILED
    assert final.detail.startswith(f"argument --task: invalid choice: '{hostile}'")
    assert not Path("/tmp/relayq-pwned-9").exists()
    (run,) = emulator.runs()
    assert run.inputs["task"] == hostile
