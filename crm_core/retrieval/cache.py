"""What the knowledge base derives from its corpus, kept on disk so a new process need not rebuild it.

Answering the first question of a process needs the BM25 index, the accent restorer's tables, the
corpus's mean query vector (256 short texts through the embedder: most of a cold `kb ask`'s time) and,
with an embedded Chroma, the knowledge vectors themselves (searched exactly with numpy: importing and
opening Chroma alone takes seconds, for a few thousand vectors at most).
They depend only on the indexed units, the embedding model and the code that derives them, so they are
saved under `home/cache/` keyed by a digest of exactly those, and any change (a re-ingest, another model,
an edited tokenizer or data file) simply misses the cache and rebuilds.

The files are pickles written by this process's own code into the knowledge home, which is as trusted as
the index beside it; a file that cannot be read is ignored (and rebuilt), never fatal.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from crm_core.retrieval.loaders import Unit
from crm_core.retrieval.normalize import RestorerTables

log = logging.getLogger(__name__)

# Bump when the cached payload's layout changes.
CACHE_FORMAT = "3"
# Older entries are removed when a new one is written (another generation of the corpus).
KEEP_ENTRIES = 2
_HERE = Path(__file__).resolve().parent
# The code and data the cached tables are derived with: editing any of them invalidates the cache.
_DERIVED_WITH = ("kb.py", "normalize.py", "scope.py", "loaders.py", "cache.py")


@dataclass(frozen=True)
class CorpusTables:
    """The slow-to-build parts of a loaded corpus."""

    keys: list[tuple[str, int]]
    bm25: Any
    restorer: RestorerTables
    query_mean: list[float] | None
    vectors: DenseVectors | None = None


@dataclass(frozen=True)
class PrecomputedBM25:
    """A bm25s index's precomputed scores, scored the way bm25s scores them, without importing bm25s.

    bm25s keeps, per token, the BM25 score of every document holding it (a sparse column); a query's
    score for a document is the sum over its tokens (a repeated token counts again). Only that lookup is
    needed to answer, and bm25s (with scipy) takes a second to import.
    """

    vocab_dict: dict[str, int]
    scores: dict[str, Any]  # "data", "indices", "indptr" (numpy arrays) and "num_docs"

    @classmethod
    def of(cls, model: Any) -> PrecomputedBM25:
        """Keep what a built `bm25s.BM25` needs to score."""
        return cls(
            vocab_dict=dict(model.vocab_dict),
            scores={name: model.scores[name] for name in ("data", "indices", "indptr", "num_docs")},
        )

    def get_tokens_ids(self, tokens: list[str]) -> list[int]:
        """Return the ids of the tokens in the vocabulary (others are left out)."""
        return [self.vocab_dict[token] for token in tokens if token in self.vocab_dict]

    def get_scores_from_ids(self, ids: list[int]) -> Any:
        """Return the BM25 score of every document for the tokens `ids`."""
        data, indices, indptr = self.scores["data"], self.scores["indices"], self.scores["indptr"]
        out = np.zeros(int(self.scores["num_docs"]), dtype=data.dtype)
        for token in ids:
            start, end = int(indptr[token]), int(indptr[token + 1])
            np.add.at(out, indices[start:end], data[start:end])
        return out


@dataclass(frozen=True)
class DenseVectors:
    """Every vector of the knowledge collection (unit length) with its metadata, searched by exact cosine."""

    matrix: Any  # float32 array, one row per vector
    metadatas: list[dict[str, Any]]

    @classmethod
    def of(cls, embeddings: Any, metadatas: list[dict[str, Any]]) -> DenseVectors:
        """Keep a collection's vectors, normalised as cosine distance normalises them."""
        matrix = np.asarray(embeddings, dtype=np.float32).reshape(len(metadatas), -1)
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        return cls(matrix=matrix / np.where(norms > 0, norms, 1.0), metadatas=[dict(m or {}) for m in metadatas])

    def nearest(self, queries: list[list[float]], k: int) -> list[list[tuple[dict[str, Any], float]]]:
        """Return, per query, (metadata, cosine similarity) of the `k` nearest vectors, nearest first."""
        if not queries or not self.metadatas:
            return [[] for _ in queries]
        raw = np.asarray(queries, dtype=np.float32)
        norms = np.linalg.norm(raw, axis=1, keepdims=True)
        sims = (raw / np.where(norms > 0, norms, 1.0)) @ self.matrix.T
        k = min(k, sims.shape[1])
        out = []
        for row in sims:
            top = np.argpartition(-row, k - 1)[:k]
            top = top[np.argsort(-row[top], kind="stable")]
            out.append([(self.metadatas[i], float(row[i])) for i in top])
        return out


def corpus_key(units: Iterable[tuple[tuple[str, int], Unit]], *, model: str, centred: bool) -> str:
    """Digest of the units (in order), the embedding model, the centring switch and the deriving code."""
    digest = hashlib.sha256(f"{CACHE_FORMAT}\x00{model}\x00{int(centred)}".encode())
    for name in _DERIVED_WITH:
        digest.update(_file_digest(_HERE / name))
    data = _HERE / "data"
    if data.is_dir():
        for path in sorted(data.iterdir()):
            digest.update(path.name.encode() + _file_digest(path))
    for (doc, ord_), unit in units:
        for part in (doc, str(ord_), unit.section, unit.title, unit.text, *unit.variants, "\x1e"):
            digest.update(part.encode("utf-8", "surrogatepass") + b"\x1f")
    return digest.hexdigest()[:32]


def _file_digest(path: Path) -> bytes:
    try:
        return hashlib.sha256(path.read_bytes()).digest()
    except OSError:
        return b""


class CorpusCache:
    """Corpus tables saved under a folder, one file per corpus key."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder

    def _path(self, key: str) -> Path:
        return self._folder / f"corpus-{key}.pickle"

    def load(self, key: str) -> CorpusTables | None:
        """Return the tables saved for `key`, or None (never saved, or unreadable)."""
        path = self._path(key)
        if not path.is_file():
            return None
        try:
            with path.open("rb") as fh:
                tables = pickle.load(fh)  # our own file, in the knowledge home
        except Exception:
            log.warning("ignoring an unreadable corpus cache %s", path, exc_info=True)
            return None
        return tables if isinstance(tables, CorpusTables) else None

    def clear(self) -> None:
        """Delete every saved entry (after a removal: they hold the removed document's text and vectors)."""
        for entry in self._folder.glob("corpus-*.pickle"):
            entry.unlink(missing_ok=True)

    def save(self, key: str, tables: CorpusTables) -> None:
        """Save the tables for `key` (atomically), dropping older entries; a failure only costs speed."""
        try:
            self._folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self._folder, prefix=".corpus-", suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as fh:
                    pickle.dump(tables, fh, protocol=pickle.HIGHEST_PROTOCOL)
                os.replace(tmp, self._path(key))
            finally:
                Path(tmp).unlink(missing_ok=True)
            entries = sorted(self._folder.glob("corpus-*.pickle"), key=lambda p: p.stat().st_mtime, reverse=True)
            for old in entries[KEEP_ENTRIES:]:
                old.unlink(missing_ok=True)
        except Exception:
            log.warning("could not save the corpus cache under %s", self._folder, exc_info=True)
