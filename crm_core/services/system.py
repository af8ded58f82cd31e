"""Engine bookkeeping kept in the CRM store: dialog state, processed updates, chat preferences."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.models import ChatPreference, DialogState, ProcessedUpdate

DEDUPE_RETENTION = timedelta(days=8)


class StateService:
    """Multi-step dialog state per person in a chat, and language choices of non-staff chats.

    A dialog belongs to one person in one chat (`channel`, `chat_id`, `user_id`): in a group chat,
    the next text of the salesperson who pressed Edit is the value, not anyone else's.
    """

    def __init__(self, session: AsyncSession, now: datetime) -> None:
        self._session = session
        self._now = now

    async def get(self, channel: str, chat_id: str, user_id: str, *,
                  lifetimes: Mapping[str, timedelta] | None = None) -> tuple[str, dict[str, Any]] | None:
        """Return the person's dialog (name, data) in this chat, if any.

        A dialog named in `lifetimes` that was last set longer ago than its lifetime has expired: it is
        ended here and None is returned, as if there were none.
        """
        row = await self._row(channel, chat_id, user_id)
        if row is None:
            return None
        lifetime = (lifetimes or {}).get(row.name)
        if lifetime is not None and self._now - row.updated_at > lifetime:
            await self.clear(channel, chat_id, user_id)
            return None
        return row.name, dict(row.data)

    async def _row(self, channel: str, chat_id: str, user_id: str) -> DialogState | None:
        return await self._session.scalar(select(DialogState).where(*_dialog_of(channel, chat_id, user_id)))

    async def set(self, channel: str, chat_id: str, user_id: str, name: str, data: dict[str, Any]) -> None:
        """Put the person into dialog `name` in this chat."""
        row = await self._row(channel, chat_id, user_id)
        if row is None:
            self._session.add(DialogState(channel=channel, chat_id=chat_id, user_id=user_id, name=name, data=data,
                                          updated_at=self._now))
        else:
            row.name, row.data, row.updated_at = name, data, self._now

    async def clear(self, channel: str, chat_id: str, user_id: str) -> None:
        """End the person's dialog in this chat."""
        await self._session.execute(delete(DialogState).where(*_dialog_of(channel, chat_id, user_id)))

    async def language(self, channel: str, user_id: str) -> str | None:
        """Return a non-staff chat user's chosen language."""
        query = select(ChatPreference.language).where(ChatPreference.channel == channel,
                                                      ChatPreference.user_id == user_id)
        return await self._session.scalar(query)

    async def set_language(self, channel: str, user_id: str, language: str) -> None:
        """Remember a non-staff chat user's language."""
        query = select(ChatPreference).where(ChatPreference.channel == channel, ChatPreference.user_id == user_id)
        row = await self._session.scalar(query)
        if row is None:
            self._session.add(ChatPreference(channel=channel, user_id=user_id, language=language))
        else:
            row.language = language


def _dialog_of(channel: str, chat_id: str, user_id: str) -> tuple[ColumnElement[bool], ...]:
    return DialogState.channel == channel, DialogState.chat_id == chat_id, DialogState.user_id == user_id


class DedupeService:
    """Remember handled updates so a redelivery does nothing twice."""

    def __init__(self, session: AsyncSession, now: datetime) -> None:
        self._session = session
        self._now = now

    async def seen(self, key: str) -> bool:
        """Tell whether `key` was handled already."""
        found = await self._session.scalar(select(ProcessedUpdate.id).where(ProcessedUpdate.key == key))
        return found is not None

    async def mark(self, key: str) -> bool:
        """Record `key` in this unit of work; False when another worker recorded it first."""
        try:
            async with self._session.begin_nested():
                self._session.add(ProcessedUpdate(key=key, processed_at=self._now))
        except IntegrityError:
            return False
        return True

    async def prune(self) -> None:
        """Forget keys older than Telegram ever redelivers."""
        cutoff = self._now - DEDUPE_RETENTION
        await self._session.execute(delete(ProcessedUpdate).where(ProcessedUpdate.processed_at < cutoff))
