"""Scenario books for next-best-action: each a small book (the spreadsheet format of interfaces.md, imported with
the real importer) plus what the spreadsheet cannot hold (tickets, the FAQ bot's questions, leads), and the action
a sales manager would name first. Split fixed before tuning: `tune` (10) and `held_out` (7).

    .venv/bin/python benchmarks/nba/scenarios.py        -> top-1 / top-3 per split, JSON on stdout
"""

from __future__ import annotations

import asyncio
import csv
import json
import sys
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
SCENARIOS_DIR = Path(__file__).with_name("scenarios")


def load_scenarios() -> list[dict[str, Any]]:
    """Every scenario, in file order."""
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(SCENARIOS_DIR.glob("*.json"))]


def _write_book(book: dict[str, list[dict[str, Any]]], folder: Path) -> None:
    for sheet, rows in book.items():
        if not rows:
            continue
        columns = list(dict.fromkeys(k for row in rows for k in row))
        with (folder / f"{sheet}.csv").open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns)
            writer.writeheader()
            writer.writerows(rows)


async def _extras(sessionmaker: Any, extra: dict[str, list[dict[str, Any]]], now: datetime, user_id: int) -> None:
    from sqlalchemy import select

    from crm_core.models import Company, Contact, CustomerQuestion, Lead, Ticket
    from crm_core.uow import UnitOfWork

    async with UnitOfWork(sessionmaker) as uow:
        session = uow.session

        async def contact_id(name: str, company: str) -> int:
            found = await session.scalar(select(Contact.id).join(Company, Company.id == Contact.company_id)
                                         .where(Contact.name == name, Company.name == company))
            assert found is not None, (name, company)
            return int(found)

        for t in extra.get("tickets", []):
            opened = now - timedelta(days=t["days"])
            closed = t["status"] == "closed"
            session.add(Ticket(contact_id=await contact_id(t["contact"], t["company"]), channel="telegram",
                               chat_id="900", status=t["status"], reason="asked_for_human", opened_at=opened,
                               closed_at=opened if closed else None, csat=t.get("csat"),
                               csat_at=opened if t.get("csat") else None))
        for q in extra.get("questions", []):
            session.add(CustomerQuestion(contact_id=await contact_id(q["contact"], q["company"]),
                                         question=q["question"], answer="", asked_at=now - timedelta(hours=q["hours"])))
        for lead in extra.get("leads", []):
            created = now - timedelta(hours=lead["hours"])
            session.add(Lead(contact_id=await contact_id(lead["contact"], lead["company"]), assignee_id=user_id,
                             rule="faq_bot", consent_at=created, created_at=created))


def _matches(item: Any, expected: dict[str, str]) -> bool:
    if "deal" in expected:
        return bool(item.deal == expected["deal"])
    return bool(item.company == expected["company"])


async def run_scenario(scenario: dict[str, Any], settings: Any = None) -> dict[str, Any]:
    """Import the book into a fresh SQLite home, add the extras, rank, and see where the manager's pick lands."""
    from sqlalchemy import select

    from bot.app import prepare_store
    from bot.handlers.nba import reason_text
    from bot.texts import Texts
    from crm_core.clock import FrozenClock
    from crm_core.config import Settings
    from crm_core.models import Deal
    from crm_core.nba.flow import NbaFlow
    from crm_core.services import Services
    from crm_core.spreadsheets import import_spreadsheet
    from crm_core.uow import UnitOfWork

    now = datetime.fromisoformat(scenario["now"])
    with tempfile.TemporaryDirectory() as tmp:
        config = (settings or Settings()).model_copy(update={"home": Path(tmp), "database_url": None})
        db, sessionmaker = await prepare_store(config, FrozenClock(now))
        try:
            book = Path(tmp) / "book"
            book.mkdir()
            _write_book(scenario["book"], book)
            report = await import_spreadsheet(sessionmaker, book, now=now, tz=config.tz, actor="scenario",
                                              actor_user_id=None, dry_run=False)
            assert not [e for e in report.errors if not e.imported], report.errors
            async with UnitOfWork(sessionmaker) as uow:
                user = await Services.build(uow.session, now=now).users.resolve(scenario["user"])
            await _extras(sessionmaker, scenario.get("extra", {}), now, user.id)
            async with UnitOfWork(sessionmaker) as uow:
                services = Services.build(uow.session, now=now)
                found = await NbaFlow(services=services, settings=config).next_for(user, limit=10)
                deals = {i: (o, s) for i, o, s in await uow.session.execute(
                    select(Deal.id, Deal.owner_id, Deal.status))}
        finally:
            await db.dispose()
    texts = Texts("vi")
    position = next((n for n, item in enumerate(found.items, start=1) if _matches(item, scenario["expected"])), None)
    foreign = [i.subject for i in found.items if i.deal_id is not None and deals[i.deal_id][0] != user.id]
    lost = [i.subject for i in found.items if i.deal_id is not None and deals[i.deal_id][1] == "lost"]
    empty = [i.subject for i in found.items if not reason_text(i, texts).strip()]
    return {"id": scenario["id"], "split": scenario["split"], "position": position,
            "top": [f"{i.rule} · {i.deal or i.company} · {i.score}" for i in found.items[:3]],
            "foreign": foreign, "lost": lost, "empty_reasons": empty}


def summarise(results: list[dict[str, Any]]) -> dict[str, Any]:
    """top-1 / top-3 per split and in all, and the invariants."""
    out: dict[str, Any] = {}
    for split in ("tune", "held_out", "all"):
        chosen = [r for r in results if split == "all" or r["split"] == split]
        if chosen:
            out[split] = {"scenarios": len(chosen),
                          "top1": round(sum(r["position"] == 1 for r in chosen) / len(chosen), 3),
                          "top3": round(sum(r["position"] is not None and r["position"] <= 3 for r in chosen)
                                        / len(chosen), 3)}
    out["invariants_ok"] = not any(r["foreign"] or r["lost"] or r["empty_reasons"] for r in results)
    out["results"] = results
    return out


def evaluate(settings: Any = None) -> dict[str, Any]:
    """Run every scenario."""

    async def all_of() -> list[dict[str, Any]]:
        return [await run_scenario(s, settings) for s in load_scenarios()]

    return summarise(asyncio.run(all_of()))


if __name__ == "__main__":
    print(json.dumps(evaluate(), ensure_ascii=False, indent=1))
