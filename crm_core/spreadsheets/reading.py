"""Open a workbook, a CSV file or a folder of CSV files as sheets of rows, streamed; refuse what cannot be read.

A workbook is read with openpyxl in read-only mode (rows are parsed as they are iterated, so a 100,000-row
file never sits in memory). It is opened twice, streamed in step: with its formulas (`data_only=False`) to know
which cells hold one, and with the values Excel saved with them (`data_only=True`), which is what its user sees:
a formula cell ("Thành tiền = SL × Đơn giá") reads as its saved value. One whose saved value is an Excel error
("#REF!", "#NAME?"...) or that has none (a program wrote the file without computing it) shows the user no value:
it is read as a `Formula`, which the importer reports and leaves out. So is a CSV cell that starts with "=" (a
CSV saves no values, and Excel runs it as a formula when it opens the file).
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from crm_core.archives import ArchiveTooLarge, ArchiveUnreadable, check_archive
from crm_core.errors import SpreadsheetRefused
from crm_core.spreadsheets.spec import SheetSpec, is_ambiguous_name, sheet_by_headers, sheet_named, sheet_specs

MAX_BYTES = 20 * 1024 * 1024
# A workbook's XML compresses about 15 to 1, so a 20 MB file may hold some 300 MB of it; past these it is a zip
# bomb. Excel keeps at most 32,767 characters in a cell (under 200 KB as escaped UTF-8): a longer text is too.
MAX_UNZIPPED_MEMBER_BYTES = 300 * 1024 * 1024
MAX_UNZIPPED_BYTES = 500 * 1024 * 1024
MAX_TEXT_RUN_BYTES = 1024 * 1024
WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")
CSV_SUFFIXES = (".csv", ".txt")
# Where the header row is looked for: a title line or a merged banner may sit above it.
HEADER_SEARCH_ROWS = 10
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTED_MARK = "EncryptedPackage".encode("utf-16-le")

Row = tuple[Any, ...]
# Excel's error values: a formula that saved one of these shows an error, not a value (openpyxl reads them as
# text, typed "e" when the file marks them as errors, as Excel does).
EXCEL_ERRORS = frozenset({"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#GETTING_DATA",
                          "#SPILL!", "#CALC!", "#FIELD!", "#BLOCKED!", "#UNKNOWN!", "#CONNECT!", "#BUSY!",
                          "#PYTHON!", "#EXTERNAL!"})


@dataclass(frozen=True)
class Formula:
    """A cell holding a formula and no value to show (an error or none saved): reported by the importer, never
    stored."""

    text: str


@dataclass
class SheetData:
    """One sheet of the file: which sheet of the format it is, its headers as written, its rows."""

    spec: SheetSpec
    title: str
    header_row: int
    headers: list[str]
    keys: list[str | None]
    estimate: int
    _rows: Any = field(repr=False)

    def rows(self) -> Iterator[tuple[int, dict[str, Any]]]:
        """Yield (Excel row number, {column key: value}) for each row under the header that is not blank."""
        for number, values in self._rows():
            cells: dict[str, Any] = {}
            for i, key in enumerate(self.keys):
                if key is None or i >= len(values) or _blank(values[i]):
                    continue
                if key in cells:  # a header merged over several columns: its cells read as one, in order
                    formulas = [v for v in (cells[key], values[i]) if isinstance(v, Formula)]
                    cells[key] = formulas[0] if formulas else f"{cells[key]}, {values[i]}"
                else:
                    cells[key] = values[i]
            if cells:
                yield number, cells

    @property
    def unknown_headers(self) -> list[str]:
        """Return the headers the format does not know."""
        return [h for h, k in zip(self.headers, self.keys, strict=False) if k is None and h]


@dataclass
class Workbook:
    """The sheets of a file in import order, and the tabs that are none of them."""

    sheets: list[SheetData]
    unknown_sheets: list[str]
    closers: list[Any] = field(default_factory=list)
    # When the workbook was last saved (Excel writes it; a CSV says nothing): a CRM change after it is newer.
    saved_at: datetime | None = None

    @property
    def estimate(self) -> int:
        """Return about how many rows there are (for a progress bar)."""
        return sum(s.estimate for s in self.sheets)

    def close(self) -> None:
        """Release the open files."""
        for closer in self.closers:
            closer()


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def open_spreadsheet(path: Path) -> Workbook:
    """Open `path` (.xlsx, .csv, or a folder of .csv); raise SpreadsheetRefused for what cannot be imported."""
    if not path.exists():
        raise SpreadsheetRefused(f"no such file or folder: {path}", reason="not_found", file=str(path))
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in (*CSV_SUFFIXES, *WORKBOOK_SUFFIXES))
        if not files:
            raise SpreadsheetRefused(f"{path.name}: the folder holds no .csv or .xlsx file", reason="empty",
                                     file=path.name)
        parts = [_open_file(p) for p in files]
        saved = [p.saved_at for p in parts if p.saved_at is not None]
        book = Workbook(sheets=[s for p in parts for s in p.sheets],
                        unknown_sheets=[u for p in parts for u in p.unknown_sheets],
                        closers=[c for p in parts for c in p.closers], saved_at=min(saved, default=None))
    else:
        book = _open_file(path)
    book.sheets.sort(key=lambda s: [spec.key for spec in sheet_specs()].index(s.spec.key))
    _refuse_without_rows(book, path)
    return book


def _open_file(path: Path) -> Workbook:
    suffix = path.suffix.lower()
    size = path.stat().st_size
    if suffix == ".xls":
        raise SpreadsheetRefused(f"{path.name}: an old Excel file (.xls); open it in Excel and save it as .xlsx",
                                 reason="old_excel", file=path.name)
    if suffix not in (*WORKBOOK_SUFFIXES, *CSV_SUFFIXES):
        raise SpreadsheetRefused(f"{path.name}: not a spreadsheet; send an .xlsx or .csv file",
                                 reason="unsupported", file=path.name)
    if size > MAX_BYTES:
        raise SpreadsheetRefused(f"{path.name}: {size / 1024 / 1024:.1f} MB is over the 20 MB limit; "
                                 "split it into several files", reason="too_large", file=path.name,
                                 size_mb=round(size / 1024 / 1024, 1), limit_mb=20)
    if size == 0:
        raise SpreadsheetRefused(f"{path.name}: the file is empty", reason="empty", file=path.name)
    if suffix in CSV_SUFFIXES:
        return _open_csv(path)
    return _open_workbook(path)


# ---------------------------------------------------------------- workbooks


def _open_workbook(path: Path) -> Workbook:
    with path.open("rb") as handle:
        head = handle.read(8)
    if head == _OLE_MAGIC:
        if _ENCRYPTED_MARK in path.read_bytes():
            raise SpreadsheetRefused(f"{path.name}: the workbook is password-protected; remove the password "
                                     "(File > Info > Protect Workbook) and send it again", reason="encrypted",
                                     file=path.name)
        raise SpreadsheetRefused(f"{path.name}: an old Excel file (.xls) named .xlsx; save it as .xlsx",
                                 reason="old_excel", file=path.name)
    if not zipfile.is_zipfile(path):
        raise _corrupt(path)
    _refuse_a_bomb(path)
    import openpyxl

    closers: list[Any] = []
    sheets, unknown = [], []
    try:  # openpyxl raises KeyError, BadZipFile, InvalidFileException, XML errors...
        formulas = openpyxl.load_workbook(path, read_only=True, data_only=False)  # which cells are formulas
        closers.append(formulas.close)
        values = openpyxl.load_workbook(path, read_only=True, data_only=True)  # the values saved with them
        closers.append(values.close)
        for worksheet, shown in zip(formulas.worksheets, values.worksheets, strict=True):
            found = _workbook_sheet(worksheet, shown)
            if found is not None:
                sheets.append(found)
            elif shown.max_row not in (None, 0, 1) or _first_rows(shown):
                unknown.append(shown.title)
    except Exception as error:
        for close in closers:
            close()
        raise _corrupt(path) from error
    return Workbook(sheets=sheets, unknown_sheets=unknown, closers=closers, saved_at=_saved_at(values))


def _saved_at(book: Any) -> datetime | None:
    modified = getattr(book.properties, "modified", None)
    if not isinstance(modified, datetime):
        return None
    return modified if modified.tzinfo is not None else modified.replace(tzinfo=UTC)  # the file keeps UTC


def _refuse_a_bomb(path: Path) -> None:
    """Stream the archive once before openpyxl reads it: openpyxl trusts the sizes it declares and holds a whole
    cell (and the shared strings) in memory, so a 2 MB file could unzip to gigabytes in one cell."""
    try:
        check_archive(path, member_limit=MAX_UNZIPPED_MEMBER_BYTES, total_limit=MAX_UNZIPPED_BYTES,
                      text_run_limit=MAX_TEXT_RUN_BYTES)
    except ArchiveTooLarge as error:
        raise SpreadsheetRefused(f"{path.name}: {error}; not a spreadsheet Excel writes", reason="corrupt",
                                 file=path.name, unzipped_limit_mb=error.limit // (1024 * 1024)) from error
    except ArchiveUnreadable as error:
        raise _corrupt(path) from error


def _corrupt(path: Path) -> SpreadsheetRefused:
    return SpreadsheetRefused(f"{path.name}: the file is damaged or not really a spreadsheet; open it in Excel, "
                              "save it again as .xlsx and resend", reason="corrupt", file=path.name)


def _first_rows(worksheet: Any) -> list[Row]:
    return [r for r in worksheet.iter_rows(min_row=1, max_row=HEADER_SEARCH_ROWS, values_only=True)
            if any(not _blank(v) for v in r)]


def _workbook_sheet(worksheet: Any, shown: Any) -> SheetData | None:
    """Read one sheet from the workbook opened with formulas (`worksheet`) and with saved values (`shown`)."""
    top = list(shown.iter_rows(min_row=1, max_row=HEADER_SEARCH_ROWS, values_only=True))
    found = _header(shown.title, top)
    if found is None:
        return None
    spec, index, headers = found
    header_row = index + 1
    total = worksheet.max_row or 0

    def rows() -> Iterator[tuple[int, Row]]:
        # The same sheet XML read twice: its rows and cells pair up one to one.
        pairs = zip(worksheet.iter_rows(min_row=header_row + 1), shown.iter_rows(min_row=header_row + 1),
                    strict=True)
        for number, (cells, saved) in enumerate(pairs, start=header_row + 1):
            yield number, tuple(_value(c, s) for c, s in zip(cells, saved, strict=True))

    return _sheet(spec, shown.title, header_row, headers, max(total - header_row, 0), rows)


def _value(cell: Any, saved: Any) -> Any:
    """Return what the user sees in a cell: its value, a formula's saved value, or a `Formula` when that is an
    error or was never saved."""
    if getattr(cell, "data_type", None) != "f":
        return saved.value
    if saved.value is None or getattr(saved, "data_type", None) == "e" or saved.value in EXCEL_ERRORS:
        return Formula(str(getattr(cell.value, "text", cell.value)))  # an array formula keeps its text inside
    return saved.value


def _header(title: str, top: list[Row]) -> tuple[SheetSpec, int, list[str]] | None:
    """Find the header row among the first rows: the one naming most columns of the sheet (known by its title,
    else guessed from the headers)."""
    named = sheet_named(title)
    ambiguous = is_ambiguous_name(title)
    best: tuple[int, SheetSpec, int, list[str]] | None = None
    for index, values in enumerate(top):
        headers = ["" if _blank(v) else " ".join(str(v).split()) for v in values]
        spec = (sheet_by_headers(headers) or named) if ambiguous else (named or sheet_by_headers(headers))
        if spec is None:
            continue
        keys = [spec.column_of(h) if h else None for h in headers]
        score = sum(k is not None for k in keys)
        if spec.required.key in keys and (best is None or score > best[0]):
            best = (score, spec, index, headers)
    if best is None:
        return None
    return best[1], best[2], best[3]


def _sheet(spec: SheetSpec, title: str, header_row: int, headers: list[str], estimate: int, rows: Any) -> SheetData:
    keys: list[str | None] = []
    last_named = max((i for i, h in enumerate(headers) if h), default=-1)
    for index, header in enumerate(headers):
        if not header and keys and keys[-1] is not None and index < last_named:
            # A gap in the header row right after a named column: that header cell was merged over this one too.
            keys.append(keys[-1])
            continue
        key = spec.column_of(header) if header else None
        keys.append(None if key in keys else key)  # a column named twice: the first one counts
    return SheetData(spec=spec, title=title, header_row=header_row, headers=headers, keys=keys, estimate=estimate,
                     _rows=rows)


# ---------------------------------------------------------------- CSV


def _open_csv(path: Path) -> Workbook:
    # csv's default cap is 128 KB a cell and raises past it; the file is at most MAX_BYTES, so no cell can pass
    # this one, and the importer reports the cells too long for the CRM row by row.
    csv.field_size_limit(max(csv.field_size_limit(), MAX_BYTES + 1))
    content = _decode(path.read_bytes())
    sample = content[:8192]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    top = []
    reader = csv.reader(io.StringIO(content), dialect)
    for values in reader:
        top.append(tuple(values))
        if len(top) >= HEADER_SEARCH_ROWS:
            break
    found = _header(path.stem, top)
    if found is None:
        if any(any(not _blank(v) for v in r) for r in top):
            return Workbook(sheets=[], unknown_sheets=[path.name])
        raise SpreadsheetRefused(f"{path.name}: the file is empty", reason="empty", file=path.name)
    spec, index, headers = found
    header_row = index + 1

    def rows() -> Iterator[tuple[int, Row]]:
        # Each record is one row as Excel shows the file, even when a quoted cell spans several lines.
        records = csv.reader(io.StringIO(content), dialect)
        for number, values in enumerate(records, start=1):
            if number > header_row:
                yield number, tuple(Formula(v) if v.startswith("=") and len(v) > 1 else v for v in values)

    return Workbook(sheets=[_sheet(spec, path.name, header_row, headers, content.count("\n") - header_row, rows)],
                    unknown_sheets=[])


def _decode(raw: bytes) -> str:
    """UTF-8 with or without a BOM, UTF-16 (Excel's "Unicode text"), else the best guess (Windows-1258...)."""
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8", errors="replace")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        from charset_normalizer import from_bytes

        best = from_bytes(raw).best()
        return str(best) if best is not None else raw.decode("utf-8", errors="replace")


# ---------------------------------------------------------------- whole-file checks


def _refuse_without_rows(book: Workbook, path: Path) -> None:
    if not book.sheets:
        book.close()
        names = ", ".join(spec.key for spec in sheet_specs())
        raise SpreadsheetRefused(f"{path.name}: no sheet of the format ({names}) with a header row was found; "
                                 "see `chatcrm export --template`", reason="empty", file=path.name)
    if not any(next(sheet.rows(), None) is not None for sheet in book.sheets):
        book.close()
        raise SpreadsheetRefused(f"{path.name}: the sheets have headers but no rows; fill at least one row",
                                 reason="headers_only", file=path.name)

