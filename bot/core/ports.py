"""Ports the channel adapters code against: the conversation engine and its command menus.

`bot.core.engine.Engine` implements `ConversationEngine`; the aiogram, PTB and console adapters
only see this protocol, so each can be tested with a small scripted engine.
"""

from __future__ import annotations

from typing import Protocol

from bot.core.engine import CommandMenu
from bot.core.messages import Inbound, Reply

__all__ = ["CommandMenu", "ConversationEngine"]


class ConversationEngine(Protocol):
    """What every channel adapter drives: inbound in, replies out, plus pushes and menus."""

    async def handle(self, inbound: Inbound) -> list[Reply]:
        """Return the replies to one inbound (a reply with chat_id None answers the inbound chat)."""
        ...

    async def due_pushes(self) -> list[Reply]:
        """Return reminders and notifications due now, each with chat_id and channel set."""
        ...

    async def command_menus(self) -> list[CommandMenu]:
        """Return the command menus to register, per scope and language."""
        ...
