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
from sqlalchemy import event, func, inspect, select
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstanceState, Session

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
_STALE = "chatcrm_names_changed"
_ADDED = "chatcrm_names_added"


# Changes the version aggregate could miss: a rename to a name of the same length, a contact moved
# between companies whose ids sum the same. New rows are not listed: the version shows them and the
# index grows by them.
_NAME_ATTRIBUTES = ("name", "name_folded", "company_id", "erased_at")


@event.listens_for(Session, "after_flush")
def _note_directory_change(session: Session, _context: Any) -> None:
    """A flush that renamed, moved or deleted a company or contact makes this process's index stale."""
    if any(isinstance(row, Company | Contact) for row in session.deleted) or any(
            isinstance(row, Company | Contact) and _names_changed(row) for row in session.dirty):
        session.info[_STALE] = True
    if any(isinstance(row, Company | Contact) for row in session.new):
        session.info[_ADDED] = True


def _names_changed(row: Company | Contact) -> bool:
    state: InstanceState[Company | Contact] = inspect(row)
    return any(name in state.attrs and state.attrs[name].history.has_changes() for name in _NAME_ATTRIBUTES)


@event.listens_for(Session, "after_commit")
def _forget_changed_index(session: Session) -> None:
    session.info.pop(_ADDED, None)
    if session.info.pop(_STALE, False) and session.bind is not None:
        engine = session.bind if isinstance(session.bind, Engine) else session.bind.engine
        _indexes.pop(engine, None)


@event.listens_for(Session, "after_rollback")
def _keep_index_after_rollback(session: Session) -> None:
    session.info.pop(_STALE, None)
    session.info.pop(_ADDED, None)


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
    engine = session.bind.sync_engine if session.bind is not None else None
    version = await _version(session)
    # This transaction renamed or added names it has not committed: use them, but never keep them.
    renamed = bool(session.info.get(_STALE))
    unsaved = renamed or bool(session.info.get(_ADDED))
    cached = _indexes.get(engine) if engine is not None and not renamed else None
    if cached is not None and cached.version == version:
        return cached
    index = await _grown(cached, version, repo) if cached is not None else None
    if index is None:
        index = NameIndex.build(version, await repo.company_names(), await repo.contact_names())
    if engine is not None and not unsaved:  # never keep what this transaction has not committed
        _indexes[engine] = index
    return index
