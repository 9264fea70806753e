"""The target's longest recording goes to its runner as the `max_duration_min` input, and a
workflow that does not declare the input still gets the job — through the real PyGithub and
the GitHub emulator (synthetic runs: what is tested is the dispatch)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from bot.executors.base import JobSpec, Phase
from jobs.quality import wer
from tests.e2e.conftest import MAC, executor_for, job_env
from tests.e2e.test_github_executor import follow, spec
from tests.emulators.github import GitHubEmulator
from tests.jobs.httpserver import Route, body, redirect, serve
from tests.jobs.media import hls_playlist, hls_segments

pytestmark = pytest.mark.slow

BASIC = {"source", "request_id", "backend", "model", "language"}


def limited(job_id: str, minutes: float | None, name: str = "") -> JobSpec:
    return replace(spec(job_id, "https://example.org/page"), max_duration_min=minutes, name=name)


async def test_the_targets_limit_goes_to_a_workflow_that_declares_it(tmp_path: Path) -> None:
    with GitHubEmulator(tmp_path / "gh", synthetic_run_s=1.0) as gh:  # the real workflows
        ex = executor_for(gh, tmp_path)
        await ex.submit(limited("req-limit", 90.0))
        await ex.submit(limited("req-open", None))
        limit_run, open_run = gh.runs()
        assert limit_run.inputs["max_duration_min"] == "90"
        assert "max_duration_min" not in open_run.inputs  # no limit: not sent at all
        assert len(gh.dispatches()) == 2


async def test_a_workflow_that_does_not_declare_the_limit_gets_the_job_without_it(
    tmp_path: Path,
) -> None:
    """An older ref answers 422 "Unexpected inputs provided" for both optional inputs: the job
    goes without them, and the next job to that workflow is not sent them again."""
    with GitHubEmulator(tmp_path / "gh", synthetic_run_s=1.0,
                        declared_inputs={"transcribe_mac.yml": BASIC}) as gh:  # fmt: skip
        gh.add_runner("mac-mini", MAC, os="macOS")
        ex = executor_for(gh, tmp_path)
        await ex.submit(limited("req-old-1", 600.0, name="talk.webm"))
        await ex.submit(limited("req-old-2", 600.0, name="call.ogg"))
        assert [h.status for h in gh.dispatches()] == [422, 200, 200]
        assert all(set(r.inputs) == BASIC for r in gh.runs()) and len(gh.runs()) == 2
        assert (await follow(ex, "req-old-1"))[-1].phase is Phase.SUCCEEDED


async def test_a_workflow_that_declares_the_name_but_not_the_limit_keeps_the_name(
    tmp_path: Path,
) -> None:
    with GitHubEmulator(tmp_path / "gh", synthetic_run_s=1.0,
                        declared_inputs={"transcribe_mac.yml": BASIC | {"name"}}) as gh:  # fmt: skip
        ex = executor_for(gh, tmp_path)
        await ex.submit(limited("req-half-1", 90.0, name="talk.webm"))
        await ex.submit(limited("req-half-2", 90.0, name="call.ogg"))
        assert [h.status for h in gh.dispatches()] == [422, 200, 200]
        assert [r.inputs.get("name") for r in gh.runs()] == ["talk.webm", "call.ogg"]
        assert all("max_duration_min" not in r.inputs for r in gh.runs())


# -- through act and the real workflows ----------------------------------------------------------


async def test_a_redirected_media_page_is_transcribed_by_the_real_workflow(
    tmp_path: Path, speech_ogg: Path, speech_text: str, cached_transcripts: Path
) -> None:
    """A link that redirects to a page with <audio> and og:title: the runner resolves it with
    yt-dlp, within the target's limit sent as the input, and meta.json names the page."""
    page = (
        b'<!DOCTYPE html><html><head><meta property="og:title" content="A talk about things">'
        b'</head><body><audio src="/media/talk.ogg"></audio></body></html>'
    )
    routes = {"/go": redirect("/episode/7"), "/episode/7": body(page, "text/html; charset=utf-8"),
              "/media/talk.ogg": body(speech_ogg.read_bytes())}  # fmt: skip
    env = {**job_env(tmp_path), "RELAYQ_CACHE_DIR": str(cached_transcripts)}
    with serve(routes) as (base, _), GitHubEmulator(tmp_path / "gh", job_env=env) as gh:
        gh.add_runner("mac-mini", MAC, os="macOS")
        ex = executor_for(gh, tmp_path)
        await ex.submit(replace(spec("req-page", f"{base}/go"), max_duration_min=600.0))
        final = (await follow(ex, "req-page"))[-1]
        (run,) = gh.runs()
    assert final.phase is Phase.SUCCEEDED, final.detail
    assert run.inputs["max_duration_min"] == "600"
    assert final.result_dir is not None
    assert wer(speech_text, (final.result_dir / "transcript.txt").read_text()) <= 0.25
    meta = json.loads((final.result_dir / "meta.json").read_text())
    assert meta["title"] == "A talk about things"
    assert meta["page_url"] == f"{base}/episode/7"  # where the redirect led


async def test_an_hls_link_is_transcribed_by_the_real_workflow(
    tmp_path: Path, speech_ogg: Path, speech_text: str, cached_transcripts: Path
) -> None:
    """An HLS playlist of speech segments: yt-dlp on the runner fetches every fragment (each
    connection checked), and the transcript comes back through the artifact."""
    segments = hls_segments(speech_ogg, tmp_path)
    routes: dict[str, Route] = {f"/{p.name}": body(p.read_bytes(), "video/mp2t") for p in segments}
    routes["/talk.m3u8"] = body(
        hls_playlist([p.name for p in segments]), "application/vnd.apple.mpegurl"
    )
    env = {**job_env(tmp_path), "RELAYQ_CACHE_DIR": str(cached_transcripts)}
    with serve(routes) as (base, hits), GitHubEmulator(tmp_path / "gh", job_env=env) as gh:
        gh.add_runner("mac-mini", MAC, os="macOS")
        ex = executor_for(gh, tmp_path)
        await ex.submit(spec("req-hls", f"{base}/talk.m3u8"))
        final = (await follow(ex, "req-hls"))[-1]
    assert final.phase is Phase.SUCCEEDED, final.detail
    assert final.result_dir is not None
    assert {f"/{p.name}" for p in segments} <= set(hits)
    assert wer(speech_text, (final.result_dir / "transcript.txt").read_text()) <= 0.25
    meta = json.loads((final.result_dir / "meta.json").read_text())
    assert meta["page_url"] == f"{base}/talk.m3u8"
