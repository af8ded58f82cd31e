"""Schemas the knowledge base returns (their JSON is the `kb` command's contract)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from crm_core.config import Language

HandoffReason = Literal[
    "low_confidence", "out_of_scope", "asked_for_human", "complaint", "unsafe", "own_order", "dispute", "named_person"
]


class Source(BaseModel):
    """One knowledge section an answer comes from."""

    doc: str
    section: str
    title: str
    score: float


class Answer(BaseModel):
    """What the knowledge base found for a question: the material of a reply, not its wording.

    `body` is knowledge only (the section text that answers, or a grounded LLM answer); the sentences around
    it (the source line, why a person takes over) are the bot's to phrase, in `bot/texts`.
    """

    body: str | None = None
    # The language `body` is written in; a Vietnamese section may answer an English question.
    body_language: Language | None = None
    # The body is the beginning of a longer section (cut at a sentence): the reply points to the source for more.
    truncated: bool = False
    sources: list[Source] = Field(default_factory=list)
    confidence: float
    handoff: bool
    reason: HandoffReason | None = None
    language: Language = "vi"
    # Which prompt template wrote `body` ("faq_answer@1"); None when it is extracted from the knowledge.
    prompt: str | None = None
    # The section that answers the question's other part, extracted after the first in `body` ("mấy ngày, có tính
    # phí không": the delivery times, then the fees); None when one section answers it all.
    also: Source | None = None

    def to_contract(self, phrased: str) -> dict[str, Any]:
        """Return exactly the `kb ask --json` document, with `phrased` (the reply as the customer reads it)."""
        return {
            "answer": phrased,
            "sources": [s.model_dump() for s in self.sources],
            "confidence": self.confidence,
            "handoff": self.handoff,
            "reason": self.reason,
        }


class DocInfo(BaseModel):
    """One indexed document (`kb list --json`)."""

    doc: str
    sections: int
    bytes: int
    ingested_at: datetime

    def to_contract(self) -> dict[str, Any]:
        """Return the `kb list --json` item."""
        return {
            "doc": self.doc,
            "sections": self.sections,
            "bytes": self.bytes,
            "ingested_at": self.ingested_at.isoformat(),
        }


class IngestFailure(BaseModel):
    """A file that could not be indexed, and why."""

    doc: str
    code: str
    message: str
    # The line that stopped it (personal data, an undeclared bank account), as the document has it.
    detail: str | None = None
    # A new document whose other sections were indexed: the sections held back for it (empty: the file was refused).
    held_sections: list[str] = Field(default_factory=list)


class IngestReport(BaseModel):
    """What an ingest run changed."""

    added: list[str] = Field(default_factory=list)
    updated: list[str] = Field(default_factory=list)
    unchanged: list[str] = Field(default_factory=list)
    removed: list[str] = Field(default_factory=list)
    errors: list[IngestFailure] = Field(default_factory=list)
    # Documents indexed although they hold other people's personal data, because the admin allowed it.
    personal_data: list[str] = Field(default_factory=list)
    sections: int = 0

    @property
    def ok(self) -> bool:
        """Tell whether every file was indexed."""
        return not self.errors


class RetrievalParams(BaseModel):
    """Fusion and calibration settings, fitted on the dev splits by `benchmarks/faq/bench.py`."""

    k_dense: int = 80
    query_centering: float = 0.0
    k_lexical: int = 20
    w_bm25: float = 0.1
    k_bm25: float = 5.0
    w_body: float = 0.5
    w_second: float = 0.0
    p_raw: float = 0.0
    p_gloss: float = 0.0
    # Weights of the answering-section signals (crm_core/retrieval/signals.py), 0 = off.
    w_lang_vi: float = 0.0
    w_lang_en: float = 0.0
    w_head: float = 0.0
    w_price: float = 0.0
    w_num: float = 0.0
    w_clash: float = 0.0
    w_type: float = 0.0
    w_code: float = 0.0
    w_code_clash: float = 0.0
    w_code_head: float = 0.0
    w_asks_other: float = 0.0
    w_faq_extra: float = 0.0
    # Per-language centring of dense similarity: how much of the question's similarity to each language's mean
    # passage is removed from the sections in that language (a cross-lingual question is pulled less to its own).
    w_lang_centre: float = 0.0
    # How close (in fused score) a same-language counterpart must be to replace an other-language best section:
    # for a Vietnamese question, and for an English one (the knowledge is mostly Vietnamese with partial English
    # counterparts, so the two are fitted apart).
    lang_swap: float = 0.0
    lang_swap_en: float = 0.0
    calib_a: float = 25.0
    calib_c: float = 10.0
    calib_b: float = -21.0
    calib_d: float = 0.0
    handoff_below: float = 0.5
    out_of_scope_below: float = 0.15


class HistoryHit(BaseModel):
    """One past interaction found for a staff question."""

    interaction_id: int
    company_id: int | None
    contact_id: int | None
    text: str
    occurred_at: datetime
    score: float
