"""Import a customer book: users, companies, contacts, deals, interactions, tasks, as people keep them in Excel.

Each row is matched against what the CRM holds and what earlier rows brought (companies by folded name or
tax code; contacts by phone, e-mail, else folded name within the company; deals by company and title;
interactions by time, contact, kind and text; tasks by title, due and owner). A match updates only the
fields the row fills (`updated`), or nothing when they are the same (`skipped`); so a second import of the
same file creates nothing. A bad cell is reported with its sheet, Excel row and column; the row goes in
without it, unless it is the row's required first column. A dry run makes every decision the same way and
writes nothing.

Writes go in batches of BATCH_ROWS rows, each batch one short transaction: an import killed half-way leaves
whole batches, and running it again matches them and carries on, ending where one run would have.
"""

from __future__ import annotations

import functools
import inspect
import time as timer
from collections.abc import Awaitable, Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.errors import SpreadsheetRefused
from crm_core.models import Company, Contact, Deal, DealStageChange, Interaction, StaffIdentity, Task, User
from crm_core.policy import ADMIN, can_manage_team
from crm_core.services.audit import AuditService
from crm_core.spreadsheets import values as cell
from crm_core.spreadsheets.exporter import example_form, template_examples
from crm_core.spreadsheets.lock import import_lock
from crm_core.spreadsheets.reading import Formula, SheetData, Workbook, open_spreadsheet
from crm_core.spreadsheets.report import ImportReport, RowError, UnknownColumn
from crm_core.spreadsheets.store import (
    TELEGRAM,
    Index,
    Rec,
    Ref,
    StageInfo,
    Writer,
    interaction_key,
    load_index,
    stage_change_key,
    task_key,
    tax_key,
    to_the_second,
)
from crm_core.textnorm import clean_name
from crm_core.textnorm import fold as _fold
from crm_core.uow import UnitOfWork

# Names repeat row after row (a company on each of its contacts, deals and interactions): fold each once.
fold = functools.lru_cache(maxsize=1 << 16)(_fold)
BATCH_ROWS = 2000
MAX_CELL_CHARS = 1_000_000
PROGRESS_EVERY = 500
DEFAULT_CURRENCY = "VND"
Progress = Callable[[int, int], Awaitable[None] | None]
_SOURCE_PREFIX = "import:"


async def import_spreadsheet(sessionmaker: async_sessionmaker[AsyncSession], path: Path, *, now: datetime,
                             tz: tzinfo, actor: str, actor_user_id: int | None = None, dry_run: bool = False,
                             progress: Progress | None = None, file_name: str | None = None) -> ImportReport:
    """Import the workbook, CSV file or folder of CSV files at `path`; with `dry_run`, only report what it would do.

    Raises SpreadsheetRefused, before writing anything, for a file that cannot be imported at all.
    """
    started = timer.perf_counter()
    name = file_name or path.name
    book = open_spreadsheet(path)
    try:
        # One real import at a time per database (a dry run writes nothing and needs no turn).
        async with nullcontext() if dry_run else import_lock(sessionmaker, name):
            report = await _import_book(sessionmaker, book, name, now=now, tz=tz, actor=actor,
                                        actor_user_id=actor_user_id, dry_run=dry_run, progress=progress)
    except IntegrityError as error:
        # What the batches re-check does not cover (someone changed the CRM mid-batch): whole batches stay in,
        # and running the import again matches them and carries on.
        raise SpreadsheetRefused(f"{name}: the CRM changed during the import; run it again to finish it",
                                 reason="conflict", file=name) from error
    finally:
        book.close()
    report.seconds = timer.perf_counter() - started
    return report


async def _import_book(sessionmaker: async_sessionmaker[AsyncSession], book: Workbook, name: str, *, now: datetime,
                       tz: tzinfo, actor: str, actor_user_id: int | None, dry_run: bool,
                       progress: Progress | None) -> ImportReport:
    async with UnitOfWork(sessionmaker) as uow:
        index = await load_index(uow.session)
        manages_staff = await _manages_staff(uow.session, actor_user_id)
    report = ImportReport(file=name, dry_run=dry_run, unknown_sheets=book.unknown_sheets)
    writer = Writer(None if dry_run else sessionmaker)
    run = _Run(index=index, writer=writer, report=report, now=now, tz=tz,
               source=f"{_SOURCE_PREFIX}{name}"[:120], progress=progress, total=book.estimate,
               manages_staff=manages_staff, saved_at=book.saved_at)
    await run.all_sheets(book)

    async def audit(session: AsyncSession) -> None:
        await AuditService(session, now).record(
            actor=actor, actor_id=actor_user_id, action="spreadsheet.import", entity="spreadsheet",
            entity_id=None, details={"file": name, "created": report.created, "updated": report.updated,
                                     "skipped": report.skipped, "errors": len(report.errors),
                                     "rows": report.rows})

    await writer.flush(last=audit)  # the last batch and the audit entry are one transaction
    await run.tell(final=True)
    return report


async def _manages_staff(session: AsyncSession, actor_user_id: int | None) -> bool:
    """Tell whether the importing actor may create and change staff (the users sheet): an active admin.

    No actor id is the server's own command line (`chatcrm import`), whose operator holds the database anyway.
    """
    if actor_user_id is None:
        return True
    actor = await session.get(User, actor_user_id)
    return actor is not None and can_manage_team(actor)


@dataclass
class _Row:
    """One row being read: its cells, the headers as written, and the problems found in it."""

    sheet: SheetData
    number: int
    cells: dict[str, Any]
    problems: list[RowError] = field(default_factory=list)

    def problem(self, key: str | None, code: str, **params: object) -> None:
        """Note a problem in the column `key` (None: the row as a whole)."""
        self.problems.append(RowError(sheet=self.sheet.spec.key, row=self.number, column=self._header(key),
                                      code=code, params=params))

    def _header(self, key: str | None) -> str | None:
        if key is None:
            return None
        if key in self.sheet.keys:
            return self.sheet.headers[self.sheet.keys.index(key)]
        return key

    def read(self, key: str, parse: Callable[[Any], Any]) -> Any:
        """Return the column's value read by `parse`; None when blank or unreadable (noted)."""
        raw = self.cells.get(key)
        if raw is None:
            return None
        try:
            return parse(raw)
        except cell.CellError as error:
            self.problem(key, error.code, **error.params)
            return None

    def name(self, key: str, limit: int) -> str | None:
        """Return a name or title cell as one clean line; None when blank or too long (noted)."""
        raw = self.cells.get(key)
        if raw is None:
            return None
        value = cell.with_erased_marker(clean_name(cell.text(raw)))
        if len(value) > limit:
            self.problem(key, "too_long", limit=limit)
            return None
        return value or None


def _lost_reason(written: str | None) -> str | None:
    """A listed reason, by key or by its name as export writes it, is stored as its key; other words as written."""
    return cell.lost_reason(written) if written else None


def _limit(model: type[Any], column: str) -> int:
    length = model.__table__.c[column].type.length
    return int(length) if length else 10_000


class _Run:
    """One import's decisions, row by row, over the in-memory index."""

    def __init__(self, *, index: Index, writer: Writer, report: ImportReport, now: datetime, tz: tzinfo,
                 source: str, progress: Progress | None, total: int, manages_staff: bool,
                 saved_at: datetime | None = None) -> None:
        self.index, self.writer, self.report = index, writer, report
        self.manages_staff = manages_staff
        self.saved_at = saved_at
        self._names: dict[Ref, str] | None = None
        self.now, self.tz, self.source = now, tz, source
        self.progress, self.total, self.done = progress, total, 0
        self._since_flush = 0
        # Deals the file's stage_history sheet gives moves for: (folded company name or "", folded title).
        self.with_history: set[tuple[str, str]] = set()

    async def all_sheets(self, book: Workbook) -> None:
        """Import every sheet in dependency order (users first, tasks last)."""
        handlers: dict[str, Callable[[_Row], str | None]] = {
            "users": self.user, "companies": self.company, "contacts": self.contact, "deals": self.deal,
            "interactions": self.interaction, "tasks": self.task, "stage_history": self.stage_change}
        self.with_history = _deals_with_history(book)
        for sheet in book.sheets:
            self.report.unknown_columns.extend(UnknownColumn(sheet=sheet.spec.key, column=h)
                                               for h in sheet.unknown_headers)
            handle = handlers[sheet.spec.key]
            examples = template_examples().get(sheet.spec.key, frozenset())
            for number, cells in sheet.rows():
                row = _Row(sheet=sheet, number=number, cells=cells)
                _drop_huge_cells(row)
                _drop_formulas(row)
                if _folded_cells(cells) in examples:
                    row.problem(None, "template_example")
                    outcome = None
                elif any(cell.about_erased(value) for value in cells.values()):
                    # A row about a customer whose data was erased (an export taken after it): bringing it back
                    # would undo the erasure with a placeholder contact.
                    row.problem(None, "erased_customer")
                    outcome = None
                else:
                    outcome = handle(row)
                if outcome is not None:
                    self.report.count(outcome, sheet.spec.key)
                for problem in row.problems:
                    problem.imported = outcome is not None
                self.report.errors.extend(row.problems)
                self.report.rows += 1
                await self._advance()

    async def _advance(self) -> None:
        self.done += 1
        self._since_flush += 1
        if self._since_flush >= BATCH_ROWS:
            await self.writer.flush()
            self._since_flush = 0
        if self.done % PROGRESS_EVERY == 0:
            await self.tell()

    async def tell(self, *, final: bool = False) -> None:
        """Report progress to the caller (done rows, estimated total)."""
        if self.progress is None:
            return
        total = self.done if final else max(self.total, self.done)
        result = self.progress(self.done, total)
        if inspect.isawaitable(result):
            await result

    # ------------------------------------------------------------ shared: owners, companies, contacts, deals

    def owner(self, row: _Row, key: str = "owner") -> Ref | None:
        """Return the staff member the column names; an unknown name is noted and left empty."""
        raw = row.cells.get(key)
        if raw is None:
            return None
        rec = self.index.users.get(fold(cell.text(raw)))
        if rec is None:
            row.problem(key, "unknown_user", value=cell.text(raw))
            return None
        return rec.ref

    def company_named(self, row: _Row, key: str = "company") -> Rec | None:
        """Return the company the column names, creating it (name only) when the CRM has none by that name."""
        name = row.name(key, _limit(Company, "name"))
        if name is None:
            return None
        rec = self.index.companies.get(fold(name))
        if rec is None:
            rec = self._new_company(name, {})
            self.report.count("created", "companies")
        return rec

    def _new_company(self, name: str, values: dict[str, Any]) -> Rec:
        rec = Rec(Ref(), {"name": name, "name_folded": fold(name), "industry": None, "phone": None, "email": None,
                          "address": None, "tax_code": None, "owner_id": None} | values)
        self.writer.insert(Company, rec.ref, rec.values | {"created_at": self.now, "source": self.source})
        self.index.add_company(rec)
        return rec

    def contact_named(self, row: _Row, company: Rec | None, key: str = "contact") -> Rec | None:
        """Return the contact the column names (within the company when one is given); create a missing one."""
        name = row.name(key, _limit(Contact, "name"))
        if name is None:
            return None
        folded = fold(name)
        if company is not None:
            found = self.index.contacts_in_company.get((company.ref, folded))
            if found:
                return found[0]
        else:
            named = self.index.contacts_by_name.get(folded, [])
            if len(named) > 1:
                row.problem(key, "ambiguous_contact", value=name, count=len(named))
                return None
            if named:
                return named[0]
        self.report.count("created", "contacts")
        return self._new_contact(name, company.ref if company else None, {})

    def _new_contact(self, name: str, company: Ref | None, values: dict[str, Any]) -> Rec:
        rec = Rec(Ref(), {"name": name, "name_folded": fold(name), "company_id": company, "title": None,
                          "phone": None, "email": None, "owner_id": None} | values)
        self.writer.insert(Contact, rec.ref, rec.values | {"created_at": self.now, "source": self.source,
                                                           "erased_at": None})
        self.index.add_contact(rec)
        return rec

    def deal_named(self, row: _Row, company: Rec | None, key: str = "deal") -> Rec | None:
        """Return the deal the column names (by company and title, else a title only one deal has)."""
        title = row.name(key, _limit(Deal, "title"))
        if title is None:
            return None
        folded = fold(title)
        if company is not None and (company.ref, folded) in self.index.deals:
            return self.index.deals[(company.ref, folded)]
        named = self.index.deals_by_title.get(folded, [])
        if company is not None:
            named = [d for d in named if d.values["company_id"] is company.ref] or named
        if len(named) == 1:
            return named[0]
        row.problem(key, "ambiguous_deal" if named else "unknown_deal", value=title, count=len(named))
        return None

    def apply(self, model: type[Any], rec: Rec, wanted: dict[str, Any], sheet: str) -> str:
        """Update `rec` with the values the row fills that differ; return "updated" or "skipped"."""
        changes = {k: v for k, v in wanted.items() if v is not None and not _same(rec.values.get(k), v)}
        if not changes:
            return "skipped"
        rec.values.update(changes)
        self.writer.update(model, rec.ref, changes)
        self.report.count_changes(sheet, [_COLUMN_OF_FIELD.get(k, k) for k in changes])
        return "updated"

    def keep_newer(self, row: _Row, rec: Rec, wanted: dict[str, Any]) -> None:
        """Drop, noted, each value of the row that would overwrite one the CRM changed after the file was saved
        (an older export must not undo this week's work); the CRM's value is kept."""
        changed_at, saved_at = rec.values.get("updated_at"), self.saved_at
        if changed_at is None or saved_at is None or changed_at <= saved_at:
            return
        for field_name, value in list(wanted.items()):
            if value is None or field_name in ("created_at",) or _same(rec.values.get(field_name), value):
                continue
            row.problem(_COLUMN_OF_FIELD.get(field_name, field_name), "kept_newer",
                        value=self._shown(value), kept=self._shown(rec.values.get(field_name)))
            wanted[field_name] = None

    def _shown(self, value: Any) -> str:
        """Return a value as a person reads it in a report (a staff member or contact by name)."""
        if isinstance(value, Ref):
            if self._names is None:
                self._names = {rec.ref: rec.values.get("name") or rec.values.get("title") or ""
                               for recs in (self.index.users.values(), self.index.company_by_ref.values(),
                                            *self.index.contacts_by_name.values())
                               for rec in recs}
            return str(self._names.get(value, ""))
        if isinstance(value, datetime):
            return value.astimezone(self.tz).strftime("%Y-%m-%d %H:%M")
        return "" if value is None else str(value)

    # ------------------------------------------------------------ users

    def user(self, row: _Row) -> str | None:
        """A staff member: matched by folded name. Only an admin's import creates or changes staff (roles and
        Telegram logins are who may do what); a known colleague's Telegram id is never re-pointed by a file,
        and the last active admin is never demoted or deactivated (crm_core/policy.py)."""
        if not self.manages_staff:
            row.problem(None, "staff_admin_only")
            return None
        name = row.name("name", _limit(User, "name"))
        if name is None:
            self._required(row)
            return None
        role = row.read("role", cell.role)
        language = row.read("language", cell.language)
        active = row.read("active", cell.boolean)  # blank: a new colleague is active, a known one stays as is
        telegram = row.read("telegram_id", cell.telegram_id)
        rec = self.index.users.get(fold(name))
        telegram_text = None if telegram is None else str(telegram)
        if telegram_text is not None and rec is not None and rec.values.get("telegram_id") not in (None,
                                                                                                   telegram_text):
            # Re-pointing a login hands a colleague's account to whoever holds the new id: done in chat, by hand.
            row.problem("telegram_id", "telegram_change_refused", value=telegram_text)
            telegram_text = None
        if telegram_text is not None:
            holder = self.index.telegram_users.get(telegram_text)
            if holder is not None and (rec is None or holder is not rec.ref):
                row.problem("telegram_id", "telegram_taken", value=telegram_text)
                telegram_text = None
        if rec is not None:
            role, active = self._keep_an_admin(row, rec, role, active)
        if rec is None:
            rec = Rec(Ref(), {"name": name, "name_folded": fold(name), "role": role or "sales",
                              "language": language or "vi", "active": True if active is None else active,
                              "telegram_id": telegram_text, "identity": None})
            self.writer.insert(User, rec.ref, {k: rec.values[k] for k in ("name", "name_folded", "role", "language",
                                                                          "active")}
                               | {"created_at": self.now, "source": self.source})
            self._link_telegram(rec, telegram_text)
            self.index.add_user(rec)
            return "created"
        outcome = self.apply(User, rec, {"role": role, "language": language, "active": active}, "users")
        if telegram_text is not None and rec.values.get("telegram_id") != telegram_text:
            self._link_telegram(rec, telegram_text)
            outcome = "updated"
        return outcome

    def _keep_an_admin(self, row: _Row, rec: Rec, role: str | None,
                       active: bool | None) -> tuple[str | None, bool | None]:
        """Drop a change that would leave no active admin (nobody could undo it); note it on the row."""
        values = rec.values
        if values.get("role") != ADMIN or not values.get("active"):
            return role, active
        demoted = role is not None and role != ADMIN
        stopped = active is False
        if not (demoted or stopped):
            return role, active
        others = [r for r in self.index.users.values()
                  if r is not rec and r.values.get("role") == ADMIN and r.values.get("active")]
        if others:
            return role, active
        row.problem("role" if demoted else "active", "last_admin", value=values["name"])
        return (None if demoted else role), (None if stopped else active)

    def _link_telegram(self, rec: Rec, telegram: str | None) -> None:
        if telegram is None:
            return
        old = rec.values.get("telegram_id")
        if old is not None:
            self.index.telegram_users.pop(old, None)
        if rec.values.get("identity") is not None:
            self.writer.update(StaffIdentity, rec.values["identity"], {"external_id": telegram})
        else:
            identity = Ref()
            self.writer.insert(StaffIdentity, identity, {"user_id": rec.ref, "channel": TELEGRAM,
                                                         "external_id": telegram, "created_at": self.now})
            rec.values["identity"] = identity
        rec.values["telegram_id"] = telegram
        self.index.telegram_users[telegram] = rec.ref

    def _required(self, row: _Row) -> None:
        """Note a row without its required first column; it is left out (no outcome)."""
        required = row.sheet.spec.required.key
        if not any(p.column == row._header(required) for p in row.problems):
            row.problem(required, "required")

    # ------------------------------------------------------------ companies

    def company(self, row: _Row) -> str | None:
        """A company: matched by tax code, else by folded name."""
        name = row.name("name", _limit(Company, "name"))
        if name is None:
            self._required(row)
            return None
        wanted = {"industry": row.name("industry", _limit(Company, "industry")),
                  "phone": self._phone(row, Company),
                  "email": self._limited(row, "email", cell.email, Company),
                  "address": row.read("address", cell.long_text) or None,
                  "tax_code": row.name("tax_code", _limit(Company, "tax_code")),
                  "owner_id": self.owner(row)}
        rec = None
        if wanted["tax_code"]:
            rec = self.index.companies_by_tax.get(tax_key(wanted["tax_code"]))
        rec = rec or self.index.companies.get(fold(name))
        if rec is None:
            self._new_company(name, {k: v for k, v in wanted.items() if v is not None})
            return "created"
        _keep_stored_forms(rec, wanted)
        had_tax = rec.values.get("tax_code")
        outcome = self.apply(Company, rec, wanted, "companies")
        if not had_tax and rec.values.get("tax_code"):
            self.index.companies_by_tax.setdefault(tax_key(rec.values["tax_code"]), rec)
        return outcome

    def _phone(self, row: _Row, model: type[Any]) -> str | None:
        """Return the cell's phone; several in one cell (a header merged over two phone columns): the first, the
        others noted so nobody's number is lost unseen (the CRM keeps one per record)."""
        numbers = row.read("phone", cell.phones)
        if not numbers:
            return None
        first, extra = numbers[0], numbers[1:]
        if len(first) > _limit(model, "phone"):
            row.problem("phone", "too_long", limit=_limit(model, "phone"))
            return None
        if extra:
            row.problem("phone", "extra_phones", value=", ".join(extra), kept=first)
        return str(first)

    def _limited(self, row: _Row, key: str, parse: Callable[[Any], Any], model: type[Any]) -> Any:
        value = row.read(key, parse)
        if value is not None and len(value) > _limit(model, key):
            row.problem(key, "too_long", limit=_limit(model, key))
            return None
        return value

    # ------------------------------------------------------------ contacts

    def contact(self, row: _Row) -> str | None:
        """A contact: matched by phone, else e-mail, else folded name within the company."""
        name = row.name("name", _limit(Contact, "name"))
        if name is None:
            self._required(row)
            return None
        company = self.company_named(row)
        phone = self._phone(row, Contact)
        email = self._limited(row, "email", cell.email, Contact)
        wanted = {"title": row.name("title", _limit(Contact, "title")), "phone": phone, "email": email,
                  "owner_id": self.owner(row)}
        company_ref = company.ref if company else None
        rec = self._matching_contact(fold(name), company_ref, phone, email)
        if rec is None:
            self._new_contact(name, company_ref, {k: v for k, v in wanted.items() if v is not None})
            return "created"
        _keep_stored_forms(rec, wanted)
        outcome = self.apply(Contact, rec, wanted, "contacts")
        # A person who moved to another company, unless someone there already has their name.
        if company_ref is not None and rec.values["company_id"] is not company_ref and \
                not self.index.contacts_in_company.get((company_ref, rec.values["name_folded"])):
            self.index.move_contact(rec, company_ref)
            self.writer.update(Contact, rec.ref, {"company_id": company_ref})
            outcome = "updated"
        if phone:
            self.index.contacts_by_phone.setdefault(cell.phone_key(phone), rec)
        if email:
            self.index.contacts_by_email.setdefault(email.casefold(), rec)
        return outcome

    def _matching_contact(self, folded: str, company: Ref | None, phone: str | None, email: str | None) -> Rec | None:
        if phone and (found := self.index.contacts_by_phone.get(cell.phone_key(phone))):
            return found
        if email and (found := self.index.contacts_by_email.get(email.casefold())):
            return found
        namesakes = self.index.contacts_in_company.get((company, folded), [])
        if company is not None:
            return namesakes[0] if namesakes else None  # one name per company (a unique index)
        # Without a company, a namesake is the same person only when nothing tells them apart.
        for rec in namesakes:
            if _fits(rec.values.get("phone"), phone, cell.phone_key) and \
                    _fits(rec.values.get("email"), email, str.casefold):
                return rec
        return None

    # ------------------------------------------------------------ deals

    def deal(self, row: _Row) -> str | None:
        """A deal: matched by company and folded title; its history (created, entered its stage) kept."""
        title = row.name("title", _limit(Deal, "title"))
        if title is None:
            self._required(row)
            return None
        company = self.company_named(row)
        contact = self.contact_named(row, company)
        if company is None and contact is not None and contact.values["company_id"] is not None:
            company = self._company_of(contact.values["company_id"])
        company_ref = company.ref if company else None
        stage, named = self._stage_and_status(row)
        money = row.read("amount", cell.amount)
        currency = row.read("currency", cell.currency) or (money.currency if money else None)
        if money is not None and currency is None:
            currency = DEFAULT_CURRENCY
        created_at = row.read("created_at", self._moment)
        stage_changed_at = row.read("stage_changed_at", self._moment)
        wanted = {"contact_id": contact.ref if contact else None, "owner_id": self.owner(row),
                  "amount": money.value if money else None, "currency": currency,
                  "quantity": row.read("quantity", cell.quantity),
                  "expected_close": row.read("expected_close", cell.day),
                  "lost_reason": _lost_reason(row.name("lost_reason", _limit(Deal, "lost_reason"))),
                  "created_at": created_at}
        rec = self.index.deals.get((company_ref, fold(title)))
        status = stage.status if stage is not None else rec.values.get("status") if rec is not None else "open"
        if wanted["lost_reason"] is not None and status != "lost":
            # As in chat, a lost reason belongs to a lost deal only: an open or won one keeps none.
            row.problem("lost_reason", "lost_reason_not_lost", value=cell.text(row.cells["lost_reason"]))
            wanted["lost_reason"] = None
        if rec is None:
            self._new_deal(title, company_ref, wanted, stage or self._first_stage(), stage_changed_at, named)
            return "created"
        self.keep_newer(row, rec, wanted)
        outcome = self.apply(Deal, rec, wanted, "deals")
        moved = self._move(row, rec, stage, stage_changed_at, wanted["owner_id"])
        return "updated" if moved else outcome

    def _company_of(self, ref: Ref) -> Rec | None:
        return self.index.company_by_ref.get(ref)

    def _moment(self, raw: Any) -> datetime:
        return cell.moment(raw, self.tz)

    def _first_stage(self) -> StageInfo:
        assert self.index.first_stage is not None, "the default pipeline is installed before an import"
        return self.index.first_stage

    def _stage_and_status(self, row: _Row) -> tuple[StageInfo | None, StageInfo | None]:
        """Read the stage and the status; a won/lost status puts the deal in the closing stage.
        Second: the open stage the sheet names for a closed deal (the stage it was closed from), if any."""
        stage: StageInfo | None = None
        raw = row.cells.get("stage")
        if raw is not None:
            stage = self.index.stage(cell.text(raw))
            if stage is None:
                row.problem("stage", "unknown_stage", value=cell.text(raw))
        status = row.read("status", cell.status)
        if status == "won" and (stage is None or not stage.is_won):
            stage = self.index.won_stage
        elif status == "lost" and (stage is None or not stage.is_lost):
            stage = self.index.lost_stage
        elif status == "open" and stage is not None and stage.status != "open":
            row.problem("status", "status_contradicts_stage", value=cell.text(row.cells["status"]))
        named = self.index.stage(cell.text(raw)) if raw is not None else None
        return stage, named if named is not None and named.status == "open" and stage is not named else None

    def _new_deal(self, title: str, company: Ref | None, wanted: dict[str, Any], stage: StageInfo,
                  stage_changed_at: datetime | None, closed_from: StageInfo | None = None) -> None:
        created_at = wanted["created_at"] or self.now
        entered = stage_changed_at or created_at
        closed = stage.status != "open"
        rec = Rec(Ref(), {"title": title, "title_folded": fold(title), "company_id": company, "stage": stage,
                          "status": stage.status, "stage_changed_at": entered, "closed_at": entered if closed else None}
                  | wanted | {"created_at": created_at})
        row = {k: v for k, v in rec.values.items() if k != "stage"} | {
            "stage_id": stage.id, "updated_at": max(created_at, entered), "source": self.source}
        self.writer.insert(Deal, rec.ref, row)
        # The history the row implies: a closed deal whose sheet names an open stage entered that stage when
        # it was created and left it at its close, so a past day's pipeline still shows it there.
        # A deal the stage_history sheet has moves for gets those instead (its real history, e.g. an export's).
        steps: list[tuple[StageInfo | None, StageInfo, datetime]] = [(None, stage, entered)]
        if closed and closed_from is not None and created_at <= entered:
            steps = [(None, closed_from, created_at), (closed_from, stage, entered)]
        if self._has_own_history(title, company):
            steps = []
        for before, after, when in steps:
            self._stage_change(rec.ref, before, after, when, wanted["owner_id"])
        self.index.add_deal(rec)

    def _has_own_history(self, title: str, company: Ref | None) -> bool:
        company_rec = self.index.company_by_ref.get(company) if company is not None else None
        company_folded = fold(company_rec.values["name"]) if company_rec is not None else ""
        return (company_folded, fold(title)) in self.with_history or ("", fold(title)) in self.with_history

    def _stage_change(self, deal: Ref, before: StageInfo | None, after: StageInfo, when: datetime,
                      by: Ref | None) -> None:
        self.writer.insert(DealStageChange, Ref(), {"deal_id": deal, "from_stage_id": before.id if before else None,
                                                    "to_stage_id": after.id, "changed_at": when, "user_id": by,
                                                    "reason": None})
        self.index.stage_changes.add(stage_change_key(deal, after.id, when))

    def _move(self, row: _Row, rec: Rec, stage: StageInfo | None, entered: datetime | None,
              owner: Ref | None) -> bool:
        """Put a known deal in the stage the row names (a stage change in its history), or re-date its entry;
        never back to what the file says when the CRM moved it later than the row's own time."""
        current: StageInfo | None = rec.values.get("stage")
        if stage is not None and current is not None and stage.id != current.id:
            row_time = entered or self.saved_at
            crm_time = rec.values.get("stage_changed_at")
            if row_time is not None and crm_time is not None and crm_time > row_time:
                row.problem("stage", "kept_newer", value=stage.key, kept=current.key)
                return False
        if stage is not None and (current is None or stage.id != current.id):
            self.report.count_changes("deals", ["stage"])
            when = entered or self.now
            changes = {"stage_id": stage.id, "status": stage.status, "stage_changed_at": when,
                       "closed_at": when if stage.status != "open" else None, "updated_at": max(self.now, when)}
            self._stage_change(rec.ref, current, stage, when, owner)
            self.writer.update(Deal, rec.ref, changes)
            rec.values.update(stage=stage, status=stage.status, stage_changed_at=when, closed_at=changes["closed_at"])
            return True
        if entered is not None and not _same(rec.values.get("stage_changed_at"), entered):
            changes = {"stage_changed_at": entered}
            if rec.values.get("status") != "open" and not _same(rec.values.get("closed_at"), entered):
                changes["closed_at"] = entered
            self.report.count_changes("deals", list(changes))  # a re-dated deal is a change like any other
            self.writer.update(Deal, rec.ref, changes)
            rec.values.update(changes)
            return True
        return False

    # ------------------------------------------------------------ stage history

    def stage_change(self, row: _Row) -> str | None:
        """A move of a deal between stages: matched by (deal, stage moved to, time to the second)."""
        company_name = row.name("company", _limit(Company, "name"))
        company = self.index.companies.get(fold(company_name)) if company_name else None  # never creates one
        deal = self.deal_named(row, company)
        to_stage = self._named_stage(row, "to_stage")
        changed_at = row.read("changed_at", self._moment)
        if deal is None or to_stage is None or changed_at is None:
            for key, missing in (("deal", deal), ("to_stage", to_stage), ("changed_at", changed_at)):
                if missing is None and row.cells.get(key) is None:
                    row.problem(key, "required")
            return None
        from_stage = self._named_stage(row, "from_stage")
        by = self.owner(row, "by")
        if stage_change_key(deal.ref, to_stage.id, changed_at) in self.index.stage_changes:
            return "skipped"
        self._stage_change(deal.ref, from_stage, to_stage, changed_at, by)
        return "created"

    def _named_stage(self, row: _Row, key: str) -> StageInfo | None:
        raw = row.cells.get(key)
        if raw is None:
            return None
        stage = self.index.stage(cell.text(raw))
        if stage is None:
            row.problem(key, "unknown_stage", value=cell.text(raw))
        return stage

    # ------------------------------------------------------------ interactions

    def interaction(self, row: _Row) -> str | None:
        """An interaction: matched by (time, contact, kind, text); its time is when it happened."""
        occurred_at = row.read("occurred_at", self._moment)
        if occurred_at is None:
            self._required(row)
            return None
        company = self.company_named(row)
        contact = self.contact_named(row, company)
        if company is None and contact is not None and contact.values["company_id"] is not None:
            company = self._company_of(contact.values["company_id"])
        kind = row.read("kind", cell.kind) or "note"
        summary = cell.with_erased_marker(row.read("summary", cell.long_text) or "")
        deal = self.deal_named(row, company)
        owner = self.owner(row)
        contact_ref, company_ref = (contact.ref if contact else None), (company.ref if company else None)
        key = interaction_key(occurred_at, contact_ref, company_ref, kind, summary)
        wanted = {"deal_id": deal.ref if deal else None, "owner_id": owner, "company_id": company_ref}
        rec = self.index.interactions.get(key)
        if rec is not None:
            return self.apply(Interaction, rec, wanted, "interactions")
        rec = Rec(Ref(), {"contact_id": contact_ref} | wanted)
        self.writer.insert(Interaction, rec.ref, rec.values | {
            "kind": kind, "occurred_at": occurred_at, "summary": summary, "source": self.source,
            "created_at": self.now})
        self.index.interactions[key] = rec
        return "created"

    # ------------------------------------------------------------ tasks

    def task(self, row: _Row) -> str | None:
        """A task: matched by (title, due, owner)."""
        title = row.name("title", _limit(Task, "title"))
        if title is None:
            self._required(row)
            return None
        due = row.read("due", self._moment)
        owner = self.owner(row)
        company = self.company_named(row)
        contact = self.contact_named(row, company)
        if company is None and contact is not None and contact.values["company_id"] is not None:
            company = self._company_of(contact.values["company_id"])
        deal = self.deal_named(row, company)
        if company is None and deal is not None and deal.values["company_id"] is not None:
            company = self._company_of(deal.values["company_id"])
        done = row.read("done", cell.boolean)
        done_at = row.read("done_at", self._moment)
        key = task_key(title, due, owner)
        rec = self.index.tasks.get(key)
        wanted: dict[str, Any] = {"deal_id": deal.ref if deal else None, "contact_id": contact.ref if contact else None,
                                  "company_id": company.ref if company else None}
        if done_at is not None:
            wanted["done_at"] = done_at
        elif done is True and (rec is None or rec.values.get("done_at") is None):
            wanted["done_at"] = self.now
        if rec is not None:
            outcome = self.apply(Task, rec, wanted, "tasks")
            if done is False and rec.values.get("done_at") is not None:
                rec.values["done_at"] = None
                self.writer.update(Task, rec.ref, {"done_at": None})
                outcome = "updated"
            return outcome
        rec = Rec(Ref(), {"done_at": None} | wanted)
        # A task already due (history) or done is not reminded: importing a year of tasks must not ping anyone.
        reminded = self.now if (rec.values["done_at"] is not None or (due is not None and due <= self.now)) else None
        self.writer.insert(Task, rec.ref, rec.values | {"title": title, "due_at": due, "owner_id": owner,
                                                        "reminded_at": reminded, "created_at": self.now,
                                                        "source": self.source})
        self.index.tasks[key] = rec
        return "created"


# A record's field as its column is named in the file (and in a report of what changed).
_COLUMN_OF_FIELD = {"owner_id": "owner", "contact_id": "contact", "company_id": "company", "deal_id": "deal",
                    "due_at": "due"}


def _deals_with_history(book: Workbook) -> set[tuple[str, str]]:
    """Return the deals the stage_history sheet names, as (folded company name or "", folded title): read before
    the deals sheet, so a deal created with moves of its own never gets the history its row would imply, even
    when a crash stops the run between the two sheets."""
    named: set[tuple[str, str]] = set()
    for sheet in book.sheets:
        if sheet.spec.key != "stage_history":
            continue
        for _, cells in sheet.rows():
            if cells.get("deal") is not None and not isinstance(cells["deal"], Formula):
                company = cells.get("company")
                named.add((fold(clean_name(cell.text(company))) if company is not None else "",
                           fold(clean_name(cell.text(cells["deal"])))))
    return named


def _drop_huge_cells(row: _Row) -> None:
    """Leave out, noted, a cell longer than any a CRM field holds (a CSV can carry megabytes in one)."""
    for key, value in list(row.cells.items()):
        if isinstance(value, str) and len(value) > MAX_CELL_CHARS:
            row.problem(key, "cell_too_big", limit=MAX_CELL_CHARS)
            del row.cells[key]


def _drop_formulas(row: _Row) -> None:
    """Leave out, noted, a formula cell that shows no value (an Excel error, none saved, a CSV's "=..."): the CRM
    keeps values, and a formula would run in whoever opens a file the CRM writes; the value is for her to type."""
    for key, value in list(row.cells.items()):
        if isinstance(value, Formula):
            row.problem(key, "formula")
            del row.cells[key]


def _folded_cells(cells: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((key, example_form(value)) for key, value in cells.items()))


def _same(old: Any, new: Any) -> bool:
    """Tell whether a stored value and a file value are the same (Refs by identity, numbers by value, times to
    the second)."""
    if isinstance(old, Ref) or isinstance(new, Ref):
        return old is new
    if isinstance(old, datetime) and isinstance(new, datetime):
        # A file keeps times to the second (an export writes them so); the chat stores microseconds too.
        return to_the_second(old) == to_the_second(new)
    if isinstance(old, str) and isinstance(new, str):
        # "Xây dựng" and "xây dựng" (two rows of one company, or a file re-typed) are no change worth a run's report
        return fold(old) == fold(new)
    return bool(old == new)


def _keep_stored_forms(rec: Rec, wanted: dict[str, Any]) -> None:
    """Leave a stored phone or e-mail as written when the file gives the same one in another form."""
    stored_phone, stored_email = rec.values.get("phone"), rec.values.get("email")
    if stored_phone and wanted.get("phone") and cell.phone_key(stored_phone) == cell.phone_key(wanted["phone"]):
        wanted["phone"] = None
    if stored_email and wanted.get("email") and stored_email.casefold() == wanted["email"].casefold():
        wanted["email"] = None


def _fits(stored: str | None, given: str | None, key: Callable[[str], str]) -> bool:
    return stored is None or given is None or key(stored) == key(given)
