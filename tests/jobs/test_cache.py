"""The result cache: keyed by audio and settings, whole entries only, never in the way."""

from __future__ import annotations

from pathlib import Path

import pytest

from jobs.backends.base import Segment
from jobs.cache import ResultCache, cache_key, sha256_file
from jobs.outputs import write_results

AUDIO = "a" * 64
SETTINGS = {"model": "tiny.en", "beam_size": 5, "language": None}


@pytest.fixture
def results(tmp_path: Path) -> Path:
    folder = tmp_path / "results"
    write_results(folder, [Segment(0.0, 1.0, "Hello.")], {"created_at": "2026-01-02T03:04:05"})
    return folder


@pytest.mark.parametrize(
    ("audio", "settings", "expected_same"),
    [
        (AUDIO, dict(SETTINGS), True),
        (AUDIO, dict(reversed(list(SETTINGS.items()))), True),
        ("b" * 64, SETTINGS, False),
        (AUDIO, {**SETTINGS, "beam_size": 1}, False),
        (AUDIO, {**SETTINGS, "language": "en"}, False),
        (AUDIO, {**SETTINGS, "model": "base.en"}, False),
    ],
)
def test_the_key_follows_the_audio_and_the_settings(
    audio: str, settings: dict[str, object], expected_same: bool
) -> None:
    assert (cache_key(audio, settings) == cache_key(AUDIO, SETTINGS)) is expected_same


def test_the_audio_hash_is_the_sha256_of_the_bytes(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"abc")
    expected = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert sha256_file(tmp_path / "f") == expected


def test_a_stored_entry_is_found_with_its_meta(tmp_path: Path, results: Path) -> None:
    cache = ResultCache(tmp_path / "cache")
    key = cache_key(AUDIO, SETTINGS)
    assert cache.lookup(key) is None
    assert cache.store(key, results)
    hit = cache.lookup(key)
    assert hit is not None
    assert hit.created_at == "2026-01-02T03:04:05"
    assert (hit.folder / "transcript.srt").read_text() == (results / "transcript.srt").read_text()


def test_an_existing_entry_is_kept_not_overwritten(tmp_path: Path, results: Path) -> None:
    cache = ResultCache(tmp_path / "cache")
    key = cache_key(AUDIO, SETTINGS)
    assert cache.store(key, results)
    (results / "transcript.txt").write_text("changed\n")
    assert not cache.store(key, results)
    hit = cache.lookup(key)
    assert hit is not None and (hit.folder / "transcript.txt").read_text() == "Hello.\n"


@pytest.mark.parametrize(
    ("damage", "expected_hit"),
    [
        (lambda entry: None, True),
        (lambda entry: (entry / "meta.json").unlink(), False),
        (lambda entry: (entry / "transcript.vtt").unlink(), False),
        (lambda entry: (entry / "meta.json").write_text("{not json"), False),
        (lambda entry: (entry / "meta.json").write_text("[1, 2]"), False),
    ],
)
def test_an_incomplete_or_damaged_entry_is_a_miss(
    tmp_path: Path, results: Path, damage: object, expected_hit: bool
) -> None:
    cache = ResultCache(tmp_path / "cache")
    key = cache_key(AUDIO, SETTINGS)
    cache.store(key, results)
    entry = cache.lookup(key)
    assert entry is not None
    damage(entry.folder)  # type: ignore[operator]
    assert (cache.lookup(key) is not None) is expected_hit


def test_an_unusable_cache_folder_does_not_fail_the_job(tmp_path: Path, results: Path) -> None:
    (tmp_path / "cache").write_text("a file where the cache folder should be")
    cache = ResultCache(tmp_path / "cache")
    assert not cache.store(cache_key(AUDIO, SETTINGS), results)
    assert cache.lookup(cache_key(AUDIO, SETTINGS)) is None


def test_storing_leaves_no_staging_folders(tmp_path: Path, results: Path) -> None:
    cache = ResultCache(tmp_path / "cache")
    cache.store(cache_key(AUDIO, SETTINGS), results)
    leftovers = [p for p in (tmp_path / "cache").rglob(".partial-*")]
    assert leftovers == []


def test_an_entry_swept_after_its_lookup_reads_as_gone(tmp_path: Path, results: Path) -> None:
    import shutil

    cache = ResultCache(tmp_path / "cache")
    key = cache_key(AUDIO, SETTINGS)
    assert cache.store(key, results)
    hit = cache.lookup(key)
    assert hit is not None and set(hit.files() or {}) == {"transcript.txt", "transcript.srt",
                                                          "transcript.vtt", "segments.json"}  # fmt: skip
    shutil.rmtree(hit.folder)  # RELAYQ_KEEP_DAYS, or /forget, in between
    assert hit.files() is None
