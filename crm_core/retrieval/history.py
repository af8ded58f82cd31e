"""Customer-history index for staff questions; a separate collection the customer bot never queries.

`/ask` ranks a known set of interactions (those the asker may see: one company's, or everyone's
latest): each is indexed first if it is new or changed, so a call logged a minute ago is there;
then every one of them is scored by meaning (cosine of its stored vector with the question's) and
by the question's words (BM25 over accent-folded words, function words left out), each scaled to
0-1 over the set and added; the newer interaction wins a tie.

Forgetting an erased customer's interactions must not depend on Chroma answering at that moment: the
ids are first written to a journal beside the store (`history-erasures.json`), then removed; what could
not be removed stays in the journal and is removed before every later sync, rank or search, and is never
returned or re-indexed meanwhile. A removal also purges the raw files: the collection is rebuilt without the
erased records, so that not even their vectors stay behind (see `ChromaConnector.erase_raw`). An erasure
records its ids while its database write is open (`record_removal`) and removes them once it has committed
(`forget_removed`): the rebuild takes seconds on a large index and must not hold the database's write lock.
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

from crm_core.retrieval.chroma import HISTORY_PREFIX, ChromaConnector
from crm_core.retrieval.embedder import Embedder, default_embedder
from crm_core.retrieval.errors import RetrievalUnavailable
from crm_core.retrieval.models import HistoryHit
from crm_core.retrieval.normalize import AccentRestorer, lexical_tokens, prepare_query
from crm_core.retrieval.scope import stopwords

log = logging.getLogger(__name__)

JOURNAL = "history-erasures.json"

# How much the question's words count next to its meaning (both scaled to 0-1 over the interactions ranked).
LEXICAL_WEIGHT = 1.0


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
        self._journal = Path(home) / JOURNAL

    def add(
        self, *, interaction_id: int, company_id: int | None, contact_id: int | None, text: str, occurred_at: datetime
    ) -> None:
        """Index (or re-index) one interaction."""
        self.sync([HistoryItem(interaction_id, company_id, contact_id, text, occurred_at)])

    def sync(self, items: Sequence[HistoryItem]) -> int:
        """Index the interactions that are new or changed since last time, in one batch; return how many."""
        erased = self._forget_erased()
        items = [item for item in items if item.interaction_id not in erased]
        store = self._chroma.store(HISTORY_PREFIX)
        ids = [f"interaction:{item.interaction_id}" for item in items]
        try:
            indexed = store.get(ids=ids, include=["documents"]) if ids else {"ids": [], "documents": []}
            known = dict(zip(indexed["ids"], indexed["documents"], strict=True))
            todo = [(i, item) for i, item in zip(ids, items, strict=True) if known.get(i) != item.text]
            if todo:
                with self._chroma.writing():  # not while an erasure rebuilds the collection: opened again here
                    current = self._chroma.store(HISTORY_PREFIX)
                    current.add_texts([item.text for _, item in todo], metadatas=[_meta(item) for _, item in todo],
                                      ids=[i for i, _ in todo])
        except Exception as exc:
            raise RetrievalUnavailable("could not index the interactions") from exc
        return len(todo)

    def remove(self, interaction_ids: list[int]) -> None:
        """Forget interactions (an erased customer's conversations), now or, if Chroma fails, on its next use.

        Raises RetrievalUnavailable only when even the journal cannot be written.
        """
        self.record_removal(interaction_ids)
        self.forget_removed()

    def record_removal(self, interaction_ids: list[int]) -> None:
        """Write interactions to forget in the journal, without touching Chroma (quick: a file).

        From then on they are never returned nor indexed again; they leave the store at `forget_removed` or at
        the next sync, rank or search, whichever comes first. Raises RetrievalUnavailable when the journal
        cannot be written.
        """
        if not interaction_ids:
            return
        try:
            self._write_journal(self._read_journal() | set(interaction_ids))
        except OSError as exc:
            raise RetrievalUnavailable("could not record the interactions to remove from the history index") from exc

    def forget_removed(self) -> None:
        """Remove the journal's interactions from the store now (the collection is rebuilt without them).

        Slow on a large index; what Chroma refuses waits in the journal for the next use.
        """
        self._forget_erased()

    def _forget_erased(self) -> set[int]:
        """Remove the journal's interactions from the store; return those still waiting (Chroma failed)."""
        waiting = self._read_journal()
        if not waiting:
            return waiting
        ids = [f"interaction:{i}" for i in sorted(waiting)]
        try:
            with self._chroma.writing():
                self._chroma.store(HISTORY_PREFIX).delete(ids=ids)
                self._chroma.erase_raw(HISTORY_PREFIX, ids)
        except Exception:
            log.warning("could not yet remove %d erased interactions from the history index", len(waiting),
                        exc_info=True)
            return waiting
        self._write_journal(self._read_journal() - waiting)
        return set()

    def _read_journal(self) -> set[int]:
        try:
            return {int(i) for i in json.loads(self._journal.read_text(encoding="utf-8"))}
        except FileNotFoundError:
            return set()
        except (OSError, ValueError, TypeError) as exc:  # unreadable: left for a person; never search past it
            raise RetrievalUnavailable(f"the history erasure journal {self._journal} is unreadable") from exc

    def _write_journal(self, ids: set[int]) -> None:
        """Replace the journal atomically (write, fsync, rename); no file when nothing waits."""
        if not ids:
            self._journal.unlink(missing_ok=True)
            return
        self._journal.parent.mkdir(parents=True, exist_ok=True)
        temporary = self._journal.with_suffix(".tmp")
        with temporary.open("w", encoding="utf-8") as fh:
            json.dump(sorted(ids), fh)
            fh.flush()
            os.fsync(fh.fileno())
        temporary.replace(self._journal)

    def rank(self, question: str, items: Sequence[HistoryItem], *, k: int = 5) -> list[HistoryHit]:
        """Return the `k` of `items` that best answer `question` by meaning and words, indexing them first."""
        erased = self._forget_erased()
        items = [item for item in items if item.interaction_id not in erased]
        if not question.strip() or not items:
            return []
        self.sync(items)
        query = prepare_query(question, self._restorer)
        vector = self.embedder.embed_queries([query.normalized])[0]
        ids = [f"interaction:{item.interaction_id}" for item in items]
        try:
            stored = self._chroma.store(HISTORY_PREFIX).get(ids=ids, include=["embeddings"])
        except Exception as exc:
            raise RetrievalUnavailable("could not read the interactions' vectors") from exc
        vectors = dict(zip(stored["ids"], stored["embeddings"], strict=True))
        dense = _scaled([_cosine(vector, vectors[i]) if i in vectors else 0.0 for i in ids])
        stop = stopwords()
        words = [t for t in query.lexical_tokens() if t not in stop]
        lexical = _scaled(_bm25([[t for t in lexical_tokens(item.text) if t not in stop] for item in items], words),
                          floor=0.0)
        order = sorted(range(len(items)), key=lambda n: (-(dense[n] + LEXICAL_WEIGHT * lexical[n]),
                                                         -items[n].occurred_at.timestamp(), -items[n].interaction_id))
        return [HistoryHit(interaction_id=items[n].interaction_id, company_id=items[n].company_id,
                           contact_id=items[n].contact_id, text=items[n].text, occurred_at=items[n].occurred_at,
                           score=round(dense[n] + LEXICAL_WEIGHT * lexical[n], 4)) for n in order[:k]]

    def search(self, question: str, *, company_id: int | None = None, k: int = 5) -> list[HistoryHit]:
        """Return the interactions closest in meaning to `question`, optionally within one company."""
        if not question.strip():
            return []
        erased = self._forget_erased()
        query = prepare_query(question, self._restorer)
        vector = self.embedder.embed_queries([query.normalized])[0]
        where = {"company_id": company_id} if company_id is not None else None
        hits = [hit for hit in self._chroma.query(HISTORY_PREFIX, vector, k + len(erased), where)
                if int(hit[0]["interaction_id"]) not in erased][:k]
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


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0


def _scaled(values: list[float], *, floor: float | None = None) -> list[float]:
    """Scale to 0-1 over the set (from `floor` when given, else from the smallest); all 0 when they are equal."""
    low = min(values) if floor is None else floor
    high = max(values)
    return [(v - low) / (high - low) if high > low else 0.0 for v in values]


def _bm25(documents: list[list[str]], words: list[str]) -> list[float]:
    """BM25 (bm25s) of each document for the question's words; all 0 without words."""
    if not words:
        return [0.0] * len(documents)
    import bm25s

    # bm25s sets its own logger to DEBUG on import; keep its chatter out of our logs.
    logging.getLogger("bm25s").setLevel(logging.WARNING)
    model = bm25s.BM25()
    model.index([doc or ["_"] for doc in documents], show_progress=False)
    ids = model.get_tokens_ids(words)
    if not ids:
        return [0.0] * len(documents)
    return [float(x) for x in model.get_scores_from_ids(ids)]


def _meta(item: HistoryItem) -> dict[str, Any]:
    meta: dict[str, Any] = {"interaction_id": item.interaction_id, "occurred_at": item.occurred_at.isoformat()}
    if item.company_id is not None:
        meta["company_id"] = item.company_id
    if item.contact_id is not None:
        meta["contact_id"] = item.contact_id
    return meta


def _opt_int(value: object) -> int | None:
    return None if value is None else int(str(value))
