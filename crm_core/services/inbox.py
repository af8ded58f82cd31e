"""Keep what a channel hands over until it is handled, so an update confirmed to the channel is never lost.

Telegram's long polling confirms every update of a batch with the next poll, while those updates may
still be being handled (or the process may die). The adapter therefore keeps each polled batch here
before it polls again, drops an update once the engine has handled it, and at start hands back what
a previous process left. The engine's dedupe makes handling one twice harmless.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.models import InboxUpdate

# An update whose handling crashed the process this many times is left for a person (logged), not retried.
MAX_ATTEMPTS = 3
# Kept updates older than this are not handed back: Telegram itself keeps updates for a day.
KEEP_FOR = timedelta(days=7)


@dataclass(frozen=True)
class KeptUpdate:
    """An update as the channel sent it: its key (the update id) and its raw JSON."""

    key: str
    payload: str


class InboxService:
    """The inbox of kept updates, per channel."""

    def __init__(self, session: AsyncSession, now: datetime) -> None:
        self._session = session
        self._now = now

    async def keep(self, channel: str, updates: Sequence[KeptUpdate]) -> int:
        """Keep updates not kept yet (a batch polled again after a crash is kept once); return how many are new."""
        if not updates:
            return 0
        keys = [u.key for u in updates]
        known = set(await self._session.scalars(
            select(InboxUpdate.key).where(InboxUpdate.channel == channel, InboxUpdate.key.in_(keys))))
        fresh = {u.key: u for u in updates if u.key not in known}
        self._session.add_all(InboxUpdate(channel=channel, key=u.key, payload=u.payload, attempts=0,
                                          received_at=self._now) for u in fresh.values())
        await self._session.flush()
        return len(fresh)

    async def done(self, channel: str, keys: Sequence[str]) -> None:
        """Forget updates that have been handled."""
        if keys:
            await self._session.execute(
                delete(InboxUpdate).where(InboxUpdate.channel == channel, InboxUpdate.key.in_(list(keys))))

    async def left_over(self, channel: str) -> tuple[list[KeptUpdate], list[str]]:
        """Return the updates a previous process kept but did not finish, oldest first, counting this attempt.

        Also returns the keys given up on (handled `MAX_ATTEMPTS` times without finishing): they stay
        in the table for a person to look at and are not handed back again.
        """
        rows = list(await self._session.scalars(
            select(InboxUpdate).where(InboxUpdate.channel == channel, InboxUpdate.received_at >= self._now - KEEP_FOR)
            .order_by(InboxUpdate.id)))
        again = [r for r in rows if r.attempts < MAX_ATTEMPTS]
        given_up = [r.key for r in rows if r.attempts >= MAX_ATTEMPTS]
        if again:
            await self._session.execute(update(InboxUpdate).where(InboxUpdate.id.in_([r.id for r in again]))
                                        .values(attempts=InboxUpdate.attempts + 1))
        return [KeptUpdate(key=r.key, payload=r.payload) for r in again], given_up

    async def prune(self) -> None:
        """Forget kept updates older than anyone would hand back."""
        await self._session.execute(delete(InboxUpdate).where(InboxUpdate.received_at < self._now - KEEP_FOR))
