"""The knowledge base kept from a chat: documents sent as files, listed, removed, re-indexed, tried; gaps answered.

    take_file(file)      checks (type, size, empty, same bytes as another document) -> the message's reads end
                         -> in a thread: the file replaces the kept copy of that name and is ingested; when
                            the ingest fails the previous copy is put back (the index still holds the old
                            version: KnowledgeBase only replaces a document it could read) -> a short write:
                            who sent it, its hash, an audit entry
    documents()          what is indexed, with who sent each file and when
    remove(doc) / reindex(doc)
    test(question)       exactly what a customer would be answered (nothing written)
    gaps()               last 30 days' questions (at most 500) handed off for low confidence or as out of
                         scope, or rated 👎, grouped by words or meaning; once gap answers exist, groups
                         the knowledge base now answers are left out
    answer_gap(id, text) the answer becomes an entry of the gap answers' FAQ table, ingested at once

Admins only (`policy.can_curate_knowledge`). Slow work (reading a pdf, embedding) never runs on the event loop
nor inside a write transaction.
"""

from __future__ import annotations

import asyncio
import hashlib
import shutil
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field
from sqlalchemy import delete, or_, select

from crm_core.config import Settings
from crm_core.errors import Forbidden, InvalidInput, NotAvailable, NotFound
from crm_core.knowledge_admin.gaps import (
    MAX_QUESTIONS,
    GapGroup,
    GapQuestion,
    answered_questions,
    group_questions,
    meaning_text,
    with_answer,
)
from crm_core.models import CustomerQuestion, KnowledgeFile
from crm_core.policy import can_curate_knowledge
from crm_core.ports import KnowledgeShelfPort, Ports
from crm_core.retrieval.embedder import Embedder
from crm_core.retrieval.loaders import SUPPORTED_SUFFIXES
from crm_core.retrieval.models import Answer, IngestReport
from crm_core.schemas import UserOut
from crm_core.services import Services
from crm_core.textnorm import fold
from crm_core.uow import StorePhase

MAX_FILE_BYTES = 20 * 1024 * 1024  # what a channel lets a bot download (Telegram's getFile)
GAP_DAYS = 30
GAP_ANSWERS_FILE = "gap-answers.csv"
GAP_REASONS = ("low_confidence", "out_of_scope")
# Small process-wide caches for /gaps: a question's vector (by model and text), and whether the knowledge
# base (as its documents stand) answers a group's example. Bounded: dropped whole when full.
_VECTORS: dict[tuple[str, str], list[float]] = {}
_ANSWERED: dict[tuple[str, str], bool] = {}
_CACHE_MAX = 4000
FILES_FOLDER = "knowledge-files"
PREVIOUS_FOLDER = "knowledge-files-previous"
# One file at a time: two admins sending the same name must not interleave the swap of the kept copy.
_SWAP_LOCK = threading.Lock()

RefusalReason = Literal["unsupported", "empty", "too_large", "duplicate", "url"]
Outcome = Literal["added", "updated", "unchanged", "failed"]
Step = Callable[[str], None]  # "reading", "indexing": the flow's progress, called from any thread


class KnowledgeRefused(InvalidInput):
    """A sent file is not taken (nothing changed); `reason` says why, `doc` names the same content's document."""

    code = "knowledge_refused"


class FileFailure(BaseModel):
    """Why a document could not be indexed (the loader's or the screen's code and words)."""

    code: str
    message: str
    detail: str | None = None  # the line that stopped it (personal data, an undeclared bank account)
    held_sections: list[str] = Field(default_factory=list)  # the other sections were indexed, not these


class FileTaken(BaseModel):
    """What sending one file did."""

    doc: str
    file_name: str
    outcome: Outcome
    sections: int = 0  # of this document, once indexed
    total_sections: int = 0  # in the whole knowledge base
    errors: list[FileFailure] = Field(default_factory=list)


class KnowledgeDoc(BaseModel):
    """One indexed document as `/kb` lists it."""

    doc: str
    key: str  # a short stable name for buttons
    bytes: int
    sections: int
    ingested_at: datetime
    sent_by: str | None = None
    kept: bool = False  # its file is kept under the home (it can be re-indexed from chat)


def doc_key(doc: str) -> str:
    """Return the short name a button uses for `doc` (callback data holds 64 bytes; a name may be longer)."""
    return hashlib.sha1(doc.encode("utf-8")).hexdigest()[:12]


def looks_like_url(text: str) -> bool:
    """Tell whether a message is only a link (not fetched: the bot reads no web pages, it is told the file)."""
    words = text.split()
    return len(words) == 1 and words[0].lower().startswith(("http://", "https://", "www."))


def _file_state(row: KnowledgeFile | None) -> dict[str, object] | None:
    """A kept document as the audit trail records it before and after a change (None: there was none)."""
    if row is None:
        return None
    return {"file": row.file_name, "sha256": row.sha256, "bytes": row.bytes, "sections": row.sections}


def _text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class KnowledgeFlow:
    """The knowledge base for one admin, over one unit of work."""

    def __init__(self, *, services: Services, ports: Ports, tx: StorePhase, settings: Settings) -> None:
        self._services = services
        self._shelf = ports.knowledge_shelf
        self._tx = tx
        self._folder = settings.home / FILES_FOLDER
        self._previous = settings.home / PREVIOUS_FOLDER

    # --- files ------------------------------------------------------------------------------------------

    async def take_file(self, actor: UserOut, path: Path, *, file_name: str, step: Step | None = None) -> FileTaken:
        """Index a sent file under its name (a new version replaces the old one's sections); audited."""
        _require_admin(actor)
        shelf = self._need_shelf()
        name = _kept_name(file_name)
        suffix = Path(name).suffix.lower()
        if suffix not in SUPPORTED_SUFFIXES:
            raise KnowledgeRefused("unsupported file type", reason="unsupported", suffix=suffix or name)
        size = (await asyncio.to_thread(path.stat)).st_size
        if size == 0:
            raise KnowledgeRefused("the file is empty", reason="empty")
        if size > MAX_FILE_BYTES:
            raise KnowledgeRefused("the file is too large", reason="too_large", size=size)
        digest = await asyncio.to_thread(_sha256, path)
        before = _file_state(await self._services.session.scalar(
            select(KnowledgeFile).where(KnowledgeFile.file_name == name)))
        same = await self._services.session.scalar(
            select(KnowledgeFile.doc).where(KnowledgeFile.sha256 == digest, KnowledgeFile.file_name != name))
        if same is not None:
            raise KnowledgeRefused("the same content is indexed already", reason="duplicate", doc=same)
        await self._tx.end_reads()  # reading and embedding take seconds: no transaction held meanwhile
        if step is not None:
            step("indexing")
        report = await asyncio.to_thread(self._swap_and_ingest, shelf, path, name)
        taken = await self._taken(shelf, report, name)
        if taken.outcome in ("added", "updated"):
            await self._remember(actor, taken, digest, size)
        indexed = taken.outcome in ("added", "updated", "unchanged")
        after = {"file": name, "sha256": digest, "bytes": size, "sections": taken.sections} if indexed else before
        await self._services.audit.record(actor=actor.name, actor_id=actor.id, action=f"knowledge.{taken.outcome}",
                                          entity="knowledge", entity_id=taken.doc[:60],
                                          details={"file": name, "sections": taken.sections, "bytes": size,
                                                   "errors": [e.code for e in taken.errors]},
                                          before=before, after=after)
        return taken

    def _swap_and_ingest(self, shelf: KnowledgeShelfPort, path: Path, name: str) -> IngestReport:
        """Put the sent file in place of the kept copy and ingest it; put the old copy back if it fails."""
        with _SWAP_LOCK:
            self._folder.mkdir(parents=True, exist_ok=True)
            self._previous.mkdir(parents=True, exist_ok=True)
            kept, backup = self._folder / name, self._previous / name
            had_previous = kept.is_file()
            if had_previous:
                shutil.copy2(kept, backup)
            shutil.copyfile(path, kept)
            try:
                report = shelf.ingest([kept])
            except BaseException:
                _put_back(kept, backup, had_previous)
                raise
            if report.errors and not (report.added or report.updated):  # kept when its other sections went in
                _put_back(kept, backup, had_previous)
            backup.unlink(missing_ok=True)
            return report

    async def _taken(self, shelf: KnowledgeShelfPort, report: IngestReport, name: str) -> FileTaken:
        outcome: Outcome = "added" if report.added else "updated" if report.updated else \
            "unchanged" if report.unchanged else "failed"
        docs = report.added or report.updated or report.unchanged or [e.doc for e in report.errors] or [name]
        doc = docs[0]
        sections = next((d.sections for d in await asyncio.to_thread(shelf.list_docs) if d.doc == doc), 0)
        return FileTaken(doc=doc, file_name=name, outcome=outcome, sections=sections, total_sections=report.sections,
                         errors=[FileFailure(code=e.code, message=e.message, detail=e.detail,
                                             held_sections=e.held_sections) for e in report.errors])

    async def _remember(self, actor: UserOut, taken: FileTaken, digest: str, size: int) -> None:
        session = self._services.session
        row = await session.scalar(select(KnowledgeFile).where(KnowledgeFile.doc == taken.doc))
        if row is None:
            row = KnowledgeFile(doc=taken.doc)
            session.add(row)
        row.file_name, row.sha256, row.bytes, row.sections = taken.file_name, digest, size, taken.sections
        row.sent_by, row.sent_by_id, row.sent_at = actor.name[:120], actor.id, self._services.now
        await session.flush()

    # --- documents --------------------------------------------------------------------------------------

    async def documents(self, actor: UserOut) -> list[KnowledgeDoc]:
        """Return the indexed documents, newest first, with who sent each one from a chat."""
        _require_admin(actor)
        shelf = self._need_shelf()
        sent = {r.doc: r for r in await self._services.session.scalars(select(KnowledgeFile))}
        docs = await asyncio.to_thread(shelf.list_docs)
        out = [KnowledgeDoc(doc=d.doc, key=doc_key(d.doc), bytes=d.bytes, sections=d.sections,
                            ingested_at=d.ingested_at, sent_by=sent[d.doc].sent_by if d.doc in sent else None,
                            kept=d.doc in sent and (self._folder / sent[d.doc].file_name).is_file())
               for d in docs]
        return sorted(out, key=lambda d: d.ingested_at, reverse=True)

    async def find(self, actor: UserOut, key: str) -> KnowledgeDoc:
        """Return the document a button names; NotFound when it is gone."""
        found = next((d for d in await self.documents(actor) if d.key == key), None)
        if found is None:
            raise NotFound("no such document", reason="document")
        return found

    async def remove(self, actor: UserOut, key: str) -> KnowledgeDoc:
        """Take a document out of the knowledge base (and its kept file); audited."""
        doc = await self.find(actor, key)
        shelf = self._need_shelf()
        await self._tx.end_reads()
        await asyncio.to_thread(shelf.remove, doc.doc)
        row = await self._services.session.scalar(select(KnowledgeFile).where(KnowledgeFile.doc == doc.doc))
        before = _file_state(row) or {"sections": doc.sections, "bytes": doc.bytes}
        if row is not None:
            (self._folder / row.file_name).unlink(missing_ok=True)
            await self._services.session.execute(delete(KnowledgeFile).where(KnowledgeFile.id == row.id))
        await self._services.audit.record(actor=actor.name, actor_id=actor.id, action="knowledge.remove",
                                          entity="knowledge", entity_id=doc.doc[:60],
                                          details={"sections": doc.sections}, before=before, after=None)
        return doc

    async def reindex(self, actor: UserOut, key: str) -> FileTaken:
        """Read a kept document's file again (nothing changes when neither it nor the indexing did); audited."""
        doc = await self.find(actor, key)
        row = await self._services.session.scalar(select(KnowledgeFile).where(KnowledgeFile.doc == doc.doc))
        if row is None or not (self._folder / row.file_name).is_file():
            raise NotFound("the document's file is not kept here", reason="not_kept")
        shelf = self._need_shelf()
        before = _file_state(row)
        await self._tx.end_reads()
        kept = self._folder / row.file_name
        digest = await asyncio.to_thread(_sha256, kept)
        report = await asyncio.to_thread(shelf.ingest, [kept])
        taken = await self._taken(shelf, report, row.file_name)
        await self._services.audit.record(actor=actor.name, actor_id=actor.id, action="knowledge.reindex",
                                          entity="knowledge", entity_id=doc.doc[:60],
                                          details={"outcome": taken.outcome, "sections": taken.sections},
                                          before=before, after={**(before or {}), "sha256": digest,
                                                                "sections": taken.sections})
        return taken

    async def test(self, actor: UserOut, question: str) -> Answer:
        """Return what a customer asking `question` would be answered; nothing is written."""
        _require_admin(actor)
        shelf = self._need_shelf()
        await self._tx.end_reads()
        return await asyncio.to_thread(shelf.ask, question)

    # --- gaps -------------------------------------------------------------------------------------------

    async def gaps(self, actor: UserOut, *, days: int = GAP_DAYS) -> list[GapGroup]:
        """Group the last `days` days' unanswered questions (answered ones left out).

        Unanswered: handed off for low confidence or as out of scope (what customers ask that the knowledge
        has no word of: the admin may well want to answer it), or rated 👎. Hand-offs for any other reason
        (unsafe, another customer's data, complaints, asking for a person) are not knowledge to write.
        """
        _require_admin(actor)
        since = self._services.now - timedelta(days=days)
        rows = list(await self._services.session.execute(
            select(CustomerQuestion.id, CustomerQuestion.question, CustomerQuestion.asked_at,
                   CustomerQuestion.feedback, CustomerQuestion.reason)
            .where(CustomerQuestion.asked_at >= since,
                   or_(CustomerQuestion.feedback == "down",
                       (CustomerQuestion.handoff.is_(True)) & (CustomerQuestion.reason.in_(GAP_REASONS))))
            .order_by(CustomerQuestion.asked_at.desc()).limit(MAX_QUESTIONS)))
        await self._tx.end_reads()
        answers_text = await asyncio.to_thread(self._gap_answers_text)
        covered = answered_questions(answers_text)
        questions = [GapQuestion(id=i, text=q, asked_at=at, why="rated_down" if fb == "down" else str(reason))
                     for i, q, at, fb, reason in reversed(rows) if q.strip() and fold(q) not in covered]
        vectors = await asyncio.to_thread(self._meaning_vectors, [q.text for q in questions])
        groups = group_questions(questions, vectors=vectors)
        if not answers_text or self._shelf is None:
            return groups
        return await asyncio.to_thread(_still_unanswered, self._shelf, groups)

    def _meaning_vectors(self, texts: list[str]) -> list[list[float]] | None:
        """Embed the questions with the knowledge base's own embedder (None when it has none: words only)."""
        embedder: Embedder | None = getattr(self._shelf, "embedder", None)
        if embedder is None or not texts:
            return None
        return _embed_cached(embedder, texts)

    async def answer_gap(self, actor: UserOut, key: int, answer: str) -> FileTaken:
        """Add `answer` to the knowledge base for the group of question `key`, in force at once; audited."""
        _require_admin(actor)
        if not answer.strip():
            raise InvalidInput("the answer is empty", reason="empty_reply")
        group = next((g for g in await self.gaps(actor) if g.key == key), None)
        if group is None:
            raise NotFound("that group of questions is answered or gone", reason="gap")
        shelf = self._need_shelf()
        await self._tx.end_reads()
        before = await asyncio.to_thread(self._gap_answers_text)
        report = await asyncio.to_thread(self._write_gap_answer, shelf, group, answer.strip())
        taken = await self._taken(shelf, report, GAP_ANSWERS_FILE)
        if taken.outcome == "failed":
            raise NotAvailable("the answer could not be indexed", reason="index")
        after = await asyncio.to_thread(self._gap_answers_text)
        await self._services.audit.record(actor=actor.name, actor_id=actor.id, action="knowledge.gap_answer",
                                          entity="knowledge", entity_id=taken.doc[:60],
                                          details={"question": group.example[:200], "questions": group.count},
                                          before={"file": GAP_ANSWERS_FILE, "sha256": _text_sha256(before)},
                                          after={"file": GAP_ANSWERS_FILE, "sha256": _text_sha256(after),
                                                 "sections": taken.sections, "answer": answer.strip()[:500]})
        return taken

    def _gap_answers_text(self) -> str:
        path = self._folder / GAP_ANSWERS_FILE
        return path.read_text(encoding="utf-8") if path.is_file() else ""

    def _write_gap_answer(self, shelf: KnowledgeShelfPort, group: GapGroup, answer: str) -> IngestReport:
        staged = self._previous / f"staged-{GAP_ANSWERS_FILE}"
        self._previous.mkdir(parents=True, exist_ok=True)
        staged.write_text(with_answer(self._gap_answers_text(), group.example, answer, group.questions),
                          encoding="utf-8")
        try:
            return self._swap_and_ingest(shelf, staged, GAP_ANSWERS_FILE)
        finally:
            staged.unlink(missing_ok=True)

    def _need_shelf(self) -> KnowledgeShelfPort:
        if self._shelf is None:
            raise NotAvailable("the knowledge base is not open", reason="knowledge")
        return self._shelf


def _embed_cached(embedder: Embedder, texts: list[str]) -> list[list[float]]:
    missing = list(dict.fromkeys(t for t in texts if (embedder.name, t) not in _VECTORS))
    if missing:
        if len(_VECTORS) + len(missing) > _CACHE_MAX:
            _VECTORS.clear()
        fresh = embedder.embed_queries([meaning_text(t) for t in missing])
        _VECTORS.update({(embedder.name, t): v for t, v in zip(missing, fresh, strict=True)})
    return [_VECTORS[(embedder.name, t)] for t in texts]


def _still_unanswered(shelf: KnowledgeShelfPort, groups: list[GapGroup]) -> list[GapGroup]:
    """Leave out the groups whose example the knowledge base now answers without handing off.

    Only called once gap answers exist (an answer written for one group may answer its paraphrases asked
    later, or kept beyond the variants written). One `ask` per group's example, remembered for as long as
    the indexed documents stay the same.
    """
    state = hashlib.sha256(repr([(d.doc, d.sections, d.bytes, d.ingested_at) for d in shelf.list_docs()])
                           .encode()).hexdigest()
    kept: list[GapGroup] = []
    for group in groups:
        key = (state, fold(group.example))
        if key not in _ANSWERED:
            if len(_ANSWERED) >= _CACHE_MAX:
                _ANSWERED.clear()
            _ANSWERED[key] = not shelf.ask(group.example).handoff
        if not _ANSWERED[key]:
            kept.append(group)
    return kept


def _require_admin(actor: UserOut) -> None:
    if not can_curate_knowledge(actor):
        raise Forbidden("only admins change the knowledge base")


def _kept_name(file_name: str) -> str:
    from crm_core.textnorm import nfc

    base = nfc(file_name).replace("\\", "/").rsplit("/", 1)[-1].strip()
    base = "".join(ch for ch in base if ch.isprintable())
    if base in ("", ".", "..") or base.startswith("."):
        return "document.txt"
    return base[:120]


def _put_back(kept: Path, backup: Path, had_previous: bool) -> None:
    if had_previous:
        shutil.copy2(backup, kept)
    else:
        kept.unlink(missing_ok=True)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
