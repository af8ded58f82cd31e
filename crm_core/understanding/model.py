"""The parsed card and the names the business already knows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field


@dataclass(frozen=True)
class KnownContact:
    """A contact already in the CRM."""

    name: str
    company: str | None = None


@dataclass(frozen=True)
class KnownNames:
    """Companies and contacts already in the CRM, to match mentions against."""

    companies: Sequence[str] = ()
    contacts: Sequence[KnownContact] = ()


def _number(value: Decimal) -> int | float:
    if value == value.to_integral_value():
        return int(value)
    return float(value)


class ParsedLog(BaseModel):
    """What the rules understood from one free-text log."""

    model_config = ConfigDict(frozen=False)

    raw_text: str
    language: str
    kind: str = "note"
    contact: str | None = None
    company: str | None = None
    amount: Decimal | None = None
    currency: str | None = None
    quantity: int | None = None
    unit_price: Decimal | None = None
    next_step: str | None = None
    due: date | None = None
    due_options: list[date] = Field(default_factory=list)
    occurred_on: date | None = None
    dates: list[date] = Field(default_factory=list)
    stage: str | None = None
    phone: str | None = None
    email: str | None = None
    confidence: dict[str, float] = Field(default_factory=dict)
    contact_candidates: list[str] = Field(default_factory=list)
    company_candidates: list[str] = Field(default_factory=list)
    company_is_known: bool = False
    unreadable: list[str] = Field(default_factory=list)

    def to_contract(self) -> dict[str, object]:
        """Return the `chatcrm parse --json` shape (interfaces.md), plus extra keys."""
        amount = _number(self.amount) if self.amount is not None else None
        return {
            "kind": self.kind,
            "contact": self.contact,
            "company": self.company,
            "amount": amount,
            "currency": self.currency if amount is not None else None,
            "quantity": self.quantity,
            "next_step": self.next_step,
            "due": self.due.isoformat() if self.due else None,
            "due_options": [d.isoformat() for d in self.due_options],
            "occurred_on": self.occurred_on.isoformat() if self.occurred_on else None,
            "dates": [d.isoformat() for d in self.dates],
            "stage": self.stage,
            "phone": self.phone,
            "email": self.email,
            "language": self.language,
            "unit_price": _number(self.unit_price) if self.unit_price is not None else None,
            "confidence": dict(self.confidence),
            "contact_candidates": list(self.contact_candidates),
            "company_candidates": list(self.company_candidates),
            "company_is_known": self.company_is_known,
            "unreadable": list(self.unreadable),
        }
