"""The bot's literal-address check honours the VM's RELAYQ_ALLOW_PRIVATE_URLS list."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.ledger import Ledger
from bot.lifecycle import JobService
from bot.policy import load_policy_file
from bot.settings import Settings
from tests.bot.lifecycle_fakes import MemoryChat, ScriptedExecutor

POLICY = load_policy_file(Path(__file__).resolve().parents[2] / "policy" / "policy.yaml")


@pytest.mark.parametrize(
    ("setting", "link", "refused"),
    [
        ("", "http://192.168.1.10/talk.mp3", True),
        ("192.168.1.10", "http://192.168.1.10/talk.mp3", False),
        ("192.168.1.10", "http://192.168.1.11/talk.mp3", True),
        ("192.168.1.10", "http://169.254.169.254/latest/", True),
        ("10.0.0.0/24,192.168.1.10", "http://10.0.0.7:8080/a.ogg", False),
        ("1", "http://169.254.169.254/latest/", False),
        ("192.168.1.10", "https://nas.example/talk.mp3", False),  # names: the runner's call
    ],
)
async def test_only_listed_addresses_pass_the_bots_check(
    setting: str, link: str, refused: bool, tmp_path: Path
) -> None:
    settings = Settings(_env_file=None, RELAYQ_STATE_DIR=tmp_path / "state",  # type: ignore[call-arg]
                        RELAYQ_ALLOW_PRIVATE_URLS=setting)  # fmt: skip
    ledger = Ledger(tmp_path / "state" / "ledger.sqlite3")
    service = JobService(ledger=ledger, executor=ScriptedExecutor(lambda spec: []),
                         policy=POLICY, settings=settings, chat=MemoryChat())  # fmt: skip
    try:
        why = service.intake.refusal(link)
    finally:
        await service.close()
        ledger.close()
    assert (why is not None) is refused
    if why is not None and "169.254" in link:  # no one is told to allow cloud metadata
        assert why.endswith(
            "; no media is served from there; send a public link or upload the file"
        )
    elif why is not None:
        assert "RELAYQ_ALLOW_PRIVATE_URLS" in why
