"""Where people are reached on each channel, and which of our messages there stand for what.

An identity is a pair (channel, external id): the Telegram user id "1001", a Zalo id, a
console name. Staff have at most one per channel (their address there); a customer's contact
may have several. A sent message remembers what it was about (`ref`, e.g. "ticket:12") so a
reply to it is routed by the message it answers, not by its wording.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from crm_core.models.base import Base, UtcDateTime


class StaffIdentity(Base):
    """A staff member's identity, and so their address, on one channel."""

    __tablename__ = "staff_identities"
    __table_args__ = (UniqueConstraint("channel", "external_id"), UniqueConstraint("user_id", "channel"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ContactIdentity(Base):
    """A customer's identity on one channel, pointing at the contact we keep for them."""

    __tablename__ = "contact_identities"
    __table_args__ = (UniqueConstraint("channel", "external_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class SentMessage(Base):
    """A message we sent whose replies mean something: what it was about (`ref`)."""

    __tablename__ = "sent_messages"
    __table_args__ = (UniqueConstraint("channel", "chat_id", "message_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    chat_id: Mapped[str] = mapped_column(String(64))
    message_id: Mapped[str] = mapped_column(String(64))
    ref: Mapped[str] = mapped_column(String(60))
    sent_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
