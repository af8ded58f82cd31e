"""Ingesting knowledge: idempotence, replacement, removal, per-file errors with nothing half-indexed."""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path

import pytest

from crm_core.retrieval import KnowledgeBase
from tests.core.retrieval.conftest import NOW


def _pairs(kb: KnowledgeBase, question: str) -> set[tuple[str, str]]:
    return {(s.doc, s.section) for s in kb.ask(question).sources}


def test_reingesting_unchanged_files_skips_them(loaded_kb: KnowledgeBase, knowledge: Path) -> None:
    report = loaded_kb.ingest([knowledge], now=NOW)
    assert sorted(report.unchanged) == ["delivery.md", "faq.csv", "policies/warranty.md"]
    assert report.added == report.updated == report.removed == []


def test_reingest_keeps_the_section_count(loaded_kb: KnowledgeBase, knowledge: Path) -> None:
    before = loaded_kb.section_count()
    loaded_kb.ingest([knowledge], now=NOW)
    assert loaded_kb.section_count() == before == 7


def test_changed_file_is_replaced(loaded_kb: KnowledgeBase, knowledge: Path) -> None:
    (knowledge / "delivery.md").write_text(
        "# Giao hàng\n\n## Giao hỏa tốc\n\nGiao trong 2 giờ tại nội thành.\n", encoding="utf-8"
    )
    report = loaded_kb.ingest([knowledge], now=NOW)
    assert report.updated == ["delivery.md"]
    docs = {d.doc: d.sections for d in loaded_kb.list_docs()}
    assert docs["delivery.md"] == 1
    assert ("delivery.md", "Phí giao hàng") not in _pairs(loaded_kb, "phí giao hàng bao nhiêu")


def test_file_deleted_from_folder_leaves_the_index(loaded_kb: KnowledgeBase, knowledge: Path) -> None:
    (knowledge / "delivery.md").unlink()
    report = loaded_kb.ingest([knowledge], now=NOW)
    assert report.removed == ["delivery.md"]
    assert "delivery.md" not in {d.doc for d in loaded_kb.list_docs()}
    assert all(doc != "delivery.md" for doc, _ in _pairs(loaded_kb, "phí giao hàng bao nhiêu"))


def test_remove_takes_a_doc_out_of_answers(loaded_kb: KnowledgeBase) -> None:
    assert loaded_kb.remove("faq.csv") is True
    assert loaded_kb.remove("faq.csv") is False
    assert all(doc != "faq.csv" for doc, _ in _pairs(loaded_kb, "có trả góp không"))


def test_list_docs_gives_sections_bytes_and_time(loaded_kb: KnowledgeBase, knowledge: Path) -> None:
    items = {d.doc: d.to_contract() for d in loaded_kb.list_docs()}
    assert items["faq.csv"] == {
        "doc": "faq.csv",
        "sections": 2,
        "bytes": (knowledge / "faq.csv").stat().st_size,
        "ingested_at": NOW.isoformat(),
    }


def test_single_file_is_named_by_its_file_name(kb: KnowledgeBase, knowledge: Path) -> None:
    kb.ingest([knowledge / "policies" / "warranty.md"], now=NOW)
    assert [d.doc for d in kb.list_docs()] == ["warranty.md"]


def test_corrupt_pdf_is_reported_and_indexes_nothing(kb: KnowledgeBase, tmp_path: Path) -> None:
    bad = tmp_path / "broken.pdf"
    bad.write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >>\ngarbage garbage\n")
    report = kb.ingest([bad], now=NOW)
    assert [(e.doc, e.code) for e in report.errors] == [("broken.pdf", "corrupt_file")]
    assert kb.section_count() == 0
    assert kb.list_docs() == []


def test_empty_file_is_reported_and_indexes_nothing(kb: KnowledgeBase, tmp_path: Path) -> None:
    empty = tmp_path / "empty.md"
    empty.write_text("", encoding="utf-8")
    report = kb.ingest([empty], now=NOW)
    assert [(e.doc, e.code) for e in report.errors] == [("empty.md", "empty_file")]
    assert kb.section_count() == 0


def test_unsupported_type_is_reported(kb: KnowledgeBase, tmp_path: Path) -> None:
    image = tmp_path / "logo.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n0000")
    report = kb.ingest([image], now=NOW)
    assert [(e.doc, e.code) for e in report.errors] == [("logo.png", "unsupported_type")]
    assert kb.section_count() == 0


def test_oversize_file_is_reported(kb: KnowledgeBase, tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    with big.open("wb") as fh:
        fh.truncate(20 * 1024 * 1024 + 1)
    report = kb.ingest([big], now=NOW)
    assert [(e.doc, e.code) for e in report.errors] == [("big.txt", "file_too_large")]


def test_faq_table_without_answer_column_is_reported(kb: KnowledgeBase, tmp_path: Path) -> None:
    table = tmp_path / "faq.csv"
    table.write_text("câu hỏi,ghi chú\nA?,B\n", encoding="utf-8")
    report = kb.ingest([table], now=NOW)
    assert [(e.doc, e.code) for e in report.errors] == [("faq.csv", "missing_columns")]


def test_a_bad_file_in_a_folder_does_not_stop_the_others(kb: KnowledgeBase, knowledge: Path) -> None:
    (knowledge / "broken.pdf").write_bytes(b"not a pdf at all")
    report = kb.ingest([knowledge], now=NOW)
    assert [e.doc for e in report.errors] == ["broken.pdf"]
    assert len(report.added) == 3


def test_corrupt_new_version_keeps_the_previous_good_one(loaded_kb: KnowledgeBase, knowledge: Path) -> None:
    (knowledge / "faq.csv").write_bytes(b"")
    report = loaded_kb.ingest([knowledge], now=NOW)
    assert [(e.doc, e.code) for e in report.errors] == [("faq.csv", "empty_file")]
    assert {d.doc: d.sections for d in loaded_kb.list_docs()}["faq.csv"] == 2


def test_hidden_files_and_readme_in_a_folder_are_ignored(kb: KnowledgeBase, knowledge: Path) -> None:
    (knowledge / ".DS_Store").write_bytes(b"\x00\x01")
    (knowledge / "README.md").write_text("# About this folder\n\nEdit and re-ingest.\n", encoding="utf-8")
    report = kb.ingest([knowledge], now=NOW)
    assert report.ok
    assert "README.md" not in {d.doc for d in kb.list_docs()}


# Zero-width space, non-joiner and joiner, word joiner, BOM, soft hyphen, a right-to-left override and its pop.
INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff\u00ad\u202e\u202c"


@pytest.mark.parametrize(("name", "text"), [
    ("bao-hanh.md", "# Bảo hành\n\n## Thời hạn bảo\u200bhành\n\nGhế AP-C3\u00ad00 được bảo hành 2\u20604 tháng "
                    "\u202etại nhà\u202c.\n"),
    ("faq.csv", "question,answer,variants\nGhế AP-C300 bảo hành bao\u200d lâu?,\"Ghế AP-C3\u200b00 được bảo hành "
                "2\ufeff4 tháng\u200c tại nhà.\",Bảo\u00adhành ghế\n"),
])
def test_invisible_characters_never_reach_the_index_or_an_answer(kb: KnowledgeBase, tmp_path: Path, name: str,
                                                                 text: str) -> None:
    (tmp_path / name).write_text(text, encoding="utf-8")

    report = kb.ingest([tmp_path / name], now=NOW)
    answer = kb.ask("ghế AP-C300 bảo hành bao lâu")

    assert report.added == [name]
    assert "AP-C300" in (answer.body or "")
    assert "24 tháng" in (answer.body or "")
    served = [answer.body or "", *(f"{s.doc} {s.section} {s.title}" for s in answer.sources)]
    assert [ch for part in served for ch in part if ch in INVISIBLE or unicodedata.category(ch) == "Cf"] == []


def test_ingest_stores_one_vector_set_per_doc(loaded_kb: KnowledgeBase, knowledge: Path) -> None:
    store = loaded_kb._chroma.kb_store()
    before = store._collection.count()
    (knowledge / "faq.csv").write_text("question,answer\nCó xuất hóa đơn VAT không?,Có.\n", encoding="utf-8")
    loaded_kb.ingest([knowledge], now=NOW)
    loaded_kb.ingest([knowledge], now=NOW)
    after = store._collection.count()
    assert 0 < after < before


def test_ingested_at_comes_from_the_clock(tmp_path: Path, knowledge: Path) -> None:
    kb = KnowledgeBase(home=tmp_path / "h", clock=lambda: NOW)
    kb.ingest([knowledge / "faq.csv"])
    assert kb.list_docs()[0].ingested_at == NOW
    assert os.path.isdir(tmp_path / "h" / "chroma")


def test_a_removed_document_leaves_no_copy_of_its_vectors_in_the_store_or_the_saved_corpus(
        loaded_kb: KnowledgeBase) -> None:
    import numpy as np

    from tests.core.retrieval.test_history import _files_holding_vectors, _index_elements

    record, kept = loaded_kb._manifest.get("faq.csv"), loaded_kb._manifest.get("delivery.md")
    assert record is not None
    assert kept is not None
    collection = loaded_kb._chroma.kb_collection()
    vectors = np.asarray(collection.get(ids=list(record.vector_ids), include=["embeddings"])["embeddings"], "<f4")
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    forms = [*(v.tobytes() for v in vectors),  # as added (the log) and as Chroma returns them
             *(u.astype("<f4").tobytes() for u in unit),  # the saved corpus, normalized
             *(e for e in _index_elements(loaded_kb.home / "chroma")  # the index files (hnswlib normalizes too)
               if float(np.max(unit @ np.frombuffer(e, "<f4"))) > 0.99999)]
    others = collection.get(ids=list(kept.vector_ids), include=["embeddings"])
    loaded_kb.ask("phí giao hàng bao nhiêu")  # the corpus is saved, its vectors too
    folders = [loaded_kb.home / "chroma", loaded_kb.home / "cache"]
    assert [f for folder in folders for f in _files_holding_vectors(folder, forms)]

    assert loaded_kb.remove("faq.csv") is True

    assert [f for folder in folders for f in _files_holding_vectors(folder, forms)] == []
    nearest = loaded_kb._chroma.query_kb_many([list(v) for v in others["embeddings"]], 1)
    assert [hits[0][0]["doc"] for hits in nearest] == ["delivery.md"] * len(kept.vector_ids)
    assert min(hits[0][1] for hits in nearest) > 0.9999  # each still finds itself
    assert "faq.csv" not in {s.doc for s in loaded_kb.ask("Có hỗ trợ trả góp không?").sources}
    fresh = KnowledgeBase(home=loaded_kb.home, embedder=loaded_kb.embedder)
    assert _pairs(fresh, "phí giao hàng bao nhiêu") == _pairs(loaded_kb, "phí giao hàng bao nhiêu")


_REMOVE_THEN_DIE_RENAMING = """if True:
    import os, sys
    from pathlib import Path
    from chromadb.api.models.Collection import Collection
    from crm_core.retrieval import KnowledgeBase

    modify = Collection.modify

    def rename_dies(self, name=None, **kwargs):  # the original is dropped, the complete copy not renamed yet
        if name is not None:
            os._exit(3)
        return modify(self, name=name, **kwargs)

    Collection.modify = rename_dies
    KnowledgeBase(home=Path(sys.argv[1])).remove("faq.csv")
"""


def test_a_process_that_dies_while_a_removal_rebuilds_the_index_leaves_the_next_opening_to_finish_it(
        loaded_kb: KnowledgeBase) -> None:
    import json
    import subprocess
    import sys

    before = _pairs(loaded_kb, "phí giao hàng bao nhiêu")
    died = subprocess.run([sys.executable, "-c", _REMOVE_THEN_DIE_RENAMING, str(loaded_kb.home)],
                          capture_output=True, text=True, timeout=300)
    assert died.returncode == 3, died.stderr
    assert json.loads((loaded_kb.home / "chroma-rebuilds.json").read_text(encoding="utf-8"))

    reopened = KnowledgeBase(home=loaded_kb.home, embedder=loaded_kb.embedder)  # the restart
    found = reopened._chroma.kb_collection().get(include=["metadatas"])

    assert {m["doc"] for m in found["metadatas"]} == {"delivery.md", "policies/warranty.md"}  # nothing lost
    assert not (loaded_kb.home / "chroma-rebuilds.json").exists()
    assert "faq.csv" not in {s.doc for s in reopened.ask("Có hỗ trợ trả góp không?").sources}
    assert {p for p in before if p[0] != "faq.csv"} <= _pairs(reopened, "phí giao hàng bao nhiêu")
