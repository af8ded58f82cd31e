"""The outbox: every message the bot sends, written in the transaction of the change that caused it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from crm_core.models.base import Base, UtcDateTime

OUTBOX_STATUSES = ("sending", "pending", "sent", "unreachable", "parked")


class OutboxMessage(Base):
    """One message to deliver on a channel; the payload is the channel-neutral reply, as JSON.

    sending      a sender holds it until `claimed_until` (the process that made it sends it at once)
    pending      waits for `next_attempt_at` (rate-limited, or the channel failed)
    sent         delivered (`message_id` is the channel's id of the message)
    unreachable  the recipient cannot receive messages (blocked the bot, left the chat)
    parked       kept failing; left for a person to look at
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    chat_id: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime)
    claimed_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Which sender (an engine, one per process) holds the claim: it renews it before each send.
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(String(300))
    message_id: Mapped[str | None] = mapped_column(String(64))
    # Who caused it (a staff member's chat): told when it cannot be delivered.
    origin_channel: Mapped[str | None] = mapped_column(String(20))
    origin_chat_id: Mapped[str | None] = mapped_column(String(64))
    origin_language: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
