"""A private job on the runner: the local model alone, no remote fallback, and a summary only
by an LLM server on a home address — proven by the OpenAI stand-in's call counts (it plays
OpenAI and OpenRouter both), through the real openai client and faster-whisper."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from jobs.backends import backend_chain
from jobs.config import TranscribeConfig
from jobs.errors import ConfigError, PrivateRefused
from jobs.privacy import home_endpoint_problem, is_home_host
from jobs.summarize import SummaryConfig, summarize
from jobs.transcribe import transcribe
from tests.emulators.openai import OpenAIEmulator

KEY = "sk-canary-private-0123456789"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def api() -> Iterator[OpenAIEmulator]:
    with OpenAIEmulator(KEY) as emulator:
        yield emulator


def remote_ready(api: OpenAIEmulator, **changes: object) -> TranscribeConfig:
    """A runner that could reach OpenAI and OpenRouter (the stand-in) with its keys."""
    base = TranscribeConfig(openai_api_key=KEY, openai_base_url=api.base_url,
                            openrouter_api_key=KEY, openrouter_base_url=api.openrouter_url,
                            api_retries=0, api_timeout_s=60)  # fmt: skip
    return replace(base, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("backend", "fallback", "expected"),
    [
        ("auto", (), ["local"]),
        ("local", ("openai", "openrouter"), ["local"]),  # the fallbacks are dropped
        ("auto", ("openai",), ["local"]),
    ],
)
def test_a_private_jobs_chain_is_the_local_backend_alone(
    backend: str, fallback: tuple[str, ...], expected: list[str]
) -> None:
    config = TranscribeConfig(backend=backend, fallback=fallback, private=True, openai_api_key=KEY)
    assert backend_chain(config) == expected
    assert backend_chain(replace(config, private=False))[1:] == list(fallback)


@pytest.mark.parametrize("backend", ["openai", "openrouter"])
def test_a_private_job_asked_for_a_remote_backend_is_refused(backend: str) -> None:
    with pytest.raises(PrivateRefused) as caught:
        backend_chain(TranscribeConfig(backend=backend, private=True, openai_api_key=KEY))
    assert str(caught.value) == (
        f"this job is private, so it runs only with the local model, not {backend}; its audio "
        "was not sent anywhere"
    )


def test_when_the_local_model_fails_an_ordinary_job_falls_back_and_a_private_one_does_not(
    api: OpenAIEmulator, speech_ogg: Path, tmp_path: Path
) -> None:
    """The runner's settings hand a failed local job to OpenAI: the ordinary job goes there
    (the stand-in counts its calls), the private one fails saying it was not handed on."""
    broken = tmp_path / "no-model"
    broken.mkdir()  # a folder with no model in it: loading it fails
    config = remote_ready(api, backend="local", whisper_model=str(broken), fallback=("openai",))
    transcribe(str(speech_ogg), tmp_path / "ordinary", config)
    meta = json.loads((tmp_path / "ordinary" / "meta.json").read_text())
    assert meta["backend"] == "openai" and meta["private"] is False
    assert api.calls > 0
    before = api.calls
    with pytest.raises(ConfigError) as caught:
        transcribe(str(speech_ogg), tmp_path / "private", replace(config, private=True))
    assert api.calls == before  # not one request more, of any kind
    said = str(caught.value)
    assert said.endswith("; this job is private, so it was not handed to openai "
                         "(RELAYQ_BACKEND_FALLBACK)")  # fmt: skip
    assert "\n" not in said and KEY not in said
    assert not (tmp_path / "private" / "transcript.txt").exists()


def test_a_private_job_with_the_local_model_says_so_in_its_meta(
    api: OpenAIEmulator, speech_ogg: Path, tmp_path: Path
) -> None:
    config = remote_ready(api, backend="auto", fallback=("openai", "openrouter"), private=True)
    transcribe(str(speech_ogg), tmp_path / "out", config)
    meta = json.loads((tmp_path / "out" / "meta.json").read_text())
    assert (meta["backend"], meta["private"]) == ("local", True)
    assert "hello" in (tmp_path / "out" / "transcript.txt").read_text().lower() or meta["segments"]
    assert api.calls == 0


@pytest.mark.parametrize(
    ("host", "home"),
    [
        ("127.0.0.1", True), ("127.8.9.10", True), ("::1", True), ("[::1]", True),
        ("localhost", True), ("LOCALHOST.", True), ("ollama.localhost", True),
        ("10.1.2.3", True), ("172.16.0.1", True), ("172.31.255.254", True),
        ("192.168.1.20", True), ("100.64.0.1", True), ("100.127.255.254", True),
        ("fd7a:115c:a1e0::1", True), ("::ffff:192.168.1.2", True),
        ("mac-mini.local", True), ("nas.home.arpa", True), ("mac.tail1234.ts.net", True),
        # not home: public addresses and names, link-local (a cloud's metadata), look-alikes
        ("8.8.8.8", False), ("172.32.0.1", False), ("100.128.0.1", False),
        ("169.254.169.254", False), ("fe80::1", False), ("api.openai.com", False),
        ("openrouter.ai", False), ("local", False), ("evil-local", False),
        ("ts.net.example.com", False), ("localhost.example.com", False), ("", False),
    ],
)  # fmt: skip
def test_a_home_address(host: str, home: bool) -> None:
    assert is_home_host(host) is home


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        (None, "OPENAI_BASE_URL is not set, so summaries go to api.openai.com"),
        ("https://api.openai.com/v1", "OPENAI_BASE_URL points at api.openai.com, which is not a "
                                      "home address"),
        ("http://user:secret@203.0.113.5:8080/v1", "OPENAI_BASE_URL points at 203.0.113.5, which "
                                                   "is not a home address"),
        ("not a url", "OPENAI_BASE_URL is not a URL with a host"),
        ("http://127.0.0.1:11434/v1", None),
        ("http://mac-mini.tail1234.ts.net:8080/v1", None),
    ],
)  # fmt: skip
def test_which_llm_server_counts_as_declared_private(url: str | None, problem: str | None) -> None:
    assert home_endpoint_problem(url) == problem


def transcript(tmp_path: Path) -> Path:
    path = tmp_path / "transcript.txt"
    path.write_text("The board met on Monday. The budget passed.\n")
    return path


def test_a_private_summary_is_refused_when_only_openrouter_or_openai_would_make_it(
    api: OpenAIEmulator, tmp_path: Path
) -> None:
    """OpenRouter's key is set (an ordinary summary goes there) and OPENAI_BASE_URL is not on
    a home address: the private summary is refused with the reason, and nothing is called."""
    ordinary = SummaryConfig(openrouter_api_key=KEY, openrouter_base_url=api.openrouter_url,
                             max_retries=0, timeout_s=10)  # fmt: skip
    summarize(str(transcript(tmp_path)), tmp_path / "ordinary", ordinary)
    assert api.calls == 1
    for config in (
        replace(ordinary, private=True),
        replace(ordinary, private=True, openai_api_key=KEY,
                openai_base_url="https://api.openai.com/v1"),
    ):  # fmt: skip
        with pytest.raises(PrivateRefused) as caught:
            summarize(str(transcript(tmp_path)), tmp_path / "private", config)
        said = str(caught.value)
        assert said.startswith("this transcript is private, so only an LLM server on your own "
                               "machines may summarize it, and OPENAI_BASE_URL ")  # fmt: skip
        assert said.endswith("— nothing was sent") and KEY not in said
    assert api.calls == 1
    assert not (tmp_path / "private" / "summary.md").exists()


def test_a_private_summary_uses_the_owners_own_server(api: OpenAIEmulator, tmp_path: Path) -> None:
    """The stand-in on 127.0.0.1 plays a server on the owner's machine, OPENAI_BASE_URL."""
    config = SummaryConfig(openai_api_key=KEY, openai_base_url=api.base_url,
                           openrouter_api_key=KEY, openrouter_base_url=api.openrouter_url,
                           private=True, max_retries=0, timeout_s=10)  # fmt: skip
    summarize(str(transcript(tmp_path)), tmp_path / "out", config)
    assert [r.path for r in api.requests] == ["/v1/chat/completions"]  # not /api/v1 (OpenRouter)
    meta = json.loads((tmp_path / "out" / "meta.json").read_text())
    assert (meta["backend"], meta["private"]) == ("openai", True)


def test_the_cli_refuses_a_private_summary_with_exit_14(
    api: OpenAIEmulator, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI", "OPENROUTER"))}
    env.update(HOME=str(tmp_path), OPENROUTER_API_KEY=KEY,
               RELAYQ_OPENROUTER_BASE_URL=api.openrouter_url)  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "summarize", "--private", "--out", str(tmp_path / "o"),
         str(transcript(tmp_path))],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 14, done.stderr
    assert done.stderr.strip().startswith("relayq: this transcript is private")
    assert len(done.stderr.strip().splitlines()) == 1 and KEY not in done.stderr
    assert api.calls == 0
