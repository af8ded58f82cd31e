"""Turn Telegram updates into channel-neutral `Inbound` values (pure functions, no I/O), for both frameworks.

aiogram's and python-telegram-bot's update types carry the Bot API's own field names (`from_user` in both), so one
conversion serves both adapters, and the same update gives the same `Inbound` whichever framework carried it: the
engine cannot tell them apart.
"""

from __future__ import annotations

import aiogram.types
import telegram

from bot.core.messages import Attachment, Inbound

CHANNEL = "telegram"
_GROUP_CHATS = {"group", "supergroup"}

Update = aiogram.types.Update | telegram.Update
Message = aiogram.types.Message | telegram.Message
CallbackQuery = aiogram.types.CallbackQuery | telegram.CallbackQuery


def update_to_inbound(update: Update, *, bot_username: str | None = None) -> Inbound | None:
    """Convert an update into an Inbound, or None when it carries nothing the engine handles."""
    update_id = str(update.update_id)
    if update.message is not None:
        return message_to_inbound(update.message, update_id=update_id, bot_username=bot_username)
    if update.edited_message is not None:
        return message_to_inbound(update.edited_message, update_id=update_id, is_edit=True, bot_username=bot_username)
    if update.callback_query is not None:
        return callback_to_inbound(update.callback_query, update_id=update_id)
    return None


def update_chat_id(update: Update) -> str | None:
    """Return the chat an update belongs to (the key of the per-chat lock)."""
    message = update.message or update.edited_message
    if message is not None:
        return str(message.chat.id)
    query = update.callback_query
    if query is not None and query.message is not None:
        return str(query.message.chat.id)
    return None


def message_to_inbound(
    message: Message,
    *,
    update_id: str | None = None,
    is_edit: bool = False,
    bot_username: str | None = None,
) -> Inbound | None:
    """Convert a (possibly edited) message; None for service messages and commands meant for another bot."""
    user = message.from_user
    text = message.text if message.text is not None else message.caption
    if text is not None and bot_username is not None:
        text = _strip_bot_mention(text, bot_username)
        if text is None:
            return None
    shared_phone = _own_phone(message)
    attachment = _attachment(message) if shared_phone is None else None
    if text is None and attachment is None and shared_phone is None:
        return None
    reply_to = message.reply_to_message
    sender_id = user.id if user is not None else (message.sender_chat or message.chat).id
    return Inbound(
        channel=CHANNEL,
        chat_id=str(message.chat.id),
        user_id=str(sender_id),
        text=text,
        attachment=attachment,
        shared_phone=shared_phone,
        update_id=update_id,
        message_id=str(message.message_id),
        reply_to_message_id=str(reply_to.message_id) if reply_to is not None else None,
        reply_to_text=_text_of(reply_to) if reply_to is not None else None,
        is_edit=is_edit,
        is_group=message.chat.type in _GROUP_CHATS,
        language_code=user.language_code if user is not None else None,
        display_name=user.full_name if user is not None else None,
        username=user.username if user is not None else None,
    )


def callback_to_inbound(query: CallbackQuery, *, update_id: str | None = None) -> Inbound | None:
    """Convert a button press; None when it has no data or no message to answer in."""
    if query.data is None or query.message is None:
        return None
    chat = query.message.chat
    return Inbound(
        channel=CHANNEL,
        chat_id=str(chat.id),
        user_id=str(query.from_user.id),
        callback_data=query.data,
        callback_id=query.id,
        callback_message_id=str(query.message.message_id),
        update_id=update_id,
        is_group=chat.type in _GROUP_CHATS,
        language_code=query.from_user.language_code,
        display_name=query.from_user.full_name,
        username=query.from_user.username,
    )


def _text_of(message: Message) -> str | None:
    return message.text if message.text is not None else message.caption


def _strip_bot_mention(text: str, bot_username: str) -> str | None:
    """Turn "/deals@our_bot x" into "/deals x"; None when the command is addressed to another bot."""
    if not text.startswith("/"):
        return text
    head, sep, rest = text.partition(" ")
    command, at, target = head.partition("@")
    if not at:
        return text
    if target.lower() != bot_username.lower():
        return None
    return command + sep + rest


def _own_phone(message: Message) -> str | None:
    """Return the phone of a contact the sender shared about themselves (what a request_contact button sends).

    Someone else's contact card is not proof of identity, so it arrives as an attachment instead.
    """
    contact = message.contact
    user = message.from_user
    if contact is None or user is None or contact.user_id != user.id:
        return None
    return contact.phone_number


def _attachment(message: Message) -> Attachment | None:
    if message.photo:
        largest = message.photo[-1]
        return Attachment("photo", largest.file_id, None, largest.file_size, None)
    if message.animation is not None:  # also carries `document`; the animation is the truth
        a = message.animation
        return Attachment("animation", a.file_id, a.file_name, a.file_size, a.mime_type)
    if message.document is not None:
        d = message.document
        return Attachment("document", d.file_id, d.file_name, d.file_size, d.mime_type)
    if message.voice is not None:
        v = message.voice
        return Attachment("voice", v.file_id, None, v.file_size, v.mime_type)
    if message.audio is not None:
        au = message.audio
        return Attachment("audio", au.file_id, au.file_name, au.file_size, au.mime_type)
    if message.video is not None:
        vi = message.video
        return Attachment("video", vi.file_id, vi.file_name, vi.file_size, vi.mime_type)
    if message.video_note is not None:
        return Attachment("video_note", message.video_note.file_id, None, message.video_note.file_size, None)
    if message.sticker is not None:
        return Attachment("sticker", message.sticker.file_id, None, message.sticker.file_size, None)
    if message.location is not None:
        return Attachment("location")
    if message.contact is not None:
        return Attachment("other")
    return None
