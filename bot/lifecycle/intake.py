"""Intake: what a person sent becomes job rows; their requests about a job are answered.

A row is written before anything else happens, keyed by (chat, message, n-th source), so a
message seen twice is one job. Answers are relayq's own outcomes; the front end words them.
"""

from __future__ import annotations

import contextlib
import enum
import re
from dataclasses import dataclass

from bot.dispatching import new_job_id
from bot.executors.base import Executor, JobState, Phase
from bot.ledger import JobRow, Ledger
from bot.lifecycle.driving import Driver
from jobs.errors import RelayqError
from jobs.fetch import NO_PRIVATE, AllowPrivate, allowing, literal_refusal

__all__ = ["MAX_LINKS", "TRANSLATE_SEQ", "Answer", "Intake", "Upload", "find_links"]

_LINK = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)
MAX_LINKS = 10
# A translation asked for with the button is keyed by the transcript's message, as its
# summary is: this seq keeps the two apart (and pressing twice makes one translation).
TRANSLATE_SEQ = 500


def find_links(text: str) -> list[str]:
    """http(s) links in a message, in order, without duplicates or trailing punctuation."""
    links = [m.group(0).rstrip(".,;:!?)]}") for m in _LINK.finditer(text)]
    return list(dict.fromkeys(links))


class Answer(enum.StrEnum):
    """What became of a request about a job (the front end says it in its words)."""

    NO_SUCH_JOB = "no such job"  # or someone else's: the same answer
    ENDED = "already ended"
    CANCELLED = "cancelled"
    CANCELLING = "cancelling"
    NOT_A_TRANSCRIPT = "not a delivered transcript"
    NO_SPEECH = "no speech"
    ENGLISH = "already in English"  # a translation, or a transcript heard as English
    NOT_YET = "not delivered yet"  # the person's own job, still on its way
    FILES_GONE = "its files are gone"  # delivered, but its results are no longer kept
    NOT_OWNER = "only the owner may"  # /find --all by someone else
    FORGOTTEN = "forgotten"  # /forget'ed: nothing of it is kept
    STILL_RUNNING = "still running"  # /forget of a job not yet final
    NOT_A_JOB_ID = "not a job id"  # /forget of something no job id looks like


@dataclass(frozen=True)
class Upload:
    """A file sent in the chat: its id there, what the person calls it, and what the chat
    says of its size and length before anything is fetched."""

    file_id: str
    name: str | None = None
    size_mb: float | None = None
    duration_min: float | None = None


class Intake:
    def __init__(self, ledger: Ledger, executor: Executor, driver: Driver, *,
                 allow_private: AllowPrivate = NO_PRIVATE) -> None:  # fmt: skip
        self._ledger = ledger
        self._executor = executor
        self._driver = driver
        self._allow_private = allow_private

    def refusal(self, link: str) -> str | None:
        """Why no runner would fetch `link`, when that is plain from the link alone (its host is
        a literal internal address): the runner's own sentence. Names are resolved on the
        runner only; addresses RELAYQ_ALLOW_PRIVATE_URLS on the VM allows (all of them for
        `1`) are left to the runners, which apply their own list."""
        return literal_refusal(link, guard=allowing(self._allow_private))

    def accept(self, *, chat_id: int, user_id: int, message_id: int, sources: list[str],
               kind: str = "transcribe", private: bool = False) -> list[JobRow]:  # fmt: skip
        """Write one row per source (idempotent per message) and start driving them. A
        source is a link, or `job:<id>` for a summary of an earlier job. `private` (the
        message said #private) keeps them on the owner's machines, as /private on does for
        every job, and as a summary of a private transcript is."""
        return self._record(chat_id, user_id, message_id, sources, kind, None, private)

    def accept_upload(self, *, chat_id: int, user_id: int, message_id: int,
                      upload: Upload, private: bool = False) -> JobRow:  # fmt: skip
        """A file sent in the chat becomes one transcription."""
        (row,) = self._record(chat_id, user_id, message_id, [f"tg:{upload.file_id}"],
                              "transcribe", upload, private)  # fmt: skip
        return row

    def _record(self, chat_id: int, user_id: int, message_id: int, sources: list[str],
                kind: str, upload: Upload | None, private: bool) -> list[JobRow]:  # fmt: skip
        pin, prefs = self._ledger.pinned(user_id), self._ledger.prefs(user_id)
        rows = []
        with self._ledger.transaction():
            for seq, source in enumerate(sources):
                rows.append(self._ledger.accept(
                    new_job_id(), chat_id=chat_id, user_id=user_id, message_id=message_id,
                    seq=seq, kind=kind, source=source, pin=pin,
                    size_mb=upload.size_mb if upload else None,
                    duration_min=upload.duration_min if upload else None,
                    source_name=upload.name if upload else None,
                    language=prefs.language, formats=prefs.formats,
                    private=private or prefs.private or self._of_private(source),
                ))  # fmt: skip
        for row in rows:
            self._driver.start(row)
        return rows

    def _of_private(self, source: str) -> bool:
        """A summary of a private transcript is private too."""
        if not source.startswith("job:"):
            return False
        try:
            return bool(self._ledger.get(source.removeprefix("job:")).private)
        except KeyError:
            return False

    def own_job(self, job_id: str, user_id: int) -> JobRow | None:
        """The user's job `job_id`; None for none (someone else's is none too)."""
        try:
            row = self._ledger.get(job_id)
        except KeyError:
            return None
        return row if row.user_id == user_id else None

    def summarizable(self, job_id: str, user_id: int) -> JobRow | Answer:
        """The user's delivered transcript `job_id` that has something to summarize."""
        row = self.own_job(job_id, user_id)
        if row is None:
            return Answer.NO_SUCH_JOB
        if row.forgotten_at is not None:
            return Answer.FORGOTTEN
        if row.kind != "transcribe" or not row.text_delivered:
            return Answer.NOT_A_TRANSCRIPT
        return Answer.NO_SPEECH if row.no_speech else row

    def latest_summarizable(self, user_id: int) -> JobRow | None:
        """The user's newest delivered transcript with speech in it."""
        return next((r for r in self._ledger.recent(user_id, 50)
                     if r.kind == "transcribe" and r.text_delivered and not r.no_speech
                     and r.forgotten_at is None),
                    None)  # fmt: skip

    def translatable(self, job_id: str, user_id: int) -> JobRow | Answer:
        """The user's delivered transcript `job_id` that can be translated to English."""
        row = self.summarizable(job_id, user_id)
        if isinstance(row, Answer):
            return row
        return Answer.ENGLISH if row.task == "translate" or row.heard == "en" else row

    def latest_translatable(self, user_id: int) -> JobRow | None:
        """The user's newest delivered transcript with speech not heard as English."""
        return next((r for r in self._ledger.recent(user_id, 50)
                     if r.kind == "transcribe" and r.text_delivered and not r.no_speech
                     and r.task != "translate" and r.heard != "en"), None)  # fmt: skip

    def made_from(self, earlier: JobRow, *, kind: str) -> JobRow | None:
        """The summary (`kind` summarize) or translation (transcribe) of `earlier` already
        under way or delivered, whichever message asked for it (the button, then the
        command): asking again does not make it twice. One that failed or was cancelled, or
        forgotten, does not count."""
        task = "translate" if kind == "transcribe" else "transcribe"
        source = earlier.source if kind == "transcribe" else f"job:{earlier.id}"
        return next((r for r in self._ledger.recent(earlier.user_id, 50)
                     if r.kind == kind and r.task == task and r.source == source
                     and r.id != earlier.id and r.forgotten_at is None
                     and r.state not in ("failed", "cancelled")), None)  # fmt: skip

    def summarize(self, earlier: JobRow, *, chat_id: int, message_id: int) -> JobRow:
        """A job that summarizes `earlier`: the one already made or under way, else a new one
        (once per message)."""
        made = self.made_from(earlier, kind="summarize")
        if made is not None:
            return made
        (row,) = self.accept(chat_id=chat_id, user_id=earlier.user_id, message_id=message_id,
                             sources=[f"job:{earlier.id}"], kind="summarize")  # fmt: skip
        return row

    def translate(self, earlier: JobRow, *, chat_id: int, message_id: int) -> JobRow:
        """A job that translates `earlier`'s source to English: the one already made or under
        way, else a new one (once per message): the same source, told the language it was
        heard in, sending the files asked for now."""
        made = self.made_from(earlier, kind="transcribe")
        if made is not None:
            return made
        with self._ledger.transaction():
            row = self._ledger.accept(
                new_job_id(), chat_id=chat_id, user_id=earlier.user_id, message_id=message_id,
                seq=TRANSLATE_SEQ, kind="transcribe", source=earlier.source,
                pin=self._ledger.pinned(earlier.user_id), size_mb=earlier.size_mb,
                duration_min=earlier.duration_min, source_name=earlier.source_name,
                language=earlier.heard or earlier.language, task="translate",
                formats=self._ledger.prefs(earlier.user_id).formats,
                private=bool(earlier.private) or self._ledger.prefs(earlier.user_id).private,
            )  # fmt: skip
        self._driver.start(row)
        return row

    async def cancel(self, job_id: str, user_id: int) -> Answer:
        row = self.own_job(job_id, user_id)
        if row is None:
            return Answer.NO_SUCH_JOB
        if row.final:
            return Answer.ENDED
        if row.state == "accepted":
            row = self._ledger.update(job_id, state="cancelled", detail="cancelled before dispatch")
            self._driver.stop(job_id)
            cards = self._driver.cards
            await cards.show(cards.card(row, JobState(job_id, Phase.CANCELLED)))
            self._driver.forget_upload(job_id)
            return Answer.CANCELLED
        # Recorded first: the executor may not have the job yet (it is being dispatched, or
        # waits out an outage), and a restart must not forget it; every start passes it on.
        self._ledger.update(job_id, cancel_requested=1)
        with contextlib.suppress(RelayqError):
            await self._executor.cancel(job_id)
        return Answer.CANCELLING
