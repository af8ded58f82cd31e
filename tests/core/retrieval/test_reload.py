"""A change to the knowledge made by another process (issue 15 review, item 2): the process answering customers
keeps answering from the knowledge it holds while it loads the new one in the background, then serves the new
content; the instance that made the change serves it at once. Two KnowledgeBase instances on one home stand for
the two processes; no timing is asserted (benchmarks/reload/bench.py measures it)."""

from __future__ import annotations

import threading
from pathlib import Path

from crm_core.retrieval import KnowledgeBase
from crm_core.retrieval.cache import DenseVectors
from tests.core.retrieval.conftest import NOW

QUESTION = "lắp đặt điều hòa Daikin có mất phí không"
INSTALLATION_MD = """# Lắp đặt

## Phí lắp đặt điều hòa Daikin

Lắp đặt điều hòa Daikin miễn phí trong nội thành; ngoại thành phụ thu 200.000 đồng.
"""


def _new_doc(tmp_path: Path) -> Path:
    path = tmp_path / "lap-dat.md"
    path.write_text(INSTALLATION_MD, encoding="utf-8")
    return path


def _top_doc(kb: KnowledgeBase, question: str = QUESTION) -> str | None:
    answer = kb.ask(question)
    return answer.sources[0].doc if answer.sources else None


def test_the_first_question_after_another_process_adds_a_document_is_answered_then_the_new_one_is_served(
        loaded_kb: KnowledgeBase, tmp_path: Path) -> None:
    reader = KnowledgeBase(home=loaded_kb.home)
    assert _top_doc(reader) != "lap-dat.md"  # warm, on the old knowledge
    writer = KnowledgeBase(home=loaded_kb.home)
    assert writer.ingest([_new_doc(tmp_path)], now=NOW).added == ["lap-dat.md"]

    first = reader.ask(QUESTION)  # answered from the knowledge in memory, not given up waiting for a rebuild

    assert first.sources  # an answer (or a hand-off) from the knowledge, which the support flow would send
    assert reader.wait_until_current(timeout=300)
    assert _top_doc(reader) == "lap-dat.md"


def test_questions_asked_while_the_new_knowledge_is_built_never_wait_for_it(
        loaded_kb: KnowledgeBase, tmp_path: Path) -> None:
    reader = KnowledgeBase(home=loaded_kb.home)
    reader.ask(QUESTION)
    KnowledgeBase(home=loaded_kb.home).ingest([_new_doc(tmp_path)], now=NOW)
    building, release = threading.Event(), threading.Event()
    build = reader._build_corpus

    def held_build(previous: object) -> object:  # the rebuild is held until the questions are answered
        building.set()
        release.wait(300)
        return build(previous)  # type: ignore[arg-type]

    reader._build_corpus = held_build  # type: ignore[assignment,method-assign]
    try:
        answers = [reader.ask(QUESTION)]
        assert building.wait(300)  # the rebuild is under way, and held
        answers += [reader.ask("bảo hành bao lâu"), reader.ask(QUESTION)]
    finally:
        release.set()

    assert all(a.sources for a in answers)
    assert [a.sources[0].doc for a in answers if a.sources and a.sources[0].doc == "lap-dat.md"] == []  # the old
    assert reader.wait_until_current(timeout=300)
    assert _top_doc(reader) == "lap-dat.md"


def test_the_instance_that_ingests_serves_the_new_document_at_once(loaded_kb: KnowledgeBase, tmp_path: Path) -> None:
    loaded_kb.ask(QUESTION)

    loaded_kb.ingest([_new_doc(tmp_path)], now=NOW)

    assert _top_doc(loaded_kb) == "lap-dat.md"


def test_a_reload_reads_from_chroma_only_the_vectors_of_what_changed_and_removals_leave(
        loaded_kb: KnowledgeBase, tmp_path: Path) -> None:
    reader = KnowledgeBase(home=loaded_kb.home)
    reader.ask(QUESTION)
    read: list[int] = []
    kb_vectors = reader._chroma.kb_vectors

    def counted(ids: list[str] | None = None) -> tuple[object, list[dict[str, object]]]:
        found = kb_vectors(ids)
        read.append(len(found[1]))
        return found

    reader._chroma.kb_vectors = counted  # type: ignore[method-assign]
    writer = KnowledgeBase(home=loaded_kb.home)
    writer.ingest([_new_doc(tmp_path)], now=NOW)
    added = writer._manifest.get("lap-dat.md")
    reader.ask(QUESTION)
    assert reader.wait_until_current(timeout=300)
    assert added is not None
    assert read == [len(added.vector_ids)]

    writer.remove("delivery.md")  # a corpus never loaded before: nothing cached, the kept vectors are reused
    reader.ask(QUESTION)
    assert reader.wait_until_current(timeout=300)

    assert read == [len(added.vector_ids)]
    assert _vector_rows(reader) == _vector_rows(_rebuilt(loaded_kb.home))
    assert "delivery.md" not in {s.doc for s in reader.ask("phí giao hàng bao nhiêu").sources}


def _rebuilt(home: Path) -> KnowledgeBase:
    """A new process's knowledge, every vector read from Chroma (the cache set aside)."""
    for entry in (home / "cache").glob("corpus-*.pickle"):
        entry.unlink()
    fresh = KnowledgeBase(home=home)
    fresh.ask(QUESTION)
    return fresh


def _vector_rows(kb: KnowledgeBase) -> list[tuple[str, int, str]]:
    corpus = kb._corpus
    assert corpus is not None
    assert isinstance(corpus.vectors, DenseVectors)
    return sorted((str(m["doc"]), int(m["ord"]), str(m["kind"])) for m in corpus.vectors.metadatas)
