"""The customer side: questions the bot answered, tickets with a human, leads, privacy requests."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm_core.models.base import FREE_TEXT, Base, UtcDateTime
from crm_core.models.people import Contact, User

TICKET_STATUSES = ("open", "closed")
MESSAGE_AUTHORS = ("customer", "staff", "bot")


class CustomerQuestion(Base):
    """One question a customer asked the bot, what it answered and how the customer rated it."""

    __tablename__ = "customer_questions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"), index=True)
    question: Mapped[str] = mapped_column(Text, info={FREE_TEXT: True})
    answer: Mapped[str] = mapped_column(Text, info={FREE_TEXT: True})
    source_doc: Mapped[str | None] = mapped_column(String(300))
    source_section: Mapped[str | None] = mapped_column(String(300))
    confidence: Mapped[float] = mapped_column(Float, default=0.0)
    handoff: Mapped[bool] = mapped_column(Boolean, default=False)
    reason: Mapped[str | None] = mapped_column(String(20))
    feedback: Mapped[str | None] = mapped_column(String(8))
    # When the latest 👍/👎 was pressed: a 👎 within 24 h of the answer means it did not resolve the question.
    feedback_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"))
    # Which prompt version wrote the answer ("faq_answer@2"); None when it was taken from the knowledge as written.
    prompt: Mapped[str | None] = mapped_column(String(80))
    asked_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


class Ticket(Base):
    """A conversation handed to a person: who has it, where the customer is, how it ended."""

    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    chat_id: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(8), default="vi")
    status: Mapped[str] = mapped_column(String(8), default="open", index=True)
    reason: Mapped[str] = mapped_column(String(20))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    first_response_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    escalated_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    csat: Mapped[int | None] = mapped_column(Integer)
    csat_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # A customer's message held back by the once-a-minute cap is announced by the scheduler from this moment
    # (unless a later message carried it first); held_announced_at: when the scheduler last announced some.
    notice_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    held_announced_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Questions the bot answers while the ticket is open reach its assignee at most once every few minutes:
    # answers_noticed_at, when they last did; answers_noticed_through, the last question carried (the customer's
    # latest before the ticket when it opened); answers_due_at, when those held back are due from the scheduler.
    answers_noticed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    answers_noticed_through: Mapped[int | None] = mapped_column(Integer)
    answers_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)

    contact: Mapped[Contact | None] = relationship()
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])


class TicketMessage(Base):
    """One message of a ticket's conversation, from the customer, a staff member or the bot."""

    __tablename__ = "ticket_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    author: Mapped[str] = mapped_column(String(10))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    text: Mapped[str] = mapped_column(Text, info={FREE_TEXT: True})
    at: Mapped[datetime] = mapped_column(UtcDateTime)


class Lead(Base):
    """A customer who left a phone number with consent, assigned to a salesperson by a rule."""

    __tablename__ = "leads"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"), index=True)
    deal_id: Mapped[int | None] = mapped_column(ForeignKey("deals.id", ondelete="SET NULL"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    rule: Mapped[str] = mapped_column(String(60))
    consent_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


class PrivacyRequest(Base):
    """A customer's request to erase what we hold about them, decided by an admin."""

    __tablename__ = "privacy_requests"
    # One pending request per contact, even when two processes file one for the same tap (migration 0019).
    __table_args__ = (Index("ux_privacy_requests_one_pending", "contact_id", unique=True,
                            sqlite_where=text("status = 'pending'"), postgresql_where=text("status = 'pending'")),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    chat_id: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(8), default="vi")
    status: Mapped[str] = mapped_column(String(10), default="pending", index=True)
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
