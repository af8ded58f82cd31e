"""Errors of knowledge retrieval, each with a stable `code`.

CrmError
 ├── RetrievalUnavailable      code "retrieval_unavailable"  (Chroma down, store unreadable)
 └── InvalidInput
      └── IngestError          code "ingest_failed"
           ├── FileTooLarge    code "file_too_large"
           ├── EmptyFile       code "empty_file"
           ├── UnsupportedType code "unsupported_type"
           ├── CorruptFile     code "corrupt_file"
           │    └── UnknownEncoding code "unknown_encoding"
           ├── UnsafePath      code "unsafe_path"
           ├── MissingColumns  code "missing_columns"
           ├── PersonalData    code "personal_data"       (other people's data; `--allow-personal-data` takes it)
           └── UndeclaredAccount code "undeclared_account" (a bank account the business did not declare)
"""

from __future__ import annotations

from crm_core.errors import CrmError, InvalidInput


class RetrievalUnavailable(CrmError):
    """The vector store cannot be reached or read; the bot should hand off politely."""

    code = "retrieval_unavailable"


class IngestError(InvalidInput):
    """A knowledge file cannot be indexed; nothing of it was indexed."""

    code = "ingest_failed"


class FileTooLarge(IngestError):
    """The file is over the size limit."""

    code = "file_too_large"


class EmptyFile(IngestError):
    """The file holds no text to index."""

    code = "empty_file"


class UnsupportedType(IngestError):
    """The file type is not one the knowledge base reads."""

    code = "unsupported_type"


class CorruptFile(IngestError):
    """The file cannot be parsed (damaged or not what its extension says)."""

    code = "corrupt_file"


class UnknownEncoding(CorruptFile):
    """A text file whose encoding is not recognised with confidence (it would be indexed as garbage)."""

    code = "unknown_encoding"


class UnsafePath(IngestError):
    """A symlink, or a path that resolves outside the folder being ingested."""

    code = "unsafe_path"


class MissingColumns(IngestError):
    """A FAQ table lacks its `question` / `answer` columns."""

    code = "missing_columns"


class PersonalData(IngestError):
    """The document holds other people's personal data (a customer list, national IDs): customers would read it."""

    code = "personal_data"


class UndeclaredAccount(IngestError):
    """The document gives a bank account the business did not declare: customers would be told to pay into it."""

    code = "undeclared_account"
