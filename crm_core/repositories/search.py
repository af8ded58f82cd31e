"""The candidates a name or phone search ranks: narrowed by the database on the folded-name columns."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, SQLColumnExpression, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from crm_core.models import Company, Contact, Deal

ContactRow = tuple[int, str, int | None, str | None, str | None]
CompanyRow = tuple[int, str, str | None]
DealRow = tuple[int, str, str | None, str]
# Characters people put between a phone number's digits; the database drops them before comparing.
_PHONE_SEPARATORS = (" ", ".", "-", "+", "(", ")")


def _words_in(columns: Sequence[SQLColumnExpression[str]], patterns: Sequence[tuple[str, ...]]) -> ColumnElement[bool]:
    """Every word's patterns met by one of `columns`."""
    return and_(*(or_(*(column.like(p) for column in columns for p in word)) for word in patterns))


def _digits(column: SQLColumnExpression[str | None]) -> ColumnElement[str]:
    expression: ColumnElement[str] = func.coalesce(column, "")
    for separator in _PHONE_SEPARATORS:
        expression = func.replace(expression, separator, "")
    return expression


class SearchRepository:
    """Companies, contacts and deals whose folded names hold the words searched for, or whose phone ends so."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def companies(self, patterns: Sequence[tuple[str, ...]]) -> Sequence[CompanyRow]:
        """Return (id, name, phone) of companies whose folded name meets every word's patterns."""
        query = select(Company.id, Company.name, Company.phone).where(_words_in([Company.name_folded], patterns))
        return [(r[0], r[1], r[2]) for r in await self._session.execute(query)]

    async def contacts(self, patterns: Sequence[tuple[str, ...]]) -> Sequence[ContactRow]:
        """Return (id, name, company id, company name, phone) of contacts (not erased) whose folded name fits."""
        query = (select(Contact.id, Contact.name, Contact.company_id, Company.name, Contact.phone)
                 .outerjoin(Company, Contact.company_id == Company.id)
                 .where(Contact.erased_at.is_(None), _words_in([Contact.name_folded], patterns)))
        return [(r[0], r[1], r[2], r[3], r[4]) for r in await self._session.execute(query)]

    async def companies_by_phone(self, digits: str) -> Sequence[CompanyRow]:
        """Return (id, name, phone) of companies whose phone, separators dropped, ends with `digits`."""
        query = select(Company.id, Company.name, Company.phone).where(_digits(Company.phone).like(f"%{digits}"))
        return [(r[0], r[1], r[2]) for r in await self._session.execute(query)]

    async def contacts_by_phone(self, digits: str) -> Sequence[ContactRow]:
        """Return contacts (not erased) whose phone, separators dropped, ends with `digits`."""
        query = (select(Contact.id, Contact.name, Contact.company_id, Company.name, Contact.phone)
                 .outerjoin(Company, Contact.company_id == Company.id)
                 .where(Contact.erased_at.is_(None), _digits(Contact.phone).like(f"%{digits}")))
        return [(r[0], r[1], r[2], r[3], r[4]) for r in await self._session.execute(query)]

    async def contacts_by_email(self, email: str) -> Sequence[ContactRow]:
        """Return contacts (not erased) whose e-mail address is `email`, any case."""
        query = (select(Contact.id, Contact.name, Contact.company_id, Company.name, Contact.phone)
                 .outerjoin(Company, Contact.company_id == Company.id)
                 .where(Contact.erased_at.is_(None), func.lower(Contact.email) == email.lower()))
        return [(r[0], r[1], r[2], r[3], r[4]) for r in await self._session.execute(query)]

    async def companies_by_email(self, email: str) -> Sequence[CompanyRow]:
        """Return (id, name, phone) of companies whose e-mail address is `email`, any case."""
        query = select(Company.id, Company.name, Company.phone).where(func.lower(Company.email) == email.lower())
        return [(r[0], r[1], r[2]) for r in await self._session.execute(query)]

    async def deals(self, patterns: Sequence[tuple[str, ...]] | None, *, owner_id: int | None) -> Sequence[DealRow]:
        """Return (id, title, company name, status) of deals (of one owner, when given) whose title or company fits.

        Without patterns every deal (of the owner) is returned: the typo-forgiving pass reads them all.
        """
        query = (select(Deal.id, Deal.title, Company.name, Deal.status)
                 .outerjoin(Company, Deal.company_id == Company.id))
        if patterns is not None:
            query = query.where(_words_in([Deal.title_folded, func.coalesce(Company.name_folded, "")], patterns))
        if owner_id is not None:
            query = query.where(Deal.owner_id == owner_id)
        return [(r[0], r[1], r[2], r[3]) for r in await self._session.execute(query)]
