"""The customer-history index is for staff only: customers' knowledge base never returns it."""

from __future__ import annotations

import json
import math
import os
import struct
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

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


OTHERS = (
    "Chị Lan bên Vinamilk hỏi về ghế công thái học",
    "Anh Tuấn bên FPT cần 40 tủ hồ sơ cho văn phòng mới ở Cầu Giấy",
    "Chị Hoa bên Viettel hẹn xem mẫu bàn họp tuần sau",
    "Anh Phong bên Masan hỏi chính sách bảo hành ghế xoay",
    "Chị Thảo bên Vingroup đặt 12 bàn làm việc, giao trước 15/12",
)
QUESTIONS = ("ghế công thái học", "tủ hồ sơ văn phòng", "bàn họp", "bảo hành ghế", "bàn làm việc giao trước 15/12")


def _stored_vectors(chroma: Path) -> dict[str, bytes]:
    """Each element's vector as the HNSW index files hold it (hnswlib's layout: one block per element in
    data_level0.bin, the vector at offsetData, the label at label_offset; index_metadata.pickle maps ids to labels).
    For cosine space hnswlib keeps the vector normalized, so these are not the bytes Chroma's `get` returns."""
    import pickle

    from crm_core.retrieval.chroma import _HNSW_HEADER

    found: dict[str, bytes] = {}
    for header in chroma.glob("*/header.bin"):
        if not (header.parent / "index_metadata.pickle").exists():  # not persisted whole yet
            continue
        fields = _HNSW_HEADER.unpack(header.read_bytes())
        count, per_element, label_offset, offset_data = fields[3], fields[4], fields[5], fields[6]
        data = (header.parent / "data_level0.bin").read_bytes()
        labels = pickle.loads((header.parent / "index_metadata.pickle").read_bytes())["label_to_id"]
        for n in range(count):
            block = data[n * per_element : (n + 1) * per_element]
            label = struct.unpack_from("<Q", block, label_offset)[0]
            if label in labels:
                found[labels[label]] = block[offset_data:label_offset]
    return found


def _index_elements(chroma: Path) -> list[bytes]:
    """Every element's vector in the HNSW files, deleted ones too, whether or not the id map was written yet."""
    from crm_core.retrieval.chroma import _HNSW_HEADER

    found = []
    for header in chroma.glob("*/header.bin"):
        fields = _HNSW_HEADER.unpack(header.read_bytes())
        count, per_element, label_offset, offset_data = fields[3], fields[4], fields[5], fields[6]
        data = (header.parent / "data_level0.bin").read_bytes()
        found += [data[n * per_element + offset_data : n * per_element + label_offset] for n in range(count)]
    return found


def _vector_forms(index: HistoryIndex, interaction_id: int, stored: dict[str, bytes]) -> list[bytes]:
    """The erased interaction's vector in every form a file could hold it: as the index files store it, as Chroma
    returns and logs it (float32, little-endian), and normalized here."""
    (vector,) = index._chroma.collection("history").get(ids=[f"interaction:{interaction_id}"],
                                                        include=["embeddings"])["embeddings"]
    values = [float(x) for x in vector]
    norm = math.sqrt(sum(x * x for x in values))
    return [stored[f"interaction:{interaction_id}"], struct.pack(f"<{len(values)}f", *values),
            struct.pack(f"<{len(values)}f", *(x / norm for x in values))]


def _files_holding_vectors(folder: Path, forms: list[bytes]) -> list[str]:
    """Every file under `folder` holding any 8 consecutive floats (32 bytes) of one of `forms`."""
    pieces = {form[start : start + 32] for form in forms for start in range(0, len(form) - 31, 32)}
    return sorted({str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file()
                   for raw in [path.read_bytes()] if any(piece in raw for piece in pieces)})


def _answers(index: HistoryIndex) -> list[list[tuple[int, float]]]:
    return [[(hit.interaction_id, hit.score) for hit in index.search(question, k=3)] for question in QUESTIONS]


def _without(answers: list[list[tuple[int, float]]], interaction_id: int) -> list[list[int]]:
    return [[i for i, _ in hits if i != interaction_id][:2] for hits in answers]


def test_a_removal_leaves_no_copy_of_the_erased_vectors_in_any_file_of_the_store(tmp_path: Path) -> None:
    index = _history(tmp_path / "home")
    for n, text in enumerate(OTHERS[1:], start=3):
        index.add(interaction_id=n, company_id=9, contact_id=None, text=text, occurred_at=AT)
    chroma = tmp_path / "home" / "chroma"
    forms = _vector_forms(index, 1, _stored_vectors(chroma))
    assert _files_holding_vectors(chroma, forms)  # hnswlib's files hold it, normalized
    before = _answers(index)

    index.remove([1])

    assert _files_holding_vectors(chroma, forms) == []
    after = _answers(index)
    assert _without(after, 1) == _without(before, 1)  # the others answer as they did
    assert [[round(s, 3) for i, s in hits if i != 1][:2] for hits in before] == \
        [[round(s, 3) for _, s in hits][:2] for hits in after]
    assert _nearest_in_a_new_process(chroma, 2) == ["interaction:2"]


_DIE_WHILE_REBUILDING = """if True:
    import os, sys
    from pathlib import Path
    from chromadb.api.models.Collection import Collection
    import crm_core.retrieval.chroma as chroma
    from crm_core.retrieval import HistoryIndex

    chroma._GET_BATCH = 2  # the copy is made in several steps: the process dies after the first
    add, modify, copied = Collection.add, Collection.modify, []

    def add_then_die(self, **kwargs):
        if self.name.endswith(".rebuild") and sys.argv[2] == "building" and copied:
            os._exit(3)
        copied.append(kwargs["ids"])
        return add(self, **kwargs)

    def rename_dies(self, name=None, **kwargs):
        if name is not None and sys.argv[2] == "swapping":  # the original is dropped, the copy not renamed yet
            os._exit(3)
        return modify(self, name=name, **kwargs)

    Collection.add, Collection.modify = add_then_die, rename_dies
    HistoryIndex(home=Path(sys.argv[1])).remove([1])
"""


@pytest.mark.parametrize("dies_while", ["building", "swapping"])
def test_a_process_that_dies_while_rebuilding_leaves_the_next_use_to_finish_the_erasure_losing_nothing(
        tmp_path: Path, dies_while: str) -> None:
    home = tmp_path / "home"
    index = _history(home)
    for n, text in enumerate(OTHERS[1:], start=3):
        index.add(interaction_id=n, company_id=9, contact_id=None, text=text, occurred_at=AT)
    chroma = home / "chroma"
    forms = _vector_forms(index, 1, _stored_vectors(chroma))
    before = _answers(index)

    died = subprocess.run([sys.executable, "-c", _DIE_WHILE_REBUILDING, str(home), dies_while],
                          capture_output=True, text=True, timeout=300)
    assert died.returncode == 3, died.stderr
    assert json.loads((home / "chroma-rebuilds.json").read_text(encoding="utf-8"))
    assert (home / "history-erasures.json").exists()

    reopened = HistoryIndex(home=home, embedder=index.embedder)  # the restart
    after = _answers(reopened)

    assert _without(after, 1) == _without(before, 1)
    assert all(i != 1 for hits in after for i, _ in hits)
    assert not (home / "chroma-rebuilds.json").exists()
    assert not (home / "history-erasures.json").exists()
    assert _files_holding_vectors(chroma, forms) == []
    assert len(_stored_vectors(chroma)) == len(OTHERS)  # one index, every other interaction in it
    assert _nearest_in_a_new_process(chroma, 2) == ["interaction:2"]  # one collection, under its own name
