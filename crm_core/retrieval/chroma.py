"""Chroma access through LangChain: the client (embedded or server), our embedding function, error mapping."""

from __future__ import annotations

import fcntl
import json
import logging
import os
import shutil
import sqlite3
import struct
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from crm_core.retrieval.embedder import Embedder, collection_name, langchain_embeddings
from crm_core.retrieval.errors import RetrievalUnavailable

log = logging.getLogger(__name__)

KB_PREFIX = "kb"
HISTORY_PREFIX = "history"

# The history collection holds what customers said: its HNSW segment is persisted after every write, so
# Chroma purges its write-ahead log (`embeddings_queue`, which keeps every document added) up to that write
# at once instead of after 1000 records (chroma-core/chroma#7659: the purge waits for the segment's flush).
_HNSW: dict[str, dict[str, Any]] = {
    KB_PREFIX: {"space": "cosine"},
    HISTORY_PREFIX: {"space": "cosine", "sync_threshold": 1, "batch_size": 1},
}
# How long a raw erasure waits for Chroma's own connection to let go of the database file.
_BUSY_TIMEOUT_S = 30.0
# Ids per read by id: Chroma's SQLite caps the variables of one query.
_GET_BATCH = 500

# The header.bin of a persisted HNSW index (chroma-core/hnswlib's HEADER_FIELDS, written field after field with no
# padding): persistence version, offsetLevel0, max_elements, cur_element_count, size_data_per_element,
# label_offset, offsetData, maxlevel, enterpoint_node, maxM, maxM0, M, mult, ef_construction.
_HNSW_HEADER = struct.Struct("<iQQQQQQiIQQQdQ")
_HNSW_VERSION = 1
_HNSW_LABEL_SIZE = 8  # labeltype (size_t), the last field of each element's block in data_level0.bin
_HNSW_LENGTH_SIZE = 4  # one float per element in length.bin

# One lock per embedded store folder, shared by every connector of this process on that folder: rewriting an
# index's files (erase_raw) must not interleave with Chroma persisting that index after a write.
_WRITE_LOCKS: dict[Path, threading.RLock] = {}
_WRITE_LOCKS_GUARD = threading.Lock()
# How deep each folder's holder (the thread holding its write lock) is in `_rebuilding`: the file lock that keeps
# other processes out is taken at the outermost level only (a second flock by this process would wait for itself).
_REBUILD_DEPTH: dict[Path, int] = {}

# A collection is rebuilt under this name (the suffix is allowed by Chroma's naming rule) and then takes the real one.
_REBUILD_SUFFIX = ".rebuild"
# Beside the store: which collections are being rebuilt and how far (`building`: the copy may be partial, the
# original is whole; `swapping`: the copy is whole, the original may be gone), and the lock across processes.
REBUILDS = "chroma-rebuilds.json"
_REBUILDS_LOCK = "chroma-rebuilds.lock"


class ChromaConnector:
    """Open the Chroma client lazily and hand out LangChain `Chroma` stores that embed with our model."""

    def __init__(self, *, home: Path, chroma_url: str | None, embedder: Embedder) -> None:
        self._home = home
        self._url = chroma_url
        self._embedder = embedder
        self._client: Any = None
        self._stores: dict[str, Any] = {}
        self._collections: dict[str, Any] = {}
        self._lock = threading.Lock()
        with _WRITE_LOCKS_GUARD:
            self._writes = _WRITE_LOCKS.setdefault((home / "chroma").resolve(), threading.RLock())

    def writing(self) -> threading.RLock:
        """The lock to hold while writing to a collection whose raw files `erase_raw` rewrites."""
        return self._writes

    def _make_client(self) -> Any:
        import chromadb
        from chromadb.config import Settings

        settings = Settings(anonymized_telemetry=False, allow_reset=False)
        if self._url:
            url = urlparse(self._url if "://" in self._url else f"http://{self._url}")
            client = chromadb.HttpClient(
                host=url.hostname or "localhost", port=url.port or 8000, ssl=url.scheme == "https", settings=settings
            )
            client.heartbeat()
            return client
        path = self._home / "chroma"
        if path.exists() and not path.is_dir():
            raise RetrievalUnavailable(f"{path} is not a directory")
        path.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(path), settings=settings)

    def store(self, prefix: str) -> Any:
        """Return the LangChain Chroma store of one collection (named after the embedding model)."""
        name = collection_name(prefix, self._embedder)
        existing = self._stores.get(name)
        if existing is not None and self._still_current(name, existing._collection):
            return existing
        self._settle(prefix)

        def open_store(client: Any) -> Any:
            from langchain_chroma import Chroma

            configuration: Any = {"hnsw": _hnsw(prefix)}
            store = Chroma(collection_name=name, embedding_function=langchain_embeddings(self._embedder),
                           client=client, collection_configuration=configuration)
            _persist_every_write(store._collection, prefix)
            return store

        with self._lock:
            store = self._with_client(open_store)
            self._stores[name] = store
            return store

    def _with_client(self, open_it: Callable[[Any], Any]) -> Any:
        """Open the client if needed and call `open_it` with it; any failure is the store being unavailable."""
        try:
            if self._client is None:
                self._client = self._make_client()
            return open_it(self._client)
        except RetrievalUnavailable:
            raise
        except Exception as exc:
            log.warning("chroma unavailable: %s", exc)
            raise RetrievalUnavailable(f"vector store unavailable: {exc}") from exc

    def kb_store(self) -> Any:
        """Return the customer knowledge store."""
        return self.store(KB_PREFIX)

    def kb_collection(self) -> Any:
        """Return the customer knowledge collection, for searching by vector."""
        return self.collection(KB_PREFIX)

    def collection(self, prefix: str) -> Any:
        """Return the Chroma collection itself, for searching by vector: no LangChain store (slow to import).

        The same collection a store writes to (created here as the store would when there is none yet).
        """
        name = collection_name(prefix, self._embedder)
        existing = self._collections.get(name) or (self._stores[name]._collection if name in self._stores else None)
        if existing is not None and self._still_current(name, existing):
            return existing
        self._settle(prefix)
        with self._lock:
            found = self._with_client(lambda client: client.get_or_create_collection(
                name=name, embedding_function=None, configuration={"hnsw": _hnsw(prefix)}))
            _persist_every_write(found, prefix)
            self._collections[name] = found
            return found

    def _still_current(self, name: str, handle: Any) -> bool:
        """Tell whether a collection handed out earlier is still the one under its name; else forget the handles.

        An erasure rebuilds a collection under a new id (`erase_raw`), here or in another process; a handle on
        the old one would fail from then on. A Chroma server's collections are never rebuilt.
        """
        if not self.embedded:
            return True
        try:
            current = bool(self._client.get_collection(name).id == handle.id)
        except Exception:  # gone (a rebuild between its two steps, or deleted): opened again, settled first
            current = False
        if not current:
            with self._lock:
                if self._collections.get(name) is handle:
                    del self._collections[name]
                store = self._stores.get(name)
                if store is not None and store._collection is handle:
                    del self._stores[name]
        return current

    def query(
        self,
        prefix: str,
        vector: list[float],
        k: int,
        where: dict[str, Any] | None = None,
    ) -> list[tuple[dict[str, Any], float, str]]:
        """Return (metadata, cosine similarity, text) of the `k` nearest vectors."""
        store = self.store(prefix)
        try:
            hits = store.similarity_search_by_vector_with_relevance_scores(vector, k=k, filter=where)
        except Exception as exc:
            log.warning("chroma query failed: %s", exc)
            raise RetrievalUnavailable(f"vector store query failed: {exc}") from exc
        return [(dict(doc.metadata), 1.0 - float(distance), doc.page_content) for doc, distance in hits]

    @property
    def embedded(self) -> bool:
        """Tell whether the store is the embedded one under the home (not a Chroma server)."""
        return not self._url

    def looks_intact(self) -> bool:
        """Tell, without opening Chroma, whether the embedded store's folder and database file are there."""
        database = self._home / "chroma" / "chroma.sqlite3"
        try:
            with database.open("rb") as fh:
                return fh.read(16) == b"SQLite format 3\x00"
        except OSError:
            return False

    def kb_vectors(self, ids: list[str] | None = None) -> tuple[Any, list[dict[str, Any]]]:
        """Return the vectors of the knowledge collection (all, or those of `ids`) and their metadata (to search
        them without Chroma)."""
        rows: list[Any] = []
        metadatas: list[dict[str, Any]] = []
        batches = [None] if ids is None else [ids[i : i + _GET_BATCH] for i in range(0, len(ids), _GET_BATCH)]
        try:
            for batch in batches:
                found = self.kb_collection().get(ids=batch, include=["embeddings", "metadatas"])
                embeddings = found.get("embeddings")
                rows += list(embeddings) if embeddings is not None else []
                metadatas += list(found.get("metadatas") or [])
        except RetrievalUnavailable:
            raise
        except Exception as exc:
            raise RetrievalUnavailable(f"could not read the knowledge vectors: {exc}") from exc
        return rows, metadatas

    def query_kb_many(self, vectors: list[list[float]], k: int) -> list[list[tuple[dict[str, Any], float]]]:
        """Return, per query vector, (metadata, cosine similarity) of the nearest knowledge vectors.

        One Chroma call for all of a question's forms, without the passages' text: a customer question is
        answered on every message, and each separate LangChain search costs a round trip and builds documents
        the ranking never reads (issue 8's engine benchmark).
        """
        if not vectors:
            return []
        collection = self.collection(KB_PREFIX)
        try:
            found = collection.query(query_embeddings=vectors, n_results=k, include=["metadatas", "distances"])
        except Exception as exc:
            log.warning("chroma query failed: %s", exc)
            raise RetrievalUnavailable(f"vector store query failed: {exc}") from exc
        metadatas, distances = found.get("metadatas") or [], found.get("distances") or []
        return [[(dict(meta or {}), 1.0 - float(distance)) for meta, distance in zip(metas, dists, strict=True)]
                for metas, dists in zip(metadatas, distances, strict=True)]

    @staticmethod
    def safe_delete(store: Any, ids: list[str]) -> None:
        """Delete vectors, logging instead of failing (cleanup of a failed or replaced write)."""
        if not ids:
            return
        try:
            for start in range(0, len(ids), 1000):
                store.delete(ids=ids[start : start + 1000])
        except Exception:
            log.warning("could not delete %d stale vectors", len(ids), exc_info=True)

    def erase_raw(self, prefix: str, ids: list[str]) -> None:
        """Leave no copy of deleted documents, nor of their vectors, in the embedded store's files.

        Chroma's delete removes a record from its segments, but hnswlib only marks its element deleted: the
        vector stays in the index files (data_level0.bin) for as long as the collection lives, and embedding
        vectors can be partly turned back into text. So the collection is rebuilt from its live records, and the
        old one, with its segment folder, dropped (see `_rebuild`); `ids`, if any are still there, are left out.
        Then what Chroma's SQLite file kept: the full-text index keeps deleted terms until a merge, and SQLite
        leaves deleted rows' bytes in free pages; so merge the full-text index and VACUUM (what `chroma vacuum`
        does), and zero the unused capacity of the new index files (see `_zero_hnsw_slack`). Nothing to do on a
        Chroma server.

        Crash-safe: until it is over, `chroma-rebuilds.json` beside the store says how far it got, and the next
        opening of the collection (in any process) finishes the job or starts it again; nothing is lost.
        Hold `writing()` around the delete and this call, as around every write to the collection.
        """
        if not ids or not self.embedded:
            return
        name = collection_name(prefix, self._embedder)
        with self._rebuilding():
            self._with_client(lambda client: self._rebuild(client, prefix, name, set(ids)))

    def _settle(self, prefix: str) -> None:
        """Before opening a collection: finish (or make again) a rebuild of it that a crash or an error stopped.

        Until a rebuild's copy is complete the original is whole: if the copy cannot be made now, the original
        is used as it is (its deleted records are gone; their vectors wait for the next rebuild). Once the copy
        is complete, the original may be gone: the collection is not opened (nor made anew, empty) until the
        copy has taken its name.
        """
        if not self.embedded:
            return
        name = collection_name(prefix, self._embedder)
        if name not in self._rebuilds_pending():
            return
        with self._rebuilding():  # a rebuild under way (this process or another) ends first
            if name not in self._rebuilds_pending():
                return
            log.warning("finishing the interrupted rebuild of the %s collection", name)
            try:
                self._with_client(lambda client: self._rebuild(client, prefix, name, set()))
            except RetrievalUnavailable:
                if self._rebuilds_pending().get(name) == "swapping":
                    raise
                log.warning("could not rebuild the %s collection yet; using it as it is", name, exc_info=True)

    def _rebuild(self, client: Any, prefix: str, name: str, drop: set[str]) -> None:
        """Copy the live records of `name`, less `drop`, into a new collection that then takes its name.

        The copy is made under a temporary name while the original stays whole (`building`); once the copy is
        complete (`swapping`) the original is dropped and the copy renamed; then the store is cleaned. A step
        interrupted is taken up again from the recorded state: a partial copy is dropped and made again, a
        complete one takes the name (whatever collection holds the name then, the original or an empty one made
        in between, is dropped). Only Chroma's own files are touched, never the CRM database.
        """
        temporary = name + _REBUILD_SUFFIX
        if self._rebuilds_pending().get(name) != "swapping":
            _drop_collection(client, temporary)
            original = _get_collection(client, name)
            if original is not None:
                self._note_rebuild(name, "building")
                copy = client.create_collection(name=temporary, configuration={"hnsw": _hnsw(prefix)},
                                                metadata=original.metadata or None, embedding_function=None)
                kept = [i for i in original.get(include=[])["ids"] if i not in drop]
                batch = min(_GET_BATCH, client.get_max_batch_size())
                for start in range(0, len(kept), batch):
                    found = original.get(ids=kept[start : start + batch],
                                         include=["embeddings", "documents", "metadatas"])
                    if found["ids"]:
                        copy.add(ids=found["ids"], embeddings=found["embeddings"], documents=found["documents"],
                                 metadatas=found["metadatas"])
                if copy.count() != len(kept):
                    raise RuntimeError(f"the rebuilt {name} holds {copy.count()} records, not {len(kept)}")
                self._note_rebuild(name, "swapping")
        if _get_collection(client, temporary) is not None:
            _drop_collection(client, name)
            client.get_collection(temporary).modify(name=name)
        with self._lock:  # every handle on the old collection is stale
            self._stores.pop(name, None)
            self._collections.pop(name, None)
        self._clean_files(client, name)
        self._note_rebuild(name, None)

    def _clean_files(self, client: Any, name: str) -> None:
        """Purge what dropped collections left in the store's files, then scrub the collection's index files.

        Chroma deletes a dropped collection's rows but not its segment folder (its HNSW files): a folder that no
        segment names any more is removed here. Folders are only ever created for segments already recorded,
        so no other writer's folder can be taken for an orphan.
        """
        folder = self._home / "chroma"
        current = _get_collection(client, name)
        database = folder / "chroma.sqlite3"
        with self._lock, closing(sqlite3.connect(database, timeout=_BUSY_TIMEOUT_S, isolation_level=None)) as db:
            db.execute("PRAGMA secure_delete = ON")
            # The log of a dropped collection is never replayed (Chroma deletes it as it drops; older ones did not).
            db.execute("DELETE FROM embeddings_queue WHERE substr(topic, -36) NOT IN (SELECT id FROM collections)")
            db.execute("INSERT INTO embedding_fulltext_search(embedding_fulltext_search) VALUES ('optimize')")
            db.execute("VACUUM")
            segments = {row[0] for row in db.execute("SELECT id FROM segments")}
            vectors = [row[0] for row in db.execute(
                "SELECT id FROM segments WHERE collection = ? AND scope = 'VECTOR'",
                [str(current.id) if current is not None else ""])]
        for path in folder.iterdir():
            if path.is_dir() and _is_uuid(path.name) and path.name not in segments:
                shutil.rmtree(path)
        for segment in vectors:
            _zero_hnsw_slack(folder / segment)

    @contextmanager
    def _rebuilding(self) -> Iterator[None]:
        """Hold this folder's write lock and, across processes, the rebuild file lock (re-entrant in a thread)."""
        folder = (self._home / "chroma").resolve()
        with self._writes:
            depth = _REBUILD_DEPTH.get(folder, 0)
            _REBUILD_DEPTH[folder] = depth + 1
            try:
                if depth:
                    yield
                    return
                self._home.mkdir(parents=True, exist_ok=True)
                with (self._home / _REBUILDS_LOCK).open("a") as lock:
                    fcntl.flock(lock, fcntl.LOCK_EX)
                    yield
            finally:
                _REBUILD_DEPTH[folder] = depth

    def _rebuilds_pending(self) -> dict[str, str]:
        """The collections whose rebuild is under way or was interrupted, with how far each got."""
        try:
            found = json.loads((self._home / REBUILDS).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:  # unreadable: a person must look; never use the store past it
            raise RetrievalUnavailable(f"the rebuild record {self._home / REBUILDS} is unreadable") from exc
        return {str(k): str(v) for k, v in found.items()} if isinstance(found, dict) else {}

    def _note_rebuild(self, name: str, phase: str | None) -> None:
        """Record how far the rebuild of `name` got (None: over), atomically (write, fsync, rename)."""
        pending = self._rebuilds_pending()
        if phase is None:
            pending.pop(name, None)
        else:
            pending[name] = phase
        path = self._home / REBUILDS
        if not pending:
            path.unlink(missing_ok=True)
            return
        temporary = path.with_suffix(".tmp")
        with temporary.open("w", encoding="utf-8") as fh:
            json.dump(pending, fh)
            fh.flush()
            os.fsync(fh.fileno())
        temporary.replace(path)


def _get_collection(client: Any, name: str) -> Any:
    """The collection named `name`, or None."""
    from chromadb.errors import NotFoundError

    try:
        return client.get_collection(name)
    except NotFoundError:
        return None


def _drop_collection(client: Any, name: str) -> None:
    """Drop the collection named `name` if there is one."""
    if _get_collection(client, name) is not None:
        client.delete_collection(name)


def _is_uuid(text: str) -> bool:
    try:
        return str(uuid.UUID(text)) == text
    except ValueError:
        return False


def _hnsw(prefix: str) -> dict[str, Any]:
    return dict(_HNSW.get(prefix, _HNSW[KB_PREFIX]))


def _persist_every_write(collection: Any, prefix: str) -> None:
    """Give a history collection made before its log was purged at once the setting (from its next opening)."""
    wanted = _HNSW.get(prefix, {}).get("sync_threshold")
    if wanted is None:
        return
    try:
        hnsw = (collection.configuration or {}).get("hnsw") or {}
        if hnsw.get("sync_threshold") != wanted:
            collection.modify(configuration={"hnsw": {"sync_threshold": wanted, "batch_size": wanted}})
    except Exception:  # an older collection keeps its setting; erase_raw still drops erased rows from the log
        log.warning("could not set the history collection to persist every write", exc_info=True)


def _zero_hnsw_slack(folder: Path) -> None:
    """Zero the bytes of an HNSW index's data_level0.bin and length.bin past its last element.

    Those bytes are no part of the index, yet they hold whatever the process had in memory: hnswlib (Chroma's
    fork) mallocs a new index's arrays for its whole capacity (100 elements) and writes them whole when it
    creates the files, and malloc hands back freed memory as it was; only an element's own block is cleared
    when it is added. Chroma creates the index in the thread that has just read the collection's log (the
    documents) and written its SQLite pages, so those bytes have held customers' messages, phone numbers and
    chat ids, this customer's or any other the process had handled, until elements fill the capacity. Later
    writes touch only elements' blocks (and the header), so zeroing the rest at each erasure leaves them
    clean; the index never reads them. Lengths are real for every element of our collections (cosine: the
    norm is kept per element); the link lists are written element by element from cleared memory.
    """
    try:
        header = (folder / "header.bin").read_bytes()
    except FileNotFoundError:  # no index written yet (an empty collection): no files to scrub
        return
    fields = _HNSW_HEADER.unpack(header) if len(header) == _HNSW_HEADER.size else (0,) * 14
    version, offset_level0, _, count, per_element, label_offset, *_ = fields
    if version != _HNSW_VERSION or offset_level0 != 0 or per_element != label_offset + _HNSW_LABEL_SIZE:
        # Another hnswlib layout (a Chroma upgrade): guessing could corrupt the index. test_history fails then.
        log.error("cannot clear the unused part of %s: unknown HNSW header layout", folder)
        return
    for name, used in (("data_level0.bin", count * per_element), ("length.bin", count * _HNSW_LENGTH_SIZE)):
        with (folder / name).open("r+b") as fh:
            size = fh.seek(0, os.SEEK_END)
            if size <= used:
                continue
            fh.seek(used)
            fh.write(bytes(size - used))
            fh.flush()
            os.fsync(fh.fileno())
