"""Ingest safety (issue 11, case 8): a bad file is that file's failure only; encodings are read right or refused;
links are never followed; documents are named by their path in their folder; .docx loads fast."""

from __future__ import annotations

import time
import unicodedata
import zipfile
from pathlib import Path

import docx
import pytest
from openpyxl import Workbook
from typer.testing import CliRunner

from crm_core.retrieval import KnowledgeBase
from crm_core.retrieval.errors import IngestError, UnknownEncoding
from crm_core.retrieval.loaders import decode_text, load_file
from tests.core.retrieval.conftest import NOW

VIETNAMESE = ("Chính sách đổi trả\n\nGhế bị lỗi do nhà sản xuất được đổi trong 7 ngày. "
              "Bàn làm việc được bảo hành 24 tháng cho khung thép và mặt gỗ.\n")
TONE_MARKS = "\u0300\u0301\u0303\u0309\u0323"


def _cp1258(text: str) -> bytes:
    """Encode as Windows-1258 does: a letter with its shape marks, then a combining tone mark."""
    out = []
    for ch in text:
        try:
            out.append(ch.encode("cp1258"))
            continue
        except UnicodeEncodeError:
            pass
        parts = unicodedata.normalize("NFD", ch)
        shape = unicodedata.normalize("NFC", "".join(c for c in parts if c not in TONE_MARKS))
        out.append(shape.encode("cp1258") + "".join(c for c in parts if c in TONE_MARKS).encode("cp1258"))
    return b"".join(out)


def _docx(path: Path, paragraphs: int) -> Path:
    document = docx.Document()
    document.add_heading("Chính sách bảo hành", 0)
    for i in range(paragraphs):
        if i % 20 == 0:
            document.add_heading(f"Mục {i // 20 + 1}: bảo hành ghế và bàn", 1)
        document.add_paragraph(f"Ghế AP-C{i} được bảo hành 24 tháng cho khung và piston; đổi trả trong 7 ngày nếu "
                               f"lỗi do nhà sản xuất, kèm hóa đơn. Điều {i}.")
    table = document.add_table(rows=paragraphs // 4, cols=3)
    for n, row in enumerate(table.rows):
        for j, cell in enumerate(row.cells):
            cell.text = f"AP-D{n}-{j}: 1.850.000 đ"
    document.save(str(path))
    return path


def _docs(kb: KnowledgeBase) -> list[str]:
    return sorted(d.doc for d in kb.list_docs())


# --- one bad file -------------------------------------------------------------------------------------------


def test_corrupt_docx_pdf_and_xlsx_are_reported_and_the_other_files_go_in(kb: KnowledgeBase, tmp_path: Path) -> None:
    folder = tmp_path / "kb"
    folder.mkdir()
    (folder / "a-broken.docx").write_bytes(b"PK\x03\x04 this is not really a zip archive")
    with zipfile.ZipFile(folder / "b-halfdocx.docx", "w") as archive:  # a zip, but its XML is cut off
        archive.writestr("word/document.xml", "<w:document xmlns:w='x'><w:body><w:p>")
    (folder / "c-broken.pdf").write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >>\ngarbage")
    (folder / "d-broken.xlsx").write_bytes(b"PK\x03\x04 garbage")
    (folder / "e-policy.md").write_text("# Đổi trả\n\nĐổi trong 7 ngày.\n", encoding="utf-8")
    _docx(folder / "f-warranty.docx", 10)

    report = kb.ingest([folder], now=NOW)

    assert sorted((e.doc, e.code) for e in report.errors) == [
        ("a-broken.docx", "corrupt_file"), ("b-halfdocx.docx", "corrupt_file"), ("c-broken.pdf", "corrupt_file"),
        ("d-broken.xlsx", "corrupt_file")]
    assert sorted(report.added) == ["e-policy.md", "f-warranty.docx"]


def test_the_cli_reports_each_failure_on_a_line_and_exits_1_with_the_others_indexed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.cli import app

    folder = tmp_path / "kb"
    folder.mkdir()
    (folder / "broken.docx").write_bytes(b"not a docx")
    (folder / "policy.md").write_text("# Đổi trả\n\nĐổi trong 7 ngày.\n", encoding="utf-8")
    monkeypatch.setenv("CHATCRM_HOME", str(tmp_path / "home"))

    result = CliRunner().invoke(app, ["kb", "ingest", str(folder)])

    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    assert "FAILED     broken.docx" in result.output
    assert "added      policy.md" in result.output


# --- encodings ----------------------------------------------------------------------------------------------


def test_a_windows_1258_vietnamese_text_file_is_read_right(kb: KnowledgeBase, tmp_path: Path) -> None:
    legacy = tmp_path / "doi-tra.txt"
    legacy.write_bytes(_cp1258(VIETNAMESE))
    assert legacy.read_bytes().decode("utf-8", errors="replace") != VIETNAMESE  # not UTF-8 at all

    units = load_file(legacy, "doi-tra.txt")

    assert "Ghế bị lỗi do nhà sản xuất được đổi trong 7 ngày" in units[0].text


def test_windows_1252_and_utf16_text_files_are_read_right(tmp_path: Path) -> None:
    western = "Returns policy: café chairs can be returned within 7 days — “no questions asked”.\n" * 3
    assert decode_text(western.encode("cp1252"), "returns.txt") == western
    assert decode_text(VIETNAMESE.encode("utf-16"), "doi-tra.txt") == VIETNAMESE
    assert decode_text(b"\xef\xbb\xbf" + VIETNAMESE.encode("utf-8"), "doi-tra.txt") == VIETNAMESE


def test_a_text_file_in_an_unrecognised_encoding_is_refused_not_indexed_as_garbage(
        kb: KnowledgeBase, tmp_path: Path) -> None:
    garbled = tmp_path / "bang-gia.txt"
    garbled.write_bytes(bytes(range(128, 256)) * 8)  # what no candidate encoding reads as text

    report = kb.ingest([garbled], now=NOW)

    assert [(e.doc, e.code) for e in report.errors] == [("bang-gia.txt", "unknown_encoding")]
    assert kb.list_docs() == []
    with pytest.raises(UnknownEncoding):
        decode_text(b"\x00\x01\x02binary\x00", "x.md")


def test_a_text_file_part_utf8_part_code_page_is_refused_and_the_others_go_in(
        kb: KnowledgeBase, tmp_path: Path) -> None:
    # Lines pasted from two editors: any one reading garbles the other part ("Báº£o hÃ nh"), which customers would read.
    folder = tmp_path / "kb"
    folder.mkdir()
    (folder / "bao-hanh.md").write_bytes("## Bảo hành đặc biệt\n".encode() + _cp1258(VIETNAMESE))
    (folder / "doi-tra.md").write_text("# Đổi trả\n\nĐổi trong 7 ngày.\n", encoding="utf-8")

    report = kb.ingest([folder], now=NOW)

    assert [(e.doc, e.code) for e in report.errors] == [("bao-hanh.md", "unknown_encoding")]
    assert [d.doc for d in kb.list_docs()] == ["doi-tra.md"]


# --- links and paths ----------------------------------------------------------------------------------------


def test_a_symlink_in_the_folder_is_refused_and_what_it_points_at_is_never_indexed(
        kb: KnowledgeBase, tmp_path: Path) -> None:
    secret = tmp_path / "outside" / "passwd.txt"
    secret.parent.mkdir()
    secret.write_text("root:x:0:0:root:/root:/bin/bash\n", encoding="utf-8")
    folder = tmp_path / "kb"
    (folder / "sub").mkdir(parents=True)
    (folder / "policy.md").write_text("# Đổi trả\n\nĐổi trong 7 ngày.\n", encoding="utf-8")
    (folder / "faq.txt").symlink_to(secret)
    (folder / "linked-dir").symlink_to(secret.parent, target_is_directory=True)

    report = kb.ingest([folder], now=NOW)

    assert sorted((e.doc, e.code) for e in report.errors) == [("faq.txt", "unsafe_path"),
                                                                ("linked-dir", "unsafe_path")]
    assert _docs(kb) == ["policy.md"]
    assert "root:x" not in (kb.ask("root bash").body or "")


def test_a_symlink_named_on_the_command_line_is_refused(kb: KnowledgeBase, tmp_path: Path) -> None:
    secret = tmp_path / "secret.md"
    secret.write_text("# Mật khẩu\n\nadmin / 123456\n", encoding="utf-8")
    link = tmp_path / "faq.md"
    link.symlink_to(secret)

    report = kb.ingest([link], now=NOW)

    assert [(e.doc, e.code) for e in report.errors] == [("faq.md", "unsafe_path")]
    assert kb.list_docs() == []


def test_a_file_that_became_a_symlink_is_taken_out_of_the_index(kb: KnowledgeBase, tmp_path: Path) -> None:
    folder = tmp_path / "kb"
    folder.mkdir()
    (folder / "faq.md").write_text("# Hỏi đáp\n\nMở cửa 8:00.\n", encoding="utf-8")
    kb.ingest([folder], now=NOW)
    (folder / "faq.md").unlink()
    (folder / "faq.md").symlink_to("/etc/hostname")

    report = kb.ingest([folder], now=NOW)

    assert report.removed == ["faq.md"]
    assert kb.list_docs() == []


# --- names --------------------------------------------------------------------------------------------------


def test_two_files_with_the_same_name_in_different_folders_are_two_documents(kb: KnowledgeBase,
                                                                             tmp_path: Path) -> None:
    for folder, text in (("a", "Đổi trả trong 7 ngày."), ("b", "Bảo hành 24 tháng.")):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "faq.md").write_text(f"# Hỏi đáp\n\n{text}\n", encoding="utf-8")

    kb.ingest([tmp_path / "a" / "faq.md"], now=NOW)
    kb.ingest([tmp_path / "b" / "faq.md"], now=NOW)
    again = kb.ingest([tmp_path / "b" / "faq.md"], now=NOW)

    assert _docs(kb) == ["b/faq.md", "faq.md"]
    assert again.unchanged == ["b/faq.md"]


def test_two_folders_with_the_same_file_names_keep_both(kb: KnowledgeBase, tmp_path: Path) -> None:
    for folder in ("shop-a", "shop-b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "faq.md").write_text(f"# Hỏi đáp {folder}\n\nMở cửa 8:00.\n", encoding="utf-8")

    kb.ingest([tmp_path / "shop-a"], now=NOW)
    report = kb.ingest([tmp_path / "shop-b"], now=NOW)

    assert report.added == ["shop-b/faq.md"]
    assert _docs(kb) == ["faq.md", "shop-b/faq.md"]


def test_a_single_file_of_an_ingested_folder_updates_that_document(loaded_kb: KnowledgeBase,
                                                                  knowledge: Path) -> None:
    (knowledge / "policies" / "warranty.md").write_text("# Bảo hành\n\nBảo hành 36 tháng.\n", encoding="utf-8")

    report = loaded_kb.ingest([knowledge / "policies" / "warranty.md"], now=NOW)

    assert report.updated == ["policies/warranty.md"]
    assert _docs(loaded_kb) == ["delivery.md", "faq.csv", "policies/warranty.md"]


# --- .docx --------------------------------------------------------------------------------------------------


def test_docx_loads_in_under_a_second_per_100_kb_with_headings_and_tables_in_order(tmp_path: Path) -> None:
    path = _docx(tmp_path / "bao-hanh.docx", 1600)
    size_kb = path.stat().st_size / 1024
    assert size_kb > 50

    # CPU time of this process: the budget is about the loader's own work (a 54 KB file once took 172 s), and
    # on a busy machine wall time also counts the other processes (CI: 1.5 s wall for 50 KB beside a benchmark).
    # The first load also imports python-docx and lxml (1.1 s of CPU once in CI), so a small file goes first,
    # and the best of three loads is the loader's own time.
    load_file(_docx(tmp_path / "warm.docx", 10), "warm.docx")
    timings = []
    for _ in range(3):
        started = time.process_time()
        units = load_file(path, "bao-hanh.docx")
        timings.append(time.process_time() - started)
    elapsed = min(timings)

    assert elapsed < size_kb / 100, f"{elapsed:.2f}s for {size_kb:.0f} KB"
    assert units[0].title == "Chính sách bảo hành › Mục 1: bảo hành ghế và bàn"
    assert units[0].section == "Mục 1: bảo hành ghế và bàn"
    assert "Ghế AP-C0 được bảo hành 24 tháng" in units[0].text
    assert "AP-D0-0: 1.850.000 đ | AP-D0-1: 1.850.000 đ" in units[-1].text


def test_a_workbook_still_loads(tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["question", "answer"])
    sheet.append(["Có trả góp không?", "Có, 0%."])
    book.save(tmp_path / "faq.xlsx")
    assert [u.section for u in load_file(tmp_path / "faq.xlsx", "faq.xlsx")] == ["Có trả góp không?"]


# --- files that are not what they say -----------------------------------------------------------------------


def test_a_fifo_is_refused_before_any_read_instead_of_hanging(tmp_path: Path) -> None:
    import os

    fifo = tmp_path / "pipe.md"
    os.mkfifo(fifo)  # nobody writes to it: opening it for reading would wait forever

    with pytest.raises(IngestError) as refused:
        load_file(fifo, "pipe.md")

    assert refused.value.code == "unsafe_path"


def test_a_fifo_in_an_ingested_folder_is_reported_and_the_files_after_it_go_in(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    import os

    folder = tmp_path / "kb"
    folder.mkdir()
    os.mkfifo(folder / "a.md")  # listed first; reading it for its hash would wait forever
    (folder / "z.md").write_text("# Đổi trả\n\nĐổi trong 7 ngày.\n", encoding="utf-8")

    report = kb.ingest([folder], now=NOW)

    assert [(e.doc, e.code) for e in report.errors] == [("a.md", "unsafe_path")]
    assert report.added == ["z.md"]


def _lying_zip_bomb(path: Path, member: str, *, honest_parts: dict[str, bytes] | None = None) -> Path:
    """An archive whose `member` unzips to 200 MB while its headers claim 1,000 bytes."""
    import struct

    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in (honest_parts or {}).items():
            archive.writestr(name, data)
        archive.writestr(member, b"<x>" + b"A" * (200 * 1024 * 1024) + b"</x>")
    data = bytearray(path.read_bytes())
    central = data.rfind(b"PK\x01\x02")
    struct.pack_into("<I", data, central + 24, 1000)  # the central directory's uncompressed size
    local = data.rfind(b"PK\x03\x04", 0, central)
    struct.pack_into("<I", data, local + 22, 1000)  # the local header's
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize(("name", "member"),
                         [("bomb.docx", "word/document.xml"), ("bomb.xlsx", "xl/sharedStrings.xml")])
def test_an_archive_lying_about_its_unzipped_size_is_refused_without_unzipping_it_all(
        tmp_path: Path, name: str, member: str) -> None:
    import tracemalloc

    real = tmp_path / f"real-{name}"
    if name.endswith(".xlsx"):
        book = Workbook()
        sheet = book.active
        assert sheet is not None
        sheet.append(["question", "answer"])
        book.save(real)
    else:
        _docx(real, 1)
    with zipfile.ZipFile(real) as archive:  # a real document's other parts, so the reader gets to the bomb
        parts = {n: archive.read(n) for n in archive.namelist() if n != member}
    path = _lying_zip_bomb(tmp_path / name, member, honest_parts=parts)
    tracemalloc.start()
    try:
        with pytest.raises(IngestError) as refused:
            load_file(path, name)
        peak_mb = tracemalloc.get_traced_memory()[1] / (1024 * 1024)
    finally:
        tracemalloc.stop()

    assert refused.value.code == "corrupt_file"
    assert peak_mb < 20, f"{peak_mb:.0f} MB held while refusing it"


def test_an_honest_archive_over_the_unzipped_limit_is_refused(tmp_path: Path) -> None:
    from crm_core.retrieval import loaders

    path = tmp_path / "big.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/sharedStrings.xml", b"A" * (loaders.MAX_UNZIPPED_BYTES + 1))

    with pytest.raises(IngestError) as refused:
        load_file(path, "big.xlsx")

    assert refused.value.code == "corrupt_file"
