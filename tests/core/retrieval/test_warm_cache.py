"""A warm admin loop (issue 11, case 10): what is slow to rebuild is kept under the home, so a new process
answers without re-embedding the corpus, rebuilding BM25 or opening Chroma, and answers the same."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from crm_core.retrieval import KnowledgeBase, RetrievalUnavailable
from crm_core.retrieval.embedder import Embedder, default_embedder
from tests.core.retrieval.conftest import NOW

QUESTION = "bảo hành máy lọc nước bao lâu"


class CountingEmbedder:
    """The real embedder, counting the texts it embeds."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.name = inner.name
        self.queries = 0

    def embed_queries(self, texts: Sequence[str]) -> list[list[float]]:
        self.queries += len(texts)
        return self.inner.embed_queries(texts)

    def embed_passages(self, texts: Sequence[str]) -> list[list[float]]:
        return self.inner.embed_passages(texts)


def _answer(kb: KnowledgeBase, question: str = QUESTION) -> tuple[list[tuple[str, str]], float]:
    answer = kb.ask(question)
    return [(s.doc, s.section) for s in answer.sources], answer.confidence


def test_a_second_process_answers_the_same_from_the_cache_embedding_only_the_question(
        loaded_kb: KnowledgeBase) -> None:
    first = _answer(loaded_kb)
    counting = CountingEmbedder(default_embedder())
    fresh = KnowledgeBase(home=loaded_kb.home, embedder=counting)

    again = _answer(fresh)

    assert again == first
    assert counting.queries <= 4  # the question's forms, not the corpus's headings again
    assert list((loaded_kb.home / "cache").glob("corpus-*.pickle"))


def test_a_warm_home_answers_without_importing_chroma_or_bm25s(loaded_kb: KnowledgeBase) -> None:
    expected = _answer(loaded_kb)
    script = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from crm_core.retrieval import KnowledgeBase\n"
        f"answer = KnowledgeBase(home=Path({str(loaded_kb.home)!r})).ask({QUESTION!r})\n"
        "print(json.dumps({'sources': [[s.doc, s.section] for s in answer.sources], 'confidence': answer.confidence,"
        " 'loaded': sorted(m for m in ('chromadb', 'bm25s', 'langchain_chroma', 'scipy') if m in sys.modules)}))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=300,
                          env={**os.environ, "HF_HUB_OFFLINE": "1"})
    result = json.loads(done.stdout.strip().splitlines()[-1])

    assert result["loaded"] == []
    assert ([tuple(s) for s in result["sources"]], result["confidence"]) == (expected[0], pytest.approx(expected[1]))


def test_a_reingest_is_seen_by_a_process_holding_the_old_cache(loaded_kb: KnowledgeBase, knowledge: Path) -> None:
    _answer(loaded_kb)
    (knowledge / "policies" / "warranty.md").write_text(
        "# Chính sách bảo hành\n\n## Bảo hành máy lọc nước\n\nMáy lọc nước được bảo hành 36 tháng tại nhà.\n",
        encoding="utf-8")
    writer = KnowledgeBase(home=loaded_kb.home)
    assert writer.ingest([knowledge], now=NOW).updated == ["policies/warranty.md"]

    _answer(loaded_kb)  # answered from the version in memory while the new one is built (test_reload.py)
    assert loaded_kb.wait_until_current(timeout=300)
    sources, _ = _answer(loaded_kb)

    assert ("policies/warranty.md", "Bảo hành máy lọc nước") in sources
    assert len(list((loaded_kb.home / "cache").glob("corpus-*.pickle"))) <= 2


def test_an_unreadable_cache_is_rebuilt_not_fatal(loaded_kb: KnowledgeBase) -> None:
    first = _answer(loaded_kb)
    for entry in (loaded_kb.home / "cache").glob("corpus-*.pickle"):
        entry.write_bytes(b"not a pickle")

    assert _answer(KnowledgeBase(home=loaded_kb.home)) == first


def test_with_a_warm_cache_a_vanished_store_still_fails_with_retrieval_unavailable(loaded_kb: KnowledgeBase) -> None:
    _answer(loaded_kb)
    chroma = loaded_kb.home / "chroma"
    chroma.rename(loaded_kb.home / "chroma.moved")
    chroma.write_bytes(b"not a directory")

    with pytest.raises(RetrievalUnavailable):
        KnowledgeBase(home=loaded_kb.home).ask(QUESTION)
