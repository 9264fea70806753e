"""What the bot takes as a file to transcribe: Telegram's audio, voice, video and round video
messages, and documents that are audio or video."""

from __future__ import annotations

from pathlib import PurePosixPath

from telegram import Message
from telegram.ext import filters

from jobs.fetch.download import MEDIA_SUFFIXES

__all__ = ["UPLOADS", "MediaDocument"]


class MediaDocument(filters.MessageFilter):
    """A file sent as a document that is media all the same: Telegram types an Ogg file
    `application/ogg`, and many apps send any file as `application/octet-stream` (or with no
    type), so those count when the file's name ends as audio or video does. The decoder
    judges what is really in it."""

    def filter(self, message: Message) -> bool:
        document = message.document
        if document is None:
            return False
        mime = (document.mime_type or "").lower()
        if mime == "application/ogg":
            return True
        if mime not in ("", "application/octet-stream"):
            return False
        return PurePosixPath(document.file_name or "").suffix.lower() in MEDIA_SUFFIXES


UPLOADS = (
    filters.AUDIO
    | filters.VOICE
    | filters.VIDEO
    | filters.VIDEO_NOTE
    | filters.Document.AUDIO
    | filters.Document.VIDEO
    | MediaDocument()
)
