"""How a process answers right after another process changed the knowledge (issue 15 review, item 2).

Process A (here: a second KnowledgeBase on the same home) adds a document; process B, warm, answers a question at
once and then keeps asking until the new document is served. Prints B's latencies: the first question after the
change, the slowest, and the time until the new content is served.
Run: `chatcrm bench reload --json` (or .venv/bin/python -m benchmarks.reload.bench).
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

from crm_core.assets import DEMO_KNOWLEDGE_DIR
from crm_core.retrieval import KnowledgeBase
from crm_core.retrieval.embedder import default_embedder

NEW_DOC = "# Lắp đặt điều hòa\n\n## Phí lắp đặt điều hòa Daikin\n\nLắp đặt điều hòa Daikin miễn phí trong nội thành.\n"
QUESTION = "lắp điều hòa daikin có mất phí không"
LIMIT_S = 120.0


def run() -> dict[str, object]:
    """Measure process B's answers around process A's change (`chatcrm bench reload --json`)."""
    embedder = default_embedder()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        writer = KnowledgeBase(home=home, embedder=embedder)
        writer.ingest([DEMO_KNOWLEDGE_DIR])
        reader = KnowledgeBase(home=home, embedder=embedder)
        started = time.perf_counter()
        reader.ask(QUESTION)
        cold = time.perf_counter() - started
        extra = Path(tmp) / "lap-dat.md"
        extra.write_text(NEW_DOC, encoding="utf-8")
        started = time.perf_counter()
        writer.ingest([extra])
        ingest = time.perf_counter() - started
        changed = time.perf_counter()
        latencies: list[float] = []
        served_after = None
        while time.perf_counter() - changed < LIMIT_S:
            t0 = time.perf_counter()
            answer = reader.ask(QUESTION)
            latencies.append(time.perf_counter() - t0)
            if any(s.doc == "lap-dat.md" for s in answer.sources[:1]):
                served_after = time.perf_counter() - changed
                break
            time.sleep(0.05)
        return {"cold_load_s": round(cold, 2), "ingest_s": round(ingest, 2),
                "first_question_after_change_s": round(latencies[0], 3),
                "slowest_question_s": round(max(latencies), 3), "questions": len(latencies),
                "new_content_served_after_s": None if served_after is None else round(served_after, 2)}


def main() -> None:
    print(json.dumps(run()))


if __name__ == "__main__":
    main()
