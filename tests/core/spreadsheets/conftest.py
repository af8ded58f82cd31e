"""Workbooks written by openpyxl for the spreadsheet tests, and an import/export over the test database."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

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


@pytest.fixture
def importer(sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock) -> Importer:
    """Return `import_(path, dry_run=False, now=None)`: the import flow over the test database."""

    async def import_(path: Path, *, dry_run: bool = False, now: datetime | None = None) -> ImportReport:
        return await import_spreadsheet(sessionmaker, path, now=now or clock.now(), tz=clock.now().tzinfo,
                                        actor="test", dry_run=dry_run)

    return import_


async def counts(sessionmaker: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    """Count the records of every sheet's table."""
    async with sessionmaker() as session:
        return {name: int((await session.execute(select(func.count()).select_from(model))).scalar_one())
                for name, model in (("users", User), ("companies", Company), ("contacts", Contact),
                                    ("deals", Deal), ("interactions", Interaction), ("tasks", Task))}
