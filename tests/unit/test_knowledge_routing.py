"""Which sent spreadsheet is knowledge (question/answer columns) and which is a customer book to import; how the
questions the knowledge base missed are grouped; the gap answers' FAQ table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import openpyxl
import pytest

from crm_core.knowledge_admin.gaps import GapQuestion, answered_questions, faq_rows, group_questions, with_answer
from crm_core.knowledge_admin.routing import is_faq_header, spreadsheet_use


@pytest.mark.parametrize(("header", "faq"), [
    (["Câu hỏi", "Trả lời"], True),
    (["question", "answer", "variants"], True),
    ([" CÂU HỎI ", "Câu trả lời"], True),
    (["Tên công ty", "Ngành"], False),
    (["Câu hỏi", "Ghi chú"], False),
    ([], False),
])
def test_a_header_with_question_and_answer_columns_is_a_faq(header: list[str], faq: bool) -> None:
    assert is_faq_header(header) is faq


def test_a_faq_csv_is_knowledge_and_a_customer_book_is_an_import(tmp_path: Path) -> None:
    faq = tmp_path / "faq.csv"
    faq.write_text("Câu hỏi;Trả lời\nBảo hành bao lâu?;12 tháng\n", encoding="utf-8")
    book = tmp_path / "khach.csv"
    book.write_text("Tên công ty,Ngành\nHòa Phát,Thép\n", encoding="utf-8")

    assert spreadsheet_use(faq) == "knowledge"
    assert spreadsheet_use(book) == "crm_import"


def test_a_faq_workbook_is_knowledge_and_a_broken_one_goes_to_the_importer(tmp_path: Path) -> None:
    path = tmp_path / "faq.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Question", "Answer"])
    sheet.append(["Opening hours?", "8-17"])
    book.save(path)
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"not a zip")

    assert spreadsheet_use(path) == "knowledge"
    assert spreadsheet_use(broken) == "crm_import"


NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)


def _q(i: int, text: str, hours_ago: int = 1) -> GapQuestion:
    return GapQuestion(id=i, text=text, asked_at=NOW - timedelta(hours=hours_ago), why="low_confidence")


def test_similar_questions_are_grouped_biggest_first_with_the_newest_as_example() -> None:
    groups = group_questions([
        _q(1, "Shop có giao hàng ra Đà Nẵng không?", 5),
        _q(2, "có giao hàng đà nẵng ko shop", 3),
        _q(3, "Cửa hàng có xuất hóa đơn VAT không?", 4),
        _q(4, "giao hang da nang khong", 1),
    ])

    assert [(g.count, g.key) for g in groups] == [(3, 4), (1, 3)]
    assert groups[0].example == "giao hang da nang khong"
    assert len(groups[0].questions) == 3


def test_a_gap_answer_becomes_a_faq_row_with_the_groups_questions_as_variants() -> None:
    table = with_answer("", "giao hang da nang khong", "Có, 2-3 ngày.", ["giao hang da nang khong", "có giao ĐN?"])
    table = with_answer(table, "Xuất hóa đơn VAT?", "Có.", [])

    assert faq_rows(table) == [("giao hang da nang khong", "Có, 2-3 ngày.", "có giao ĐN?"),
                               ("Xuất hóa đơn VAT?", "Có.", "")]
    assert {"giao hang da nang khong", "co giao dn?", "xuat hoa don vat?"} <= answered_questions(table)
