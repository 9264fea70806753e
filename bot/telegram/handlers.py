"""Thin handlers: check the sender, parse the update, call the service, answer with texts.py."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from dataclasses import replace

from telegram import Message, Update
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.errors import StateFull
from bot.lifecycle import MAX_LINKS, Answer, FleetLook, JobService, Upload, find_links
from bot.policy import JobRequest
from bot.render import render_decision, speed_lines
from bot.settings import Settings
from bot.telegram import library_texts, texts
from bot.telegram.library_handlers import register_library
from bot.telegram.messenger import Messenger
from bot.telegram.privacy_handlers import register_privacy
from bot.telegram.privacy_texts import has_private_tag
from bot.telegram.uploads import UPLOADS
from jobs.errors import RelayqError

__all__ = ["Redo", "register_handlers"]

log = logging.getLogger(__name__)
Context = ContextTypes.DEFAULT_TYPE


class Redo:
    """Updates whose work found no room on the disk: the poll loop does not confirm them, so
    Telegram hands them over again once there is room (and each chat hears it once)."""

    def __init__(self) -> None:
        self.updates: set[int] = set()
        self.told: set[int] = set()


def register_handlers(
    app: Application,  # type: ignore[type-arg]
    service: JobService,
    messenger: Messenger,
    settings: Settings,
    redo: Redo | None = None,
) -> None:
    redo = redo or Redo()
    allowed = settings.allowed_user_ids
    intake, ledger, policy = service.intake, service.ledger, service.policy
    limit_bytes = int(settings.telegram_download_limit_mb * 1024 * 1024)

    async def gate(update: Update, context: Context) -> None:
        user = update.effective_user
        if user is not None and user.id in allowed:
            return
        user_id = user.id if user else 0
        log.warning("refused update from user %s", user_id)
        if update.callback_query is not None:
            await messenger.answer(update.callback_query.id, texts.refusal(user_id))
        elif update.effective_chat is not None and user is not None:
            await messenger.send(update.effective_chat.id, texts.refusal(user_id))
        raise ApplicationHandlerStop

    async def reply(update: Update, text: str) -> None:
        assert update.effective_chat is not None
        await messenger.send(update.effective_chat.id, text[: texts.MAX_MESSAGE])

    async def start(update: Update, context: Context) -> None:
        await reply(update, texts.HELP)

    async def links(update: Update, context: Context) -> None:
        message = _message(update)
        found = find_links(message.text or "")
        if not found:
            await reply(
                update, "Send me an http(s) link to audio or video, or the audio itself. /help"
            )
            return
        if len(found) > MAX_LINKS:
            await reply(
                update, f"That message has {len(found)} links; send at most {MAX_LINKS} at a time."
            )
            return
        refused = {link: why for link in found if (why := intake.refusal(link)) is not None}
        for why in refused.values():
            await reply(update, texts.link_refused(why))
        wanted = [link for link in found if link not in refused]
        if wanted:
            intake.accept(chat_id=message.chat_id, user_id=_user(update),
                          message_id=message.message_id, sources=wanted,
                          private=has_private_tag(message.text))  # fmt: skip

    async def upload(update: Update, context: Context) -> None:
        message = _message(update)
        kinds = ("audio", "voice", "video", "video_note", "document")
        kind = next(k for k in kinds if getattr(message, k) is not None)
        media = getattr(message, kind)
        if (media.file_size or 0) > limit_bytes:
            size = (media.file_size or 0) / 1024 / 1024
            await reply(
                update,
                f"That file is {size:.0f} MB; this bot can download at most "
                f"{settings.telegram_download_limit_mb:g} MB (Telegram's cloud limit for bots). "
                "Send a link to it instead, or run a local Bot API server and point "
                "RELAYQ_TELEGRAM_API_BASE at it and raise RELAYQ_TELEGRAM_DOWNLOAD_LIMIT_MB.",
            )
            return
        upload = Upload(
            media.file_id,
            name=texts.upload_name(kind, getattr(media, "file_name", None)),
            size_mb=media.file_size / 1024 / 1024 if media.file_size else None,
            duration_min=_minutes(getattr(media, "duration", None)),  # a document has none
        )
        intake.accept_upload(chat_id=message.chat_id, user_id=_user(update),
                             message_id=message.message_id, upload=upload,
                             private=has_private_tag(message.caption))  # fmt: skip

    async def route(update: Update, context: Context) -> None:
        args = context.args or []
        kinds = list(policy.routes)
        if args and len(args) == 1 and (why := intake.refusal(args[0])) is not None:
            await reply(update, texts.link_refused(why))
            return
        if not args or (len(args) == 1 and args[0].lower().startswith(("http://", "https://"))):
            kind = "transcribe"  # what a link becomes; its size is not known before the job
        elif len(args) == 1 and args[0] in kinds:
            kind = args[0]
        else:
            await reply(update, texts.route_usage(args, kinds))
            return
        try:
            look = await service.routing.look()
            private = ledger.prefs(_user(update)).private
            decision = service.routing.preview(look, JobRequest(kind=kind, private=private),
                                               ledger.pinned(_user(update)))  # fmt: skip
        except RelayqError as err:  # refused (a revoked token), a pin that cannot take it
            await reply(update, str(err))
            return
        said = render_decision(decision, policy)
        await reply(update, f"{texts.route_blind(look.unknown)}\n\n{said}" if look.silent else said)

    async def pin(update: Update, context: Context) -> None:
        args = [a.lower() for a in context.args or []]
        if len(args) != 1 or args[0] not in policy.pins.allowed:
            await reply(update, texts.pin_usage(policy, args, ledger.pinned(_user(update))))
            return
        refused = texts.pin_refusal(policy, args[0])
        if refused is not None:
            await reply(update, refused)
            return
        ledger.pin(_user(update), args[0])
        target = policy.targets[args[0]]
        await reply(
            update,
            f"Pinned: your jobs now run on {args[0]} ({target.description}) and wait "
            "for it when it is busy or offline. /unpin to let the policy choose.",
        )

    async def unpin(update: Update, context: Context) -> None:
        ledger.pin(_user(update), None)
        await reply(update, "Unpinned: the policy chooses where your jobs run.")

    async def jobs(update: Update, context: Context) -> None:
        rows = ledger.recent(_user(update))
        shelved = service.shelf.library.of(r.id for r in rows)
        machines = {name: t.description for name, t in policy.targets.items() if t.description}
        local = service.executor.name == "local"
        said = library_texts.jobs_text(rows, shelved, machines=machines, local=local)
        await reply(update, said)

    async def status(update: Update, context: Context) -> None:
        unreachable, budget = None, None
        try:
            look = await service.routing.look()
        except RelayqError as err:  # refused (a revoked token): say what to change
            look, unreachable = FleetLook(None, str(err)), f"GitHub: {err}."
        fleet = look.fleet
        if look.silent:  # the ledger still knows the queue and the jobs
            unreachable = texts.github_down("/status")
        budget_of = getattr(service.executor, "rate_limit", None)
        if budget_of is not None and unreachable is None:
            with contextlib.suppress(RelayqError):
                budget = await budget_of()
        seen = {r.name: r for r in ledger.runners()}
        timings = service.routing.timings
        # With the runners unseen, only what was measured: a default says nothing of them.
        speeds = speed_lines(policy, timings.samples() if timings else (),
                             defaults=unreachable is None)  # fmt: skip
        state = await service.keeper.use_for(_user(update))  # the owner's only
        said = texts.status_text(fleet, ledger.unfinished(), _user(update), budget,
                                 service.executor.name, seen, unreachable,
                                 ledger.prefs(_user(update)), speeds, state)  # fmt: skip
        await reply(update, said)

    def _summarize(job_id: str, chat_id: int, message_id: int, user_id: int) -> str:
        earlier = intake.summarizable(job_id, user_id)
        if isinstance(earlier, Answer):
            return texts.not_summarizable(earlier, job_id)
        row = intake.summarize(earlier, chat_id=chat_id, message_id=message_id)
        return texts.summary_again(earlier.id, row)

    async def summarize(update: Update, context: Context) -> None:
        args = context.args or []
        message = _message(update)
        if len(args) > 1:
            await reply(update, "Say which job: /summarize <job id> (see /jobs).")
            return
        if args:
            job_id = args[0]
        else:
            latest = intake.latest_summarizable(_user(update))
            if latest is None:
                await reply(update, "There is no finished transcript to summarize yet.")
                return
            job_id = latest.id
        await reply(update, _summarize(job_id, message.chat_id, message.message_id, _user(update)))

    def _translate(job_id: str, chat_id: int, message_id: int, user_id: int) -> str:
        earlier = intake.translatable(job_id, user_id)
        if isinstance(earlier, Answer):
            return texts.not_translatable(earlier, job_id)
        row = intake.translate(earlier, chat_id=chat_id, message_id=message_id)
        return texts.translation_again(earlier.id, row)

    async def translate(update: Update, context: Context) -> None:
        args = context.args or []
        message = _message(update)
        if len(args) > 1:
            await reply(update, "Say which job: /translate <job id> (see /jobs).")
            return
        if args:
            job_id = args[0]
        else:
            latest = intake.latest_translatable(_user(update))
            if latest is None:
                english = intake.latest_summarizable(_user(update)) is not None
                await reply(update, texts.nothing_to_translate(english=english))
                return
            job_id = latest.id
        await reply(update, _translate(job_id, message.chat_id, message.message_id, _user(update)))

    async def lang(update: Update, context: Context) -> None:
        args, user_id = context.args or [], _user(update)
        prefs = ledger.prefs(user_id)
        chosen = texts.parse_language(args) if args else None
        if chosen is not None:
            ledger.set_prefs(user_id, replace(prefs, language=chosen or None))
        await reply(update, texts.lang_answer(args, chosen, prefs))

    async def formats(update: Update, context: Context) -> None:
        args, user_id = context.args or [], _user(update)
        prefs = ledger.prefs(user_id)
        if not args:
            await reply(update, texts.formats_answer(prefs.formats, changed=False))
            return
        chosen = texts.parse_formats(args)
        if isinstance(chosen, str):
            await reply(update, chosen)
            return
        ledger.set_prefs(user_id, replace(prefs, formats=chosen))
        await reply(update, texts.formats_answer(chosen, changed=True))

    async def cancel(update: Update, context: Context) -> None:
        args = context.args or []
        if len(args) != 1:
            await reply(update, "Say which job: /cancel <job id> (see /jobs).")
            return
        await reply(update, await _cancel(args[0], _user(update)))

    async def _cancel(job_id: str, user_id: int) -> str:
        answer = await intake.cancel(job_id, user_id)
        return texts.cancel_answer(answer, job_id, intake.own_job(job_id, user_id))

    async def button(update: Update, context: Context) -> None:
        query = update.callback_query
        assert query is not None
        data = query.data or ""
        if data.startswith("cancel:"):
            answer = await _cancel(data.split(":", 1)[1], _user(update))
        elif data.startswith("sum:") and isinstance(query.message, Message):
            # Keyed by the transcript's message: pressing twice makes one summary.
            answer = _summarize(data.split(":", 1)[1], query.message.chat_id,
                                query.message.message_id, _user(update))  # fmt: skip
        elif data.startswith("tr:") and isinstance(query.message, Message):
            answer = _translate(data.split(":", 1)[1], query.message.chat_id,
                                query.message.message_id, _user(update))  # fmt: skip
        else:
            answer = "That button is no longer in use."
        await messenger.answer(query.id, answer[: texts.MAX_ANSWER])

    async def unknown(update: Update, context: Context) -> None:
        command = (_message(update).text or "/").split()[0].split("@")[0]
        await reply(update, texts.unknown_command(command))

    async def not_media(update: Update, context: Context) -> None:
        message = _message(update)
        if message.photo:
            await reply(update, texts.not_media("photo"))
        elif message.document is not None:
            await reply(update, texts.not_media("document", message.document.mime_type))
        else:
            await reply(update, texts.not_media("other"))

    app.add_handler(TypeHandler(Update, gate), group=-1)
    for name, callback in (
        ("start", start),
        ("help", start),
        ("route", route),
        ("pin", pin),
        ("unpin", unpin),
        ("jobs", jobs),
        ("status", status),
        ("cancel", cancel),
        ("summarize", summarize),
        ("translate", translate),
        ("lang", lang),
        ("formats", formats),
    ):
        app.add_handler(CommandHandler(name, callback))
    register_library(app, service, messenger)  # /find, /get and the Get button
    register_privacy(app, service, messenger)  # /private
    app.add_handler(MessageHandler(UPLOADS, upload))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, links))
    app.add_handler(CallbackQueryHandler(button))
    # Last in the group, so they see only what no handler above took (a group stops at the
    # first handler that matches); strangers never get here, the gate stopped them.
    app.add_handler(MessageHandler(filters.COMMAND, unknown))
    app.add_handler(MessageHandler(~filters.StatusUpdate.ALL, not_media))

    async def no_room(update: object, context: Context) -> None:
        """A handler found the disk full: keep the update for later and say so once."""
        if not isinstance(context.error, StateFull) or not isinstance(update, Update):
            return
        redo.updates.add(update.update_id)
        chat = update.effective_chat
        if chat is not None and chat.id not in redo.told:
            redo.told.add(chat.id)
            await messenger.send(chat.id, texts.no_room(str(context.error)))

    app.add_error_handler(no_room)
    app.add_error_handler(_log_error)


async def _log_error(update: object, context: Context) -> None:
    if isinstance(context.error, StateFull):  # no_room has it: kept for later, said once
        log.warning("no room to record an update: %s", context.error)
        return
    log.error("handler failed: %s", context.error, exc_info=context.error)


def _message(update: Update) -> Message:
    assert update.effective_message is not None
    return update.effective_message


def _minutes(duration: object) -> float | None:
    """Telegram's duration in minutes; PTB gives seconds, or a timedelta when asked to."""
    if isinstance(duration, dt.timedelta):
        return duration.total_seconds() / 60
    return duration / 60 if isinstance(duration, int | float) and duration > 0 else None


def _user(update: Update) -> int:
    assert update.effective_user is not None
    return update.effective_user.id
