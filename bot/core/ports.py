"""Ports the channel adapters code against: the conversation engine and its command menus.

`bot.core.engine.Engine` implements `ConversationEngine`; the aiogram, PTB and console adapters
only see this protocol, so each can be tested with a small scripted engine. Pushes (reminders,
escalations) do not go through the adapters' engine calls: the scheduler (`bot.scheduler`) claims
them and hands each to the sender its channel's adapter registered.
"""

from __future__ import annotations

from typing import Protocol

from bot.core.engine import CommandMenu
from bot.core.messages import Inbound, Reply

__all__ = ["CommandMenu", "ConversationEngine"]


class ConversationEngine(Protocol):
    """What every channel adapter drives: inbound in, replies out, sent messages recorded, menus."""

    async def handle(self, inbound: Inbound) -> list[Reply]:
        """Return the replies to one inbound (a reply with chat_id None answers the inbound chat)."""
        ...

    async def record_sent(self, reply: Reply, *, channel: str, chat_id: str, message_id: str) -> None:
        """Remember the message id a sent reply got, when the reply stands for something (`reply.ref`)."""
        ...

    async def command_menus(self, channel: str) -> list[CommandMenu]:
        """Return the command menus to register on `channel`, per scope and language."""
        ...
