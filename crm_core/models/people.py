"""Staff users, companies and contacts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm_core.models.base import FREE_TEXT, Base, UtcDateTime
from crm_core.models.channels import StaffIdentity

ROLES = ("sales", "manager", "admin")
# Room for "import:<file name>" on every record a spreadsheet brought in.
SOURCE_LENGTH = 120
# One contact per folded name within a company; erased contacts all share one placeholder name, so they are left
# out. Contacts without a company (mostly customers known by their chat display name) have no such rule.
_NOT_ERASED = text("erased_at IS NULL")


class User(Base):
    """A staff member: salesperson, manager or admin."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    name_folded: Mapped[str] = mapped_column(String(120), index=True)
    role: Mapped[str] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(8), default="vi")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # Where the record came from when not typed in chat: "import:<file name>" (issue 12).
    source: Mapped[str | None] = mapped_column(String(SOURCE_LENGTH))

    # Loaded with the user (one query per batch of users): a staff member is always converted with their addresses.
    identities: Mapped[list[StaffIdentity]] = relationship(lazy="selectin", cascade="all, delete-orphan",
                                                           order_by=StaffIdentity.id)


class Company(Base):
    """A customer organisation."""

    __tablename__ = "companies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # One company per folded name: concurrent saves of the same new company converge on one row.
    name_folded: Mapped[str] = mapped_column(String(200), index=True, unique=True)
    industry: Mapped[str | None] = mapped_column(String(80))
    phone: Mapped[str | None] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(Text, info={FREE_TEXT: True})
    tax_code: Mapped[str | None] = mapped_column(String(40))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    source: Mapped[str | None] = mapped_column(String(SOURCE_LENGTH))

    contacts: Mapped[list[Contact]] = relationship(back_populates="company")


class Contact(Base):
    """A person at a company, or a customer who wrote to the bot."""

    __tablename__ = "contacts"
    __table_args__ = (Index("ux_contacts_company_id_name_folded", "company_id", "name_folded", unique=True,
                            sqlite_where=_NOT_ERASED, postgresql_where=_NOT_ERASED),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    name_folded: Mapped[str] = mapped_column(String(200), index=True)
    company_id: Mapped[int | None] = mapped_column(ForeignKey("companies.id"), index=True)
    title: Mapped[str | None] = mapped_column(String(120))
    phone: Mapped[str | None] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(200))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    erased_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    source: Mapped[str | None] = mapped_column(String(SOURCE_LENGTH))

    company: Mapped[Company | None] = relationship(back_populates="contacts")
