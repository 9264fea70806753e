"""Media pages end to end: `relayq transcribe` (as a runner runs it) on pages served here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.commands.transcribe import build_config
from bot.settings import Settings
from jobs.quality import wer
from tests.jobs.httpserver import Route, body, redirect, serve
from tests.jobs.media import hls_playlist, hls_segments, silence
from tests.jobs.test_transcribe import human

ENTRY = Path(__file__).resolve().parents[2] / "jobs" / "transcribe.sh"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    clean = {k: v for k, v in os.environ.items() if not k.startswith("RELAYQ_")}
    return dict(
        clean,
        TMPDIR=str(tmp),
        RELAYQ_STATE_DIR=str(tmp_path / "state"),
        RELAYQ_ALLOW_PRIVATE_URLS="127.0.0.1/32",
        HF_HUB_OFFLINE="1",
        PATH=f"{Path(sys.executable).parent}:{clean.get('PATH', '')}",
    )


def run_job(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(ENTRY), *args], env=env, capture_output=True, text=True, timeout=300,
        check=False,
    )  # fmt: skip


def page(title: str, media: str) -> Route:
    html = (
        f'<html><head><meta property="og:title" content="{title}"></head>'
        f'<body><audio src="{media}"></audio></body></html>'
    )
    return body(html.encode(), "text/html")


@pytest.mark.slow
def test_a_redirected_media_page_is_transcribed_with_its_title_in_meta(
    speech_ogg: Path, speech_text: str, tmp_path: Path, env: dict[str, str]
) -> None:
    routes = {
        "/share/7": redirect("/episode/7"),
        "/episode/7": page("Episode seven", "/media/7.ogg"),
        "/media/7.ogg": body(speech_ogg.read_bytes()),
    }
    with serve(routes) as (base, hits):
        done = run_job(f"{base}/share/7", "--out", str(tmp_path / "o"), env=env)
    assert done.returncode == 0, done.stderr
    assert hits.count("/media/7.ogg") == 1
    meta = json.loads((tmp_path / "o" / "meta.json").read_text())
    assert meta["title"] == "Episode seven"
    assert meta["page_url"] == f"{base}/episode/7"
    assert meta["uploader"] is None
    assert wer(speech_text, (tmp_path / "o" / "transcript.txt").read_text()) <= 0.25
    assert [line.split()[1] for line in human(done.stderr).splitlines()] == [
        "fetch", "decode", "detect", "detected", "transcribe", "write", "done",
    ]  # fmt: skip
    # yt-dlp's own progress hook says how much of the recording has arrived.
    assert 'relayq-progress: {"phase":"download","fraction":1.0' in done.stderr
    assert list(Path(env["TMPDIR"]).iterdir()) == []

    with serve(routes) as (base_again, _hits):  # the same audio again: the cached transcript
        again = run_job(f"{base_again}/share/7", "--out", str(tmp_path / "again"), env=env)
    assert again.returncode == 0, again.stderr
    meta2 = json.loads((tmp_path / "again" / "meta.json").read_text())
    assert meta2["cached"] is True
    assert meta2["title"] == "Episode seven" and meta2["page_url"] == f"{base_again}/episode/7"


@pytest.mark.slow
def test_an_hls_link_is_transcribed(
    speech_ogg: Path, speech_text: str, tmp_path: Path, env: dict[str, str]
) -> None:
    segments = hls_segments(speech_ogg, tmp_path)
    routes: dict[str, Route] = {f"/{p.name}": body(p.read_bytes(), "video/mp2t") for p in segments}
    routes["/talk.m3u8"] = body(
        hls_playlist([p.name for p in segments]), "application/vnd.apple.mpegurl"
    )
    with serve(routes) as (base, _hits):
        done = run_job(f"{base}/talk.m3u8", "--out", str(tmp_path / "o"), env=env)
    assert done.returncode == 0, done.stderr
    meta = json.loads((tmp_path / "o" / "meta.json").read_text())
    assert meta["page_url"] == f"{base}/talk.m3u8"
    assert wer(speech_text, (tmp_path / "o" / "transcript.txt").read_text()) <= 0.25


def test_a_page_over_the_duration_limit_writes_refusal_json_and_exits_10(
    tmp_path: Path, env: dict[str, str]
) -> None:
    names = [f"s{n}.ts" for n in range(2700)]  # three hours
    routes = {"/long.m3u8": body(hls_playlist(names), "application/vnd.apple.mpegurl")}
    with serve(routes) as (base, hits):
        done = run_job(
            f"{base}/long.m3u8", "--max-duration-min", "120", "--out", str(tmp_path / "o"),
            env=env,
        )  # fmt: skip
    assert done.returncode == 10, done.stderr
    assert set(hits) == {"/long.m3u8"}
    assert json.loads((tmp_path / "o" / "refusal.json").read_text()) == {
        "reason": "too_long", "duration_s": 10800.0, "max_duration_s": 7200.0,
    }  # fmt: skip
    assert done.stderr.splitlines()[-1] == (
        f"relayq: {base}/long.m3u8 is 3.0 h long, more than the 2.0 h this runner takes; send "
        "a shorter recording"
    )
    assert list(Path(env["TMPDIR"]).iterdir()) == []


def test_a_file_longer_than_the_limit_is_refused_once_decoded(
    tmp_path: Path, env: dict[str, str]
) -> None:
    long = silence(tmp_path / "long.flac", seconds=150)
    done = run_job(str(long), "--max-duration-min", "2", "--out", str(tmp_path / "o"), env=env)
    assert done.returncode == 10, done.stderr
    refusal = json.loads((tmp_path / "o" / "refusal.json").read_text())
    assert refusal["reason"] == "too_long" and refusal["max_duration_s"] == 120.0
    assert refusal["duration_s"] == pytest.approx(150, abs=0.1)
    assert "long.flac is 2.5 min long, more than the 2 min" in done.stderr.splitlines()[-1]


@pytest.mark.parametrize("value", ["0", "-3", "soon", "nan"])
def test_a_bad_duration_limit_is_a_usage_error(
    value: str, tmp_path: Path, env: dict[str, str]
) -> None:
    done = run_job("x.ogg", "--max-duration-min", value, env=env)
    assert done.returncode == 2
    assert f"wants a number of minutes above 0, not '{value}'" in done.stderr


def test_the_limit_and_the_cookies_reach_the_job_config(tmp_path: Path) -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, state_dir=tmp_path, ytdlp_cookies=tmp_path / "c.txt",
        allow_private_urls="10.0.0.0/24",
    )  # fmt: skip
    config = build_config(settings, max_duration_s=5400)
    assert config.max_duration_s == 5400
    assert config.ytdlp_cookies == tmp_path / "c.txt"
    assert str(config.allow_private_urls) == "10.0.0.0/24"
