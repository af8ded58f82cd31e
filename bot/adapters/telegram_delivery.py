"""What sending replies to Telegram means, whichever framework makes the calls.

The batch loop (a chat that refused a message gets none of the rest; every outcome reported; notices about
failures sent right after, one level deep), the choice between editing the pressed message, sending a file and
sending text, and the small Bot API facts (chat ids, toasts, chunking) are the same for aiogram and
python-telegram-bot. Each adapter subclasses `TelegramReplies` with its own calls and its own reading of errors.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import replace
from typing import Protocol

from bot.adapters.telegram_convert import CHANNEL
from bot.core.messages import Inbound, Reply, chat_in_logs, is_toast_only
from crm_core.services.outbox import FailureKind

log = logging.getLogger(__name__)


def chat_ref(chat_id: str) -> int | str:
    """Return the Bot API chat_id: an int for numeric ids, the string for "@channel" names."""
    return int(chat_id) if chat_id.lstrip("-").isdigit() else chat_id


def toast_of(replies: Sequence[Reply]) -> str | None:
    """Return the first toast among replies, clipped to Telegram's 200 characters."""
    toast = next((r.toast for r in replies if r.toast), None)
    return toast[:200] if toast else None


def unless_toasted(replies: Sequence[Reply]) -> list[Reply]:
    """Return `replies` with the toast-only ones made messages: their toast could not be shown."""
    return [replace(r, toast_only=False) if r.toast_only else r for r in replies]


class DeliveryReport(Protocol):
    """Who hears how each reply went (the engine, which settles its outbox row)."""

    async def delivered(self, reply: Reply, *, channel: str, chat_id: str, message_ids: Sequence[str]) -> None:
        """The reply was delivered as these messages."""
        ...

    async def undelivered(self, reply: Reply, *, reason: FailureKind, error: str,
                          retry_after_s: float | None = None) -> list[Reply]:
        """The reply was not delivered; return notices to send now."""
        ...


class TelegramReplies(ABC):
    """Send replies to Telegram and report how each went; one failure never stops the others.

    A chat that refuses messages (403) gets none of the remaining replies of the batch; they are
    reported unreachable too. Notices the report asks for (telling whoever caused an undeliverable
    message) are sent right after the batch.
    """

    def __init__(self, *, report: DeliveryReport | None = None) -> None:
        self._report = report

    @staticmethod
    @abstractmethod
    def failure(error: Exception) -> tuple[FailureKind, float | None]:
        """Classify a failed call: how the outbox should treat it, and Telegram's retry_after if it gave one."""

    @abstractmethod
    async def _set_chat_menu(self, chat_id: str, menu: tuple[tuple[str, str], ...]) -> None: ...

    @abstractmethod
    async def _edit(self, chat_id: str, message_id: int, reply: Reply) -> bool:
        """Edit the pressed message into `reply`; False when it cannot take the edit (then a new one is sent)."""

    @abstractmethod
    async def _send_text(self, chat_id: str, text: str, reply: Reply | None) -> list[int]: ...

    @abstractmethod
    async def _send_file(self, chat_id: str, reply: Reply) -> list[int]: ...

    async def render(self, replies: Sequence[Reply], inbound: Inbound | None = None) -> None:
        """Render replies in order; those with chat_id None answer `inbound`'s chat."""
        follow_ups = await self._render_batch(replies, inbound)
        if follow_ups:
            await self._render_batch(follow_ups, None)  # notices about failures: one level, never a loop

    async def _render_batch(self, replies: Sequence[Reply], inbound: Inbound | None) -> list[Reply]:
        blocked: set[str] = set()
        follow_ups: list[Reply] = []
        for reply in replies:
            chat_id = reply.chat_id or (inbound.chat_id if inbound is not None else None)
            if chat_id is None:
                log.error("reply without a chat and no inbound to answer: %.40r", reply.text)
                continue
            if reply.channel not in (None, CHANNEL):
                log.warning("skipping a %s reply handed to the telegram adapter (chat %s)", reply.channel, chat_id)
                continue
            if is_toast_only(reply, inbound):  # the toast went with the button's answer; no message
                continue
            if chat_id in blocked:
                follow_ups += await self._failed(reply, chat_id, "unreachable", "the chat refused an earlier message")
                continue
            try:
                sent = await self.render_one(reply, chat_id, inbound)
            except Exception as exc:  # every failure is reported; the outbox decides what happens next
                reason, retry_after = self.failure(exc)
                log.warning("could not send to chat %s (%s): %s", chat_in_logs(reply, chat_id), reason, exc)
                if reason == "unreachable":
                    blocked.add(chat_id)
                follow_ups += await self._failed(reply, chat_id, reason, str(exc), retry_after)
            else:
                await self._delivered(reply, chat_id, sent)
        return follow_ups

    async def _delivered(self, reply: Reply, chat_id: str, message_ids: list[int]) -> None:
        if self._report is None:
            return
        try:
            await self._report.delivered(reply, channel=CHANNEL, chat_id=chat_id,
                                         message_ids=[str(m) for m in message_ids])
        except Exception:  # the message is out; its outbox row may be sent again once its claim expires
            log.exception("could not record a delivered message in chat %s", chat_in_logs(reply, chat_id))

    async def _failed(self, reply: Reply, chat_id: str, reason: FailureKind, error: str,
                      retry_after: float | None = None) -> list[Reply]:
        if self._report is None:
            return []
        try:
            return await self._report.undelivered(reply, reason=reason, error=error[:300], retry_after_s=retry_after)
        except Exception:  # its outbox row stays claimed; the claim expires and the message is tried again
            log.exception("could not record a failed delivery to chat %s", chat_in_logs(reply, chat_id))
            return []

    async def render_one(self, reply: Reply, chat_id: str, inbound: Inbound | None = None) -> list[int]:
        """Render one reply to `chat_id`: an edit of the pressed message, a file, or text; return the message ids.

        A reply carrying a menu first sets that chat's command menu (setMyCommands with a chat scope; an empty
        menu deletes the chat's own, so the default one shows); a menu-only reply sends no message.
        """
        if reply.menu is not None:
            await self._set_chat_menu(chat_id, reply.menu)
            if not reply.text.strip():
                return []
        pressed = self._pressed_message_to_edit(reply, chat_id, inbound)
        if pressed is not None and await self._edit(chat_id, pressed, reply):
            return [pressed]
        if reply.file is not None:
            return await self._send_file(chat_id, reply)
        return await self._send_text(chat_id, reply.text, reply)

    @staticmethod
    def _pressed_message_to_edit(reply: Reply, chat_id: str, inbound: Inbound | None) -> int | None:
        """Return the id of the message whose button was pressed, when `reply` should replace it."""
        pressed = reply.edit_message_id
        if pressed is None and inbound is not None and chat_id == inbound.chat_id:
            pressed = inbound.callback_message_id
        if not reply.edit or pressed is None or not pressed.isdigit():
            return None
        needs_new_message = reply.file is not None or reply.remove_keyboard
        share = reply.keyboard is not None and reply.keyboard.is_share_contact
        return None if needs_new_message or share else int(pressed)


def chunks(text: str, size: int) -> list[str]:
    """Cut a text into pieces of at most `size` characters (Telegram's message and caption limits)."""
    return [text[i : i + size] for i in range(0, len(text), size)] or [text]
