"""Customer-history index for staff questions; a separate collection the customer bot never queries."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

from crm_core.retrieval.chroma import HISTORY_PREFIX, ChromaConnector
from crm_core.retrieval.embedder import Embedder, default_embedder
from crm_core.retrieval.errors import RetrievalUnavailable
from crm_core.retrieval.models import HistoryHit
from crm_core.retrieval.normalize import AccentRestorer, prepare_query


class HistoryItem(NamedTuple):
    """One interaction as the history index keeps it."""

    interaction_id: int
    company_id: int | None
    contact_id: int | None
    text: str
    occurred_at: datetime


class HistoryIndex:
    """Past interactions (calls, meetings, notes), searchable by meaning for staff `/ask`."""

    def __init__(self, *, home: Path, chroma_url: str | None = None, embedder: Embedder | None = None) -> None:
        self.embedder = embedder or default_embedder()
        self._chroma = ChromaConnector(home=Path(home), chroma_url=chroma_url, embedder=self.embedder)
        self._restorer = AccentRestorer()

    def add(
        self, *, interaction_id: int, company_id: int | None, contact_id: int | None, text: str, occurred_at: datetime
    ) -> None:
        """Index (or re-index) one interaction."""
        self.sync([HistoryItem(interaction_id, company_id, contact_id, text, occurred_at)])

    def sync(self, items: Sequence[HistoryItem]) -> int:
        """Index the interactions that are new or changed since last time, in one batch; return how many."""
        store = self._chroma.store(HISTORY_PREFIX)
        ids = [f"interaction:{item.interaction_id}" for item in items]
        try:
            indexed = store.get(ids=ids, include=["documents"]) if ids else {"ids": [], "documents": []}
            known = dict(zip(indexed["ids"], indexed["documents"], strict=True))
            todo = [(i, item) for i, item in zip(ids, items, strict=True) if known.get(i) != item.text]
            if todo:
                store.add_texts([item.text for _, item in todo], metadatas=[_meta(item) for _, item in todo],
                                ids=[i for i, _ in todo])
        except Exception as exc:
            raise RetrievalUnavailable("could not index the interactions") from exc
        return len(todo)

    def remove(self, interaction_ids: list[int]) -> None:
        """Forget interactions (an erased customer's conversations)."""
        if not interaction_ids:
            return
        store = self._chroma.store(HISTORY_PREFIX)
        try:
            store.delete(ids=[f"interaction:{i}" for i in interaction_ids])
        except Exception as exc:
            raise RetrievalUnavailable("could not remove interactions from the history index") from exc

    def search(self, question: str, *, company_id: int | None = None, k: int = 5) -> list[HistoryHit]:
        """Return the interactions closest in meaning to `question`, optionally within one company."""
        if not question.strip():
            return []
        query = prepare_query(question, self._restorer)
        vector = self.embedder.embed_queries([query.normalized])[0]
        where = {"company_id": company_id} if company_id is not None else None
        hits = self._chroma.query(HISTORY_PREFIX, vector, k, where)
        return [
            HistoryHit(
                interaction_id=int(meta["interaction_id"]),
                company_id=_opt_int(meta.get("company_id")),
                contact_id=_opt_int(meta.get("contact_id")),
                text=text,
                occurred_at=datetime.fromisoformat(str(meta["occurred_at"])),
                score=round(sim, 4),
            )
            for meta, sim, text in hits
        ]


def _meta(item: HistoryItem) -> dict[str, Any]:
    meta: dict[str, Any] = {"interaction_id": item.interaction_id, "occurred_at": item.occurred_at.isoformat()}
    if item.company_id is not None:
        meta["company_id"] = item.company_id
    if item.contact_id is not None:
        meta["contact_id"] = item.contact_id
    return meta


def _opt_int(value: object) -> int | None:
    return None if value is None else int(str(value))
