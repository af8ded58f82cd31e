"""Interactions (calls, meetings, messages), follow-up tasks and raw log drafts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm_core.models.base import FREE_TEXT, Base, UtcDateTime
from crm_core.models.people import SOURCE_LENGTH, Company, Contact, User
from crm_core.models.sales import Deal

INTERACTION_KINDS = ("call", "meeting", "email", "message", "note")


class Interaction(Base):
    """Something that happened with a customer, logged by staff or by the bot."""

    __tablename__ = "interactions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"), index=True)
    company_id: Mapped[int | None] = mapped_column(ForeignKey("companies.id"), index=True)
    deal_id: Mapped[int | None] = mapped_column(ForeignKey("deals.id", ondelete="SET NULL"), index=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    summary: Mapped[str] = mapped_column(Text, info={FREE_TEXT: True})
    # chat, bot, customer, support, import (the demo) or "import:<file name>".
    source: Mapped[str] = mapped_column(String(SOURCE_LENGTH), default="chat")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)

    contact: Mapped[Contact | None] = relationship()
    company: Mapped[Company | None] = relationship()
    owner: Mapped[User | None] = relationship()


class Task(Base):
    """A follow-up with a due time and an owner who is reminded."""

    __tablename__ = "tasks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(300), info={FREE_TEXT: True})
    due_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    deal_id: Mapped[int | None] = mapped_column(ForeignKey("deals.id", ondelete="SET NULL"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))
    company_id: Mapped[int | None] = mapped_column(ForeignKey("companies.id"))
    done_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    reminded_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    source: Mapped[str | None] = mapped_column(String(SOURCE_LENGTH))

    company: Mapped[Company | None] = relationship()
    contact: Mapped[Contact | None] = relationship()
    deal: Mapped[Deal | None] = relationship()


class LogDraft(Base):
    """A salesperson's free-text log: kept raw from the first moment, then saved or cancelled."""

    __tablename__ = "log_drafts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    raw_text: Mapped[str] = mapped_column(Text)
    source_key: Mapped[str | None] = mapped_column(String(120), index=True)
    fields: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(12), default="draft")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    saved_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # When the owner was reminded of this draft left unsaved (once; see LogService.claim_reminders).
    reminded_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, info={FREE_TEXT: True})
