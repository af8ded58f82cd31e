"""The names of the business's companies and contacts, kept in memory between messages.

Every log is matched against every known name; loading 15,000 names from the database and
folding them again for each message cost ~100 ms at 10,000 contacts. The index is reused while
the directory's revision is unchanged: a counter the database's own triggers bump on every insert,
delete or rename of a company or contact, whoever writes (another process, a bulk import, psql),
checked together with counts, highest ids and total name length. When only new rows were added
(the usual change: a saved log created a contact), the index grows by those rows instead of
being rebuilt; anything else rebuilds it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

from rapidfuzz import utils
from sqlalchemy import event, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import ORMExecuteState, Session

from crm_core.models import Company, Contact, DirectoryRevision
from crm_core.repositories.people import DirectoryRepository
from crm_core.understanding import KnownContact, KnownNames

Version = tuple[int, ...]
CompanyRow = tuple[int, str, str]
ContactRow = tuple[int, str, str, int | None, str | None]


@dataclass(frozen=True)
class ContactName:
    """A contact's name, folded name and company, as matching needs them."""

    id: int
    name: str
    folded: str
    company_id: int | None
    company: str | None


@dataclass(frozen=True)
class NameIndex:
    """Every company and contact name at one version of the directory."""

    version: Version
    company_names: dict[int, str]
    company_folds: dict[int, str]
    # What the fuzzy matcher compares (rapidfuzz's default processing of the folded name), computed once.
    company_choices: dict[int, str]
    contacts: dict[int, ContactName]
    contact_choices: dict[int, str]
    known: KnownNames

    @classmethod
    def build(cls, version: Version, companies: Sequence[CompanyRow], contacts: Sequence[ContactRow]) -> NameIndex:
        """Index every company and contact row."""
        empty = cls(version=version, company_names={}, company_folds={}, company_choices={}, contacts={},
                    contact_choices={}, known=KnownNames())
        return empty.extended(version, companies, contacts)

    def extended(self, version: Version, companies: Sequence[CompanyRow], contacts: Sequence[ContactRow]) -> NameIndex:
        """Return this index plus new rows, at `version`."""
        people = [ContactName(*row) for row in contacts]
        known = self.known.extended([name for _id, name, _folded in companies],
                                    [KnownContact(p.name, p.company) for p in people])
        return NameIndex(
            version=version,
            company_names={**self.company_names, **{cid: name for cid, name, _f in companies}},
            company_folds={**self.company_folds, **{cid: folded for cid, _n, folded in companies}},
            company_choices={**self.company_choices,
                             **{cid: utils.default_process(folded) for cid, _n, folded in companies}},
            contacts={**self.contacts, **{p.id: p for p in people}},
            contact_choices={**self.contact_choices, **{p.id: utils.default_process(p.folded) for p in people}},
            known=known)


# One index per database engine; dropped with the engine.
_indexes: WeakKeyDictionary[Engine, NameIndex] = WeakKeyDictionary()
_UNCOMMITTED = "chatcrm_directory_written"
_DIRECTORY = {Company.__tablename__, Contact.__tablename__}
# The index one transaction already checked: a log looks names up three times; the version is read once.
_CHECKED = "chatcrm_name_index"


@event.listens_for(Session, "after_flush")
def _note_directory_write(session: Session, _context: Any) -> None:
    """A transaction that wrote a company or contact must not leave its uncommitted names in the cache."""
    if any(isinstance(row, Company | Contact) for row in (*session.new, *session.dirty, *session.deleted)):
        session.info[_UNCOMMITTED] = True
        session.info.pop(_CHECKED, None)


@event.listens_for(Session, "do_orm_execute")
def _note_bulk_write(state: ORMExecuteState) -> None:
    """A bulk INSERT/UPDATE/DELETE may change names without a flush: check the version again."""
    table = getattr(state.statement, "table", None)
    if (state.is_insert or state.is_update or state.is_delete) and getattr(table, "name", None) in _DIRECTORY:
        state.session.info.pop(_CHECKED, None)
        state.session.info[_UNCOMMITTED] = True


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _transaction_ended(session: Session) -> None:
    session.info.pop(_UNCOMMITTED, None)
    session.info.pop(_CHECKED, None)


async def _version(session: AsyncSession) -> Version:
    # The database's own change counter comes first; the aggregates after it also catch a database
    # whose counter is missing (made without the migrations).
    revision = await session.scalar(select(DirectoryRevision.revision).where(DirectoryRevision.id == 1))
    companies = (await session.execute(select(
        func.count(Company.id), func.coalesce(func.max(Company.id), 0),
        func.coalesce(func.sum(func.length(Company.name_folded)), 0)))).one()
    contacts = (await session.execute(select(
        func.count(Contact.id), func.coalesce(func.max(Contact.id), 0),
        func.coalesce(func.sum(func.length(Contact.name_folded)), 0), func.count(Contact.erased_at),
        func.coalesce(func.sum(Contact.company_id), 0)))).one()
    return tuple(int(v) for v in (revision or 0, *companies, *contacts))


def _advanced(version: Version, companies: Sequence[CompanyRow], contacts: Sequence[ContactRow]) -> Version:
    """The version `version` becomes when only these rows are added (each insert bumps the revision once)."""
    revision, count, top, length, people, top_person, person_length, erased, links = version
    added = len(companies) + len(contacts)
    return (revision + added if revision else 0, count + len(companies), max([top, *(row[0] for row in companies)]),
            length + sum(len(row[2]) for row in companies), people + len(contacts),
            max([top_person, *(row[0] for row in contacts)]), person_length + sum(len(row[2]) for row in contacts),
            erased, links + sum(row[3] or 0 for row in contacts))


async def _grown(cached: NameIndex, version: Version, repo: DirectoryRepository) -> NameIndex | None:
    """Grow the cached index by the rows added since, when adding is all that happened."""
    companies = await repo.company_names(after_id=cached.version[2])
    contacts = await repo.contact_names(after_id=cached.version[5])
    if _advanced(cached.version, companies, contacts) != version:
        return None
    return cached.extended(version, companies, contacts)


async def name_index(repo: DirectoryRepository) -> NameIndex:
    """Return the directory's names, rebuilt only when they changed, grown when names were only added."""
    session = repo.session
    checked = session.info.get(_CHECKED)
    if isinstance(checked, NameIndex):
        return checked
    engine = session.bind.sync_engine if session.bind is not None else None
    # The revision (bumped by triggers, inside this transaction too) tells any change of names apart.
    version = await _version(session)
    cached = _indexes.get(engine) if engine is not None else None
    if cached is not None and cached.version == version:
        return cached
    index = await _grown(cached, version, repo) if cached is not None else None
    if index is None:
        index = NameIndex.build(version, await repo.company_names(), await repo.contact_names())
    if engine is not None and not session.info.get(_UNCOMMITTED):  # never keep names not committed yet
        _indexes[engine] = index
    session.info[_CHECKED] = index
    return index
