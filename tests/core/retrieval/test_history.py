"""The customer-history index is for staff only: customers' knowledge base never returns it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from crm_core.retrieval import HistoryIndex, KnowledgeBase

AT = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
SECRET = "Anh Minh bên Hòa Phát chốt giá 480 triệu cho 200 bàn làm việc, số điện thoại 0903123456"


def _history(home: Path) -> HistoryIndex:
    index = HistoryIndex(home=home)
    index.add(interaction_id=1, company_id=7, contact_id=3, text=SECRET, occurred_at=AT)
    index.add(
        interaction_id=2,
        company_id=8,
        contact_id=None,
        text="Chị Lan bên Vinamilk hỏi về ghế công thái học",
        occurred_at=AT,
    )
    return index


def test_history_search_finds_the_interaction(tmp_path: Path) -> None:
    hits = _history(tmp_path / "home").search("Hòa Phát chốt giá bao nhiêu?")
    assert hits[0].interaction_id == 1
    assert (hits[0].company_id, hits[0].contact_id, hits[0].occurred_at) == (7, 3, AT)


def test_history_search_can_be_limited_to_one_company(tmp_path: Path) -> None:
    hits = _history(tmp_path / "home").search("giá bàn làm việc", company_id=8)
    assert [h.interaction_id for h in hits] == [2]


def test_customer_knowledge_base_never_returns_history(loaded_kb: KnowledgeBase) -> None:
    _history(loaded_kb.home)
    answer = KnowledgeBase(home=loaded_kb.home).ask("Hòa Phát chốt giá 480 triệu cho 200 bàn làm việc?")
    assert "0903123456" not in (answer.body or "")
    assert "Hòa Phát" not in (answer.body or "")
    assert all(s.doc in {"faq.csv", "delivery.md", "policies/warranty.md"} for s in answer.sources)
