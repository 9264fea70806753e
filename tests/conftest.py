"""Shared fixtures: the bundled speech sample and media made from it with PyAV."""

from __future__ import annotations

from pathlib import Path

import pytest

import jobs

pytest_plugins = ["tests.suites"]

SAMPLES = Path(jobs.__file__).resolve().parent / "samples"


@pytest.fixture(scope="session")
def speech_ogg() -> Path:
    return SAMPLES / "speech.ogg"


@pytest.fixture(scope="session")
def speech_text() -> str:
    return (SAMPLES / "speech.txt").read_text(encoding="utf-8")
