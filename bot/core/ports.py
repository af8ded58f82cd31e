"""Ports the channel adapters code against: the conversation engine and its command menus.

`bot.core.engine.Engine` implements `ConversationEngine`; the aiogram, PTB and console adapters
only see this protocol, so each can be tested with a small scripted engine. Pushes (reminders,
escalations) do not go through the adapters' engine calls: the scheduler (`bot.scheduler`) claims
them and hands each to the sender its channel's adapter registered.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from crm_core.services.outbox import FailureKind

from bot.core.channel import ChannelIO
from bot.core.engine import CommandMenu
from bot.core.messages import Inbound, Reply

__all__ = ["ChannelIO", "CommandMenu", "ConversationEngine", "UpdateJournal"]


class ConversationEngine(Protocol):
    """What every channel adapter drives: inbound in, replies out, deliveries reported, menus."""

    async def handle(self, inbound: Inbound, *, io: ChannelIO | None = None) -> list[Reply]:
        """Return the replies to one inbound (a reply with chat_id None answers the inbound chat).

        `io` lends the handler the channel's files and immediate edits (`bot.core.channel`).
        """
        ...

    async def delivered(self, reply: Reply, *, channel: str, chat_id: str, message_ids: Sequence[str]) -> None:
        """Record a reply as delivered as these messages (its outbox row; the ids of one with a `ref`)."""
        ...

    async def undelivered(self, reply: Reply, *, reason: FailureKind, error: str,
                          retry_after_s: float | None = None) -> list[Reply]:
        """Record a failed delivery (retried later, or settled); return notices to send now."""
        ...

    async def command_menus(self, channel: str) -> list[CommandMenu]:
        """Return the command menus to register on `channel`, per scope and language."""
        ...


class UpdateJournal(Protocol):
    """Where a polling adapter keeps the updates it received before it confirms them to the channel.

    An update is (key, raw JSON); the key is the channel's update id. See `crm_core.services.inbox`.
    """

    async def keep_updates(self, channel: str, updates: Sequence[tuple[str, str]]) -> None:
        """Keep updates (raises when the store cannot take them: the adapter must not confirm them then)."""
        ...

    async def updates_handled(self, channel: str, keys: Sequence[str]) -> None:
        """Forget updates the engine has handled."""
        ...

    async def updates_left_over(self, channel: str) -> list[tuple[str, str]]:
        """Return the kept updates an earlier process did not finish, oldest first."""
        ...
