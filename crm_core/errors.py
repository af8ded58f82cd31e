"""Errors of the CRM core, each with a stable `code` the chat layer translates.

    CrmError
     ├── NotFound            code "not_found"
     ├── Forbidden           code "forbidden"
     ├── InvalidInput        code "invalid_input"
     │    ├── AmbiguousName  code "ambiguous"
     │    └── SpreadsheetRefused  code "spreadsheet_refused" (a whole file; `reason` says why)
     ├── Conflict            code "conflict"
     │    ├── AlreadyDone    code "already_done"
     │    └── UndoExpired    code "undo_expired"
     ├── StoreBusy           code "store_busy"
     └── NotAvailable        code "not_available"
"""

from __future__ import annotations


class CrmError(Exception):
    """Base of every error the core raises on purpose."""

    code = "error"

    def __init__(self, message: str = "", **details: object) -> None:
        super().__init__(message or self.code)
        self.details = details


class NotFound(CrmError):
    """The thing asked for does not exist (or no longer)."""

    code = "not_found"


class Forbidden(CrmError):
    """The user's role does not allow this."""

    code = "forbidden"


class InvalidInput(CrmError):
    """The input cannot be used as given."""

    code = "invalid_input"


class AmbiguousName(InvalidInput):
    """A name matches several records."""

    code = "ambiguous"


class SpreadsheetRefused(InvalidInput):
    """A whole spreadsheet cannot be imported (too large, encrypted, corrupt, old .xls, empty); nothing was written.

    `reason` is one of: too_large, encrypted, corrupt, old_excel, unsupported, empty, headers_only, not_found.
    """

    code = "spreadsheet_refused"

    def __init__(self, message: str, *, reason: str, **details: object) -> None:
        super().__init__(message, reason=reason, **details)
        self.reason = reason


class Conflict(CrmError):
    """The action clashes with the current state."""

    code = "conflict"


class AlreadyDone(Conflict):
    """The action was already carried out (a second tap, a saved draft)."""

    code = "already_done"


class UndoExpired(Conflict):
    """Too late to undo."""

    code = "undo_expired"


class StoreBusy(CrmError):
    """The database is busy or locked; trying again later works."""

    code = "store_busy"


class NotAvailable(CrmError):
    """A capability is not built or not reachable."""

    code = "not_available"
