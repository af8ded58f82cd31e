"""The inbox: updates a channel handed over, kept before the channel is told they arrived."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from crm_core.models.base import Base, UtcDateTime


class InboxUpdate(Base):
    """One update as the channel sent it (raw JSON), kept until it has been handled.

    Telegram forgets a polled update once the next poll confirms it, so the update is written here
    first; a process that dies while handling it finds it here when it starts again.
    """

    __tablename__ = "inbox"
    __table_args__ = (UniqueConstraint("channel", "key", name="uq_inbox_channel_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    key: Mapped[str] = mapped_column(String(64))
    payload: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
