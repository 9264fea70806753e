"""The library, as a person asks it: find what was said (/find), have a transcript sent
again (/get), and the older deliveries indexed once when the library is new.

A person sees only their own transcripts: someone else's job is "no such job", whether it is
searched for or asked by id. The owner (the first of RELAYQ_ALLOWED_USERS) may search and
get everyone's (`/find --all`). Sending again runs nothing: the files come from the results
the bot kept (`Shelved.folder`), through the chat port; once retention removed those, the
library's text is sent as `transcript.txt`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from bot.chat import Again, Chat, read_result
from bot.ledger import JobRow, Ledger
from bot.library import Found, Library, Shelved, match_query, title_of
from bot.lifecycle.intake import Answer
from bot.policy import Policy
from jobs.errors import RelayqError

__all__ = ["Search", "Shelf"]

log = logging.getLogger(__name__)
BACKFILLED = "library_backfilled"  # the ledger's meta key: older deliveries were indexed


@dataclass(frozen=True)
class Search:
    """What /find found: the words as typed, the matches (best first), how many words were
    past the limit and left out, and whether everyone's transcripts were searched."""

    words: str
    found: list[Found]
    left_out: int = 0
    everyone: bool = False


class Shelf:
    def __init__(self, ledger: Ledger, chat: Chat, policy: Policy, *, owner: int | None,
                 results: tuple[Path, Path]) -> None:  # fmt: skip
        """`results`: where the local and the GitHub executor keep results (for indexing
        older deliveries)."""
        self._ledger = ledger
        self._chat = chat
        self._policy = policy
        self._owner = owner
        self._results = results
        self.library = Library(ledger)

    def find(self, words: str, user_id: int, *, everyone: bool = False) -> Search | Answer:
        if everyone and user_id != self._owner:
            return Answer.NOT_OWNER
        _, left_out = match_query(words)
        found = self.library.find(words, user_id=None if everyone else user_id)
        return Search(words, found, left_out, everyone)

    async def get(self, job_id: str, user_id: int, chat_id: int,
                  formats: tuple[str, ...]) -> Again | Answer:  # fmt: skip
        """Send job `job_id`'s transcript again to `chat_id`, in `formats` (txt, srt, vtt)."""
        shelved = self.library.get(job_id)
        if shelved is None:
            return self._not_shelved(job_id, user_id)
        if shelved.user_id != user_id and user_id != self._owner:
            return Answer.NO_SUCH_JOB
        folder = shelved.folder
        if not (folder / "transcript.txt").is_file():
            return await self._from_text(shelved, chat_id)
        chosen = (folder / f"transcript.{f}" for f in formats)
        files = tuple(p for p in chosen if p.is_file() and p.stat().st_size)
        if not files:
            return Answer.NO_SPEECH
        again = Again(shelved, chat_id, files)
        try:
            await self._chat.send_again(again)
        except FileNotFoundError:  # retention swept them since they were looked at
            log.info("library: the files of job %s went while being sent; sending its text",
                     shelved.job_id)  # fmt: skip
            return await self._from_text(shelved, chat_id)
        return again

    async def _from_text(self, shelved: Shelved, chat_id: int) -> Again | Answer:
        """Its files went (retention): the library's text is sent as transcript.txt."""
        text = self.library.text(shelved.job_id)
        if not text or not text.strip():
            return Answer.FILES_GONE
        again = Again(shelved, chat_id, (), text=text)
        await self._chat.send_again(again)
        return again

    def _not_shelved(self, job_id: str, user_id: int) -> Answer:
        try:
            row = self._ledger.get(job_id)
        except KeyError:
            return Answer.NO_SUCH_JOB
        if row.user_id != user_id and user_id != self._owner:
            return Answer.NO_SUCH_JOB
        if row.forgotten_at is not None:
            return Answer.FORGOTTEN
        if row.kind != "transcribe" or row.state in ("failed", "cancelled"):
            return Answer.NOT_A_TRANSCRIPT
        if not row.final:
            return Answer.NOT_YET
        return Answer.FILES_GONE  # delivered before the library, its results since gone

    # -- indexing what was delivered before the library ----------------------------------

    def backfill(self) -> int:
        """Index, once, the delivered transcripts from before the library whose results are
        still kept; returns how many. Those whose results are gone stay out of it."""
        db = self._ledger.db
        if db.execute("SELECT 1 FROM meta WHERE key = ?", (BACKFILLED,)).fetchone():
            return 0
        rows = [r for r in self._ledger.all_jobs()
                if r.kind == "transcribe" and r.state == "delivered"
                and r.forgotten_at is None]  # fmt: skip
        done = 0
        for row in rows:
            folder = self._folder_of(row)
            if folder is None:
                continue
            try:
                result = read_result(folder, row.kind, row.run_url)
            except RelayqError:
                continue
            target = self._policy.targets.get(row.target or "")
            host = result.meta.get("host")
            runner = target.description if target else host
            with self._ledger.transaction():
                done += self.library.shelve(
                    row, text=result.text, title=title_of(row, result.meta),
                    language=result.heard or row.language,
                    runner=runner if isinstance(runner, str) else None,
                    duration_s=result.duration_s, folder=folder, at=row.updated_at,
                )  # fmt: skip
        with self._ledger.transaction():
            db.execute("INSERT OR REPLACE INTO meta VALUES (?, '1')", (BACKFILLED,))
        if done:
            log.info("library: %d earlier transcript(s) indexed", done)
        return done

    def _folder_of(self, row: JobRow) -> Path | None:
        """Where an executor kept the job's results: the local one by job id, the GitHub
        one by run id."""
        local, github = self._results
        run_id = (row.run_url or "").rstrip("/").rsplit("/", 1)[-1]
        kept = [local / row.id / "out"] + ([github / run_id] if run_id.isdigit() else [])
        return next((f for f in kept if (f / "transcript.txt").is_file()), None)
