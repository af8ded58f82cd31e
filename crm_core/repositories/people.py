"""Users, companies and contacts."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from crm_core.models import Company, Contact, User


class UserRepository:
    """Staff users."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, user_id: int) -> User | None:
        """Return the user with `user_id`."""
        return await self._session.get(User, user_id)

    async def list_by_folded_name(self, name_folded: str) -> Sequence[User]:
        """Return users whose folded name is `name_folded`."""
        return (await self._session.scalars(select(User).where(User.name_folded == name_folded))).all()

    async def list_all(self, *, active_only: bool = False) -> Sequence[User]:
        """Return every user, by id."""
        query = select(User).order_by(User.id)
        if active_only:
            query = query.where(User.active.is_(True))
        return (await self._session.scalars(query)).all()

    def add(self, user: User) -> None:
        """Stage a new user."""
        self._session.add(user)


class DirectoryRepository:
    """Companies and contacts."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    @property
    def session(self) -> AsyncSession:
        """Return the session this repository reads through."""
        return self._session

    async def get_company(self, company_id: int) -> Company | None:
        """Return the company with `company_id`."""
        return await self._session.get(Company, company_id)

    async def get_contact(self, contact_id: int) -> Contact | None:
        """Return the contact with `contact_id`, with its company."""
        return await self._session.scalar(
            select(Contact).options(selectinload(Contact.company)).where(Contact.id == contact_id)
        )

    async def company_names(self, *, after_id: int = 0) -> Sequence[tuple[int, str, str]]:
        """Return (id, name, folded name) of every company (with an id above `after_id`), by id."""
        query = select(Company.id, Company.name, Company.name_folded).where(Company.id > after_id)
        rows = await self._session.execute(query.order_by(Company.id))
        return [(r[0], r[1], r[2]) for r in rows]

    async def contact_names(self, *, after_id: int = 0) -> Sequence[tuple[int, str, str, int | None, str | None]]:
        """Return (id, name, folded name, company id, company name) of every contact (id above `after_id`), by id."""
        query = (select(Contact.id, Contact.name, Contact.name_folded, Contact.company_id, Company.name)
                 .outerjoin(Company, Contact.company_id == Company.id).where(Contact.id > after_id))
        rows = await self._session.execute(query.order_by(Contact.id))
        return [(r[0], r[1], r[2], r[3], r[4]) for r in rows]

    async def contacts_of(self, company_id: int) -> Sequence[Contact]:
        """Return a company's contacts."""
        query = select(Contact).where(Contact.company_id == company_id).order_by(Contact.id)
        return (await self._session.scalars(query)).all()

    async def count_companies(self) -> int:
        """Count companies."""
        return int(await self._session.scalar(select(func.count(Company.id))) or 0)

    async def count_contacts(self) -> int:
        """Count contacts."""
        return int(await self._session.scalar(select(func.count(Contact.id))) or 0)

    def add(self, row: Company | Contact) -> None:
        """Stage a new company or contact."""
        self._session.add(row)

    async def delete(self, row: Company | Contact) -> None:
        """Delete a company or contact."""
        await self._session.delete(row)

    async def flush(self) -> None:
        """Send staged rows so they get ids."""
        await self._session.flush()
