"""The inbox as the webhook's queue, each call in its own unit of work (crm_core.services.inbox.InboxQueue)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.services.inbox import InboxQueue, ParkedUpdate, QueuedUpdate
from crm_core.uow import UnitOfWork

CHANNEL = "telegram"


def wall_clock() -> datetime:
    """Leases are real time: a frozen business clock (tests, --now) must not stop them running out."""
    return datetime.now(tz=UTC)


class WebhookQueue:
    """Keep, claim, renew, finish and release webhook updates."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], *, channel: str = CHANNEL) -> None:
        self._sessionmaker = sessionmaker
        self.channel = channel

    async def keep(self, *, key: str, chat_key: str, payload: str) -> bool:
        """Keep an update durably (committed on return); return False when it was kept already."""
        try:
            async with UnitOfWork(self._sessionmaker) as uow:
                return await InboxQueue(uow.session).enqueue(self.channel, key=key, chat_key=chat_key,
                                                             payload=payload, now=wall_clock())
        except IntegrityError:  # the same update, delivered twice at once: the other delivery kept it
            return False

    async def claim(self, *, worker: str, limit: int, lease_s: float, skip_chats: Sequence[str] = ()
                    ) -> list[QueuedUpdate]:
        """Take up to `limit` chats' next updates on a lease."""
        async with UnitOfWork(self._sessionmaker) as uow:
            return await InboxQueue(uow.session).claim(self.channel, worker=worker, limit=limit,
                                                       lease=timedelta(seconds=lease_s), now=wall_clock(),
                                                       skip_chats=skip_chats)

    async def renew(self, ids: Sequence[int], *, worker: str, lease_s: float) -> None:
        """Extend this worker's leases."""
        async with UnitOfWork(self._sessionmaker) as uow:
            await InboxQueue(uow.session).renew(ids, worker=worker, lease=timedelta(seconds=lease_s), now=wall_clock())

    async def finish(self, ids: Sequence[int]) -> None:
        """Forget handled updates."""
        async with UnitOfWork(self._sessionmaker) as uow:
            await InboxQueue(uow.session).finish(ids)

    async def release(self, ids: Sequence[int], *, worker: str) -> None:
        """Give updates back unhandled."""
        async with UnitOfWork(self._sessionmaker) as uow:
            await InboxQueue(uow.session).release(ids, worker=worker)

    async def waiting(self) -> int:
        """Count the updates waiting or being handled."""
        async with UnitOfWork(self._sessionmaker) as uow:
            return await InboxQueue(uow.session).waiting(self.channel)

    async def parked(self, *, retry: bool = False) -> list[ParkedUpdate]:
        """List the parked updates (failed MAX_ATTEMPTS times); `retry`: their attempts start over."""
        async with UnitOfWork(self._sessionmaker) as uow:
            inbox = InboxQueue(uow.session)
            found = await inbox.parked(self.channel, now=wall_clock())
            if retry:
                await inbox.retry([item.id for item in found])
            return found

    async def alive(self) -> None:
        """Ask the database something trivial (raises when it does not answer)."""
        async with self._sessionmaker() as session:
            await session.execute(text("SELECT 1"))
