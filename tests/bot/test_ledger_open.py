"""Opening the ledger proves it can be written, or says in one sentence why it cannot."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.ledger import Ledger, LedgerUnwritable


def test_a_state_folder_that_is_a_file_is_refused_with_what_to_do(tmp_path: Path) -> None:
    (tmp_path / "state").write_text("not a folder")
    with pytest.raises(LedgerUnwritable) as caught:
        Ledger(tmp_path / "state" / "ledger.sqlite3")
    message = str(caught.value)
    assert message.startswith(f"cannot write the ledger in {tmp_path / 'state'} (")
    assert message.endswith(
        "make RELAYQ_STATE_DIR a writable folder with free space, then start relayq again"
    )
    assert "\n" not in message


def test_a_writable_folder_opens_and_records_when(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "state" / "ledger.sqlite3")
    try:
        assert ledger.all_jobs() == []
    finally:
        ledger.close()
