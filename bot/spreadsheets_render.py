"""Spreadsheet reports in the user's language: one line per problem, the summary (a table in a terminal, a line
per sheet in a chat), a refused file."""

from __future__ import annotations

from babel.numbers import format_decimal

from bot.texts import Texts
from crm_core.errors import SpreadsheetRefused
from crm_core.spreadsheets import SHEETS, ImportReport, RowError, SheetCounts
from crm_core.spreadsheets.spec import spec_of

MAX_LISTED_ERRORS = 20
# A file with dozens of stray columns (a pivot, notes) would bury the report under one endless line.
MAX_LISTED_COLUMNS = 10
# Values the CRM kept because it changed them after the file was saved: a count and a few examples suffice.
MAX_LISTED_KEPT_NEWER = 3
KEPT_NEWER = "kept_newer"


def error_message(error: RowError, texts: Texts) -> str:
    """Return what is wrong with a row and what to do ("'abc' is not a number; write …"), and what became of it."""
    key = f"spreadsheet.error.{error.code}"
    params = {"column": error.column or "", **error.params}
    text = texts(key, **params) if texts.has(key) else error.code
    outcome = texts("spreadsheet.kept" if error.imported else "spreadsheet.left_out")
    return f"{text} ({outcome})"


def error_line(error: RowError, texts: Texts) -> str:
    """Return one problem with where it is: sheet, Excel row, column."""
    sheet = texts(f"spreadsheet.sheet.{error.sheet}")
    where = (texts("spreadsheet.where", sheet=sheet, row=error.row, column=error.column) if error.column
             else texts("spreadsheet.where_row", sheet=sheet, row=error.row))
    return f"{where}: {error_message(error, texts)}"


def summary_lines(report: ImportReport, texts: Texts, *, max_errors: int = MAX_LISTED_ERRORS) -> list[str]:
    """Return the terminal's summary: a table of created / updated / skipped / errors per sheet, then the problems."""
    lines = [*_table(report, texts), *detail_lines(report, texts, max_errors=max_errors)]
    if report.dry_run:
        lines.append(texts("spreadsheet.dry_run_note"))
    elif not report.changed and not report.errors:
        lines.append(texts("spreadsheet.nothing"))
    return lines


def chat_summary_lines(report: ImportReport, texts: Texts, *, max_errors: int = MAX_LISTED_ERRORS) -> list[str]:
    """Return the chat's summary: one line per sheet ("Công ty: 12 mới · 3 cập nhật · …"), then the problems.

    Not a table: a chat shows text in a proportional font, where columns padded with spaces do not line up.
    The trial run's next step is the chat's own to say (its buttons), not the terminal's --dry-run hint.
    """
    lines = [_counts_line(texts(f"spreadsheet.sheet.{counts.sheet}"), counts, texts) for counts in report.sheets()]
    if len(lines) > 1:
        lines.append(_counts_line(texts("spreadsheet.total"), _total(report), texts))
    lines.extend(detail_lines(report, texts, max_errors=max_errors))
    if not report.dry_run and not report.changed and not report.errors:
        lines.append(texts("spreadsheet.nothing"))
    return lines


def detail_lines(report: ImportReport, texts: Texts, *, max_errors: int = MAX_LISTED_ERRORS) -> list[str]:
    """Return what each update changes, what was left aside (unknown columns and sheets), the values the CRM keeps
    because they are newer, then the first problems, one per line."""
    lines = changes_lines(report, texts)
    if report.unknown_columns:
        named = [f"{texts(f'spreadsheet.sheet.{c.sheet}')}: {c.column}" for c in report.unknown_columns]
        lines.append(texts("spreadsheet.unknown_columns", columns=_capped(named, texts)))
    if report.unknown_sheets:
        lines.append(texts("spreadsheet.unknown_sheets", sheets=", ".join(report.unknown_sheets)))
    lines.extend(_kept_newer_lines(report, texts))
    problems = [e for e in report.errors if e.code != KEPT_NEWER]
    lines.extend(error_line(e, texts) for e in problems[:max_errors])
    if len(problems) > max_errors:
        lines.append(texts("spreadsheet.more_errors", count=len(problems) - max_errors))
    return lines


def changes_lines(report: ImportReport, texts: Texts) -> list[str]:
    """Return, per sheet, how many updated records change each column ("Cơ hội — thay đổi theo cột: Giai đoạn (2),
    Giá trị (1)"), columns in the sheet's order: an update never changes anything unseen."""
    lines = []
    for sheet in SHEETS:
        counts = report.changes.get(sheet)
        if not counts:
            continue
        order = [c.key for c in spec_of(sheet).columns]
        keys = sorted(counts, key=lambda k: (order.index(k) if k in order else len(order), k))
        columns = ", ".join(texts("spreadsheet.change_count", column=_header(sheet, key, texts), count=counts[key])
                            for key in keys)
        lines.append(texts("spreadsheet.changes", sheet=texts(f"spreadsheet.sheet.{sheet}"), columns=columns))
    return lines


def _header(sheet: str, key: str, texts: Texts) -> str:
    """Return the header of column `key` as the export writes it in the user's language."""
    column = next((c for c in spec_of(sheet).columns if c.key == key), None)
    return column.header(texts.language) if column else key


def _capped(names: list[str], texts: Texts) -> str:
    """Return the first names joined, then "và N cột khác" for the rest."""
    shown = ", ".join(names[:MAX_LISTED_COLUMNS])
    if len(names) <= MAX_LISTED_COLUMNS:
        return shown
    return f"{shown} {texts('spreadsheet.more_columns', count=len(names) - MAX_LISTED_COLUMNS)}"


def _kept_newer_lines(report: ImportReport, texts: Texts) -> list[str]:
    """Return how many values the CRM keeps over the file's older ones, and the first few of them."""
    kept = [e for e in report.errors if e.code == KEPT_NEWER]
    if not kept:
        return []
    lines = [texts("spreadsheet.kept_newer_count", count=len(kept))]
    lines.extend(f"  {error_line(e, texts)}" for e in kept[:MAX_LISTED_KEPT_NEWER])
    if len(kept) > MAX_LISTED_KEPT_NEWER:
        lines.append(f"  {texts('spreadsheet.more_kept_newer', count=len(kept) - MAX_LISTED_KEPT_NEWER)}")
    return lines


def _table(report: ImportReport, texts: Texts) -> list[str]:
    """Return the per-sheet counts as a table aligned with spaces (a terminal's fixed-width font)."""
    header = [texts(f"spreadsheet.col_{name}") for name in ("sheet", "created", "updated", "skipped", "errors")]
    table: list[list[str]] = [header]
    named = [(texts(f"spreadsheet.sheet.{c.sheet}"), c) for c in report.sheets()]
    for name, counts in [*named, (texts("spreadsheet.total"), _total(report))]:
        table.append([name, *(str(f) for f in (counts.created, counts.updated, counts.skipped, counts.errors))])
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    return ["  ".join([line[0].ljust(widths[0]), *(cell.rjust(w) for cell, w in zip(line[1:], widths[1:],
                                                                                   strict=True))])
            for line in table]


def _total(report: ImportReport) -> SheetCounts:
    sheets = report.sheets()
    return SheetCounts(sheet="", created=sum(c.created for c in sheets), updated=sum(c.updated for c in sheets),
                       skipped=sum(c.skipped for c in sheets), errors=sum(c.errors for c in sheets))


def _counts_line(name: str, counts: SheetCounts, texts: Texts) -> str:
    locale = "vi_VN" if texts.language == "vi" else "en_US"
    figures = {key: format_decimal(getattr(counts, key), locale=locale)
               for key in ("created", "updated", "skipped", "errors")}
    return texts("import_chat.sheet_counts", sheet=name, **figures)


def refusal_line(error: SpreadsheetRefused, texts: Texts) -> str:
    """Return why a whole file was refused and what to do, in one line."""
    key = f"spreadsheet.refused.{error.reason}"
    if not texts.has(key):
        return str(error)
    return texts(key, **{"file": "", **error.details})
