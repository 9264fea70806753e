"""The `relayq transcribe` adapter: options over settings, and errors as one line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from bot.commands.transcribe import build_config
from bot.settings import Settings


def settings(tmp_path: Path, **values: Any) -> Settings:
    return Settings(_env_file=None, state_dir=tmp_path / "state", **values)  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("values", "options", "expected"),
    [
        (
            {},
            {},
            {"backend": "auto", "model": None, "beam_size": 5, "batch_size": 8, "cpu_threads": 0},
        ),
        (
            {"whisper_model": "base.en", "whisper_beam_size": 2, "whisper_threads": 4},
            {},
            {"whisper_model": "base.en", "model": None, "beam_size": 2, "cpu_threads": 4},
        ),
        (
            {"openai_model": "gpt-4o-transcribe", "backend_fallback": " openrouter , local "},
            {"backend": "openai"},
            {"openai_model": "gpt-4o-transcribe", "fallback": ("openrouter", "local")},
        ),
        (
            {"remote_chunk_s": 60, "remote_max_mb": 10, "remote_concurrency": 2},
            {},
            {
                "remote_chunk_s": 60,
                "remote_max_file_bytes": 10 * 1024 * 1024,
                "remote_concurrency": 2,
            },
        ),
        ({"whisper_model": "base.en"}, {"model": "small"}, {"model": "small"}),
        ({"backend": "local"}, {"backend": "openai"}, {"backend": "openai"}),
        ({"max_download_mb": 1.5}, {}, {"max_download_bytes": 1_500_000}),
        ({}, {"language": "en"}, {"language": "en"}),
    ],
)
def test_options_win_over_settings(
    tmp_path: Path, values: dict[str, Any], options: dict[str, Any], expected: dict[str, object]
) -> None:
    config = build_config(settings(tmp_path, **values), **options)
    assert {name: getattr(config, name) for name in expected} == expected


def test_a_fallback_naming_an_unknown_backend_is_refused_at_start(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="list backends from local, openai and openrouter"):
        settings(tmp_path, backend_fallback="local,whisper")


def test_the_cache_lives_in_the_state_folder_unless_turned_off(tmp_path: Path) -> None:
    assert build_config(settings(tmp_path)).cache_dir == tmp_path / "state" / "cache"
    assert build_config(settings(tmp_path), use_cache=False).cache_dir is None


def test_a_missing_file_is_one_line_and_exit_3(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RELAYQ_STATE_DIR", str(tmp_path / "state"))
    code = main(["transcribe", str(tmp_path / "nope.ogg"), "--out", str(tmp_path / "o")])
    captured = capsys.readouterr()
    assert code == 3
    assert captured.err == f"relayq: no such file: {tmp_path / 'nope.ogg'}; check the path\n"
    assert captured.out == ""


REFUSED = "only http and https links are accepted; send an http(s) link or upload the file"


@pytest.mark.parametrize(
    ("source", "expected_code", "expected_error"),
    [
        ("http://exa mple.com/a.mp3", 2, "http://exa mple.com/a.mp3 is not a valid link: its host name has a space in it; check the link"),
        ("http://127.0.0.1:99999/x", 2, "http://127.0.0.1:99999/x is not a valid link: its port 99999 is not a number from 1 to 65535; check the link"),
        ("https:example.org/a.mp3", 2, "https:example.org/a.mp3 is not a valid link: it has no host name; send a full http(s) link"),
        ("javascript:alert(1)", 6, f"refusing to fetch a javascript link: {REFUSED}"),
        ("data:audio/mp3;base64,AAAA", 6, f"refusing to fetch a data link: {REFUSED}"),
        ("mailto:me@example.org", 6, f"refusing to fetch a mailto link: {REFUSED}"),
        ("ftp://example.org/a.mp3", 6, f"refusing to fetch an ftp link: {REFUSED}"),
        ("sftp://example.org/a.mp3", 6, f"refusing to fetch an sftp link: {REFUSED}"),
        ("FILE:///etc/passwd", 6, f"refusing to fetch a file link: {REFUSED}"),
    ],
)  # fmt: skip
def test_a_link_that_is_malformed_or_of_another_scheme_says_so_with_its_exit_code(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    source: str,
    expected_code: int,
    expected_error: str,
) -> None:
    monkeypatch.setenv("RELAYQ_STATE_DIR", str(tmp_path / "state"))
    code = main(["transcribe", "--out", str(tmp_path / "o"), "--", source])
    captured = capsys.readouterr()
    assert (code, captured.err) == (expected_code, f"relayq: {expected_error}\n")
    assert not (tmp_path / "o").exists()


def test_a_file_whose_name_looks_like_a_scheme_is_still_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RELAYQ_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.chdir(tmp_path)
    Path("data:notes.mp3").write_bytes(b"not audio " * 100)
    code = main(["transcribe", "--out", str(tmp_path / "o"), "--", "data:notes.mp3"])
    assert code == 4
    assert "data:notes.mp3 is not audio we can read" in capsys.readouterr().err
