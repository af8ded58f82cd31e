"""Source titles customers and admins see (issue 15 review, item 13): a PDF's heading alone (by its larger type,
else a short first line), never the heading run into the body and cut; a plain text titled by its first line as
typed (with its accents), a spreadsheet by its sheet's own name, else by the file name."""

from __future__ import annotations

from pathlib import Path

import openpyxl

from crm_core.retrieval.loaders import load_file
from tests.support.pdf import one_page_pdf


def _pdf(lines: list[tuple[int, str]]) -> bytes:
    """A one-page PDF with a line per (font size, text), top down."""
    y, parts = 720, []
    for size, text in lines:
        parts.append(f"BT /F1 {size} Tf 72 {y} Td ({text}) Tj ET")
        y -= size + 8
    stream = " ".join(parts).encode("latin-1")
    return one_page_pdf(stream)


BODY = [(11, "Customers may change the seat fabric colour free of charge within 7 days after"),
        (11, "delivery, if the chair is unused. After 7 days the fee is 250,000 VND per chair.")]


def test_a_pdf_heading_in_larger_type_is_the_title_alone_not_run_into_its_body(tmp_path: Path) -> None:
    path = tmp_path / "doi-mau-vai.pdf"
    path.write_bytes(_pdf([(16, "Fabric colour change policy"), *BODY]))

    [unit] = load_file(path, "doi-mau-vai.pdf")

    assert unit.title == unit.section == "Fabric colour change policy"
    assert unit.text.startswith("Fabric colour change policy\n\nCustomers may change")


def test_each_pdf_heading_starts_its_own_part_and_a_long_part_keeps_its_heading(tmp_path: Path) -> None:
    path = tmp_path / "policy.pdf"
    filler = [(11, "More words about the fabric and how it is changed by the store staff at the home.")] * 10
    path.write_bytes(_pdf([(16, "Fabric colour change policy"), *BODY, *filler, (14, "Fees outside the city"),
                           (11, "Outside the city a visit costs 150,000 VND.")]))

    units = load_file(path, "policy.pdf")

    assert [u.section for u in units] == ["Fabric colour change policy", "Fabric colour change policy (2)",
                                          "Fees outside the city"]
    assert [u.title for u in units] == ["Fabric colour change policy", "Fabric colour change policy",
                                        "Fabric colour change policy › Fees outside the city"]
    assert units[2].text == "Fees outside the city\n\nOutside the city a visit costs 150,000 VND."


def test_a_pdf_in_one_size_takes_its_short_first_line_as_the_heading(tmp_path: Path) -> None:
    path = tmp_path / "doi-mau-vai.pdf"
    path.write_bytes(_pdf([(11, "Fabric colour change policy"), *BODY]))

    [unit] = load_file(path, "doi-mau-vai.pdf")

    assert unit.title == "Fabric colour change policy"


def test_a_text_file_is_titled_by_its_first_line_with_its_accents(tmp_path: Path) -> None:
    path = tmp_path / "gio-lam-viec.txt"
    path.write_text("Giờ mở cửa showroom An Phát\nTừ tháng 1/2027, showroom Quận 7 mở cửa từ 9 giờ đến 21 giờ.\n",
                    encoding="utf-8")

    [unit] = load_file(path, "gio-lam-viec.txt")

    assert unit.title == "Giờ mở cửa showroom An Phát"


def test_a_text_file_opening_with_a_sentence_is_titled_by_its_name(tmp_path: Path) -> None:
    path = tmp_path / "gio-lam-viec.txt"
    path.write_text("Showroom Quận 7 mở cửa từ 9 giờ đến 21 giờ, nghỉ thứ Hai.\nHà Nội mở cửa từ 8 giờ.\n",
                    encoding="utf-8")

    [unit] = load_file(path, "gio-lam-viec.txt")

    assert unit.title.startswith("Gio lam viec › ")


def _faq_book(path: Path, sheet: str) -> None:
    book = openpyxl.Workbook()
    ws = book.active
    assert ws is not None
    ws.title = sheet
    ws.append(["Câu hỏi", "Trả lời"])
    ws.append(["Có xuất hóa đơn VAT không?", "Dạ có, xuất hóa đơn VAT cho mọi đơn."])
    book.save(path)


def test_a_spreadsheet_is_titled_by_its_sheets_own_name_else_by_the_file_name(tmp_path: Path) -> None:
    named, default = tmp_path / "faq-ban-hang.xlsx", tmp_path / "faq-khac.xlsx"
    _faq_book(named, "Hỏi đáp bán hàng")
    _faq_book(default, "Sheet1")

    [titled] = load_file(named, "faq-ban-hang.xlsx")
    [untitled] = load_file(default, "faq-khac.xlsx")

    assert titled.title == "Hỏi đáp bán hàng › Có xuất hóa đơn VAT không?"
    assert untitled.title == "Faq khac › Có xuất hóa đơn VAT không?"
