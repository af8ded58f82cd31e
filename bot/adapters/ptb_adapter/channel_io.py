"""Telegram's side of `bot.core.channel.ChannelIO` through PTB: getFile + download, and edits sent at once."""

from __future__ import annotations

import logging
from pathlib import Path

from telegram import Bot
from telegram.error import BadRequest, TelegramError

from bot.adapters.ptb_adapter.render import is_not_modified
from bot.adapters.telegram_delivery import chat_ref
from bot.core.channel import MAX_DOWNLOAD_BYTES, FileTooLarge, refuse_if_oversized

log = logging.getLogger(__name__)


class TelegramIO:
    """Files and immediate edits through one PTB Bot."""

    def __init__(self, bot: Bot) -> None:
        self._bot = bot

    async def download(self, file_id: str, destination: Path, *, max_bytes: int = MAX_DOWNLOAD_BYTES) -> None:
        """Ask Telegram where the file is (getFile), then download it to `destination`."""
        file = await self._bot.get_file(file_id)
        if file.file_size is not None and file.file_size > max_bytes:
            raise FileTooLarge(f"{file.file_size} bytes")
        if file.file_path is None:
            raise FileNotFoundError(f"Telegram gave no path for file {file_id}")
        await file.download_to_drive(destination)
        await refuse_if_oversized(destination, max_bytes)  # Telegram may not have said its size

    async def bot_username(self) -> str | None:
        """Return the bot's username (getMe, which PTB asks once when the Application starts)."""
        try:
            return self._bot.username
        except RuntimeError as exc:  # the bot was not initialised: nothing to ask it yet
            log.warning("could not tell the bot's username: %s", exc)
            return None

    async def edit_now(self, chat_id: str, message_id: str | None, text: str) -> None:
        """Edit the message's text (its buttons go); a new message when there is none to edit; never raises."""
        try:
            if message_id is not None and message_id.isdigit():
                await self._bot.edit_message_text(text, chat_id=chat_ref(chat_id), message_id=int(message_id))
            else:
                await self._bot.send_message(chat_ref(chat_id), text)
        except BadRequest as exc:
            if not is_not_modified(exc):
                log.info("progress edit in chat %s not shown: %s", chat_id, exc)
        except (TelegramError, OSError, TimeoutError) as exc:  # best effort: the report follows
            log.info("progress edit in chat %s not shown: %s", chat_id, exc)

    async def send_now(self, chat_id: str, text: str) -> str | None:
        """Send a new message (a progress message to edit later); return its id, None when it was not sent."""
        try:
            message = await self._bot.send_message(chat_ref(chat_id), text)
        except (TelegramError, OSError, TimeoutError) as exc:  # best effort: the report follows
            log.info("progress message in chat %s not sent: %s", chat_id, exc)
            return None
        return str(message.message_id)
