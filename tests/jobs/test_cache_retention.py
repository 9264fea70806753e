"""The runner's retention (RELAYQ_KEEP_DAYS): its transcript cache keeps entries for that many
days, swept at the start of a job at most once an hour, on a fake clock (`now`, and mtimes set
back) — and a job whose cache entry is swept is transcribed again, never failed."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from jobs.backends.base import Segment
from jobs.cache import ResultCache, cache_key
from jobs.outputs import write_results
from jobs.retention import DAY_S, SWEEP_EVERY_S, sweep_cache
from tests.jobs import test_transcribe
from tests.jobs.test_transcribe import run_job, step_words

env = test_transcribe.env  # the job's environment, a fixture
NOW = 1_800_000_000.0


def aged(path: Path, days: float) -> None:
    when = NOW - days * DAY_S
    for top, dirs, files in os.walk(path):
        for name in dirs + files:
            os.utime(Path(top, name), (when, when), follow_symlinks=False)
    os.utime(path, (when, when))


def stored(cache: ResultCache, root: Path, tmp_path: Path, name: str, days: float) -> Path:
    results = tmp_path / f"results-{name}"
    write_results(results, [Segment(0.0, 1.0, f"{name}.")], {"created_at": "2026-01-02"})
    key = cache_key(name * 64, {"model": "tiny.en"})
    assert cache.store(key, results)
    entry = root / key[:2] / key
    aged(entry, days)
    return entry


def test_entries_older_than_the_limit_go_and_the_rest_stay(tmp_path: Path) -> None:
    root = tmp_path / "cache"
    cache = ResultCache(root)
    old = stored(cache, root, tmp_path, "a", 40)
    new = stored(cache, root, tmp_path, "b", 10)
    leftover = root / new.parent.name / ".partial-killed"  # a killed job's staging folder
    leftover.mkdir()
    aged(leftover, 40)

    swept = sweep_cache(root, keep_days=30, now=NOW)

    assert (swept.removed, swept.kept, swept.failed) == (2, 1, [])
    assert not old.exists() and not leftover.exists() and new.exists()
    assert not old.parent.exists() or old.parent == new.parent  # an emptied shard goes too
    assert swept.freed > 0


def test_at_most_once_an_hour_unless_forced_and_zero_keeps_forever(tmp_path: Path) -> None:
    root = tmp_path / "cache"
    cache = ResultCache(root)
    stored(cache, root, tmp_path, "a", 40)
    assert sweep_cache(root, keep_days=0, now=NOW).removed == 0  # 0: kept forever
    assert sweep_cache(root, keep_days=30, now=NOW - 60).removed == 1  # marks the sweep
    again = stored(cache, root, tmp_path, "c", 40)
    assert sweep_cache(root, keep_days=30, now=NOW).removed == 0  # a minute later: not yet
    assert again.exists()
    assert sweep_cache(root, keep_days=30, now=NOW + SWEEP_EVERY_S).removed == 1
    assert not again.exists()


def test_a_link_in_the_cache_is_removed_as_a_link_never_followed(tmp_path: Path) -> None:
    root = tmp_path / "cache"
    outside = tmp_path / "precious"
    outside.mkdir()
    (outside / "keep.txt").write_text("mine")
    aged(outside, 400)
    shard = root / "ab"
    shard.mkdir(parents=True)
    (shard / "ab-link").symlink_to(outside, target_is_directory=True)
    os.utime(shard / "ab-link", (NOW - 400 * DAY_S,) * 2, follow_symlinks=False)

    swept = sweep_cache(root, keep_days=30, now=NOW)

    assert swept.removed == 1 and not (shard / "ab-link").is_symlink()
    assert (outside / "keep.txt").read_text() == "mine"


def test_a_missing_or_linked_cache_folder_is_nothing_to_sweep(tmp_path: Path) -> None:
    assert sweep_cache(tmp_path / "none", keep_days=1, now=NOW).removed == 0
    real = tmp_path / "real"
    stored(ResultCache(real), real, tmp_path, "a", 40)
    (tmp_path / "link").symlink_to(real, target_is_directory=True)
    assert sweep_cache(tmp_path / "link", keep_days=1, now=NOW).removed == 0
    assert any(real.rglob("meta.json"))


def test_a_job_whose_cache_entry_was_swept_is_transcribed_again(
    tmp_path: Path, speech_ogg: Path, env: dict[str, str]
) -> None:
    first = run_job(str(speech_ogg), "--out", str(tmp_path / "first"), env=env)
    assert first.returncode == 0, first.stderr
    cache = Path(env["RELAYQ_STATE_DIR"]) / "cache"
    (entry,) = (p.parent for p in cache.rglob("meta.json"))
    # A hundred days on: the entry (and the last sweep's mark, if any) are that old.
    for path in (entry, *entry.iterdir(), *cache.glob(".swept")):
        when = path.stat().st_mtime - 100 * DAY_S
        os.utime(path, (when, when))

    again = run_job(str(speech_ogg), "--out", str(tmp_path / "again"),
                    env=dict(env, RELAYQ_KEEP_DAYS="30"))  # fmt: skip

    assert again.returncode == 0, again.stderr
    assert "removed 1 cached transcript(s) older than 30 days (RELAYQ_KEEP_DAYS)" in again.stderr
    assert "transcribe" in step_words(again.stderr) and "reusing" not in step_words(again.stderr)
    assert json.loads((tmp_path / "again" / "meta.json").read_text())["cached"] is False
    assert (tmp_path / "again" / "transcript.txt").read_text() == (
        tmp_path / "first" / "transcript.txt"
    ).read_text()
    assert len(list(cache.rglob("meta.json"))) == 1  # stored afresh


def test_with_keep_days_zero_an_entry_of_any_age_is_reused(
    tmp_path: Path, speech_ogg: Path, env: dict[str, str]
) -> None:
    assert run_job(str(speech_ogg), "--out", str(tmp_path / "first"), env=env).returncode == 0
    cache = Path(env["RELAYQ_STATE_DIR"]) / "cache"
    for path in cache.rglob("*"):
        when = path.lstat().st_mtime - 1000 * DAY_S
        os.utime(path, (when, when), follow_symlinks=False)
    again = run_job(str(speech_ogg), "--out", str(tmp_path / "again"),
                    env=dict(env, RELAYQ_KEEP_DAYS="0"))  # fmt: skip
    assert again.returncode == 0 and "reusing" in step_words(again.stderr)


def test_an_entry_swept_between_its_lookup_and_its_reading_is_run_as_a_miss(
    tmp_path: Path, speech_ogg: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The runner's sweep (or another job's) removing the entry after the lookup found it:
    the job transcribes the audio itself rather than failing or writing half a result."""
    from jobs.cache import CachedResult
    from jobs.transcribe import TranscribeConfig, transcribe

    config = TranscribeConfig(cache_dir=tmp_path / "cache")
    first = transcribe(str(speech_ogg), tmp_path / "first", config)
    assert not first.cached
    lookups: list[str] = []
    original = ResultCache.lookup

    def swept_after_lookup(self: ResultCache, key: str) -> CachedResult | None:
        hit = original(self, key)
        lookups.append(key)
        if hit is not None:
            shutil.rmtree(hit.folder)  # RELAYQ_KEEP_DAYS in between
        return hit

    monkeypatch.setattr(ResultCache, "lookup", swept_after_lookup)
    steps: list[str] = []
    again = transcribe(str(speech_ogg), tmp_path / "again", config, progress=steps.append)

    assert len(lookups) == 1 and not again.cached
    assert not [s for s in steps if s.startswith("reusing")]
    meta = json.loads((tmp_path / "again" / "meta.json").read_text())
    assert meta["cached"] is False
    assert (tmp_path / "again" / "transcript.txt").read_text() == (
        tmp_path / "first" / "transcript.txt"
    ).read_text()
    assert len(list((tmp_path / "cache").rglob("meta.json"))) == 1  # stored afresh
