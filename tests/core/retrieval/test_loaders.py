"""Reading knowledge files into units: markdown sections, FAQ tables (csv/xlsx), text, Word documents."""

from __future__ import annotations

from pathlib import Path

import docx
import openpyxl
import pytest

from crm_core.retrieval.errors import CorruptFile, EmptyFile, MissingColumns, UnsupportedType
from crm_core.retrieval.loaders import load_file, markdown_units
from tests.core.retrieval.conftest import WARRANTY_MD
from tests.support.pdf import one_page_pdf


def test_markdown_gives_one_unit_per_heading_section_with_breadcrumbs() -> None:
    units = markdown_units(WARRANTY_MD, "policies/warranty.md")
    assert [(u.section, u.title) for u in units] == [
        ("Chính sách bảo hành", "Chính sách bảo hành"),
        ("Thời hạn bảo hành", "Chính sách bảo hành › Thời hạn bảo hành"),
        ("Trường hợp không được bảo hành", "Chính sách bảo hành › Điều kiện bảo hành › Trường hợp không được bảo hành"),
    ]
    assert all(u.doc == "policies/warranty.md" for u in units)


def test_markdown_ignores_hashes_inside_code_fences() -> None:
    units = markdown_units("# T\n\n## Real\n```\n## not a heading\n```\ntext\n", "a.md")
    assert [u.section for u in units] == ["Real"]


def test_markdown_without_title_uses_the_file_name() -> None:
    units = markdown_units("## Giờ mở cửa\n8:00-17:30\n", "company/opening_hours.md")
    assert units[0].title == "Opening hours › Giờ mở cửa"


def test_csv_rows_become_units_named_by_question(tmp_path: Path) -> None:
    path = tmp_path / "faq.csv"
    path.write_text(
        'question,answer,variants\n"Có trả góp không?","Có, 0%.","trả góp được ko|installment?"\n', encoding="utf-8"
    )
    [unit] = load_file(path, "faq.csv")
    assert (unit.section, unit.title, unit.text) == ("Có trả góp không?", "Faq › Có trả góp không?", "Có, 0%.")
    assert unit.variants == ("trả góp được ko", "installment?")


def test_xlsx_rows_become_units(tmp_path: Path) -> None:
    path = tmp_path / "hoi-dap.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Question", "Answer"])
    sheet.append(["Showroom ở đâu?", "268 Cộng Hòa, TP.HCM"])
    book.save(path)
    [unit] = load_file(path, "hoi-dap.xlsx")
    assert (unit.section, unit.text) == ("Showroom ở đâu?", "268 Cộng Hòa, TP.HCM")


def test_xlsx_that_is_not_a_workbook_is_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "faq.xlsx"
    path.write_bytes(b"PK\x03\x04 broken")
    with pytest.raises(CorruptFile):
        load_file(path, "faq.xlsx")


def test_docx_headings_become_sections(tmp_path: Path) -> None:
    path = tmp_path / "quy-dinh.docx"
    document = docx.Document()
    document.add_heading("Quy định đổi trả", level=0)
    document.add_heading("Thời hạn đổi trả", level=1)
    document.add_paragraph("Đổi trả trong 7 ngày kể từ ngày nhận hàng.")
    document.save(str(path))
    [unit] = load_file(path, "quy-dinh.docx")
    assert (unit.section, unit.title) == ("Thời hạn đổi trả", "Quy định đổi trả › Thời hạn đổi trả")
    assert "7 ngày" in unit.text


def test_txt_is_split_into_paragraph_chunks(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text(("Đoạn một. " * 60) + "\n\n" + ("Đoạn hai. " * 60), encoding="utf-8")
    units = load_file(path, "notes.txt")
    assert len(units) == 2
    assert units[1].text.startswith("Đoạn hai")


def test_table_without_answer_column_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "faq.csv"
    path.write_text("question,note\nA?,B\n", encoding="utf-8")
    with pytest.raises(MissingColumns):
        load_file(path, "faq.csv")


def test_whitespace_only_file_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "blank.md"
    path.write_text("\n\n   \n", encoding="utf-8")
    with pytest.raises(EmptyFile):
        load_file(path, "blank.md")


def test_unknown_extension_is_unsupported(tmp_path: Path) -> None:
    path = tmp_path / "slides.pptx"
    path.write_bytes(b"x")
    with pytest.raises(UnsupportedType) as info:
        load_file(path, "slides.pptx")
    assert info.value.code == "unsupported_type"


def _pdf_with_text(text: str) -> bytes:
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode("latin-1")
    return one_page_pdf(stream)


def test_pdf_text_becomes_units(tmp_path: Path) -> None:
    path = tmp_path / "catalogue.pdf"
    path.write_bytes(_pdf_with_text("Warranty is 24 months for AP-C300 chairs."))
    units = load_file(path, "catalogue.pdf")
    assert [u.text for u in units] == ["Warranty is 24 months for AP-C300 chairs."]
    assert units[0].title.startswith("Catalogue › ")
