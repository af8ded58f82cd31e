"""When the vector store is gone, retrieval says so with a stable code instead of a traceback."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from crm_core.retrieval import KnowledgeBase, RetrievalUnavailable


def test_unreadable_chroma_directory_fails_ask_with_retrieval_unavailable(loaded_kb: KnowledgeBase) -> None:
    chroma = loaded_kb.home / "chroma"
    chroma.rename(loaded_kb.home / "chroma.moved")
    chroma.write_bytes(b"not a directory")
    with pytest.raises(RetrievalUnavailable) as info:
        KnowledgeBase(home=loaded_kb.home).ask("bảo hành bao lâu")
    assert info.value.code == "retrieval_unavailable"


def test_unreadable_chroma_directory_fails_ingest_and_indexes_nothing(tmp_path: Path, knowledge: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "chroma").write_bytes(b"not a directory")
    kb = KnowledgeBase(home=home)
    with pytest.raises(RetrievalUnavailable):
        kb.ingest([knowledge / "faq.csv"])
    assert kb.list_docs() == []


def test_ask_with_a_broken_store_raises_retrieval_unavailable(loaded_kb: KnowledgeBase) -> None:
    fresh = KnowledgeBase(home=loaded_kb.home)
    chroma = loaded_kb.home / "chroma"
    for sqlite_file in chroma.glob("*.sqlite3"):
        sqlite_file.write_bytes(b"corrupted")
    for child in chroma.iterdir():
        if child.is_dir():
            for f in child.iterdir():
                f.write_bytes(b"x")
    with pytest.raises(RetrievalUnavailable):
        fresh.ask("bảo hành bao lâu")


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_chroma_server_down_raises_retrieval_unavailable(tmp_path: Path, knowledge: Path) -> None:
    kb = KnowledgeBase(home=tmp_path / "home", chroma_url=f"http://127.0.0.1:{_closed_port()}")
    with pytest.raises(RetrievalUnavailable):
        kb.ingest([knowledge / "faq.csv"])
    assert kb.list_docs() == []
