"""Ingesting knowledge: idempotence, replacement, removal, per-file errors with nothing half-indexed."""

from __future__ import annotations

import os
from pathlib import Path

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
