"""`relayq summarize`: a transcript in, summary.md out, through the real openai client and an
OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from jobs.errors import BackendFailed, ConfigError, NotAudio, RelayqError, UsageError
from jobs.summarize import SummaryConfig, split_text, summarize
from tests.emulators.openai import Fault, OpenAIEmulator

KEY = "sk-CANARY-summary-key-never-printed"
TRANSCRIPT = (
    "The quick brown fox jumps over the lazy dog. It was a sunny day.\n\n"
    "Relayq sends the transcript back when the work is done. Nobody waits long."
)


@pytest.fixture
def api() -> Iterator[OpenAIEmulator]:
    with OpenAIEmulator(KEY) as emulator:
        yield emulator


def config(api: OpenAIEmulator, **extra: object) -> SummaryConfig:
    values: dict[str, object] = {"openai_api_key": KEY, "openai_base_url": api.base_url,
                                 "max_retries": 2, "timeout_s": 10}  # fmt: skip
    values.update(extra)
    return SummaryConfig(**values)  # type: ignore[arg-type]


def transcript(tmp_path: Path, text: str = TRANSCRIPT) -> Path:
    path = tmp_path / "transcript.txt"
    path.write_text(text)
    return path


def test_a_transcript_becomes_summary_md_and_meta(api: OpenAIEmulator, tmp_path: Path) -> None:
    outcome = summarize(str(transcript(tmp_path)), tmp_path / "out", config(api))
    assert (tmp_path / "out" / "summary.md").read_text() == (
        "- The quick brown fox jumps over the lazy dog.\n"
        "- Relayq sends the transcript back when the work is done.\n"
    )
    meta = json.loads((tmp_path / "out" / "meta.json").read_text())
    assert (meta["backend"], meta["model"], meta["calls"]) == ("openai", "gpt-5-mini", 1)
    assert outcome.calls == 1 and len(api.chats()) == 1
    assert api.chats()[0].headers["authorization"] == f"Bearer {KEY}"
    assert all(KEY not in p.read_text() for p in (tmp_path / "out").iterdir())


def test_a_long_transcript_is_summarized_in_pieces_then_combined(
    api: OpenAIEmulator, tmp_path: Path
) -> None:
    paragraphs = [f"Topic number {n} is discussed here. It goes on for a while." for n in range(40)]
    source = transcript(tmp_path, "\n\n".join(paragraphs))
    outcome = summarize(str(source), tmp_path / "out", config(api, piece_chars=600))
    pieces = split_text(source.read_text(), 600)
    assert len(pieces) > 1 and outcome.calls > len(pieces)
    sent = [c.body["messages"] for c in api.chats()]
    # Every word went out once, in order, in the first calls; then the combining calls.
    assert [m[-1]["content"] for m in sent[: len(pieces)]] == pieces
    assert all("Combine them" in m[0]["content"] for m in sent[len(pieces) :])
    summary = (tmp_path / "out" / "summary.md").read_text()
    assert "Topic number 0 is discussed here." in summary.splitlines()[0]


def test_a_model_whose_summaries_do_not_shrink_still_ends(
    api: OpenAIEmulator, tmp_path: Path
) -> None:
    """Pieces of one long sentence each: the emulator's "summary" (each paragraph's first
    sentence) is the piece again, as a verbose model's can be, so the summaries never fit
    fewer pieces. Combining must still halve them every round (it made 107 calls for these
    8 pieces before)."""
    runs_on = "and on " * 25
    paragraphs = [
        f"Paragraph {n} is one sentence that runs on {runs_on}to its end." for n in range(8)
    ]
    source = transcript(tmp_path, "\n\n".join(paragraphs))
    done: list[object] = []
    cfg = config(api, piece_chars=len(paragraphs[0]) + 20)  # one paragraph per piece
    worker = threading.Thread(
        target=lambda: done.append(summarize(str(source), tmp_path / "out", cfg)), daemon=True
    )
    worker.start()
    worker.join(60)
    assert done, "summarizing did not end"
    assert len(api.chats()) == 8 + 4 + 2 + 1  # the pieces, then rounds that halve them
    assert "Paragraph 0" in (tmp_path / "out" / "summary.md").read_text()


def test_a_results_folder_is_summarized_from_its_transcript(
    api: OpenAIEmulator, tmp_path: Path
) -> None:
    transcript(tmp_path)
    summarize(str(tmp_path), tmp_path / "out", config(api))
    assert (tmp_path / "out" / "summary.md").read_text().startswith("- The quick brown fox")


def test_an_empty_transcript_costs_no_call(api: OpenAIEmulator, tmp_path: Path) -> None:
    outcome = summarize(str(transcript(tmp_path, "  \n")), tmp_path / "out", config(api))
    assert outcome.calls == 0 and api.requests == []
    assert "nothing was said" in (tmp_path / "out" / "summary.md").read_text()


def test_openrouter_is_used_when_only_its_key_is_set(api: OpenAIEmulator, tmp_path: Path) -> None:
    cfg = SummaryConfig(openrouter_api_key=KEY, openrouter_base_url=api.openrouter_url,
                        max_retries=1, timeout_s=10)  # fmt: skip
    outcome = summarize(str(transcript(tmp_path)), tmp_path / "out", cfg)
    assert (outcome.backend, outcome.model) == ("openrouter", "openai/gpt-5-mini")
    assert api.chats()[0].path == "/api/v1/chat/completions"


def test_429_with_retry_after_is_waited_out(api: OpenAIEmulator, tmp_path: Path) -> None:
    api.faults.append(Fault(429, times=2, retry_after=1))
    summarize(str(transcript(tmp_path)), tmp_path / "out", config(api))
    assert len(api.chats()) == 3
    assert (tmp_path / "out" / "summary.md").exists()


@pytest.mark.parametrize(
    ("setup", "expected_error", "says"),
    [
        ({"openai_api_key": None}, ConfigError, "set OPENAI_API_KEY (or OPENROUTER_API_KEY)"),
        ({"openai_api_key": "sk-wrong"}, ConfigError, "refused the key in OPENAI_API_KEY"),
        ({"fault": Fault(500, times=9)}, BackendFailed, "answered HTTP 500"),
        ({"fault": Fault(429, times=9, retry_after=0)}, BackendFailed, "too many requests"),
        ({"openai_base_url": "http://127.0.0.1:9/v1"}, BackendFailed, "could not reach"),
    ],
)
def test_failures_are_one_sentence_without_the_key_and_leave_nothing(
    api: OpenAIEmulator,
    tmp_path: Path,
    setup: dict[str, object],
    expected_error: type[RelayqError],
    says: str,
) -> None:
    fault = setup.pop("fault", None)
    if isinstance(fault, Fault):
        api.faults.append(fault)
    with pytest.raises(expected_error, match=says.replace("(", r"\(").replace(")", r"\)")) as err:
        summarize(str(transcript(tmp_path)), tmp_path / "out", config(api, **setup))
    assert KEY not in str(err.value) and "sk-wrong" not in str(err.value)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("content", "expected_error", "says"),
    [(b"\xff\xfe\x00OggS binary", NotAudio, "not a UTF-8 text file"),
     (None, UsageError, "has no transcript.txt")],
)  # fmt: skip
def test_what_is_not_a_transcript_is_refused_before_any_call(
    api: OpenAIEmulator,
    tmp_path: Path,
    content: bytes | None,
    expected_error: type[RelayqError],
    says: str,
) -> None:
    source = tmp_path / "in"
    source.mkdir()
    if content is not None:
        (source / "transcript.txt").write_bytes(content)
    lines: list[str] = []
    with pytest.raises(expected_error, match=says) as caught:
        summarize(str(source / "transcript.txt" if content else source), tmp_path / "out",
                  config(api), progress=lines.append)  # fmt: skip
    assert api.requests == []
    if content is not None:  # the file's name only, never where it is on this machine
        assert str(tmp_path) not in str(caught.value) + " ".join(lines)


@pytest.mark.parametrize("limit", [50, 200, 1000])
def test_pieces_keep_every_word_in_order_and_fit(limit: int) -> None:
    text = ("Short one. " * 30 + "\n\n" + "word " * 400 + "\n\n" + "x" * 2500).strip()
    pieces = split_text(text, limit)
    assert all(len(p) <= limit for p in pieces)
    assert "".join("".join(pieces).split()) == "".join(text.split())


def test_the_cli_prints_one_line_on_a_missing_key(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items()
           if k not in ("OPENAI_API_KEY", "OPENROUTER_API_KEY")}  # fmt: skip
    env["HOME"] = str(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "summarize", str(transcript(tmp_path)), "--out",
         str(tmp_path / "o")],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 8
    assert done.stderr.strip().splitlines()[-1].startswith("relayq: summaries need an API key")


def test_the_cli_summarizes_with_the_key_from_the_environment(
    api: OpenAIEmulator, tmp_path: Path
) -> None:
    env = dict(os.environ, HOME=str(tmp_path), OPENAI_API_KEY=KEY, OPENAI_BASE_URL=api.base_url)
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "summarize", str(transcript(tmp_path)), "--out",
         str(tmp_path / "o"), "--model", "my-model"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(tmp_path / "o")
    assert api.chats()[0].body["model"] == "my-model"
    assert KEY not in done.stderr + done.stdout
