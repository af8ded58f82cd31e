"""One summary process: time the day and the month summary over a database, figure by figure.

Run by bench.py in its own process (its peak RSS is the summary's): python measure.py URL DAY NOW_ISO.
With a fourth argument `history`, it only times `history_stored`, the month's first summary's extra cost (the
stored win-rate history of the months before is dropped, then counted and stored again:
crm_core/reports/winrates.py); bench.py runs that in a process of its own before this one. Else, for each
run (day, month, then both again on warm caches) the seconds of the whole flow and of each aggregate query
(Figures method; `win_rates` is the whole win-rate history, its `closed_through_stages` included), and the
summary's headline numbers (to see they are not empty).
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import sys
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from sqlalchemy import delete, text

from crm_core.config import Settings
from crm_core.db import create_engine, create_sessionmaker
from crm_core.models.reports import WinRateSnapshot
from crm_core.ports import Ports
from crm_core.reports.figures import Figures
from crm_core.reports.flow import ReportFlow
from crm_core.reports.winrates import WinRates, month_start
from crm_core.schemas import UserOut
from crm_core.services import Services
from crm_core.uow import UnitOfWork

QUERIES = ("staff_names", "salespeople", "activity", "leads", "deals", "open_deals", "closed_through_stages",
           "tasks", "stalled_by_stage", "faq")
spent: dict[str, float] = defaultdict(float)


def _timed(name: str, method: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    @functools.wraps(method)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return await method(*args, **kwargs)
        finally:
            spent[name] += time.perf_counter() - started

    return wrapper


for _name in QUERIES:
    setattr(Figures, _name, _timed(_name, getattr(Figures, _name)))
WinRates.history = _timed("win_rates", WinRates.history)  # type: ignore[method-assign]


async def _store_history(sessionmaker: Any, now: datetime) -> dict[str, Any]:
    """Drop the stored history before `now`'s month and time counting and storing it again (the month's first
    summary or digest pays this once; every later one reads the stored counts)."""
    async with UnitOfWork(sessionmaker) as uow:
        await uow.session.execute(delete(WinRateSnapshot).where(WinRateSnapshot.boundary == month_start(now)))
    started, cpu_started = time.perf_counter(), time.process_time()
    async with UnitOfWork(sessionmaker) as uow:
        await WinRates(uow.session).history(now)
    return {"run": "history_stored", "seconds": round(time.perf_counter() - started, 3),
            "cpu_seconds": round(time.process_time() - cpu_started, 3)}


async def _server_process(session: Any) -> int | None:
    """PostgreSQL: the pid of the server process serving this session (on this machine), else None."""
    if session.bind.dialect.name != "postgresql":
        return None
    pid = int((await session.execute(text("SELECT pg_backend_pid()"))).scalar_one())
    return pid if os.path.exists(f"/proc/{pid}/stat") else None  # noqa: ASYNC240 - /proc, no disk


def _cpu_of(pid: int | None) -> float:
    """CPU seconds (user + system) a process has used so far, from /proc (0 without one)."""
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def measure(url: str, day: date, now: datetime) -> dict[str, Any]:
    """Time the day and the month summary twice each over `url`, as the team's manager sees them."""
    engine = create_engine(url)
    sessionmaker = create_sessionmaker(engine)
    settings = Settings(database_url=url)
    viewer = UserOut(id=0, name="bench", role="admin", language="vi", active=True)
    runs: list[dict[str, Any]] = []
    try:
        for label, kind in (("day", "day"), ("month", "month"), ("day_again", "day"), ("month_again", "month")):
            spent.clear()
            async with UnitOfWork(sessionmaker) as uow:
                server = await _server_process(uow.session)
                server_started = _cpu_of(server)
                started, cpu_started = time.perf_counter(), time.process_time()
                services = Services.build(uow.session, now=now)
                summary = await ReportFlow(services=services, ports=Ports(), settings=settings).figures(
                    viewer, kind, day)  # type: ignore[arg-type]
                seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
                server_seconds = _cpu_of(server) - server_started
            runs.append({"run": label, "seconds": round(seconds, 3), "cpu_seconds": round(cpu_seconds, 3),
                         "server_cpu_seconds": round(server_seconds, 3) if server else None,
                         "queries": {k: round(v, 3) for k, v in sorted(spent.items(), key=lambda kv: -kv[1])},
                         "interactions": sum(a.total for a in summary.activity) + summary.interactions_unowned,
                         "deals_created": summary.deals.created.count, "won": summary.deals.won.count,
                         "open_deals": sum(s.count for s in summary.pipeline), "overdue": summary.tasks.overdue,
                         "faq_questions": summary.faq.questions if summary.faq else None})
    finally:
        await engine.dispose()
    return {"runs": runs}


async def store_history(url: str, now: datetime) -> dict[str, Any]:
    """Time counting and storing the win-rate history of the months before `now`'s (see _store_history)."""
    engine = create_engine(url)
    try:
        return {"runs": [await _store_history(create_sessionmaker(engine), now.astimezone(Settings().tz))]}
    finally:
        await engine.dispose()


if __name__ == "__main__":
    database, wanted, moment = sys.argv[1:4]
    if sys.argv[4:] == ["history"]:
        print(json.dumps(asyncio.run(store_history(database, datetime.fromisoformat(moment)))))
    else:
        print(json.dumps(asyncio.run(measure(database, date.fromisoformat(wanted), datetime.fromisoformat(moment)))))
