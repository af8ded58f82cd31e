"""Render engine `Reply` values with python-telegram-bot calls: plain text (no parse_mode), keyboards, edits, files.

Mirrors the aiogram adapter's renderer: the same decisions (edit the pressed message or send anew,
split at 4096 characters, a caption over 1024 in a following message, a blocked chat skipped for the
rest of the batch) and the same reports to the engine; only the Telegram library differs.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError

from bot.adapters.ptb_adapter.session import retry_after_seconds
from bot.adapters.telegram_delivery import DeliveryReport, TelegramReplies, chat_ref, chunks
from bot.core.messages import MAX_TEXT_CHARS, Button, Keyboard, Reply
from crm_core.services.outbox import FailureKind

log = logging.getLogger(__name__)

MAX_CAPTION_CHARS = 1024
AnyMarkup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove
# Telegram's answers when the recipient is gone for good: nothing later will reach them.
_RECIPIENT_GONE = ("chat not found", "user is deactivated", "bot was kicked", "peer_id_invalid")
# Telegram's answers when the message under a pressed button cannot take an edit: send a new one instead.
_UNEDITABLE = ("message to edit not found", "there is no text in the message to edit", "message can't be edited")
_NOT_MODIFIED = "message is not modified"



def is_not_modified(error: BadRequest) -> bool:
    """Say whether Telegram refused an edit because nothing changed (PTB capitalises the message)."""
    return _NOT_MODIFIED in error.message.lower()


def inline_markup(keyboard: Keyboard) -> InlineKeyboardMarkup:
    """Build an inline keyboard of callback and link buttons."""
    return InlineKeyboardMarkup([[_inline_button(b) for b in row] for row in keyboard.rows])


def _inline_button(button: Button) -> InlineKeyboardButton:
    if button.kind == "url":
        return InlineKeyboardButton(button.label, url=button.url)
    return InlineKeyboardButton(button.label, callback_data=button.data)


def reply_keyboard_markup(keyboard: Keyboard) -> ReplyKeyboardMarkup:
    """Build a one-time reply keyboard (used when a button asks for the user's phone)."""
    rows = [
        [KeyboardButton(b.label, request_contact=True if b.kind == "request_contact" else None) for b in row]
        for row in keyboard.rows
    ]
    return ReplyKeyboardMarkup(rows, one_time_keyboard=True, resize_keyboard=True)


def build_markup(reply: Reply) -> AnyMarkup | None:
    """Return the reply_markup a reply asks for (inline keyboard wins over removing a reply keyboard)."""
    if reply.keyboard is not None and reply.keyboard.rows:
        if reply.keyboard.is_share_contact:
            return reply_keyboard_markup(reply.keyboard)
        return inline_markup(reply.keyboard)
    if reply.remove_keyboard:
        return ReplyKeyboardRemove()
    return None



def failure_of(error: Exception) -> tuple[FailureKind, float | None]:
    """Say whether a failed call may work later (and when), or never will (blocked, rejected).

    PTB's `BadRequest` is a `NetworkError`: it is told apart before the network errors are retried.
    """
    if isinstance(error, Forbidden):
        return "unreachable", None
    if isinstance(error, RetryAfter):
        return "retry", retry_after_seconds(error)
    if isinstance(error, BadRequest):
        gone = any(reason in error.message.lower() for reason in _RECIPIENT_GONE)
        return ("unreachable" if gone else "rejected"), None
    if isinstance(error, TelegramError | TimeoutError | OSError):
        return "retry", None  # 5xx (NetworkError), TimedOut, dropped connections
    return "rejected", None  # a bug of ours: retrying would fail the same way


class ReplyRenderer(TelegramReplies):
    """Replies sent through one Bot (see `TelegramReplies` for what delivering a batch means)."""

    failure = staticmethod(failure_of)

    def __init__(self, bot: Bot, *, report: DeliveryReport | None = None) -> None:
        super().__init__(report=report)
        self.bot = bot

    async def _set_chat_menu(self, chat_id: str, menu: tuple[tuple[str, str], ...]) -> None:
        scope = BotCommandScopeChat(chat_ref(chat_id))
        if menu:
            await self.bot.set_my_commands([BotCommand(name.lstrip("/"), text) for name, text in menu], scope=scope)
        else:
            await self.bot.delete_my_commands(scope=scope)

    async def _edit(self, chat_id: str, message_id: int, reply: Reply) -> bool:
        """Edit the message under the pressed button; False when it cannot be edited (send anew)."""
        markup = inline_markup(reply.keyboard) if reply.keyboard is not None and reply.keyboard.rows else None
        try:
            await self.bot.edit_message_text(
                reply.text, chat_id=chat_ref(chat_id), message_id=message_id, reply_markup=markup
            )
        except BadRequest as exc:
            if is_not_modified(exc):
                return True
            if any(reason in exc.message.lower() for reason in _UNEDITABLE):
                log.info("message %s in chat %s cannot be edited (%s); sending a new one", message_id, chat_id, exc)
                return False
            raise
        return True

    async def _send_text(self, chat_id: str, text: str, reply: Reply | None) -> list[int]:
        """Send text (split at 4096 characters) with `reply`'s markup on the last part; return the message ids."""
        markup = build_markup(reply) if reply is not None else None
        if isinstance(markup, InlineKeyboardMarkup) and reply is not None and reply.remove_keyboard:
            # One message carries one markup: remove the reply keyboard, then attach the inline one.
            sent = await self.bot.send_message(chat_ref(chat_id), text, reply_markup=ReplyKeyboardRemove())
            await self.bot.edit_message_reply_markup(
                chat_id=chat_ref(chat_id), message_id=sent.message_id, reply_markup=markup
            )
            return [sent.message_id]
        pieces = chunks(text, MAX_TEXT_CHARS)
        message_ids = []
        for i, chunk in enumerate(pieces):
            last = i == len(pieces) - 1
            sent = await self.bot.send_message(chat_ref(chat_id), chunk, reply_markup=markup if last else None)
            message_ids.append(sent.message_id)
        return message_ids

    async def _send_file(self, chat_id: str, reply: Reply) -> list[int]:
        """Send a photo or document; a caption over 1024 characters goes in a following message."""
        assert reply.file is not None
        path = Path(reply.file.path)
        if not await asyncio.to_thread(path.is_file):
            log.error("file to send is missing: %s; sending the text only", path)
            return await self._send_text(chat_id, reply.text, reply)
        caption = reply.file.caption or reply.text
        follow_ups = [] if len(caption) <= MAX_CAPTION_CHARS else [caption]
        if reply.file.caption and reply.text != reply.file.caption:
            follow_ups.append(reply.text)
        markup = None if follow_ups else build_markup(reply)
        shown = caption if len(caption) <= MAX_CAPTION_CHARS else None
        content = await asyncio.to_thread(path.read_bytes)  # PTB would read a Path in the event loop
        if reply.file.kind == "photo":
            sent = await self.bot.send_photo(chat_ref(chat_id), content, caption=shown, reply_markup=markup,
                                             filename=path.name)
        else:
            sent = await self.bot.send_document(chat_ref(chat_id), content, caption=shown, reply_markup=markup,
                                                filename=path.name)
        message_ids = [sent.message_id]
        for i, text in enumerate(follow_ups):
            message_ids += await self._send_text(chat_id, text, reply if i == len(follow_ups) - 1 else None)
        return message_ids

