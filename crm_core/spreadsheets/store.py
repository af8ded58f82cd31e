"""What the CRM holds, loaded once into maps an import looks names up in, and the batched writes of an import.

Every record the import knows (loaded or created by an earlier row) is a `Rec`: its `Ref` (the id, known once
its batch is written; a dry run never writes, so never knows it) and its current column values, foreign keys
as `Ref`s. Rows refer to each other through these objects, so a dry run and a real run decide alike.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.models import (
    Company,
    Contact,
    Deal,
    DealStageChange,
    Interaction,
    Pipeline,
    StaffIdentity,
    Stage,
    Task,
    User,
)
from crm_core.spreadsheets.values import phone_key
from crm_core.textnorm import fold
from crm_core.uow import UnitOfWork

log = logging.getLogger(__name__)
TELEGRAM = "telegram"
# Written in this order: a row only refers to tables before its own.
WRITE_ORDER: tuple[type[Any], ...] = (User, StaffIdentity, Company, Contact, Deal, DealStageChange, Interaction, Task)


class Ref:
    """A record's id: known for stored records, set for new ones when their batch is written."""

    __slots__ = ("id",)

    def __init__(self, record_id: int | None = None) -> None:
        self.id = record_id

    def __repr__(self) -> str:
        return f"Ref({self.id})"


@dataclass(eq=False)
class Rec:
    """A record the import knows, with its current values (foreign keys as Refs)."""

    ref: Ref
    values: dict[str, Any]


@dataclass(frozen=True)
class StageInfo:
    """A stage a deal row may name."""

    id: int
    key: str
    position: int
    is_won: bool
    is_lost: bool

    @property
    def status(self) -> str:
        """Return the status a deal in this stage has."""
        return "won" if self.is_won else "lost" if self.is_lost else "open"


def interaction_key(occurred_at: datetime, contact: Ref | None, company: Ref | None, kind: str,
                    summary: str) -> tuple[Any, ...]:
    """Return what makes an interaction the same one: (time, contact — else company, kind, text)."""
    subject = contact if contact is not None else company
    return (to_the_second(occurred_at), subject, kind, " ".join(fold(summary).split()))


def task_key(title: str, due_at: datetime | None, owner: Ref | None) -> tuple[Any, ...]:
    """Return what makes a task the same one: (title, due, owner)."""
    return (" ".join(fold(title).split()), None if due_at is None else to_the_second(due_at), owner)


def stage_change_key(deal: Ref, to_stage_id: int, changed_at: datetime) -> tuple[Any, ...]:
    """Return what makes a stage change the same one: (deal, stage moved to, time to the second)."""
    return (deal, to_stage_id, to_the_second(changed_at))


def to_the_second(moment: datetime) -> int:
    """Return a time as a spreadsheet keeps it: an export writes seconds, a chat-logged time has microseconds too."""
    return math.floor(moment.timestamp())


def tax_key(code: str) -> str:
    """Return a tax code as compared (digits and letters only)."""
    return "".join(ch for ch in code.upper() if ch.isalnum())


@dataclass
class Index:
    """The CRM's names and keys, in memory: every lookup of an import is a dictionary access."""

    users: dict[str, Rec] = field(default_factory=dict)
    telegram_users: dict[str, Ref] = field(default_factory=dict)
    stages: dict[str, StageInfo] = field(default_factory=dict)
    stage_changes: set[tuple[Any, ...]] = field(default_factory=set)
    first_stage: StageInfo | None = None
    won_stage: StageInfo | None = None
    lost_stage: StageInfo | None = None
    companies: dict[str, Rec] = field(default_factory=dict)
    companies_by_tax: dict[str, Rec] = field(default_factory=dict)
    company_by_ref: dict[Ref, Rec] = field(default_factory=dict)
    contacts_by_phone: dict[str, Rec] = field(default_factory=dict)
    contacts_by_email: dict[str, Rec] = field(default_factory=dict)
    contacts_in_company: dict[tuple[Ref | None, str], list[Rec]] = field(default_factory=lambda: defaultdict(list))
    contacts_by_name: dict[str, list[Rec]] = field(default_factory=lambda: defaultdict(list))
    deals: dict[tuple[Ref | None, str], Rec] = field(default_factory=dict)
    deals_by_title: dict[str, list[Rec]] = field(default_factory=lambda: defaultdict(list))
    interactions: dict[tuple[Any, ...], Rec] = field(default_factory=dict)
    tasks: dict[tuple[Any, ...], Rec] = field(default_factory=dict)

    # ------------------------------------------------------------ keeping the maps current

    def add_company(self, rec: Rec) -> None:
        """Index a company by folded name and tax code."""
        self.companies[rec.values["name_folded"]] = rec
        self.company_by_ref[rec.ref] = rec
        if rec.values.get("tax_code"):
            self.companies_by_tax.setdefault(tax_key(rec.values["tax_code"]), rec)

    def add_contact(self, rec: Rec) -> None:
        """Index a contact by phone, e-mail and folded name (within its company)."""
        values = rec.values
        if values.get("phone"):
            self.contacts_by_phone.setdefault(phone_key(values["phone"]), rec)
        if values.get("email"):
            self.contacts_by_email.setdefault(values["email"].casefold(), rec)
        self.contacts_in_company[(values["company_id"], values["name_folded"])].append(rec)
        self.contacts_by_name[values["name_folded"]].append(rec)

    def move_contact(self, rec: Rec, company: Ref | None) -> None:
        """Re-index a contact that moved to another company."""
        self.contacts_in_company[(rec.values["company_id"], rec.values["name_folded"])].remove(rec)
        rec.values["company_id"] = company
        self.contacts_in_company[(company, rec.values["name_folded"])].append(rec)

    def add_deal(self, rec: Rec) -> None:
        """Index a deal by (company, folded title) and by folded title."""
        self.deals.setdefault((rec.values["company_id"], rec.values["title_folded"]), rec)
        self.deals_by_title[rec.values["title_folded"]].append(rec)

    def add_user(self, rec: Rec) -> None:
        """Index a staff member by folded name and Telegram id."""
        self.users.setdefault(rec.values["name_folded"], rec)
        if rec.values.get("telegram_id"):
            self.telegram_users[rec.values["telegram_id"]] = rec.ref

    def stage(self, wanted: str) -> StageInfo | None:
        """Return the stage named or keyed `wanted` (the default pipeline's first)."""
        return self.stages.get(fold(wanted))


async def load_index(session: AsyncSession) -> Index:
    """Read the CRM's names and keys once (a handful of queries, however many rows the file has)."""
    index = Index()
    users: dict[int, Rec] = {}
    on_telegram = StaffIdentity.channel == TELEGRAM
    telegram = dict((await session.execute(
        select(StaffIdentity.user_id, StaffIdentity.external_id).where(on_telegram))).all())
    identities = dict((await session.execute(
        select(StaffIdentity.user_id, StaffIdentity.id).where(on_telegram))).all())
    for uid, name, folded, role, language, active in await session.execute(
            select(User.id, User.name, User.name_folded, User.role, User.language, User.active)
            .order_by(User.active.desc(), User.id)):
        rec = Rec(Ref(uid), {"name": name, "name_folded": folded, "role": role, "language": language,
                             "active": active, "telegram_id": telegram.get(uid), "identity": Ref(identities[uid])
                             if uid in identities else None})
        users[uid] = rec
        index.add_user(rec)
    await _load_stages(session, index)
    companies: dict[int, Rec] = {}
    for row in await session.execute(select(Company.id, Company.name, Company.name_folded, Company.industry,
                                            Company.phone, Company.email, Company.address, Company.tax_code,
                                            Company.owner_id)):
        rec = Rec(Ref(row.id), {"name": row.name, "name_folded": row.name_folded, "industry": row.industry,
                                "phone": row.phone, "email": row.email, "address": row.address,
                                "tax_code": row.tax_code, "owner_id": _ref(users, row.owner_id)})
        companies[row.id] = rec
        index.add_company(rec)
    contacts: dict[int, Rec] = {}
    for person in await session.execute(select(Contact.id, Contact.name, Contact.name_folded, Contact.company_id,
                                            Contact.title, Contact.phone, Contact.email, Contact.owner_id)
                                     .where(Contact.erased_at.is_(None))):
        rec = Rec(Ref(person.id), {"name": person.name, "name_folded": person.name_folded,
                                "company_id": _ref(companies, person.company_id), "title": person.title,
                                "phone": person.phone, "email": person.email, "owner_id": _ref(users, person.owner_id)})
        contacts[person.id] = rec
        index.add_contact(rec)
    deals: dict[int, Rec] = {}
    stages_by_id = {info.id: info for info in index.stages.values()}
    for deal in (await session.execute(select(Deal))).scalars():
        rec = Rec(Ref(deal.id), {
            "title": deal.title, "title_folded": deal.title_folded, "company_id": _ref(companies, deal.company_id),
            "contact_id": _ref(contacts, deal.contact_id), "owner_id": _ref(users, deal.owner_id),
            "stage": stages_by_id.get(deal.stage_id), "amount": deal.amount, "currency": deal.currency,
            "quantity": deal.quantity, "status": deal.status, "expected_close": deal.expected_close,
            "created_at": deal.created_at, "stage_changed_at": deal.stage_changed_at, "closed_at": deal.closed_at,
            "lost_reason": deal.lost_reason, "updated_at": deal.updated_at})
        deals[deal.id] = rec
        index.add_deal(rec)
    session.expunge_all()  # the deals were read as rows of the ORM only to get every column; drop them
    for deal_id, to_stage_id, changed_at in await session.execute(
            select(DealStageChange.deal_id, DealStageChange.to_stage_id, DealStageChange.changed_at)):
        index.stage_changes.add(stage_change_key(_ref(deals, deal_id) or Ref(deal_id), to_stage_id, changed_at))
    for happened in await session.execute(select(Interaction.id, Interaction.occurred_at, Interaction.contact_id,
                                            Interaction.company_id, Interaction.kind, Interaction.summary,
                                            Interaction.deal_id, Interaction.owner_id)):
        contact, company = _ref(contacts, happened.contact_id), _ref(companies, happened.company_id)
        rec = Rec(Ref(happened.id), {"contact_id": contact, "company_id": company,
                                     "deal_id": _ref(deals, happened.deal_id),
                                     "owner_id": _ref(users, happened.owner_id)})
        key = interaction_key(happened.occurred_at, contact, company, happened.kind, happened.summary)
        index.interactions[key] = rec
    for todo in await session.execute(select(Task.id, Task.title, Task.due_at, Task.owner_id, Task.deal_id,
                                            Task.contact_id, Task.company_id, Task.done_at)):
        owner = _ref(users, todo.owner_id)
        rec = Rec(Ref(todo.id), {"deal_id": _ref(deals, todo.deal_id), "contact_id": _ref(contacts, todo.contact_id),
                                "company_id": _ref(companies, todo.company_id), "done_at": todo.done_at})
        index.tasks[task_key(todo.title, todo.due_at, owner)] = rec
    return index


def _ref(known: dict[int, Rec], record_id: int | None) -> Ref | None:
    if record_id is None:
        return None
    rec = known.get(record_id)
    # A row pointing at a record we did not load (an erased contact): keep the id so nothing is overwritten.
    return rec.ref if rec is not None else Ref(record_id)


async def _load_stages(session: AsyncSession, index: Index) -> None:
    """Index stages by key and by name in both languages: the default pipeline's first, then the others'."""
    rows = (await session.execute(select(Stage, Pipeline.is_default).join(Pipeline)
                                  .order_by(Pipeline.is_default.desc(), Pipeline.id, Stage.position))).all()
    for stage, is_default in rows:
        info = StageInfo(id=stage.id, key=stage.key, position=stage.position, is_won=stage.is_won,
                         is_lost=stage.is_lost)
        for name in (stage.key, stage.name_vi, stage.name_en):
            index.stages.setdefault(fold(name), info)
        if is_default:
            if index.first_stage is None:
                index.first_stage = info
            if stage.is_won and index.won_stage is None:
                index.won_stage = info
            if stage.is_lost and index.lost_stage is None:
                index.lost_stage = info
    session.expunge_all()


class Writer:
    """Batched writes: inserts (with the ids they get back) and updates, one short transaction per batch.

    Without a sessionmaker (a dry run) the batches are dropped: nothing is written.
    """

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession] | None) -> None:
        self._sessionmaker = sessionmaker
        self._inserts: dict[type[Any], list[tuple[Ref, dict[str, Any]]]] = defaultdict(list)
        self._updates: dict[type[Any], list[tuple[Ref, dict[str, Any]]]] = defaultdict(list)
        self.pending = 0

    def insert(self, model: type[Any], ref: Ref, values: dict[str, Any]) -> None:
        """Stage a new row; `ref.id` is set when its batch is written."""
        self._inserts[model].append((ref, values))
        self.pending += 1

    def update(self, model: type[Any], ref: Ref, values: dict[str, Any]) -> None:
        """Stage new values for a row."""
        if values:
            self._updates[model].append((ref, dict(values)))
            self.pending += 1

    async def flush(self, *, last: Any = None) -> None:
        """Write the staged rows in one transaction (with `last(session)` run inside it), then forget them."""
        inserts, updates = self._inserts, self._updates
        self._inserts, self._updates, self.pending = defaultdict(list), defaultdict(list), 0
        if self._sessionmaker is None:
            return
        async with UnitOfWork(self._sessionmaker) as uow:
            for model in WRITE_ORDER:
                if inserts.get(model):
                    rows = await _not_stored_meanwhile(uow.session, model, inserts[model])
                    if rows:
                        await _insert(uow.session, model.__table__, rows)
            for model in WRITE_ORDER:
                if updates.get(model):
                    await _update(uow.session, model.__table__, updates[model])
            if last is not None:
                await last(uow.session)


# What makes a new record the same as one already stored (the unique indexes, and a deal's company and title).
_NATURAL_KEYS: dict[type[Any], tuple[str, ...]] = {
    User: ("name_folded",), Company: ("name_folded",), Contact: ("company_id", "name_folded"),
    Deal: ("company_id", "title_folded")}
_IN_CHUNK = 500


async def _not_stored_meanwhile(session: AsyncSession, model: type[Any],
                                rows: list[tuple[Ref, dict[str, Any]]]) -> list[tuple[Ref, dict[str, Any]]]:
    """Drop the new records someone stored since the import read the CRM (a colleague in chat, a crash's half-run);
    their Refs take the stored ids, so the rows that name them point at the stored record.

    Checked inside the batch's transaction (SQLite holds the write lock from BEGIN IMMEDIATE; on PostgreSQL a
    concurrent insert of the same unique name fails the batch, reported, never a traceback).
    """
    key_columns = _NATURAL_KEYS.get(model)
    if key_columns is None:
        return rows
    table = model.__table__
    folded_column = key_columns[-1]
    wanted = sorted({values[folded_column] for _, values in rows})
    stored: dict[tuple[Any, ...], int] = {}
    for start in range(0, len(wanted), _IN_CHUNK):
        statement = select(table.c.id, *(table.c[k] for k in key_columns)).where(
            table.c[folded_column].in_(wanted[start:start + _IN_CHUNK]))
        if model is Contact:
            statement = statement.where(table.c.erased_at.is_(None))
        for record in await session.execute(statement):
            stored.setdefault(tuple(record[1:]), record[0])
    if not stored:
        return rows
    fresh = []
    for ref, values in rows:
        natural = tuple(_plain({k: values[k]})[k] for k in key_columns)
        if natural in stored:
            ref.id = stored[natural]
            log.info("import: %s %r was stored meanwhile; matched", table.name, natural)
        else:
            fresh.append((ref, values))
    return fresh


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    return {key: (value.id if isinstance(value, Ref) else value) for key, value in values.items()}


async def _insert(session: AsyncSession, table: Table, rows: list[tuple[Ref, dict[str, Any]]]) -> None:
    # The ids are taken first and the rows inserted with them in one executemany: an INSERT … RETURNING that must
    # give ids back in row order is sent one row at a time on SQLite, 20 times slower for 100,000 rows.
    ids = await _allocate_ids(session, table, len(rows))
    columns = [c.name for c in table.columns]
    params = []
    for (ref, values), new_id in zip(rows, ids, strict=True):
        ref.id = new_id
        params.append(dict.fromkeys(columns) | _plain(values) | {"id": new_id})
    await session.execute(insert(table), params)


async def _allocate_ids(session: AsyncSession, table: Table, count: int) -> list[int]:
    """Reserve `count` new ids of `table`: from its sequence on PostgreSQL; after the largest on SQLite, whose
    transaction holds the write lock from BEGIN IMMEDIATE (crm_core.db), so no one else inserts meanwhile."""
    if session.get_bind().dialect.name == "postgresql":
        reserved = await session.execute(text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) "
                                              "FROM generate_series(1, :count)"),
                                         {"table": table.name, "count": count})
        return [int(value) for value in reserved.scalars()]
    largest = (await session.execute(select(func.max(table.c.id)))).scalar() or 0
    return list(range(largest + 1, largest + 1 + count))


async def _update(session: AsyncSession, table: Table, rows: list[tuple[Ref, dict[str, Any]]]) -> None:
    by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    for ref, values in rows:
        assert ref.id is not None, "an update of a row that was never written"
        by_columns[tuple(sorted(values))].append({"_id": ref.id, **{f"v_{k}": v for k, v in _plain(values).items()}})
    for columns, params in by_columns.items():
        statement = (update(table).where(table.c.id == bindparam("_id"))
                     .values({name: bindparam(f"v_{name}") for name in columns}))
        await session.execute(statement, params)
