"""Export the CRM as the workbook import reads (every sheet, headers in one language), and the empty template.

Times are written as local times in the business time zone (Excel cells have no zone), to the second.
Importing an export into an empty home gives the same data. Every text cell is written as the caller's `words` reads
it: what a customer's erasure took out (crm_core.markers.ERASED, a marker in no language) in the workbook's
language, from the chat's texts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime, tzinfo
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from crm_core.models import Company, Contact, Deal, DealStageChange, Interaction, StaffIdentity, Stage, Task, User
from crm_core.spreadsheets.report import ExportReport
from crm_core.spreadsheets.spec import SheetSpec, sheet_specs
from crm_core.spreadsheets.values import shown, shown_boolean, shown_lost_reason, text
from crm_core.textnorm import fold
from crm_core.uow import UnitOfWork

_DATA = Path(__file__).resolve().parent / "data"
_TIME_FORMAT = {"vi": "dd/mm/yyyy hh:mm:ss", "en": "yyyy-mm-dd hh:mm:ss"}
_DATE_FORMAT = {"vi": "dd/mm/yyyy", "en": "yyyy-mm-dd"}
_TEXT_FORMAT = "@"
Row = list[Any]


async def export_workbook(sessionmaker: async_sessionmaker[AsyncSession], path: Path, *, lang: str, tz: tzinfo,
                          words: Callable[[str], str]) -> ExportReport:
    """Write every user, company, contact, deal, interaction and task to the workbook at `path`.

    `words(text)` is how a stored text reads in `lang` (the chat's `Texts.words`: an erased customer's words as
    "(nội dung đã xóa theo yêu cầu của khách)", never the marker they are stored as).
    """
    async with UnitOfWork(sessionmaker) as uow:
        rows = {spec.key: await _ROWS[spec.key](uow.session, lang) for spec in sheet_specs()}
    book = _new_book()
    for spec in sheet_specs():
        _write_sheet(book, spec, lang, (_local(_read(row, words), tz) for row in rows[spec.key]))
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return ExportReport(file=path.name, counts={key: len(sheet_rows) for key, sheet_rows in rows.items()})


def write_template(path: Path, *, lang: str) -> None:
    """Write an empty workbook: the headers, one example row per sheet and a "how to fill" sheet."""
    template = _template()
    examples = template["examples"]["vi" if lang == "vi" else "en"]
    book = _new_book()
    how_to = template["how_to"]["vi" if lang == "vi" else "en"]
    sheet = book.create_sheet(how_to["title"])
    for line in how_to["lines"]:
        sheet.append([line])
    for spec in sheet_specs():
        _write_sheet(book, spec, lang, [examples[spec.key]])
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)


@cache
def template_examples() -> dict[str, frozenset[tuple[tuple[str, str], ...]]]:
    """Return, per sheet, the template's example rows in both languages as (column key, folded text) pairs:
    a row left in the file as the template wrote it is an example, not a record."""
    examples: dict[str, set[tuple[tuple[str, str], ...]]] = {}
    for language_rows in _template()["examples"].values():
        for spec in sheet_specs():
            cells = zip((c.key for c in spec.columns), language_rows[spec.key], strict=False)
            examples.setdefault(spec.key, set()).add(
                tuple(sorted((key, example_form(value)) for key, value in cells if str(value).strip())))
    return {key: frozenset(rows) for key, rows in examples.items()}


def example_form(value: Any) -> str:
    """Return a cell as compared with the template's examples (a date cell as the date the template wrote)."""
    if isinstance(value, datetime) and value.time() == datetime.min.time():
        value = value.date()
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.isoformat()
    return fold(text(value))


@cache
def _template() -> dict[str, Any]:
    with (_DATA / "template.yaml").open(encoding="utf-8") as handle:
        loaded: dict[str, Any] = yaml.safe_load(handle)
    return loaded


def _new_book() -> Any:
    import openpyxl

    return openpyxl.Workbook(write_only=True)


def _write_sheet(book: Any, spec: SheetSpec, lang: str, rows: Iterable[Row]) -> None:
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    sheet = book.create_sheet(spec.title(lang))
    bold = Font(bold=True)
    header = []
    for column in spec.columns:
        cell = WriteOnlyCell(sheet, value=column.header(lang))
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    for row in rows:
        sheet.append([_cell(sheet, value, lang) for value in row])


def _cell(sheet: Any, value: Any, lang: str) -> Any:
    from openpyxl.cell import WriteOnlyCell

    if isinstance(value, datetime):
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = _TIME_FORMAT.get(lang, _TIME_FORMAT["en"])
        return cell
    if isinstance(value, date):
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = _DATE_FORMAT.get(lang, _DATE_FORMAT["en"])
        return cell
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, str) and value[:1] in ("+", "0", "=") and len(value) > 1:
        # Phones and tax codes stay text: Excel would drop a leading 0 or read "+84…" as a number or formula.
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = _TEXT_FORMAT
        cell.data_type = "s"
        return cell
    return value


def _read(row: Row, words: Callable[[str], str]) -> Row:
    return [words(v) if isinstance(v, str) else v for v in row]


def _local(row: Row, tz: tzinfo) -> Row:
    return [v.astimezone(tz).replace(tzinfo=None, microsecond=0) if isinstance(v, datetime) else v for v in row]


# ---------------------------------------------------------------- the rows of each sheet


async def _users(session: AsyncSession, lang: str) -> list[Row]:
    on_telegram = StaffIdentity.channel == "telegram"
    telegram = dict((await session.execute(
        select(StaffIdentity.user_id, StaffIdentity.external_id).where(on_telegram))).all())
    rows = await session.execute(select(User.id, User.name, User.role, User.language, User.active).order_by(User.id))
    return [[name, shown("roles", role, lang) if role in ("sales", "manager", "admin") else role,
             int(telegram[uid]) if telegram.get(uid, "").isdigit() else telegram.get(uid), language,
             shown_boolean(active, lang)]
            for uid, name, role, language, active in rows]


async def _companies(session: AsyncSession, lang: str) -> list[Row]:
    owner = aliased(User)
    rows = await session.execute(
        select(Company.name, Company.industry, Company.phone, Company.email, Company.address, Company.tax_code,
               owner.name).outerjoin(owner, Company.owner_id == owner.id).order_by(Company.id))
    return [list(row) for row in rows]


async def _contacts(session: AsyncSession, lang: str) -> list[Row]:
    owner = aliased(User)
    rows = await session.execute(
        select(Contact.name, Company.name, Contact.title, Contact.phone, Contact.email, owner.name)
        .outerjoin(Company, Contact.company_id == Company.id).outerjoin(owner, Contact.owner_id == owner.id)
        .where(Contact.erased_at.is_(None)).order_by(Contact.id))
    return [list(row) for row in rows]


async def _deals(session: AsyncSession, lang: str) -> list[Row]:
    owner = aliased(User)
    name = Stage.name_vi if lang == "vi" else Stage.name_en
    rows = await session.execute(
        select(Deal.title, Company.name, Contact.name, owner.name, name, Deal.amount, Deal.currency, Deal.quantity,
               Deal.expected_close, Deal.status, Deal.lost_reason, Deal.created_at, Deal.stage_changed_at)
        .join(Stage, Deal.stage_id == Stage.id)
        .outerjoin(Company, Deal.company_id == Company.id).outerjoin(Contact, Deal.contact_id == Contact.id)
        .outerjoin(owner, Deal.owner_id == owner.id).order_by(Deal.id))
    out = []
    for row in rows:
        values = list(row)
        values[9] = shown("statuses", values[9], lang)
        values[10] = shown_lost_reason(values[10], lang)  # "Giá cao", not its key "price"
        out.append(values)
    return out


async def _stage_history(session: AsyncSession, lang: str) -> list[Row]:
    """Every move of every deal, oldest first per deal: the deals sheet only says where each deal is now."""
    before, after, by = aliased(Stage), aliased(Stage), aliased(User)
    names = (before.name_vi, after.name_vi) if lang == "vi" else (before.name_en, after.name_en)
    rows = await session.execute(
        select(Deal.title, Company.name, *names, DealStageChange.changed_at, by.name).select_from(DealStageChange)
        .join(Deal, DealStageChange.deal_id == Deal.id).outerjoin(Company, Deal.company_id == Company.id)
        .outerjoin(before, DealStageChange.from_stage_id == before.id)
        .join(after, DealStageChange.to_stage_id == after.id).outerjoin(by, DealStageChange.user_id == by.id)
        .order_by(Deal.id, DealStageChange.changed_at, DealStageChange.id))
    return [list(row) for row in rows]


async def _interactions(session: AsyncSession, lang: str) -> list[Row]:
    owner = aliased(User)
    rows = await session.execute(
        select(Interaction.occurred_at, Interaction.kind, Contact.name, Company.name, Deal.title, owner.name,
               Interaction.summary)
        .outerjoin(Contact, Interaction.contact_id == Contact.id)
        .outerjoin(Company, Interaction.company_id == Company.id).outerjoin(Deal, Interaction.deal_id == Deal.id)
        .outerjoin(owner, Interaction.owner_id == owner.id).order_by(Interaction.occurred_at, Interaction.id))
    return [[at, shown("kinds", kind, lang), *rest] for at, kind, *rest in rows]


async def _tasks(session: AsyncSession, lang: str) -> list[Row]:
    owner = aliased(User)
    rows = await session.execute(
        select(Task.title, Task.due_at, owner.name, Deal.title, Contact.name, Company.name, Task.done_at)
        .outerjoin(owner, Task.owner_id == owner.id).outerjoin(Deal, Task.deal_id == Deal.id)
        .outerjoin(Contact, Task.contact_id == Contact.id).outerjoin(Company, Task.company_id == Company.id)
        .order_by(Task.id))
    return [[*row[:6], shown_boolean(row[6] is not None, lang), row[6]] for row in rows]


_ROWS = {"users": _users, "companies": _companies, "contacts": _contacts, "deals": _deals,
         "stage_history": _stage_history, "interactions": _interactions, "tasks": _tasks}

