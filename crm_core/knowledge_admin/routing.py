"""Which sent spreadsheet is knowledge and which is a customer book to import.

A .csv/.xlsx whose header row has a question column and an answer column (question/answer, câu hỏi/trả lời —
the names the knowledge loader reads) is a FAQ table for the knowledge base; any other is the CRM importer's.
Only the first row of the first sheet is read (a few bytes), so the decision is cheap and made before either.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Literal

from crm_core.retrieval.loaders import _ANSWER_COLS as ANSWER_COLUMNS
from crm_core.retrieval.loaders import _QUESTION_COLS as QUESTION_COLUMNS
from crm_core.retrieval.loaders import _check_unzipped_size as check_unzipped_size
from crm_core.textnorm import nfc

SpreadsheetUse = Literal["knowledge", "crm_import"]
_HEAD_BYTES = 64 * 1024


def spreadsheet_use(path: Path) -> SpreadsheetUse:
    """Tell whether a .csv/.xlsx is a FAQ table (knowledge) or a customer book (CRM import)."""
    return "knowledge" if is_faq_header(first_row(path)) else "crm_import"


def is_faq_header(header: list[str]) -> bool:
    """Tell whether a header row names a question column and an answer column."""
    names = {nfc(cell).strip().casefold() for cell in header}
    return bool(names & QUESTION_COLUMNS) and bool(names & ANSWER_COLUMNS)


def first_row(path: Path) -> list[str]:
    """Return the first row of a .csv or of the first sheet of an .xlsx; [] when it cannot be read."""
    if path.suffix.lower() == ".csv":
        return _csv_first_row(path)
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        return _xlsx_first_row(path)
    return []


def _csv_first_row(path: Path) -> list[str]:
    try:
        with path.open("rb") as handle:
            head = handle.read(_HEAD_BYTES)
    except OSError:
        return []
    text = head.decode("utf-8-sig", errors="replace")
    line = text.splitlines()[0] if text.strip() else ""
    try:
        dialect = csv.Sniffer().sniff(line, delimiters=",;\t") if line else csv.excel()
    except csv.Error:
        dialect = csv.excel()
    return next(csv.reader(io.StringIO(line), dialect), [])


def _xlsx_first_row(path: Path) -> list[str]:
    import openpyxl

    try:
        check_unzipped_size(path, path.name)  # a zip bomb is refused by whoever reads it next, not opened here
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception:
        return []  # the importer says what is wrong with it
    try:
        if not book.worksheets:
            return []
        for row in book.worksheets[0].iter_rows(max_row=1, values_only=True):
            return [str(cell) for cell in row if cell is not None]
        return []
    finally:
        book.close()
