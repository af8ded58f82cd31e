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

from sqlalchemy import delete, func, or_, select, update
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


@dataclass(frozen=True)
class ParkedUpdate:
    """An update given up on after MAX_ATTEMPTS failed handlings: its row, key, chat, attempts and arrival."""

    id: int
    key: str
    chat_key: str | None
    attempts: int
    received_at: datetime


@dataclass(frozen=True)
class QueuedUpdate:
    """An update a worker holds a lease on: its row, its key (the update id), its chat and its raw JSON."""

    id: int
    key: str
    chat_key: str
    payload: str
    attempts: int


class InboxQueue:
    """The inbox as a work queue for webhook workers: kept by the ingress, claimed on a lease, done or released.

    Order per chat: only the oldest live update of a chat can be claimed, and only while no lease on it
    is running, so a chat's updates are handled one after another, in arrival order, by whichever worker
    takes them, while other chats' heads are taken in parallel. A claim is a conditional UPDATE (`claimed_until`
    unset or past), which one transaction wins on SQLite and PostgreSQL alike; a worker that dies leaves
    its lease to run out, and the update is taken again (handled at least once; the engine's dedupe makes
    the second handling a no-op). Leases are wall-clock times (`now` is passed in), not the business clock.
    """

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def enqueue(self, channel: str, *, key: str, chat_key: str, payload: str, now: datetime) -> bool:
        """Keep one update unless it is kept already (a redelivery); return whether it is new.

        Two deliveries racing past the check meet the unique key: the caller treats that IntegrityError as kept.
        """
        known = await self._session.scalar(
            select(InboxUpdate.id).where(InboxUpdate.channel == channel, InboxUpdate.key == key))
        if known is not None:
            return False
        self._session.add(InboxUpdate(channel=channel, key=key, chat_key=chat_key, payload=payload, attempts=0,
                                      received_at=now))
        await self._session.flush()
        return True

    async def claim(self, channel: str, *, worker: str, limit: int, lease: timedelta, now: datetime,
                    skip_chats: Sequence[str] = ()) -> list[QueuedUpdate]:
        """Take up to `limit` chats' oldest updates on a lease for `worker`, oldest first, counting the attempt."""
        if limit <= 0:
            return []
        live = or_(InboxUpdate.attempts < MAX_ATTEMPTS, InboxUpdate.claimed_until > now)
        heads = (select(func.min(InboxUpdate.id))
                 .where(InboxUpdate.channel == channel, InboxUpdate.chat_key.is_not(None), live)
                 .group_by(InboxUpdate.chat_key))
        free = or_(InboxUpdate.claimed_until.is_(None), InboxUpdate.claimed_until <= now)
        query = select(InboxUpdate).where(InboxUpdate.id.in_(heads), free, InboxUpdate.attempts < MAX_ATTEMPTS)
        if skip_chats:
            query = query.where(InboxUpdate.chat_key.not_in(list(skip_chats)))
        candidates = list(await self._session.scalars(query.order_by(InboxUpdate.id).limit(limit)))
        claimed = []
        for row in candidates:
            taken = await self._session.execute(
                update(InboxUpdate).where(InboxUpdate.id == row.id, free)
                .values(claimed_by=worker, claimed_until=now + lease, attempts=InboxUpdate.attempts + 1)
                .execution_options(synchronize_session=False))
            if getattr(taken, "rowcount", 0) == 1:  # else another worker won it meanwhile
                assert row.chat_key is not None
                claimed.append(QueuedUpdate(id=row.id, key=row.key, chat_key=row.chat_key, payload=row.payload,
                                            attempts=row.attempts + 1))
        return claimed

    async def renew(self, ids: Sequence[int], *, worker: str, lease: timedelta, now: datetime) -> None:
        """Extend this worker's leases on updates still being handled."""
        if ids:
            await self._session.execute(
                update(InboxUpdate).where(InboxUpdate.id.in_(list(ids)), InboxUpdate.claimed_by == worker)
                .values(claimed_until=now + lease).execution_options(synchronize_session=False))

    async def finish(self, ids: Sequence[int]) -> None:
        """Forget handled updates; the chat's next update can be claimed now."""
        if ids:
            await self._session.execute(delete(InboxUpdate).where(InboxUpdate.id.in_(list(ids))))

    async def release(self, ids: Sequence[int], *, worker: str) -> None:
        """Give updates back unhandled (a stopping worker): any worker may take them at once."""
        if ids:
            await self._session.execute(
                update(InboxUpdate).where(InboxUpdate.id.in_(list(ids)), InboxUpdate.claimed_by == worker)
                .values(claimed_by=None, claimed_until=None).execution_options(synchronize_session=False))

    async def waiting(self, channel: str) -> int:
        """Count the updates kept and not given up on (the queue's depth, for operators)."""
        return int(await self._session.scalar(
            select(func.count()).select_from(InboxUpdate)
            .where(InboxUpdate.channel == channel, InboxUpdate.chat_key.is_not(None),
                   InboxUpdate.attempts < MAX_ATTEMPTS)) or 0)

    async def parked(self, channel: str, *, now: datetime) -> list[ParkedUpdate]:
        """List the updates parked after MAX_ATTEMPTS failed handlings (no lease running), oldest first."""
        rows = await self._session.scalars(
            select(InboxUpdate).where(InboxUpdate.channel == channel, InboxUpdate.chat_key.is_not(None),
                                      InboxUpdate.attempts >= MAX_ATTEMPTS,
                                      or_(InboxUpdate.claimed_until.is_(None), InboxUpdate.claimed_until <= now))
            .order_by(InboxUpdate.id))
        return [ParkedUpdate(id=r.id, key=r.key, chat_key=r.chat_key, attempts=r.attempts, received_at=r.received_at)
                for r in rows]

    async def retry(self, ids: Sequence[int]) -> None:
        """Hand parked updates to the workers again: their attempts start over."""
        if ids:
            await self._session.execute(
                update(InboxUpdate).where(InboxUpdate.id.in_(list(ids)))
                .values(attempts=0, claimed_by=None, claimed_until=None).execution_options(synchronize_session=False))
