"""Opening the ledger proves it can be written, or says in one sentence why it cannot."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.ledger import Ledger, LedgerUnwritable, Prefs


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


def test_a_ledger_from_an_earlier_version_opens_with_its_jobs(tmp_path: Path) -> None:
    import sqlite3
    from contextlib import closing

    path = tmp_path / "ledger.sqlite3"
    with closing(sqlite3.connect(path)) as db:
        db.execute(
            "CREATE TABLE jobs (id TEXT PRIMARY KEY, chat_id INTEGER NOT NULL, user_id INTEGER "
            "NOT NULL, message_id INTEGER NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL, "
            "source TEXT NOT NULL, pin TEXT, state TEXT NOT NULL DEFAULT 'accepted', target "
            "TEXT, workflow TEXT, run_url TEXT, progress_message_id INTEGER, detail TEXT NOT "
            "NULL DEFAULT '', srt_sent INTEGER NOT NULL DEFAULT 0, created_at REAL NOT NULL, "
            "updated_at REAL NOT NULL, UNIQUE (chat_id, message_id, seq))"
        )
        db.execute(
            "INSERT INTO jobs (id, chat_id, user_id, message_id, seq, kind, source, state, "
            "srt_sent, created_at, updated_at) VALUES ('j1', 1, 1, 5, 0, 'transcribe', "
            "'https://example.org/a.ogg', 'delivered', 1, 0, 0)"
        )
        db.commit()
    ledger = Ledger(path)
    try:
        [row] = ledger.all_jobs()
        assert (row.id, row.state, row.files_sent, row.cancel_requested) == (
            "j1",
            "delivered",
            1,
            0,
        )
        # An old job detected nothing, transcribed, and sends the default files.
        assert (row.language, row.task, row.result_formats, row.heard) == (
            None,
            "transcribe",
            ("txt", "srt"),
            None,
        )
        assert ledger.prefs(1) == Prefs()  # the prefs table is made on opening
    finally:
        ledger.close()


def test_a_persons_defaults_are_kept_and_changed() -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        ledger = Ledger(Path(tmp) / "ledger.sqlite3")
        try:
            ledger.set_prefs(3, Prefs("de", ("srt", "vtt")))
            ledger.set_prefs(3, Prefs(None, ledger.prefs(3).formats))
            assert ledger.prefs(3) == Prefs(None, ("srt", "vtt"))
            assert ledger.prefs(4) == Prefs()
        finally:
            ledger.close()
