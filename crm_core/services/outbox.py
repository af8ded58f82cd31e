"""Deliver every message at least once and never twice: the outbox's states, retries and claims.

A message is written in the transaction of the change that caused it, already claimed ("sending")
by the process that handles the update, which sends it at once. When the channel fails it waits
("pending") for its next attempt: a rate limit's full `retry_after`, else a growing backoff. The
scheduler of any process claims what is due, atomically (see `crm_core.repositories.claims`),
and a claim that a crashed process never finished expires (`claimed_until`) and is taken again.
A claim names its claimer (`claimed_by`), and the sender renews it right before each send (`renew`):
a message whose lease ran out while earlier ones of a batch went out may be another's by then, and a
renewal that changes no row tells the sender to skip it, so no message is sent by two processes.
A recipient who cannot receive (blocked the bot) is `unreachable`; what keeps failing is `parked`.
Either way whoever caused the message is told, so nobody believes it arrived when it did not.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.models import OutboxMessage
from crm_core.repositories.claims import claimed, skips_locked_rows
from crm_core.services.purging import purge_after_commit, secure_deletes

# How long the process that wrote a message may take to send it before another may (Settings.outbox_lease_seconds).
SEND_LEASE = timedelta(minutes=2)
MAX_ATTEMPTS = 8
FIRST_BACKOFF_S = 5.0
MAX_BACKOFF_S = 30 * 60.0
KEEP_SENT = timedelta(days=7)
CLAIM_BATCH = 50

FailureKind = Literal["retry", "unreachable", "rejected"]


@dataclass(frozen=True)
class Origin:
    """The chat whose action caused a message: told if it cannot be delivered."""

    channel: str
    chat_id: str
    language: str


@dataclass(frozen=True)
class OutboxItem:
    """A message to deliver: its id in the outbox, where it goes, and the reply as JSON."""

    id: int
    channel: str
    chat_id: str
    payload: dict[str, Any]
    attempts: int


@dataclass(frozen=True)
class Undelivered:
    """A message that will not arrive (now `unreachable` or `parked`), and whom to tell."""

    item: OutboxItem
    status: str
    reason: FailureKind
    origin: Origin | None


def backoff(attempts: int) -> float:
    """Seconds to wait before attempt number `attempts + 1` after a failure (5 s, 10 s, 20 s … 30 min)."""
    return min(MAX_BACKOFF_S, FIRST_BACKOFF_S * 2.0 ** max(0, attempts - 1))


class OutboxService:
    """Write, claim and settle outgoing messages."""

    def __init__(self, session: AsyncSession, now: datetime, *, send_lease: timedelta = SEND_LEASE,
                 claimer: str | None = None) -> None:
        self._session = session
        self._now = now
        self._send_lease = send_lease
        self._claimer = claimer  # who claims here (one id per engine); None: claims nobody can renew

    async def add(self, *, channel: str, chat_id: str, payload: dict[str, Any], origin: Origin | None,
                  send_now: bool = True) -> int:
        """Write a message to deliver; `send_now` claims it for this process, which sends it after the commit."""
        row = OutboxMessage(channel=channel, chat_id=chat_id, payload=payload,
                            status="sending" if send_now else "pending", attempts=0, next_attempt_at=self._now,
                            claimed_until=self._now + self._send_lease if send_now else None,
                            claimed_by=self._claimer if send_now else None, created_at=self._now,
                            origin_channel=origin.channel if origin else None,
                            origin_chat_id=origin.chat_id if origin else None,
                            origin_language=origin.language if origin else None)
        self._session.add(row)
        await self._session.flush()
        return row.id

    async def sent(self, outbox_id: int, *, message_id: str | None, forget: bool = False) -> None:
        """Record that a message was delivered; `forget` deletes it instead (it must not outlive its delivery).

        A forgotten message (the notice that tells a customer their data is erased names their chat) leaves no
        copy in the SQLite files either: its row is zeroed as it is deleted, and once this unit of work commits
        the files are rewritten from the live rows, as after the erasure itself (`crm_core.services.purging`).
        """
        if forget:
            await self._forget(outbox_id)
            return
        await self._session.execute(update(OutboxMessage).where(OutboxMessage.id == outbox_id).values(
            status="sent", sent_at=self._now, message_id=message_id, claimed_until=None, claimed_by=None)
            .execution_options(synchronize_session=False))

    async def failed(self, outbox_id: int, *, reason: FailureKind, error: str, retry_after_s: float | None = None,
                     forget: bool = False) -> Undelivered | None:
        """Record a failed attempt: schedule the next one, or settle it as undeliverable (returned).

        `forget`: a message that must not outlive its delivery (`sent`) must not outlive its failure either. Once
        it will never arrive (the recipient blocked the bot, the channel refused it, the attempts ran out) it is
        deleted as a delivered one is, with no copy left in the SQLite files; whom to tell is still returned.
        """
        row = await self._session.get(OutboxMessage, outbox_id)
        if row is None or row.status == "sent":
            return None
        row.attempts += 1
        row.last_error = error[:300]
        row.claimed_until = None
        row.claimed_by = None
        if reason == "retry" and row.attempts < MAX_ATTEMPTS:
            row.status = "pending"
            row.next_attempt_at = self._now + timedelta(seconds=retry_after_s or backoff(row.attempts))
            return None
        row.status = "unreachable" if reason == "unreachable" else "parked"
        origin = Origin(row.origin_channel, row.origin_chat_id, row.origin_language or "vi") \
            if row.origin_channel and row.origin_chat_id else None
        settled = Undelivered(item=_item(row), status=row.status, reason=reason, origin=origin)
        if forget:
            await self._forget(outbox_id)
        return settled

    async def _forget(self, outbox_id: int) -> None:
        """Delete a settled message, zeroed in the SQLite file and purged from it once this unit of work commits.

        Its row loaded in this session (a failure just recorded on it) goes from the session too.
        """
        await secure_deletes(self._session)
        deleted = await self._session.execute(delete(OutboxMessage).where(OutboxMessage.id == outbox_id))
        if getattr(deleted, "rowcount", 0):
            purge_after_commit(self._session)

    async def claim_due(self, channels: Collection[str], *, limit: int = CLAIM_BATCH) -> list[OutboxItem]:
        """Claim messages due on `channels` (waiting ones, and claims a crashed process left), oldest first."""
        if not channels:
            return []
        due = (OutboxMessage.channel.in_(list(channels)), or_(
            (OutboxMessage.status == "pending") & (OutboxMessage.next_attempt_at <= self._now),
            (OutboxMessage.status == "sending") & (OutboxMessage.claimed_until < self._now)))
        lease = {"status": "sending", "claimed_until": self._now + self._send_lease, "claimed_by": self._claimer}
        if skips_locked_rows(self._session):
            query = select(OutboxMessage.id).where(*due).order_by(OutboxMessage.id).limit(limit)
            ids = list(await self._session.scalars(query.with_for_update(skip_locked=True)))
            if ids:
                await self._session.execute(update(OutboxMessage).where(OutboxMessage.id.in_(ids)).values(**lease)
                                            .execution_options(synchronize_session=False))
        else:  # one conditional UPDATE as the first statement: it waits for the write lock (see claims)
            ids_due = select(OutboxMessage.id).where(*due).order_by(OutboxMessage.id).limit(limit).scalar_subquery()
            claim = update(OutboxMessage).where(OutboxMessage.id.in_(ids_due), *due).values(**lease)
            ids = list(await self._session.scalars(claim.returning(OutboxMessage.id)
                                                   .execution_options(synchronize_session=False)))
        if not ids:
            return []
        rows = await self._session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(ids))
                                           .order_by(OutboxMessage.id).execution_options(populate_existing=True))
        return [_item(row) for row in rows]

    async def renew(self, outbox_id: int) -> bool:
        """Extend this claimer's lease on a message about to be sent; False: it is not ours (any more), skip it.

        One conditional UPDATE, so of two claimers at most one holds a live claim at any moment: the one
        whose lease ran out finds the row claimed by another (or its lease past) and changes nothing.
        """
        if self._claimer is None:
            return False
        return await claimed(self._session, update(OutboxMessage).where(
            OutboxMessage.id == outbox_id, OutboxMessage.status == "sending",
            OutboxMessage.claimed_by == self._claimer, OutboxMessage.claimed_until > self._now)
            .values(claimed_until=self._now + self._send_lease))

    async def prune(self) -> None:
        """Forget delivered messages older than a week."""
        await self._session.execute(delete(OutboxMessage).where(
            OutboxMessage.status == "sent", OutboxMessage.created_at < self._now - KEEP_SENT))


def _item(row: OutboxMessage) -> OutboxItem:
    return OutboxItem(id=row.id, channel=row.channel, chat_id=row.chat_id, payload=dict(row.payload),
                      attempts=row.attempts)
