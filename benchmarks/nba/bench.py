"""Next-best-action benchmark: `/next` for one salesperson on the summary benchmark's generated book
(100,000 deals, 1,000,000 interactions, 200 salespeople), and the morning digest's lists for all 200.

Run: .venv/bin/chatcrm bench nba --json   (or .venv/bin/python benchmarks/nba/bench.py [--scale tiny])
Protocol and figures: benchmarks/nba/README.md. It reports; it never asserts: `ok` says whether the p95 target
(< 200 ms on SQLite) was reached. Tiers are stored first (the nightly job's state), as in production.

    one     NbaFlow.next_for(salesperson #1) in a fresh unit of work and flow each time (stages, odds and
            every fact read again), `repeat` times -> p50 / p95 / max ms
    all     one unit of work, one flow (stages and odds read once): the top 5 of each of the 200 -> seconds
    tiers   NbaFlow.refresh_tiers() over every customer -> seconds
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
TARGET_P95_MS = 200.0


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def _measure(url: str, repeat: int) -> dict[str, Any]:
    from benchmarks.common.generated_book import now_of_book, row_counts
    from crm_core.config import Settings
    from crm_core.db import create_engine, create_sessionmaker
    from crm_core.nba.flow import NbaFlow
    from crm_core.services import Services
    from crm_core.uow import UnitOfWork

    settings = Settings()
    now = now_of_book()
    engine = create_engine(url)
    sessionmaker = create_sessionmaker(engine)
    try:
        started = time.perf_counter()
        async with UnitOfWork(sessionmaker) as uow:
            tiers = await NbaFlow(services=Services.build(uow.session, now=now), settings=settings).refresh_tiers()
        tiers_s = time.perf_counter() - started
        async with UnitOfWork(sessionmaker) as uow:
            services = Services.build(uow.session, now=now)
            people = await services.users.salespeople()
        first = people[0]
        times, sizes = [], []
        for _ in range(repeat):
            started = time.perf_counter()
            async with UnitOfWork(sessionmaker) as uow:
                flow = NbaFlow(services=Services.build(uow.session, now=now), settings=settings)
                found = await flow.next_for(first)
            times.append((time.perf_counter() - started) * 1000)
            sizes.append(found.total)
        started = time.perf_counter()
        listed = 0
        async with UnitOfWork(sessionmaker) as uow:
            flow = NbaFlow(services=Services.build(uow.session, now=now), settings=settings)
            for person in people:
                listed += len((await flow.next_for(person)).items)
        all_s = time.perf_counter() - started
        p95 = _percentile(times, 0.95)
        counts = await asyncio.to_thread(row_counts, url)
        return {"rows": {k: v for k, v in counts.items() if k in ("deals", "interactions", "users")},
                "salesperson": first.name, "candidates": sizes[-1], "repeat": repeat,
                "one_ms": {"p50": round(statistics.median(times), 1), "p95": round(p95, 1),
                           "max": round(max(times), 1)},
                "all": {"salespeople": len(people), "items": listed, "seconds": round(all_s, 2),
                        "ms_per_person": round(all_s * 1000 / max(len(people), 1), 1)},
                "tiers": {"customers": tiers, "seconds": round(tiers_s, 2)},
                "targets": {"one_p95_ms": TARGET_P95_MS}, "ok": p95 < TARGET_P95_MS}
    finally:
        await engine.dispose()


def run(scale: str = "") -> dict[str, Any]:
    """Measure on SQLite (and on PostgreSQL when CHATCRM_TEST_POSTGRES_URL is set and CHATCRM_BENCH_PG=1)."""
    from benchmarks.common.generated_book import ensure_database

    scale = scale or os.environ.get("CHATCRM_BENCH_SCALE", "full")
    log = lambda line: print(line, file=sys.stderr)  # noqa: E731 - stdout carries JSON only
    repeat = 5 if scale == "tiny" else 20
    result: dict[str, Any] = {"scale": scale}
    result["sqlite"] = asyncio.run(_measure(ensure_database("sqlite", scale=scale, log=log), repeat))
    pg = os.environ.get("CHATCRM_TEST_POSTGRES_URL")
    if pg and os.environ.get("CHATCRM_BENCH_PG") == "1":
        result["postgres"] = asyncio.run(_measure(ensure_database("postgres", url=pg, scale=scale, log=log), repeat))
    result["ok"] = bool(result["sqlite"]["ok"])
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", default="", choices=["", "tiny", "full"])
    print(json.dumps(run(parser.parse_args().scale), ensure_ascii=False, indent=2))
