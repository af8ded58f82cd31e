"""What an import did (or, dry, would do) and what an export wrote: typed results the chat and the CLI render."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, Field

from crm_core.spreadsheets.spec import SHEETS


class RowError(BaseModel):
    """One problem in the file: the sheet, the row as Excel numbers it, the column as written, what is wrong.

    `code` is a text key (`spreadsheet.error.<code>`), `params` fill its message. `imported` tells whether the
    row still went in (without that cell's value) or was left out.
    """

    sheet: str
    row: int | None = None
    column: str | None = None
    code: str
    params: dict[str, Any] = Field(default_factory=dict)
    imported: bool = False


class UnknownColumn(BaseModel):
    """A header the format does not know, reported once and ignored."""

    sheet: str
    column: str


class SheetCounts(BaseModel):
    """One sheet's line of the summary."""

    sheet: str
    created: int
    updated: int
    skipped: int
    errors: int


class ImportReport(BaseModel):
    """What an import created, updated and skipped per sheet, and every row it could not use as given."""

    file: str
    dry_run: bool
    created: dict[str, int] = Field(default_factory=dict)
    updated: dict[str, int] = Field(default_factory=dict)
    skipped: dict[str, int] = Field(default_factory=dict)
    errors: list[RowError] = Field(default_factory=list)
    unknown_columns: list[UnknownColumn] = Field(default_factory=list)
    unknown_sheets: list[str] = Field(default_factory=list)
    # Per sheet, how many records had each column changed ({"deals": {"stage": 3, "owner": 1}}): nothing unseen.
    changes: dict[str, dict[str, int]] = Field(default_factory=dict)
    rows: int = 0
    seconds: float = 0.0

    def count(self, outcome: str, sheet: str) -> None:
        """Add one row to `outcome` (created, updated or skipped) of `sheet`."""
        counts: dict[str, int] = getattr(self, outcome)
        counts[sheet] = counts.get(sheet, 0) + 1

    def count_changes(self, sheet: str, columns: list[str]) -> None:
        """Add one updated record of `sheet` whose `columns` changed."""
        counts = self.changes.setdefault(sheet, {})
        for column in columns:
            counts[column] = counts.get(column, 0) + 1

    def sheets(self) -> list[SheetCounts]:
        """Return the summary, one line per sheet that had anything, in import order."""
        errors: dict[str, int] = {}
        for error in self.errors:
            errors[error.sheet] = errors.get(error.sheet, 0) + 1
        lines = []
        for sheet in SHEETS:
            line = SheetCounts(sheet=sheet, created=self.created.get(sheet, 0), updated=self.updated.get(sheet, 0),
                               skipped=self.skipped.get(sheet, 0), errors=errors.get(sheet, 0))
            if line.created or line.updated or line.skipped or line.errors:
                lines.append(line)
        return lines

    @property
    def changed(self) -> int:
        """Count the records created or updated."""
        return sum(self.created.values()) + sum(self.updated.values())

    def to_json(self, message: Callable[[RowError], str]) -> dict[str, Any]:
        """Return the `import --json` document of interfaces.md, each error's message written by `message`."""
        return {"created": self.created, "updated": self.updated, "skipped": self.skipped,
                "errors": [{"sheet": e.sheet, "row": e.row, "column": e.column, "message": message(e),
                            "code": e.code, "imported": e.imported} for e in self.errors],
                "unknown_columns": [c.model_dump() for c in self.unknown_columns],
                "unknown_sheets": self.unknown_sheets, "changes": self.changes, "dry_run": self.dry_run,
                "file": self.file,
                "rows": self.rows, "seconds": round(self.seconds, 3)}


class ExportReport(BaseModel):
    """What an export wrote: rows per sheet."""

    file: str
    counts: dict[str, int]
