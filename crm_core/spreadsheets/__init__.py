"""Spreadsheets in and out: import a business's customer book (.xlsx, .csv, a folder of .csv), export it back.

The format is docs/interfaces.md's "The spreadsheet format"; its sheets, columns and header names are data
(data/sheets.yaml), the values people type (yes/có/x, Quản lý, Thắng...) too (data/values.yaml).
"""

from __future__ import annotations

from crm_core.errors import SpreadsheetRefused
from crm_core.spreadsheets.exporter import export_workbook, write_template
from crm_core.spreadsheets.importer import import_spreadsheet
from crm_core.spreadsheets.reading import MAX_BYTES
from crm_core.spreadsheets.report import ExportReport, ImportReport, RowError, SheetCounts, UnknownColumn
from crm_core.spreadsheets.spec import SHEETS
from crm_core.spreadsheets.worker import export_in_worker, import_in_worker

__all__ = [
    "MAX_BYTES",
    "SHEETS",
    "ExportReport",
    "ImportReport",
    "RowError",
    "SheetCounts",
    "SpreadsheetRefused",
    "UnknownColumn",
    "export_in_worker",
    "export_workbook",
    "import_in_worker",
    "import_spreadsheet",
    "write_template",
]
