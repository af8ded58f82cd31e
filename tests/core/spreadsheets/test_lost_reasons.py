"""A lost deal's reason in a workbook: export writes a listed reason's name in the workbook's language (the name the
chat shows), import reads that name, the other language's or the raw key back as the key, and other words as they
are."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openpyxl
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import prepare_store
from bot.texts import Texts
from crm_core.clock import FrozenClock
from crm_core.config import Settings
from crm_core.models import Deal
from crm_core.pipelines.reasons import CUSTOMER_ERASED, lost_reasons
from crm_core.spreadsheets import export_workbook, import_spreadsheet
from crm_core.spreadsheets.values import lost_reason, shown
from tests.core.spreadsheets.conftest import Importer, write_workbook

OWN_WORDS = "Khách dời dự án sang năm sau"


def _book(*reasons: str) -> dict[str, list[list[Any]]]:
    """A workbook of lost deals at Hòa Phát, one per reason, as a person fills it in."""
    return {"Cơ hội": [["Tên cơ hội", "Công ty", "Giai đoạn", "Trạng thái", "Lý do thua"],
                       *([f"HP lô {n}", "Hòa Phát", "Thua", "Thua", reason] for n, reason in enumerate(reasons))]}


async def _reasons(sessionmaker: async_sessionmaker[AsyncSession]) -> dict[str, str | None]:
    async with sessionmaker() as session:
        return dict((await session.execute(select(Deal.title, Deal.lost_reason))).all())


def _exported_reasons(path: Path, lang: str) -> list[Any]:
    book = openpyxl.load_workbook(path, read_only=True)
    sheet = book["Cơ hội" if lang == "vi" else "deals"]
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    column = rows[0].index("Lý do thua" if lang == "vi" else "lost_reason")
    return [row[column] for row in rows[1:]]


@pytest.mark.parametrize("lang", ["vi", "en"])
async def test_export_writes_a_listed_reason_by_its_name_in_the_workbooks_language_and_own_words_as_they_are(
        importer: Importer, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock, tmp_path: Path,
        lang: str) -> None:
    await importer(write_workbook(tmp_path / "book.xlsx", _book("price", OWN_WORDS)))

    await export_workbook(sessionmaker, tmp_path / "out.xlsx", lang=lang, tz=clock.now().tzinfo,
                          words=Texts(lang).words)

    assert _exported_reasons(tmp_path / "out.xlsx", lang) == [Texts(lang)("lost_reason.price"), OWN_WORDS]


@pytest.mark.parametrize("lang", ["vi", "en"])
async def test_an_exported_reason_imports_back_as_its_key(
        importer: Importer, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock, tmp_path: Path,
        lang: str) -> None:
    await importer(write_workbook(tmp_path / "book.xlsx", _book("price", "competitor", OWN_WORDS)))
    await export_workbook(sessionmaker, tmp_path / "out.xlsx", lang=lang, tz=clock.now().tzinfo,
                          words=Texts(lang).words)

    db, empty_home = await prepare_store(Settings(home=tmp_path / "new-home"), clock)
    try:
        report = await import_spreadsheet(empty_home, tmp_path / "out.xlsx", now=clock.now(),
                                          tz=clock.now().tzinfo, actor="test")
        moved = await _reasons(empty_home)
    finally:
        await db.dispose()

    assert report.errors == []
    assert moved == await _reasons(sessionmaker) == {"HP lô 0": "price", "HP lô 1": "competitor",
                                                     "HP lô 2": OWN_WORDS}
    again = await importer(tmp_path / "out.xlsx")  # the same home: the names read as the keys it holds
    assert again.updated.get("deals", 0) == 0


async def test_import_reads_a_reason_by_its_key_or_either_languages_name_typed_any_way(
        importer: Importer, sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path) -> None:
    report = await importer(write_workbook(tmp_path / "book.xlsx", _book(
        "price", "no_need", "GIA CAO", "Could not be reached", "chọn đối thủ")))

    assert report.errors == []
    assert await _reasons(sessionmaker) == {"HP lô 0": "price", "HP lô 1": "no_need", "HP lô 2": "price",
                                            "HP lô 3": "unreachable", "HP lô 4": "competitor"}


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_every_listed_reason_is_written_with_the_name_the_chat_shows(lang: str) -> None:
    keys = [r.key for r in lost_reasons()] + [CUSTOMER_ERASED]
    for key in keys:
        name = Texts(lang)(f"lost_reason.{key}")
        assert shown("lost_reasons", key, lang) == name
        assert lost_reason(name) == key
