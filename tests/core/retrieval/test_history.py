"""The customer-history index is for staff only: customers' knowledge base never returns it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
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


HAI_AU = (
    "Chị My bên Giao nhận Hải Âu gọi hotline hỏi giá bàn AP-D160, cần khoảng 90 bộ.",
    "Chị My (Giao nhận Hải Âu) gửi email xin catalogue nội thất văn phòng.",
    "Gọi chị My bên Giao nhận Hải Âu giới thiệu An Phát, hẹn gửi profile và catalogue.",
    "Gọi lần 2 cho chị My, Giao nhận Hải Âu đang gom nhu cầu các phòng ban, hẹn tuần sau.",
    "Gặp chị My tại văn phòng Giao nhận Hải Âu (Ngũ Hành Sơn), khảo sát mặt bằng; cần 90 bộ bàn AP-D160.",
    "Gửi báo giá 90 bộ bàn AP-D160 cho chị My, tổng 148.500.000 ₫, hiệu lực 15 ngày.",
    "Gọi chị My xác nhận đã nhận báo giá 148.500.000 ₫, bên Giao nhận Hải Âu đang so sánh với 2 nhà cung cấp khác.",
    "Họp với chị My và kế toán Giao nhận Hải Âu: xin giảm 5% và thanh toán 2 đợt.",
    "Ký hợp đồng với Giao nhận Hải Âu: 90 bộ bàn AP-D160, 148.500.000 ₫, giao trước 15/12.",
    "Giao nhận Hải Âu hoãn dự án chuyển văn phòng sang năm sau, tạm đóng cơ hội.",
    "Giao nhận Hải Âu sắp mở chi nhánh ở Ngũ Hành Sơn, có thể cần thêm tủ hồ sơ và bàn họp.",
    "Cà phê với chị My gần văn phòng Giao nhận Hải Âu, nói chuyện về kế hoạch mở rộng.",
)


def test_ask_ranks_by_the_questions_words_too_and_indexes_what_it_ranks(tmp_path: Path) -> None:
    from crm_core.retrieval.history import HistoryItem

    items = [HistoryItem(n, 5, None, text, AT - timedelta(days=30 - n)) for n, text in enumerate(HAI_AU, start=1)]
    just_logged = HistoryItem(99, 5, None, "Hải Âu: chị My nói ngân sách đợt này chỉ 80 triệu", AT)

    hits = HistoryIndex(home=tmp_path / "home").rank("Giao nhận Hải Âu ngân sách bao nhiêu?", [*items, just_logged],
                                                     k=3)

    assert hits[0].interaction_id == 99


def _raw_files_holding(folder: Path, needles: list[str]) -> list[str]:
    """Every file under `folder` whose raw bytes still hold one of `needles` (UTF-8)."""
    return sorted(f"{path.relative_to(folder)}: {needle}" for path in folder.rglob("*") if path.is_file()
                  for needle in needles if needle.encode() in path.read_bytes())


def test_a_removal_chroma_refuses_waits_in_the_journal_and_happens_on_the_next_use(tmp_path: Path) -> None:
    index = _history(tmp_path / "home")
    store = index._chroma.store("history")
    delete = store.delete
    store.delete = lambda **_: (_ for _ in ()).throw(RuntimeError("chroma down for a minute"))

    index.remove([1])  # Chroma fails: the erasure is recorded, not lost

    assert (tmp_path / "home" / "history-erasures.json").exists()
    assert all(h.interaction_id != 1 for h in index.search("Hòa Phát chốt giá bao nhiêu?"))
    store.delete = delete
    reopened = HistoryIndex(home=tmp_path / "home", embedder=index.embedder)  # a restart
    assert all(h.interaction_id != 1 for h in reopened.search("Hòa Phát chốt giá bao nhiêu?"))
    assert not (tmp_path / "home" / "history-erasures.json").exists()
    assert _raw_files_holding(tmp_path / "home" / "chroma", ["Hòa Phát", "0903123456"]) == []


def test_an_erased_interaction_is_not_indexed_again_while_its_removal_waits(tmp_path: Path) -> None:
    from crm_core.retrieval.history import HistoryItem

    index = _history(tmp_path / "home")
    store = index._chroma.store("history")
    store.delete = lambda **_: (_ for _ in ()).throw(RuntimeError("chroma down"))
    index.remove([1])

    hits = index.rank("Hòa Phát chốt giá", [HistoryItem(1, 7, 3, SECRET, AT), HistoryItem(2, 8, None, "Vinamilk", AT)])

    assert [h.interaction_id for h in hits] == [2]


def test_a_removal_leaves_no_copy_in_chromas_log_full_text_index_or_free_pages(tmp_path: Path) -> None:
    index = _history(tmp_path / "home")
    index.add(interaction_id=1, company_id=7, contact_id=3, text=SECRET + " (sửa)", occurred_at=AT)  # re-indexed

    index.remove([1])

    assert _raw_files_holding(tmp_path / "home" / "chroma", ["Hòa Phát", "0903123456", "Anh Minh"]) == []
    assert [h.interaction_id for h in index.search("Vinamilk ghế công thái học")] == [2]
    reopened = HistoryIndex(home=tmp_path / "home", embedder=index.embedder)
    assert [h.interaction_id for h in reopened.search("Vinamilk ghế công thái học")] == [2]


def _nearest_in_a_new_process(chroma: Path, interaction_id: int) -> list[str]:
    """The ids nearest to an interaction's own vector, as a process that loads the index from its files finds them."""
    script = """if True:
        import json, sys, chromadb
        from chromadb.config import Settings
        client = chromadb.PersistentClient(path=sys.argv[1], settings=Settings(anonymized_telemetry=False))
        (listed,) = client.list_collections()
        collection = client.get_collection(listed.name)
        vector = collection.get(ids=[sys.argv[2]], include=["embeddings"])["embeddings"][0]
        print(json.dumps(collection.query(query_embeddings=[vector.tolist()], n_results=1, include=[])["ids"][0]))
    """
    found = subprocess.run([sys.executable, "-c", script, str(chroma), f"interaction:{interaction_id}"],
                           capture_output=True, text=True, check=True, timeout=120)
    return list(json.loads(found.stdout.splitlines()[-1]))


def test_a_removal_leaves_no_copy_in_the_unused_capacity_of_the_vector_index_files(tmp_path: Path) -> None:
    # hnswlib writes a new index's data_level0.bin and length.bin for its whole capacity (100 elements) from memory
    # it never cleared: past the last element they hold whatever the process had freed, customers' messages too.
    # Written there by hand here, at the end of files that hold 2 elements.
    index = _history(tmp_path / "home")
    chroma = tmp_path / "home" / "chroma"
    for name in ("data_level0.bin", "length.bin"):
        (path,) = chroma.glob(f"*/{name}")
        with path.open("r+b") as fh:
            fh.seek(-len(SECRET.encode()), os.SEEK_END)
            fh.write(SECRET.encode())
    assert {Path(found).name for found in _raw_files_holding(chroma, ["0903123456"])} >= {
        "data_level0.bin: 0903123456", "length.bin: 0903123456"}

    index.remove([1])

    assert _raw_files_holding(chroma, ["Hòa Phát", "0903123456", "Anh Minh"]) == []
    assert [h.interaction_id for h in index.search("Vinamilk ghế công thái học")] == [2]
    assert _nearest_in_a_new_process(chroma, 2) == ["interaction:2"]
