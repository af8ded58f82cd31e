"""The parsed card and the names the business already knows."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, time
from decimal import Decimal
from functools import cached_property
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from crm_core.understanding.entities import NameMatcher


@dataclass(frozen=True)
class KnownContact:
    """A contact already in the CRM."""

    name: str
    company: str | None = None


@dataclass(frozen=True)
class KnownNames:
    """Companies and contacts already in the CRM, to match mentions against.

    The folded lookups are computed once per instance: a business with 10,000 contacts would
    otherwise fold every name again for every log. Keep an instance while the names do not change.
    """

    companies: Sequence[str] = ()
    contacts: Sequence[KnownContact] = ()

    @cached_property
    def company_matcher(self) -> NameMatcher:
        """Finds known company names in a log."""
        from crm_core.understanding.entities import NameMatcher

        return NameMatcher.of(self.companies)

    @cached_property
    def contact_matcher(self) -> NameMatcher:
        """Finds known contact names in a log."""
        from crm_core.understanding.entities import NameMatcher

        return NameMatcher.of(c.name for c in self.contacts)

    def extended(self, companies: Sequence[str], contacts: Sequence[KnownContact]) -> KnownNames:
        """Return these names plus new ones; the lookups already computed grow instead of being rebuilt."""
        grown = KnownNames(companies=(*self.companies, *companies), contacts=(*self.contacts, *contacts))
        computed = self.__dict__
        if "company_matcher" in computed:
            grown.__dict__["company_matcher"] = self.company_matcher.extended(companies)
        if "contact_matcher" in computed:
            grown.__dict__["contact_matcher"] = self.contact_matcher.extended(c.name for c in contacts)
        if "company_folds" in computed:
            grown.__dict__["company_folds"] = {**self.company_folds, **_folds(companies)}
        if "contacts_by_fold" in computed:
            grown.__dict__["contacts_by_fold"] = _grouped(self.contacts_by_fold, contacts, _whole_name_keys)
        if "contacts_by_called_name" in computed:
            grown.__dict__["contacts_by_called_name"] = _grouped(self.contacts_by_called_name, contacts,
                                                                 _called_name_keys)
        return grown

    @cached_property
    def company_folds(self) -> dict[str, str]:
        """Each company name and its folded form."""
        return _folds(self.companies)

    @cached_property
    def contacts_by_fold(self) -> dict[str, list[KnownContact]]:
        """Contacts by their whole folded name, in CRM order."""
        return _grouped({}, self.contacts, _whole_name_keys)

    @cached_property
    def contacts_by_called_name(self) -> dict[str, list[KnownContact]]:
        """Contacts by the name they are called by (given name) and by their first word, in CRM order."""
        return _grouped({}, self.contacts, _called_name_keys)


def _folds(names: Iterable[str]) -> dict[str, str]:
    from crm_core.understanding.text import fold

    return {name: fold(name) for name in names}


def _whole_name_keys(contact: KnownContact) -> set[str]:
    from crm_core.understanding.text import fold

    return {fold(contact.name)}


def _called_name_keys(contact: KnownContact) -> set[str]:
    from crm_core.understanding.entities import given_name  # entities reads this module's package
    from crm_core.understanding.text import fold

    folded = fold(contact.name)
    return {fold(given_name(contact.name)), folded.split()[0] if folded.split() else folded}


def _grouped(existing: dict[str, list[KnownContact]], contacts: Iterable[KnownContact],
             keys: Callable[[KnownContact], set[str]]) -> dict[str, list[KnownContact]]:
    """Group contacts under their keys, after those of `existing` (whose lists are copied, not changed)."""
    grouped = dict(existing)
    copied: set[str] = set()
    for contact in contacts:
        for key in keys(contact):
            if key in existing and key not in copied:
                grouped[key] = list(existing[key])
                copied.add(key)
            grouped.setdefault(key, []).append(contact)
    return grouped


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
    due_time: time | None = None  # the time of day the next step is due at, when the text gives one
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
            "due_time": self.due_time.strftime("%H:%M") if self.due_time is not None else None,
        }
