"""Audit log, dialog state, processed updates: the bookkeeping of the engine."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from crm_core.models.base import FREE_TEXT, Base, UtcDateTime


class AuditEntry(Base):
    """Who did what to which record, for admin actions and sensitive changes."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    actor_label: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(60))
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str | None] = mapped_column(String(60))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Where it was done (telegram, console, cli, import) and the record's fields before and after (a change).
    channel: Mapped[str | None] = mapped_column(String(20))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class DialogState(Base):
    """One person's multi-step dialog in one chat, kept in our store rather than the framework's."""

    __tablename__ = "dialog_states"
    __table_args__ = (UniqueConstraint("channel", "chat_id", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    chat_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(40))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, info={FREE_TEXT: True})
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ProcessedUpdate(Base):
    """An update already handled; a redelivery of it is ignored."""

    __tablename__ = "processed_updates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(120), unique=True)
    processed_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


class ChatPreference(Base):
    """A chat user's own settings (language) when they are not staff."""

    __tablename__ = "chat_preferences"
    __table_args__ = (UniqueConstraint("channel", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    user_id: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(8))
