"""An export taken after a customer's erasure, imported again: rows about her are left out, never created again, and
the words standing for erased text read back as the stored marker (re-check after issue 11's erasure work)."""

from __future__ import annotations

from pathlib import Path

import yaml
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm_core.markers import ERASED
from crm_core.models import Contact, Interaction
from crm_core.spreadsheets.values import _values
from tests.core.spreadsheets.conftest import Importer, counts, write_workbook

TEXTS = Path(__file__).resolve().parents[3] / "bot" / "texts"

INTERACTIONS = ["Thời gian", "Loại", "Người liên hệ", "Công ty", "Cơ hội", "Phụ trách", "Nội dung"]
TASKS = ["Việc", "Hạn", "Phụ trách", "Cơ hội", "Người liên hệ", "Xong"]


def test_the_erased_words_import_reads_are_the_ones_the_chat_and_export_write() -> None:
    for lang in ("vi", "en"):
        privacy = yaml.safe_load((TEXTS / f"{lang}.yaml").read_text(encoding="utf-8"))["privacy"]
        assert _values()["erased"][lang] == {part: privacy[f"erased_{part}"]
                                              for part in ("name", "company", "text", "inline")}


async def test_rows_about_an_erased_customer_are_left_out_and_reported(
        importer: Importer, sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path) -> None:
    report = await importer(write_workbook(tmp_path / "sau-khi-xoa.xlsx", {
        "Tương tác": [INTERACTIONS,
                      ["20/11/2026 14:30", "gọi", "(khách đã xóa dữ liệu, liên hệ #124)", None, None, None,
                       "(nội dung đã xóa theo yêu cầu của khách)"],
                      ["20/11/2026 15:00", "Tin nhắn", "Trần Thu", None, None, None,
                       "(erased at the customer's request)"]],
        "Công việc": [TASKS, ["Gọi lại khách", "27/11/2026 09:00", None, None,
                              "(customer data erased, contact #7)", "x"]],
    }))

    assert not report.created
    assert [(e.row, e.code) for e in report.errors] == [(2, "erased_customer"), (3, "erased_customer"),
                                                          (2, "erased_customer")]
    assert await counts(sessionmaker) == {"users": 0, "companies": 0, "contacts": 0, "deals": 0, "interactions": 0,
                                          "tasks": 0}


async def test_erased_words_inside_a_text_match_the_stored_marker(
        importer: Importer, sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path) -> None:
    row = ["21/11/2026 09:00", "Ghi chú", "Trần Thu", None, None, None, "Khách giới thiệu chị (đã xóa), sđt (đã xóa)"]
    first = await importer(write_workbook(tmp_path / "a.xlsx", {"Tương tác": [INTERACTIONS, row]}))
    again = await importer(write_workbook(tmp_path / "b.xlsx", {"Tương tác": [INTERACTIONS, row]}))

    assert first.created == {"contacts": 1, "interactions": 1}
    assert not again.created
    async with sessionmaker() as session:
        summaries = (await session.scalars(select(Interaction.summary))).all()
        names = (await session.scalars(select(Contact.name))).all()
    assert summaries == [f"Khách giới thiệu chị {ERASED}, sđt {ERASED}"]
    assert names == ["Trần Thu"]
