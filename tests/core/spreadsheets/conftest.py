"""Workbooks written by openpyxl for the spreadsheet tests, and an import/export over the test database."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import openpyxl
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.clock import FrozenClock
from crm_core.models import Company, Contact, Deal, Interaction, Task, User
from crm_core.spreadsheets import ImportReport, import_spreadsheet

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "spreadsheets"
Sheets = dict[str, Sequence[Sequence[Any]]]
Importer = Callable[..., Awaitable[ImportReport]]


def excel_time(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """Return a time as an Excel cell holds it: no zone (the import reads it as local time)."""
    return datetime(year, month, day, hour, minute)  # noqa: DTZ001 - Excel cells have no zone


def write_workbook(path: Path, sheets: Sheets) -> Path:
    """Write one tab per entry (title -> rows, the header first) with openpyxl."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(list(row))
    book.save(path)
    return path


def save_formula_values(path: Path, sheet: int, saved: dict[str, Any]) -> Path:
    """Write into the workbook the values Excel would have saved with its formulas, by cell ("E2": 1200000000,
    "D2": "#REF!" for an Excel error, "A2": "text"): openpyxl cannot compute formulas, so it saves none.
    `sheet` is the tab's position, from 1."""
    member = f"xl/worksheets/sheet{sheet}.xml"
    with zipfile.ZipFile(path) as source:
        parts = {name: source.read(name) for name in source.namelist()}
    xml = parts[member].decode("utf-8")
    for ref, value in saved.items():
        kind = ' t="e"' if isinstance(value, str) and value.startswith("#") else (
            ' t="str"' if isinstance(value, str) else "")
        found = re.search(rf'<c r="{ref}"([^>]*)><f>(.*?)</f><v\s*/?>(</v>)?', xml)
        assert found is not None, f"no formula in {ref}"
        cell = f'<c r="{ref}"{found[1]}{kind}><f>{found[2]}</f><v>{escape(str(value))}</v>'
        xml = xml[:found.start()] + cell + xml[found.end():]
    parts[member] = xml.encode("utf-8")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for name, data in parts.items():
            target.writestr(name, data)
    return path


@pytest.fixture
def importer(sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock) -> Importer:
    """Return `import_(path, dry_run=False, now=None)`: the import flow over the test database."""
    zone = clock.now().tzinfo
    assert zone is not None

    async def import_(path: Path, *, dry_run: bool = False, now: datetime | None = None) -> ImportReport:
        return await import_spreadsheet(sessionmaker, path, now=now or clock.now(), tz=zone,
                                        actor="test", dry_run=dry_run)

    return import_


async def counts(sessionmaker: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    """Count the records of every sheet's table."""
    async with sessionmaker() as session:
        return {name: int((await session.execute(select(func.count()).select_from(model))).scalar_one())
                for name, model in (("users", User), ("companies", Company), ("contacts", Contact),
                                    ("deals", Deal), ("interactions", Interaction), ("tasks", Task))}
