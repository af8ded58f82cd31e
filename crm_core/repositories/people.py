"""Users, companies and contacts."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
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

    async def lock_active_admins(self, admin_role: str) -> list[int]:
        """Return the ids of the active admins, their rows locked until the transaction ends (PostgreSQL).

        Two admins demoting each other at once: the second waits for the first's commit and then sees one admin
        left, so the last admin always stays. SQLite serialises writing transactions by itself.
        """
        query = (select(User.id).where(User.role == admin_role, User.active.is_(True)).order_by(User.id)
                 .with_for_update())
        return list(await self._session.scalars(query))

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

    async def company_by_folded_name(self, name_folded: str) -> Company | None:
        """Return the company whose folded name is `name_folded` (there is at most one)."""
        return await self._session.scalar(select(Company).where(Company.name_folded == name_folded))

    async def contact_in_company(self, company_id: int, name_folded: str) -> Contact | None:
        """Return the company's (not erased) contact whose folded name is `name_folded` (there is at most one)."""
        query = select(Contact).where(Contact.company_id == company_id, Contact.name_folded == name_folded,
                                      Contact.erased_at.is_(None))
        return await self._session.scalar(query)

    async def add_unless_taken(self, row: Company | Contact) -> bool:
        """Insert `row` now; False (and nothing inserted) when its name is taken, even by a concurrent unit of work.

        On PostgreSQL an insert that meets another transaction's uncommitted twin waits for it, then fails
        if that one committed; on SQLite writers take turns. Either way the twin is readable afterwards.
        """
        await self._session.flush()  # only this row may fail inside the savepoint
        try:
            async with self._session.begin_nested():
                self._session.add(row)
        except IntegrityError:
            return False
        return True

    async def delete_unless_referenced(self, model: type[Company | Contact], row_id: int) -> bool:
        """Delete a company or contact now; False (and kept) when the database refuses: a row points at it.

        A plain DELETE, not the ORM's, which would first unlink the children it can see.
        """
        await self._session.flush()
        try:
            async with self._session.begin_nested():
                await self._session.execute(delete(model).where(model.id == row_id))
        except IntegrityError:
            return False
        return True

    def add(self, row: Company | Contact) -> None:
        """Stage a new company or contact."""
        self._session.add(row)

    async def delete(self, row: Company | Contact) -> None:
        """Delete a company or contact."""
        await self._session.delete(row)

    async def flush(self) -> None:
        """Send staged rows so they get ids."""
        await self._session.flush()
