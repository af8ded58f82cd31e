"""The inbox: updates a channel handed over, kept before the channel is told they arrived."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from crm_core.models.base import Base, UtcDateTime


class InboxUpdate(Base):
    """One update as the channel sent it (raw JSON), kept until it has been handled.

    Telegram forgets a polled update once the next poll confirms it, so the update is written here
    first; a process that dies while handling it finds it here when it starts again. In webhook mode
    the ingress writes it here before answering 200, and workers take it on a lease (`claimed_until`),
    one update per chat (`chat_key`) at a time (crm_core.services.inbox.InboxQueue).
    """

    __tablename__ = "inbox"
    __table_args__ = (UniqueConstraint("channel", "key", name="uq_inbox_channel_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    key: Mapped[str] = mapped_column(String(64))
    payload: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    # The chat the update belongs to (its order key); None for a polled update or one without a chat.
    chat_key: Mapped[str | None] = mapped_column(String(64), index=True, default=None)
    # A worker's lease on the update: nobody else takes it before then (a crashed worker's lease runs out).
    claimed_by: Mapped[str | None] = mapped_column(String(64), default=None)
    claimed_until: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
