"""The knowledge base: ingest files into Chroma (through LangChain) and answer customer questions."""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import math
import os
import re
import stat
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from crm_core.prompting import PromptLibrary
from crm_core.retrieval.answer import Answerer
from crm_core.retrieval.cache import CorpusCache, CorpusTables, DenseVectors, PrecomputedBM25, corpus_key
from crm_core.retrieval.chroma import KB_PREFIX, ChromaConnector
from crm_core.retrieval.chunking import sentences, views
from crm_core.retrieval.embedder import Embedder, default_embedder
from crm_core.retrieval.errors import IngestError, PersonalData, RetrievalUnavailable, UndeclaredAccount, UnsafePath
from crm_core.retrieval.handoff import screen
from crm_core.retrieval.loaders import Unit, decode_text, load_file
from crm_core.retrieval.manifest import DocRecord, Manifest, UnitRecord
from crm_core.retrieval.models import (
    Answer,
    DocInfo,
    HandoffReason,
    IngestFailure,
    IngestReport,
    RetrievalParams,
    Source,
)
from crm_core.retrieval.normalize import (
    AccentRestorer,
    CodeBook,
    Language,
    Query,
    counterpart_terms,
    has_vietnamese_marks,
    lexical_tokens,
    load_json,
    mentions_any,
    prepare_query,
)
from crm_core.retrieval.offers import SectionWords, offer_scope
from crm_core.retrieval.scope import coverage, marked_words, off_topic
from crm_core.retrieval.screening import (
    Finding,
    OwnContacts,
    account_message,
    declared_for,
    personal_data_message,
    screen_document,
)
from crm_core.retrieval.signals import QuestionSignals, is_faq_entry, states_kind, unit_language
from crm_core.textnorm import fold, fold_tokens

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

log = logging.getLogger(__name__)

MAX_SOURCES = 5
# How deep in the ranking the section answering a two-part question's other part is looked for.
OTHER_PART_AMONG = 8
# Bump when loading/chunking/views change, so every file is re-indexed once with the new layout.
# 5: invisible characters are dropped at load, and every file is screened again (`screening`).
INDEX_VERSION = "5"
_ADD_BATCH = 256
# Marks the digest of a document indexed with sections held back by the screen: never "unchanged", always re-read.
_HELD_BACK = "+held-back"
# Short texts embedded to estimate a corpus's mean query vector: enough for a stable mean, cheap at load.
_MEAN_SAMPLE = 256


def default_params() -> RetrievalParams:
    """Return the fusion/calibration parameters fitted on the demo dev split."""
    return RetrievalParams.model_validate(load_json("params.json"))


@dataclass
class Candidate:
    """A unit with the raw signals retrieval found for it."""

    key: tuple[str, int]
    dense: float = -1.0
    bm25: float = 0.0
    window: tuple[int, int] | None = None
    window_sim: float = -1.0
    fused: float = 0.0
    features: dict[str, float] = field(default_factory=dict)


@dataclass
class _Corpus:
    generation: int
    units: dict[tuple[str, int], Unit]
    keys: list[tuple[str, int]]
    bm25: Any
    vocab: frozenset[str] = frozenset()
    query_mean: list[float] | None = None
    words: frozenset[str] = frozenset()
    # The words written with Vietnamese marks (lower case): a question's "mưa" is not the knowledge's "mua".
    marked: frozenset[str] = frozenset()
    folded_text: str = ""
    # Each section's words: whether one section names a thing a question asks the business to sell or do.
    sections: SectionWords = field(default_factory=SectionWords)
    # The model codes the documents write: a question's "ap c2oo" is read as their "AP-C200".
    codes: CodeBook = field(default_factory=CodeBook)
    # Each section's language, and the mean passage vector of each language the corpus is written in (with two).
    languages: dict[tuple[str, int], Language] = field(default_factory=dict)
    language_means: dict[Language, Any] = field(default_factory=dict)
    written_in: frozenset[Language] = frozenset()
    # FAQ entries compete with document sections: a document holds no question-headed entry while another does.
    faq_and_sections: bool = False
    # Everything a question reads is in the snapshot, so one question never mixes two versions of the knowledge.
    vectors: DenseVectors | None = None
    restorer: AccentRestorer = field(default_factory=AccentRestorer)
    # Each document's content hash: a reload re-reads from Chroma only the vectors of documents that changed.
    docs: dict[str, str] = field(default_factory=dict)


class KnowledgeBase:
    """Customer-facing knowledge: files in `home/chroma` (or a Chroma server), answers with sources.

    `prompts` holds the LLM answer's template (`faq_answer`); the shipped one when not given. `own_contacts` are
    the bank accounts, phones and e-mails the business declared (`Settings.payment_accounts`, `business_contacts`):
    a document giving another account, or other people's personal data, is refused at ingest (`screening`).
    """

    def __init__(
        self,
        *,
        home: Path,
        chroma_url: str | None = None,
        embedder: Embedder | None = None,
        llm: BaseChatModel | None = None,
        params: RetrievalParams | None = None,
        clock: Callable[[], datetime] | None = None,
        llm_timeout_s: float = 8.0,
        prompts: PromptLibrary | None = None,
        own_contacts: OwnContacts | None = None,
    ) -> None:
        self.home = Path(home)
        self.own_contacts = own_contacts or OwnContacts()
        self.embedder = embedder or default_embedder()
        self.params = params or default_params()
        self._clock = clock
        self._chroma = ChromaConnector(home=self.home, chroma_url=chroma_url, embedder=self.embedder)
        self._manifest = Manifest(self.home / "knowledge.sqlite3")
        self._answerer = Answerer(llm=llm, timeout_s=llm_timeout_s, prompts=prompts)
        self._corpus: _Corpus | None = None
        self._cache = CorpusCache(self.home / "cache")
        self._lock = threading.Lock()  # one corpus build at a time; questions never wait for it once one is loaded
        self._reloading: threading.Thread | None = None
        self._reload_guard = threading.Lock()
        self._pinned = threading.local()  # the corpus the question under way in this thread reads
        self._query_vectors: dict[str, list[float]] = {}  # the corpus mean's sample, embedded (kept across reloads)

    # ---------------------------------------------------------------- ingest

    def ingest(
        self, paths: Sequence[Path], *, now: datetime | None = None, allow_personal_data: bool = False
    ) -> IngestReport:
        """Index files and folders; unchanged files are skipped, changed ones replaced, vanished ones removed.

        A file holding other people's personal data is refused unless `allow_personal_data`: then it is indexed and
        listed in the report's `personal_data`. A file giving a bank account the business did not declare is always
        refused. A refused file's previous version keeps answering, unless it fails the screen too (then it is
        removed and listed in `removed`).
        """
        at = self._now(now)
        allow = allow_personal_data
        report = IngestReport()
        for path in paths:
            path = Path(path)
            if path.is_symlink():
                report.errors.append(IngestFailure(doc=path.name, code=UnsafePath.code,
                                                   message=f"{path}: a symbolic link; ingest the file itself"))
            elif path.is_dir():
                self._ingest_folder(path, at, report, allow)
            elif path.exists():
                file = path.resolve()
                root = self._root_of(file)
                self._ingest_file(file, self._doc_key(root, file.relative_to(root)), str(root), at, report, allow)
            else:
                report.errors.append(IngestFailure(doc=path.name, code="not_found", message=f"{path}: no such file"))
        report.sections = self.section_count()
        self._refresh()
        return report

    def _root_of(self, file: Path) -> Path:
        """The folder a single file belongs to: the deepest ingested folder holding it, else its own folder."""
        self._ensure_manifest()
        roots = {Path(r.source_root) for r in self._manifest.docs() if r.source_root}
        holding = [r for r in roots if file.is_relative_to(r)]
        return max(holding, key=lambda r: len(r.parts)) if holding else file.parent

    def _doc_key(self, root: Path, rel: Path) -> str:
        """Name a document by its path relative to the folder it was ingested from.

        The same relative path from another folder (a/faq.md, b/faq.md) takes as many of its folder's
        names as needed to differ ("faq.md", then "b/faq.md"); the same file from the same folder keeps its name.
        """
        self._ensure_manifest()
        parts = [*root.parts[1:], *rel.parts]
        for extra in range(len(rel.parts), len(parts) + 1):
            key = "/".join(parts[-extra:])
            record = self._manifest.get(key)
            if record is None or record.source_root in (None, str(root)):
                return key
        return "/".join(parts)

    def _now(self, now: datetime | None) -> datetime:
        if now is not None:
            return now
        if self._clock is not None:
            return self._clock()
        return datetime.now(UTC)

    def _ingest_folder(self, folder: Path, at: datetime, report: IngestReport, allow: bool) -> None:
        root = folder.resolve()
        seen: set[str] = set()
        for file in _folder_files(root):
            rel = file.relative_to(root)
            # Hidden files and a folder's README (it describes the folder, not the business) are not knowledge.
            if any(part.startswith((".", "_")) for part in rel.parts) or file.stem.upper() == "README":
                continue
            doc = self._doc_key(root, rel)
            if file.is_symlink() or not file.resolve().is_relative_to(root):
                # A link may point anywhere (a system file would then be served to customers): never followed,
                # and what an earlier version indexed through it is removed below.
                report.errors.append(IngestFailure(doc=doc, code=UnsafePath.code,
                                                   message=f"{doc}: a symbolic link; not followed"))
                continue
            seen.add(doc)
            self._ingest_file(file, doc, str(root), at, report, allow)
        self._ensure_manifest()
        for record in self._manifest.docs():
            if record.source_root == str(root) and record.doc not in seen:
                self._drop(record)
                report.removed.append(record.doc)

    def _ensure_manifest(self) -> None:
        try:
            self.home.mkdir(parents=True, exist_ok=True)
            self._manifest.generation()
        except Exception as exc:
            raise RetrievalUnavailable(f"knowledge manifest unreadable under {self.home}") from exc

    def _ingest_file(
        self, file: Path, doc: str, root: str | None, at: datetime, report: IngestReport, allow: bool
    ) -> None:
        self._ensure_manifest()
        try:
            status = file.stat()
            if not stat.S_ISREG(status.st_mode):  # a FIFO or device would block the read forever
                report.errors.append(IngestFailure(doc=doc, code=UnsafePath.code, message=f"{doc}: not a regular file"))
                return
            data = file.read_bytes() if status.st_size <= 20 * 1024 * 1024 else b""
        except OSError as exc:
            report.errors.append(IngestFailure(doc=doc, code="unreadable", message=f"{doc}: {exc.strerror}"))
            return
        digest = hashlib.sha256(INDEX_VERSION.encode() + b"\x00" + data).hexdigest()
        previous = self._manifest.get(doc)
        if previous is not None and previous.sha256 == digest and data:
            if previous.source_root != root and root is not None:
                self._manifest.set_root(doc, root)
            report.unchanged.append(doc)
            return
        try:
            units = load_file(file, doc)
        except IngestError as exc:
            report.errors.append(IngestFailure(doc=doc, code=exc.code, message=str(exc)))
            return
        held = self._screened(file, doc, root, data, units, report, allow)
        # Only a document the screen stops has its served version screened again.
        stale = held is not None and previous is not None and self._fails_screen(doc, root, allow)
        kept = [unit for unit in units if unit.section not in held] if held is not None else []
        whole_before = previous is not None and not previous.sha256.endswith(_HELD_BACK)
        if held is not None and (not kept or (whole_before and not stale)):
            # Refused whole: nothing else in it, or an edit of a document still served whole as it was (that
            # version answers until the admin fixes the line).
            if stale:
                # The version still served holds what was refused (indexed before the screen existed, or before a
                # rule caught it): it stops answering customers now, not at the admin's next edit.
                self.remove(doc)
                report.removed.append(doc)
            return
        if held:
            # A new document (or one served with sections held back already, or whose served version fails the
            # screen too): its other sections answer, the sections with the line are held back and the report
            # names them. Its digest is marked so the next ingest reads and reports it again.
            for failure in report.errors:
                if failure.doc == doc:
                    failure.held_sections = sorted(held)
            log.info("indexed %s without %d section(s) the screen stopped", doc, len(held))
            self._index(doc, kept, digest + _HELD_BACK, len(data), root, at, previous)
        else:
            self._index(doc, units, digest, len(data), root, at, previous)
        (report.updated if previous else report.added).append(doc)

    def _screened(
        self, file: Path, doc: str, root: str | None, data: bytes, units: list[Unit], report: IngestReport, allow: bool
    ) -> set[str] | None:
        """Screen a read document (see `screening`): report what stops it and return the headings of the sections
        it is in (every section's for a customer list, which runs across them), or None when it passes (noting
        the personal data it was let in with)."""
        own = declared_for(root, self.own_contacts)
        findings = screen_document(units, own)
        personal = [f for f in findings if f.kind == "personal_data"]
        accounts = [f for f in findings if f.kind == "undeclared_account"]
        text = _plain_text(file, doc, data) if findings else None  # to number the line
        failures: list[IngestFailure] = []
        if personal and not allow:
            failures.append(IngestFailure(doc=doc, code=PersonalData.code, detail=personal[0].line,
                                          message=personal_data_message(doc, personal, text)))
        if accounts:
            failures.append(IngestFailure(doc=doc, code=UndeclaredAccount.code, detail=accounts[0].line,
                                          message=account_message(doc, accounts, text)))
        if not failures:
            if personal:
                report.personal_data.append(doc)
            return None
        report.errors.extend(failures)
        log.info("screened %s: %s", doc, ", ".join(f.code for f in failures))
        return _held_sections(units, findings, own, allow)

    def _fails_screen(self, doc: str, root: str | None, allow: bool) -> bool:
        """Tell whether the indexed version of `doc` would itself be refused by today's screen."""
        units = [unit for key, unit in self._current().units.items() if key[0] == doc]
        findings = screen_document(units, declared_for(root, self.own_contacts))
        return any(f.kind == "undeclared_account" or (f.kind == "personal_data" and not allow) for f in findings)

    def _index(
        self,
        doc: str,
        units: list[Unit],
        digest: str,
        size: int,
        root: str | None,
        at: datetime,
        previous: DocRecord | None,
    ) -> None:
        texts: list[str] = []
        metadatas: list[dict[str, Any]] = []
        for ord_, unit in enumerate(units):
            for view in views(unit):
                texts.append(view.text)
                metadatas.append({"doc": doc, "ord": ord_, "kind": view.kind, "s0": view.start, "s1": view.end})
        prefix = hashlib.sha1(f"{doc}\x1f{digest}".encode()).hexdigest()[:20]
        ids = [f"{prefix}:{i}" for i in range(len(texts))]
        try:
            for start in range(0, len(texts), _ADD_BATCH):
                end = start + _ADD_BATCH
                with self._chroma.writing():  # not while a removal rebuilds the collection: opened again here
                    self._chroma.kb_store().add_texts(texts[start:end], metadatas=metadatas[start:end],
                                                      ids=ids[start:end])
        except Exception as exc:
            with self._chroma.writing():
                self._chroma.safe_delete(self._chroma.kb_store(), ids)
            raise RetrievalUnavailable(f"could not index {doc}") from exc
        record = DocRecord(
            doc=doc,
            source_root=root,
            sha256=digest,
            bytes=size,
            sections=len(units),
            ingested_at=at.isoformat(),
            vector_ids=tuple(ids),
        )
        self._manifest.replace(record, units)
        if previous is not None:
            stale = [i for i in previous.vector_ids if i not in set(ids)]
            with self._chroma.writing():
                self._chroma.safe_delete(self._chroma.kb_store(), stale)
        log.info("indexed %s: %d sections, %d vectors", doc, len(units), len(ids))

    def _drop(self, record: DocRecord) -> None:
        try:
            with self._chroma.writing():
                self._chroma.kb_store().delete(ids=list(record.vector_ids))
        except Exception as exc:
            raise RetrievalUnavailable(f"could not remove {record.doc}") from exc
        self._manifest.delete(record.doc)

    def remove(self, doc: str) -> bool:
        """Remove `doc` from the index; return whether it was there.

        A removed document may hold personal data: none of its vectors stays in a file of the store (the
        collection is rebuilt without them, see `ChromaConnector.erase_raw`) nor in the saved corpus tables.
        """
        self._ensure_manifest()
        record = self._manifest.get(doc)
        if record is None:
            return False
        self._drop(record)
        self._cache.clear()
        try:
            self._chroma.erase_raw(KB_PREFIX, list(record.vector_ids))
        except Exception:  # removed all the same; its vectors leave the files when the store is next opened
            log.warning("could not yet rebuild the knowledge collection without %s", doc, exc_info=True)
        self._refresh()
        return True

    def list_docs(self) -> list[DocInfo]:
        """Return the indexed documents."""
        self._ensure_manifest()
        return [
            DocInfo(doc=r.doc, sections=r.sections, bytes=r.bytes, ingested_at=datetime.fromisoformat(r.ingested_at))
            for r in self._manifest.docs()
        ]

    def section_count(self) -> int:
        """Return the number of indexed sections (units)."""
        self._ensure_manifest()
        return self._manifest.section_count()

    # ---------------------------------------------------------------- ask

    def ask(self, question: str, *, language: Language | None = None) -> Answer:
        """Answer a customer question from the knowledge base, or say why a human should; writes nothing.

        The question reads one snapshot of the knowledge throughout, even if a reload swaps in a newer one meanwhile.
        """
        self._pinned.corpus = self._load_corpus()
        try:
            return self._ask(question, language)
        finally:
            self._pinned.corpus = None

    def _ask(self, question: str, language: Language | None) -> Answer:
        self._check_store()  # fail early (RetrievalUnavailable) when the store is gone, even if empty
        query = self.prepare(question, language=language)
        candidates = self.retrieve(query) if question.strip() else []
        ranked = self.rank(candidates)
        sources = self._sources(ranked)
        corpus = self._snapshot()
        covered = self.coverage(query)
        confidence = self.confidence(ranked, covered=covered)
        reason = self.screen(question, covered=covered)
        if reason is not None:
            return self._answerer.decline(reason, query.language, sources, confidence)
        if not ranked or corpus is None or confidence < self.params.handoff_below:
            why: HandoffReason = "out_of_scope" if confidence < self.params.out_of_scope_below else "low_confidence"
            return self._answerer.decline(why, query.language, sources, confidence)
        top = [corpus.units[c.key] for c in ranked[:3]]
        also = other_part(query, [corpus.units[c.key] for c in ranked[:OTHER_PART_AMONG]])
        return self._answerer.answer(query, top, ranked[0].window, sources, confidence, also=also)

    def prepare(self, question: str, *, language: Language | None = None) -> Query:
        """Normalise a question (abbreviations, accents, glossary) against the current corpus."""
        corpus = self._current()
        query = prepare_query(question, corpus.restorer, language=language, codes=corpus.codes,
                              written_in=corpus.written_in)
        return _correct_codes(query, corpus.vocab) if corpus.vocab else query

    def _current(self) -> _Corpus:
        """The corpus to read: the one the question under way pinned, else the loaded one (see `_load_corpus`)."""
        pinned: _Corpus | None = getattr(self._pinned, "corpus", None)
        return pinned if pinned is not None else self._load_corpus()

    def _snapshot(self) -> _Corpus | None:
        """The corpus the question under way pinned, else the loaded one if any (loading nothing)."""
        pinned: _Corpus | None = getattr(self._pinned, "corpus", None)
        return pinned if pinned is not None else self._corpus

    def _load_corpus(self) -> _Corpus:
        """The corpus in memory; loaded now on the first question, and rebuilt in the background when the
        knowledge changed (another process ingested): meanwhile questions are answered from the previous one,
        never waiting for the rebuild (which, under load, took longer than a customer's answer may)."""
        self._ensure_manifest()
        generation = self._manifest.generation()
        corpus = self._corpus
        if corpus is not None:
            if corpus.generation != generation:
                self._reload_in_background()
            return corpus
        with self._lock:
            if self._corpus is None:
                self._corpus = self._build_corpus(None)
            return self._corpus

    def _reload_in_background(self) -> None:
        """Start rebuilding the corpus in a thread of its own, unless one is already at it."""
        with self._reload_guard:
            if self._reloading is not None and self._reloading.is_alive():
                return
            self._reloading = threading.Thread(target=self._reload, name="kb-reload", daemon=True)
            self._reloading.start()

    def _reload(self) -> None:
        try:
            with self._lock:
                previous = self._corpus
                if previous is None or previous.generation != self._manifest.generation():
                    self._corpus = self._build_corpus(previous)  # one assignment: the swap is atomic
        except Exception:  # the previous corpus keeps answering; the next question tries again
            log.warning("could not reload the knowledge base; answering from the previous version", exc_info=True)

    def _refresh(self) -> None:
        """After this instance changed the knowledge: rebuild now (its admin's next test must see the change)."""
        with self._lock:
            previous = self._corpus
            if previous is not None and previous.generation != self._manifest.generation():
                self._corpus = self._build_corpus(previous)

    def wait_until_current(self, timeout: float | None = None) -> bool:
        """Wait for a background reload under way; tell whether the corpus in memory is the latest knowledge."""
        reloading = self._reloading
        if reloading is not None:
            reloading.join(timeout)
        corpus = self._corpus
        return corpus is not None and corpus.generation == self._manifest.generation()

    def _build_corpus(self, previous: _Corpus | None) -> _Corpus:
        """Read the indexed units and derive what answering needs; with `previous`, reuse what did not change."""
        generation = self._manifest.generation()  # read first: a change while building leaves it behind, reloaded
        records: list[UnitRecord] = self._manifest.units()
        docs = {r.doc: r for r in self._manifest.docs()}
        units = {(r.doc, r.ord): r.unit for r in records}
        keys = list(units)
        restorer = AccentRestorer()
        tables = self._corpus_tables(units, keys, restorer, previous, docs)
        bm25 = tables.bm25
        vocab = frozenset(t for t in bm25.vocab_dict if any(ch.isdigit() for ch in t)) if bm25 is not None else None
        languages = {k: unit_language(units[k]) for k in keys}
        return _Corpus(
            generation=generation,
            units=units,
            keys=keys,
            bm25=bm25,
            vocab=vocab or frozenset(),
            query_mean=tables.query_mean,
            words=frozenset(bm25.vocab_dict) if bm25 is not None else frozenset(),
            marked=marked_words(f"{u.title}\n{u.text}\n{' '.join(u.variants)}" for u in units.values()),
            folded_text="\n".join(fold(f"{u.title}\n{u.text}\n{' '.join(u.variants)}") for u in units.values()),
            codes=CodeBook.of(_full_text(u) for u in units.values()),
            sections=SectionWords.of(_full_text(u) for u in units.values()),
            languages=languages,
            written_in=frozenset(languages.values()),
            language_means=_language_means(tables.vectors, languages),
            faq_and_sections=_faq_and_sections(units.values()),
            vectors=tables.vectors,
            restorer=restorer,
            docs={doc: record.sha256 for doc, record in docs.items()},
        )

    def _corpus_tables(self, units: dict[tuple[str, int], Unit], keys: list[tuple[str, int]],
                       restorer: AccentRestorer, previous: _Corpus | None,
                       docs: dict[str, DocRecord]) -> CorpusTables:
        """The BM25 index, the accent restorer's tables and the query mean: from the cache when this very
        corpus was loaded before (by any process), else built and saved (see `crm_core.retrieval.cache`)."""
        key = corpus_key(((k, units[k]) for k in keys), model=self.embedder.name,
                         centred=self.params.query_centering > 0)
        tables = self._cache.load(key)
        if tables is None or tables.keys != keys:
            bm25 = PrecomputedBM25.of(_build_bm25([_lexical_text(units[k]) for k in keys])) if keys else None
            restorer.learn(f"{u.title}\n{u.text}\n{' '.join(u.variants)}" for u in units.values())
            vectors = self._knowledge_vectors(previous, docs) if self._chroma.embedded and keys else None
            tables = CorpusTables(keys=keys, bm25=bm25, restorer=restorer.tables(),
                                  query_mean=self._query_mean(units.values()), vectors=vectors)
            self._cache.save(key, tables)
        else:
            restorer.use(tables.restorer)
        return tables

    def _knowledge_vectors(self, previous: _Corpus | None, docs: dict[str, DocRecord]) -> DenseVectors:
        """Every knowledge vector: those of documents unchanged since `previous` from it, only the rest from Chroma."""
        old = previous.vectors if previous is not None else None
        if previous is None or old is None:
            return DenseVectors.of(*self._chroma.kb_vectors())
        same = {doc for doc, record in docs.items() if previous.docs.get(doc) == record.sha256}
        kept = [i for i, meta in enumerate(old.metadatas) if meta.get("doc") in same]
        wanted = [vid for doc, record in docs.items() if doc not in same for vid in record.vector_ids]
        matrix, metadatas = old.matrix[kept], [old.metadatas[i] for i in kept]
        if wanted:
            fresh = DenseVectors.of(*self._chroma.kb_vectors(ids=wanted))
            matrix, metadatas = np.vstack([matrix, fresh.matrix]), metadatas + fresh.metadatas
        return DenseVectors(matrix=matrix, metadatas=metadatas)

    def _check_store(self) -> None:
        """Raise RetrievalUnavailable when the vector store is gone; with the vectors cached, without opening it."""
        vectors = self._current().vectors
        if vectors is not None and self._chroma.looks_intact():
            return
        if vectors is not None:
            raise RetrievalUnavailable(f"vector store unreadable under {self.home / 'chroma'}")
        self._chroma.kb_collection()

    def _nearest(self, vectors: list[list[float]]) -> list[list[tuple[dict[str, Any], float]]]:
        """The nearest knowledge vectors per query: from the cached copy when there is one, else from Chroma."""
        cached = self._current().vectors
        if cached is not None:
            return cached.nearest(vectors, self.params.k_dense)
        return self._chroma.query_kb_many(vectors, self.params.k_dense)

    def _query_mean(self, units: Iterable[Unit]) -> list[float] | None:
        """Return the mean query-side vector of the corpus's own headings and question variants.

        e5 query vectors share a large common direction; removing part of the corpus's own mean (estimated on
        a fixed sample of its short texts, embedded once per corpus) sharpens which section a question is nearest.
        """
        texts = sorted({t for u in units for t in (u.title, u.section, *u.variants) if t.strip()})
        if not texts or self.params.query_centering <= 0:
            return None
        step = math.ceil(len(texts) / _MEAN_SAMPLE)
        sample = texts[::step]
        # A reload embeds only the texts new to the sample (a document's headings), not the whole sample again.
        known = self._query_vectors
        missing = [t for t in sample if t not in known]
        fresh = dict(zip(missing, self.embedder.embed_queries(missing), strict=True)) if missing else {}
        self._query_vectors = {t: known.get(t) or fresh[t] for t in sample}
        vectors = np.asarray([self._query_vectors[t] for t in sample], dtype=np.float64)
        return [float(x) for x in vectors.mean(axis=0)]

    def _centre(self, vector: list[float], corpus: _Corpus) -> list[float]:
        if corpus.query_mean is None:
            return vector
        shifted = np.asarray(vector, dtype=np.float64) - self.params.query_centering * np.asarray(corpus.query_mean)
        norm = float(np.linalg.norm(shifted))
        return [float(x) for x in shifted / norm] if norm > 0 else vector

    def retrieve(self, query: Query) -> list[Candidate]:
        """Return candidate units with their raw signals: dense similarity per query form (max over views), BM25."""
        corpus = self._current()
        if not corpus.keys:
            return []
        forms = query.embedding_texts()
        names = {query.raw: "raw", query.normalized: "main"}  # when both are the same text it is "main"
        vectors = [self._centre(v, corpus) for v in self.embedder.embed_queries(forms)]
        found: dict[tuple[str, int], Candidate] = {}
        floors: dict[str, float] = {}
        for form, hits in zip(forms, self._nearest(vectors), strict=True):
            name = names.get(form, "gloss")
            for meta, sim in hits:
                key = (str(meta["doc"]), int(meta["ord"]))
                if key not in corpus.units:
                    continue
                cand = found.setdefault(key, Candidate(key=key))
                best = cand.features.get(name, -1.0)
                if sim > best:
                    if name in cand.features:
                        cand.features[f"{name}:2nd"] = best
                    cand.features[name] = sim
                elif sim > cand.features.get(f"{name}:2nd", -1.0):
                    cand.features[f"{name}:2nd"] = sim
                if meta.get("kind") == "body":
                    cand.features[f"{name}:body"] = sim
                if name == "main" and meta.get("kind") == "window" and sim > cand.window_sim:
                    cand.window_sim = sim
                    cand.window = (int(meta["s0"]), int(meta["s1"]))
            floor = min((sim for _, sim in hits), default=0.0)
            floors.update({name: floor, f"{name}:body": floor, f"{name}:2nd": floor})
        tokens = query.lexical_tokens()
        if corpus.bm25 is not None and tokens:
            scores = _bm25_scores(corpus.bm25, tokens)
            top = set(sorted(range(len(scores)), key=lambda i: -scores[i])[: self.params.k_lexical])
            for i, value in enumerate(scores):
                key = corpus.keys[i]
                if key in found:
                    found[key].bm25 = float(value)
                elif i in top and value > 0:
                    found[key] = Candidate(key=key, bm25=float(value))
        signals = QuestionSignals.of(query)
        offsets = _language_offsets(vectors[0], corpus)
        for cand in found.values():
            for name, floor in floors.items():
                # A unit outside a form's top-k scores at most that form's k-th similarity.
                cand.features.setdefault(name, floor)
            cand.features.update(signals.score(corpus.units[cand.key]))
            if not corpus.faq_and_sections:
                # What a FAQ entry adds to the question, or the other kind of value it asks for, tells it from a
                # section that answers; among FAQ entries only, each is the answer to its own question (StackFAQ,
                # BANKING77: held-out hit@1 fell with both).
                cand.features["x:faq_extra"] = 0.0
                cand.features["x:asks_other"] = 0.0
            cand.features["x:lang_offset"] = offsets.get(corpus.languages[cand.key], 0.0)
        return list(found.values())

    def rank(self, candidates: list[Candidate], params: RetrievalParams | None = None) -> list[Candidate]:
        """Fuse dense and lexical signals with the tuned weights; best first."""
        p = params or self.params
        offsets = {"main": 0.0, "raw": p.p_raw, "gloss": p.p_gloss}
        for cand in candidates:
            f = cand.features
            cand.dense = max(
                (
                    (f[name] + p.w_second * f.get(f"{name}:2nd", f[name]) + p.w_body * f.get(f"{name}:body", f[name]))
                    / (1.0 + p.w_second + p.w_body)
                    - offset
                    for name, offset in offsets.items()
                    if name in f
                ),
                default=-1.0,
            )
            lexical = cand.bm25 / (cand.bm25 + p.k_bm25) if cand.bm25 > 0 else 0.0
            # The section that answers over one that mentions: same language, heading words, amounts, numbers.
            signals = (
                p.w_lang_vi * f.get("x:lang_vi", 0.0)
                + p.w_lang_en * f.get("x:lang_en", 0.0)
                + p.w_head * f.get("x:head", 0.0)
                + p.w_price * f.get("x:price", 0.0)
                + p.w_num * f.get("x:num", 0.0)
                - p.w_clash * f.get("x:clash", 0.0)
                + p.w_type * f.get("x:type", 0.0)
                + p.w_code * f.get("x:code", 0.0)
                - p.w_code_clash * f.get("x:code_clash", 0.0)
                + p.w_code_head * f.get("x:code_head", 0.0)
                - p.w_asks_other * f.get("x:asks_other", 0.0)
                - p.w_faq_extra * f.get("x:faq_extra", 0.0)
                - p.w_lang_centre * f.get("x:lang_offset", 0.0)
            )
            cand.fused = cand.dense + p.w_bm25 * lexical + signals
        ranked = sorted(candidates, key=lambda c: -c.fused)
        return self._prefer_own_language(ranked, p.lang_swap, p.lang_swap_en)

    def _prefer_own_language(self, ranked: list[Candidate], delta_vi: float, delta_en: float) -> list[Candidate]:
        """Answer from the question's language when a counterpart section in it is nearly as close.

        When the best section is in the other language, the first same-language section within `delta` of it whose
        heading or document title names one of the best one's heading terms in the question's language (glossary,
        as whole phrases: "Shipping to Hanoi…" -> "giao hàng", "Hà Nội"; "Giao sai, giao thiếu… nhận hàng" is not
        about "giao hàng") goes first.
        """
        corpus = self._snapshot()
        if len(ranked) < 2 or corpus is None:
            return ranked
        top = ranked[0]
        if top.features.get("x:lang_vi", 0.0) or top.features.get("x:lang_en", 0.0):
            return ranked
        top_unit = corpus.units[top.key]
        top_language = unit_language(top_unit)
        # The best section is in the other language: a Vietnamese question's best is English, and the reverse.
        delta = delta_vi if top_language == "en" else delta_en
        if delta <= 0:
            return ranked
        bridge = counterpart_terms(top_unit.section, top_language)
        if not bridge:
            return ranked
        for i, cand in enumerate(ranked[1:6], start=1):
            if top.fused - cand.fused > delta:
                break
            if not (cand.features.get("x:lang_vi", 0.0) or cand.features.get("x:lang_en", 0.0)):
                continue
            unit = corpus.units[cand.key]
            if mentions_any(f"{unit.title}\n{unit.section}", bridge):
                return [cand, *ranked[:i], *ranked[i + 1 :]]
        return ranked

    def screen(self, question: str, *, covered: float | None = None) -> HandoffReason | None:
        """Return why a person, not this knowledge, should answer the question (see `handoff.screen`), or None.

        A question naming a model code shaped like the documents' ("AP-C999") that no document writes is for a person.
        Then a question asking whether the business sells or does things this knowledge never mentions is not
        answered from a section that only shares its frame ("shop có bán máy lạnh không" is not "Có bán lẻ 1 cái
        ghế không?"): see `offers.offer_scope`. `covered` is the question's word coverage (`coverage`); computed
        here when not given.
        """
        corpus = self._current()
        if covered is None:
            covered = self.coverage(self.prepare(question))
        reason: HandoffReason | None = screen(question, corpus.folded_text, covered=covered)
        if reason is None and covered == 0.0 and has_vietnamese_marks(question):
            # Typed with marks and not one topic word written so anywhere in the knowledge ("trời có mưa không": its
            # "mưa" is not the documents' "mua"): whatever section comes nearest only shares its frame.
            reason = "out_of_scope"
        if reason is None and corpus.codes.unknown(question):
            # "giá AP-C999 bao nhiêu": a model the documents never write is no product they can answer for; the
            # nearest section is another product's. A person says whether it exists.
            reason = "low_confidence"
        return reason if reason is not None else offer_scope(question, corpus.sections)

    def off_topic(self, question: str) -> bool:
        """Tell whether the question is about a topic outside any customer FAQ that this knowledge never mentions."""
        corpus = self._snapshot()
        return off_topic(question, corpus.folded_text if corpus is not None else "")

    def coverage(self, query: Query) -> float:
        """Return the share of the question's topic words the knowledge base uses (see `scope.coverage`)."""
        corpus = self._snapshot()
        return coverage(query, corpus.words, corpus.marked) if corpus is not None and corpus.words else 1.0

    def confidence(
        self, ranked: list[Candidate], params: RetrievalParams | None = None, *, covered: float = 1.0
    ) -> float:
        """Map the best candidates' fused scores and the question's word coverage to a probability of a right answer."""
        if not ranked:
            return 0.0
        p = params or self.params
        top = ranked[0].fused
        margin = top - ranked[1].fused if len(ranked) > 1 else 0.05
        z = p.calib_a * top + p.calib_c * margin + p.calib_d * covered + p.calib_b
        return round(1.0 / (1.0 + math.exp(-max(min(z, 50.0), -50.0))), 4)

    def _sources(self, ranked: list[Candidate]) -> list[Source]:
        corpus = self._snapshot()
        if corpus is None:
            return []
        sources: list[Source] = []
        seen: set[tuple[str, str]] = set()
        for cand in ranked:
            unit = corpus.units[cand.key]
            pair = (unit.doc, unit.section)
            if pair in seen:
                continue
            seen.add(pair)
            sources.append(
                Source(
                    doc=unit.doc, section=unit.section, title=unit.title, score=round(max(min(cand.fused, 1.0), 0.0), 4)
                )
            )
            if len(sources) == MAX_SOURCES:
                break
        return sources


def other_part(query: Query, ranked: list[Unit]) -> Unit | None:
    """The section that answers what the best one does not, for a question asking two kinds of value.

    "giao ra Đà Nẵng mấy ngày, có tính phí không" asks a duration and a price; the delivery times answer the first
    and state no amount. The section of the same document that states the missing kind, whose heading names the
    most of the question's words (the fees table, not the rescheduling rules that mention a fee), best ranked first
    among equals. Another document's section is left out: "đổi trả mấy ngày, có mất phí ship không" is not answered
    by the delivery rescheduling fees because "đổi lịch" shares a word. None when the question asks one kind, or the
    best section states them all.
    """
    signals = QuestionSignals.of(query)
    if len(signals.kinds) < 2 or not ranked:
        return None
    top = ranked[0]
    missing = {kind for kind in signals.kinds if not states_kind(kind, top.text)}
    if not missing or missing == signals.kinds:
        return None
    fitting = [
        (len(signals.topic & set(fold_tokens(unit.section))), -rank, unit)
        for rank, unit in enumerate(ranked[1:], start=1)
        if unit.doc == top.doc
        and unit.section != top.section
        and any(states_kind(kind, unit.text) for kind in missing)
    ]
    named = [entry for entry in fitting if entry[0] > 0]
    return max(named, key=lambda entry: entry[:2])[2] if named else None


def _language_means(vectors: DenseVectors | None, languages: dict[tuple[str, int], Language]) -> dict[Language, Any]:
    """Mean passage vector per language, when the corpus has sections in both and its vectors are at hand."""
    if vectors is None or len(set(languages.values())) < 2:
        return {}
    rows: dict[Language, list[int]] = {}
    for i, meta in enumerate(vectors.metadatas):
        lang = languages.get((str(meta.get("doc")), int(meta.get("ord", -1))))
        if lang is not None:
            rows.setdefault(lang, []).append(i)
    return {lang: vectors.matrix[idx].mean(axis=0) for lang, idx in rows.items()} if len(rows) == 2 else {}


def _language_offsets(vector: list[float], corpus: _Corpus) -> dict[Language, float]:
    """How much nearer the question is to each language's mean passage than to the languages' average.

    e5 similarities carry the language: every English section is somewhat near an English question. Removing the
    question's similarity to a language's centroid (its share above the average) compares sections on what they say.
    """
    if not corpus.language_means:
        return {}
    q = np.asarray(vector, dtype=np.float32)
    near = {lang: float(q @ mean) for lang, mean in corpus.language_means.items()}
    average = sum(near.values()) / len(near)
    return {lang: round(value - average, 5) for lang, value in near.items()}


def _held_sections(units: list[Unit], findings: list[Finding], own: OwnContacts, allow: bool) -> set[str]:
    """The headings of the sections to hold back for `findings`: every one for a customer list (it runs across
    them); else those with a finding, and those the screen finds once they are gone (an account is reported once
    however many sections repeat it, as a title in every breadcrumb)."""
    held: set[str] = set()
    while True:
        stopping = [f for f in findings if f.kind == "undeclared_account" or not allow]
        if any(f.what == "contact_list" for f in stopping):
            return {unit.section for unit in units}
        if not stopping:
            return held
        held |= {f.section for f in stopping}
        findings = screen_document([u for u in units if u.section not in held], own)


def _faq_and_sections(units: Iterable[Unit]) -> bool:
    """Tell whether a knowledge base has FAQ entries (question headings) and documents with none beside them."""
    with_questions: set[str] = set()
    docs: set[str] = set()
    for unit in units:
        docs.add(unit.doc)
        if is_faq_entry(unit):
            with_questions.add(unit.doc)
    return bool(with_questions) and bool(docs - with_questions)


def _plain_text(file: Path, doc: str, data: bytes) -> str | None:
    """A text file's text, to number its lines in a message; None for a document without lines (pdf, docx, xlsx)."""
    if file.suffix.lower() not in (".md", ".markdown", ".txt", ".csv"):
        return None
    try:
        return decode_text(data, doc)
    except IngestError:
        return None


def _folder_files(root: Path) -> list[Path]:
    """Every file under `root`, sorted; links (to files or folders) are listed, never entered."""
    found: list[Path] = []
    for folder, dirs, files in os.walk(root, followlinks=False):
        base = Path(folder)
        found += [base / name for name in files]
        found += [base / name for name in dirs if (base / name).is_symlink()]
    return sorted(found)


def _full_text(unit: Unit) -> str:
    """A section's every word: breadcrumb, heading, question variants and body."""
    return f"{unit.title}\n{unit.section}\n{' '.join(unit.variants)}\n{unit.text}"


def _lexical_text(unit: Unit) -> list[str]:
    return lexical_tokens(f"{unit.title} {unit.section} {' '.join(unit.variants)} {unit.text}")


def _correct_codes(query: Query, codes: frozenset[str]) -> Query:
    """Fix one-character typos in model codes ("AP-HD14O" -> "AP-HD140") against the codes the documents use."""
    from rapidfuzz.distance import Levenshtein

    fixed = query.normalized
    changed = False
    for token in set(lexical_tokens(query.normalized)):
        if token in codes or len(token) < 4 or not any(ch.isalpha() for ch in token):
            continue
        # A code has letters: "20m2" (a room's area) is one edit from the year "2012", which is no code.
        near = [c for c in codes if len(c) == len(token) and any(ch.isalpha() for ch in c)
                and Levenshtein.distance(c, token, score_cutoff=1) <= 1]
        if len(near) == 1:
            fixed = re.sub(rf"(?i)(?<![0-9a-z]){re.escape(token)}(?![0-9a-z])", near[0].upper(), fixed)
            changed = True
    return dataclasses.replace(query, normalized=fixed) if changed else query


def _build_bm25(corpus_tokens: list[list[str]]) -> Any:
    import bm25s

    # bm25s sets its own logger to DEBUG on import; keep its progress chatter out of our logs (and CLI stderr).
    logging.getLogger("bm25s").setLevel(logging.WARNING)

    model = bm25s.BM25()
    model.index([t or ["_"] for t in corpus_tokens], show_progress=False)
    return model


def _bm25_scores(model: Any, tokens: list[str]) -> list[float]:
    ids = model.get_tokens_ids(tokens)
    if not ids:
        return [0.0] * int(model.scores["num_docs"])
    return [float(x) for x in model.get_scores_from_ids(ids)]


__all__ = ["Candidate", "KnowledgeBase", "default_params", "sentences"]
