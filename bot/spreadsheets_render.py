"""Spreadsheet reports in the user's language: one line per problem, the summary table, a refused file."""

from __future__ import annotations

from bot.texts import Texts
from crm_core.errors import SpreadsheetRefused
from crm_core.spreadsheets import ImportReport, RowError

MAX_LISTED_ERRORS = 20


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
    """Return the summary: created / updated / skipped / errors per sheet, then the first problems."""
    header = [texts(f"spreadsheet.col_{name}") for name in ("sheet", "created", "updated", "skipped", "errors")]
    table: list[list[str]] = [header]
    totals = [0, 0, 0, 0]
    for counts in report.sheets():
        figures = (counts.created, counts.updated, counts.skipped, counts.errors)
        totals = [a + b for a, b in zip(totals, figures, strict=True)]
        table.append([texts(f"spreadsheet.sheet.{counts.sheet}"), *(str(f) for f in figures)])
    table.append([texts("spreadsheet.total"), *(str(t) for t in totals)])
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    lines = ["  ".join([line[0].ljust(widths[0]), *(cell.rjust(w) for cell, w in zip(line[1:], widths[1:],
                                                                                   strict=True))])
             for line in table]
    if report.unknown_columns:
        columns = ", ".join(f"{texts(f'spreadsheet.sheet.{c.sheet}')}: {c.column}" for c in report.unknown_columns)
        lines.append(texts("spreadsheet.unknown_columns", columns=columns))
    if report.unknown_sheets:
        lines.append(texts("spreadsheet.unknown_sheets", sheets=", ".join(report.unknown_sheets)))
    lines.extend(error_line(e, texts) for e in report.errors[:max_errors])
    if len(report.errors) > max_errors:
        lines.append(texts("spreadsheet.more_errors", count=len(report.errors) - max_errors))
    if report.dry_run:
        lines.append(texts("spreadsheet.dry_run_note"))
    elif not report.changed and not report.errors:
        lines.append(texts("spreadsheet.nothing"))
    return lines


def refusal_line(error: SpreadsheetRefused, texts: Texts) -> str:
    """Return why a whole file was refused and what to do, in one line."""
    key = f"spreadsheet.refused.{error.reason}"
    if not texts.has(key):
        return str(error)
    return texts(key, **{"file": "", **error.details})
