"""The summary's figures on a hand-built book where every number is known (SQLite and PostgreSQL)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from crm_core.config import Settings
from crm_core.models import (
    Contact,
    ContactIdentity,
    CustomerQuestion,
    Deal,
    DealStageChange,
    Interaction,
    Lead,
    Stage,
    Task,
    Ticket,
)
from crm_core.ports import Ports
from crm_core.reports.flow import ReportFlow
from crm_core.schemas import UserOut
from crm_core.services import Services
from tests.conftest import TEST_NOW, OpenServices

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
M = Decimal(1_000_000)


def at(day: int, hour: int, minute: int = 0, *, month: int = 11) -> datetime:
    """A local time in Ho Chi Minh City, November 2026 unless told."""
    return datetime(2026, month, day, hour, minute, tzinfo=HCM)


@dataclass
class Book:
    lan: UserOut
    tuan: UserOut
    quang: UserOut
    deals: dict[str, int]


class Seeder:
    """Rows written directly, with the exact times a test needs."""

    def __init__(self, services: Services) -> None:
        self.s = services
        self.session = services.session
        self.stages: dict[str, Stage] = {}

    async def load_stages(self) -> None:
        self.stages = {s.key: s for s in await self.session.scalars(select(Stage))}

    async def deal(self, title: str, owner: UserOut, stage: str, amount: Decimal | None, currency: str, *,
                   created: datetime, moves: tuple[tuple[str, datetime], ...] = (), status: str = "open",
                   expected: date | None = None) -> int:
        """A deal created at `stage` (at "new" when it moved since), then moved as `moves` say."""
        last_move = moves[-1][1] if moves else created
        deal = Deal(title=title, title_folded=title.lower(), owner_id=owner.id, stage_id=self.stages[stage].id,
                    amount=amount, currency=currency, status=status, expected_close=expected, created_at=created,
                    updated_at=last_move, stage_changed_at=last_move,
                    closed_at=last_move if status != "open" else None)
        self.session.add(deal)
        await self.session.flush()
        previous = None
        for key, when in [("new" if moves else stage, created), *moves]:
            to = self.stages[key]
            self.session.add(DealStageChange(deal_id=deal.id, from_stage_id=previous, to_stage_id=to.id,
                                             changed_at=when, user_id=owner.id))
            previous = to.id
        return deal.id

    def interaction(self, owner: UserOut | None, kind: str, when: datetime, source: str = "chat") -> None:
        self.session.add(Interaction(kind=kind, occurred_at=when, owner_id=owner.id if owner else None, summary="…",
                                     source=source, created_at=when))

    def task(self, owner: UserOut, due: datetime, done: datetime | None = None) -> None:
        self.session.add(Task(title="gọi lại", due_at=due, owner_id=owner.id, done_at=done, created_at=at(1, 8)))


async def seed_book(services: Services) -> Book:
    """The book of Monday 23/11/2026 (figures in the tests below are counted from it by hand)."""
    lan = await services.users.add(name="Lan", role="sales")
    tuan = await services.users.add(name="Tuấn", role="sales")
    quang = await services.users.add(name="Quang", role="manager")
    seed = Seeder(services)
    await seed.load_stages()
    # Interactions: 23/11 (the day) and 22/11 (the day before).
    seed.interaction(lan, "call", at(23, 9))
    seed.interaction(lan, "call", at(23, 0, 30))  # 22/11 17:30 UTC: still the local 23rd
    seed.interaction(lan, "meeting", at(23, 8))
    seed.interaction(lan, "call", at(22, 23, 30))
    seed.interaction(tuan, "email", at(23, 9, 30))
    seed.interaction(tuan, "call", at(22, 10))
    seed.interaction(tuan, "call", at(22, 11))
    seed.interaction(None, "note", at(23, 9))
    seed.interaction(lan, "message", at(23, 9), source="bot")  # the bot's answer to a customer: not team work
    seed.interaction(lan, "message", at(23, 9), source="customer")
    deals = {
        "d1": await seed.deal("Hòa Phát", lan, "quote", 500 * M, "VND", created=at(23, 8), expected=date(2026, 11, 30)),
        "d2": await seed.deal("ACME", tuan, "negotiation", Decimal(10_000), "USD", created=at(10, 9),
                              moves=(("quote", at(10, 9, 1)), ("negotiation", at(23, 9)))),
        "d3": await seed.deal("Vinamilk", lan, "won", 480 * M, "VND", created=at(1, 9), status="won",
                              moves=(("quote", at(5, 9)), ("won", at(23, 9, 15)))),
        "d4": await seed.deal("Hoa Sen", tuan, "lost", 100 * M, "VND", created=at(15, 9), status="lost",
                              moves=(("lost", at(22, 16)),)),
        "d5": await seed.deal("Masan", lan, "qualified", 200 * M, "VND", created=at(1, 10),
                              expected=date(2026, 12, 15)),
    }
    # Tasks: Lan has three overdue at 10:00 (one due at 08:00 today), Tuấn one due this afternoon, one done.
    seed.task(lan, at(22, 15))
    seed.task(lan, at(20, 9))
    seed.task(lan, at(23, 8))
    seed.task(tuan, at(21, 9), done=at(22, 9))
    seed.task(tuan, at(23, 17))
    # Leads: one from the FAQ bot (Lan's), one imported contact (Lan's), one typed by Tuấn; a customer who only
    # wrote to the bot is not a lead.
    customer = Contact(name="Khách", name_folded="khach", created_at=at(23, 7))
    services.session.add(customer)
    await services.session.flush()
    services.session.add(ContactIdentity(contact_id=customer.id, channel="telegram", external_id="9",
                                         created_at=at(23, 7)))
    services.session.add(Lead(contact_id=customer.id, assignee_id=lan.id, rule="round_robin", consent_at=at(23, 7),
                              created_at=at(23, 7)))
    services.session.add(Contact(name="Nhập", name_folded="nhap", owner_id=lan.id, source="import:book.xlsx",
                                 created_at=at(23, 8)))
    services.session.add(Contact(name="Gõ", name_folded="go", owner_id=tuan.id, created_at=at(23, 8)))
    # The FAQ bot: six questions today, one yesterday.
    ticket = Ticket(channel="telegram", chat_id="9", reason="asked_for_human", opened_at=at(23, 9), csat=5,
                    csat_at=at(23, 11) - timedelta(hours=2))
    services.session.add(ticket)
    services.session.add(Ticket(channel="telegram", chat_id="9", reason="complaint", opened_at=at(23, 9), csat=3,
                                csat_at=at(23, 9, 30)))
    services.session.add(Ticket(channel="telegram", chat_id="9", reason="complaint", opened_at=at(22, 9), csat=1,
                                csat_at=at(22, 9, 30)))
    await services.session.flush()

    def question(when: datetime, *, handoff: bool = False, reason: str | None = None,
                 down_after: timedelta | None = None, ticket_id: int | None = None) -> CustomerQuestion:
        return CustomerQuestion(contact_id=customer.id, question="?", answer="!", handoff=handoff, reason=reason,
                                feedback="down" if down_after else None,
                                feedback_at=when + down_after if down_after else None, ticket_id=ticket_id,
                                asked_at=when)

    services.session.add_all([
        question(at(23, 8)),
        question(at(23, 8, 10), down_after=timedelta(hours=1)),
        question(at(23, 8, 20), ticket_id=ticket.id),
        question(at(23, 8, 30), handoff=True, reason="low_confidence"),
        question(at(23, 8, 40), handoff=True, reason="asked_for_human"),
        question(at(21, 8, 50), down_after=timedelta(hours=30)),  # rated 👎 a day and more later: still resolved
        question(at(23, 1), down_after=timedelta(hours=30)),
        question(at(22, 9)),
    ])
    await services.session.flush()
    return Book(lan=lan, tuan=tuan, quang=quang, deals=deals)


def flow(services: Services, **settings: Any) -> ReportFlow:
    return ReportFlow(services=services, ports=Ports(), settings=Settings(**settings))


async def _summary_json(open_services: OpenServices, who: str = "quang", kind: str = "day", day: date | None = None,
                        now: datetime | None = None, **settings: Any) -> dict[str, Any]:
    async with open_services() as services:
        book = await seed_book(services)
    async with open_services(now=now) as services:
        summary = await flow(services, **settings).figures(getattr(book, who), kind, day)  # type: ignore[arg-type]
    return summary.as_json()


async def test_the_team_day_counts_every_figure_of_the_book(open_services: OpenServices) -> None:
    figures = await _summary_json(open_services)

    assert figures["date"] == "2026-11-23"
    assert figures["interactions"]["total"] == 5
    assert figures["interactions"]["by_kind"] == {"call": 2, "meeting": 1, "email": 1, "note": 1}
    assert figures["interactions"]["by_rep"] == {"Lan": 3, "Tuấn": 1}
    assert figures["interactions"]["change_by_rep"] == {"Lan": 2, "Tuấn": -1}
    assert figures["leads_new"] == 3
    assert figures["leads_by_source"] == {"faq_bot": 1, "import": 1, "manual": 1}
    assert figures["deals"]["created"] == 1
    assert figures["deals"]["created_amount"] == {"VND": 500_000_000}
    assert figures["deals"]["moved"] == 1
    assert figures["deals"]["won"] == {"count": 1, "amount": {"VND": 480_000_000}}
    assert figures["deals"]["lost"] == {"count": 0, "amount": {}}
    assert figures["deals"]["win_rate"] == 1.0
    assert figures["tasks"] == {"overdue": 3, "due_today": 2, "overdue_by_owner": {"Lan": 3}}
    assert figures["stalled"] == {"count": 1, "by_stage": {"qualified": 1}}


async def test_the_pipeline_lists_open_deals_by_stage_with_weighted_values_per_currency(
        open_services: OpenServices) -> None:
    figures = await _summary_json(open_services)

    lines = {p["stage"]: p for p in figures["pipeline"]}
    assert [p["stage"] for p in figures["pipeline"]] == ["new", "contacted", "qualified", "quote", "negotiation"]
    assert lines["quote"]["count"] == 1
    assert lines["quote"]["amount"] == {"VND": 500_000_000}
    assert lines["quote"]["weighted"] == {"VND": 300_000_000}
    assert lines["negotiation"]["amount"] == {"USD": 10_000}
    assert lines["negotiation"]["weighted"] == {"USD": 8_000}
    assert lines["qualified"]["weighted"] == {"VND": 80_000_000}
    assert lines["new"]["count"] == 0


async def test_the_forecast_uses_configured_probabilities_under_twenty_closed_deals_and_never_adds_currencies(
        open_services: OpenServices) -> None:
    figures = await _summary_json(open_services)

    forecast = figures["forecast"]
    # d1 500M × 60 % (quote, closes 30/11) and d2 $10,000 × 80 % (no date); d5 closes in December.
    assert forecast["month"] == "2026-11"
    assert forecast["amount"] == {"VND": 300_000_000, "USD": 8_000}
    assert forecast["deals"] == 2
    assert forecast["undated"] == 1
    assert forecast["basis"] == "configured"


async def test_the_forecast_uses_the_teams_win_rate_from_a_stage_once_twenty_deals_closed_through_it(
        open_services: OpenServices) -> None:
    async with open_services() as services:
        book = await seed_book(services)
        seed = Seeder(services)
        await seed.load_stages()
        # With d3 (won through quote): 16 won and 5 lost passed through quote -> 16/21.
        for n in range(20):
            outcome = "won" if n < 15 else "lost"
            await seed.deal(f"old {n}", book.tuan, outcome, 1 * M, "VND", created=at(1, 9, month=10), status=outcome,
                            moves=(("quote", at(2, 9, month=10)), (outcome, at(3, 9, month=10))))
    async with open_services() as services:
        summary = await flow(services).figures(book.quang)

    odds = {o.key: o for o in summary.forecast.odds}
    assert odds["quote"].basis == "history"
    assert odds["quote"].closed_deals == 21
    assert odds["negotiation"].basis == "configured"
    assert summary.forecast.basis == "mixed"
    assert summary.forecast.amount == {"VND": Decimal("380952380.95"), "USD": Decimal(8000)}


async def test_the_forecast_json_counts_vnd_in_whole_dong_and_usd_in_cents(open_services: OpenServices) -> None:
    async with open_services() as services:
        book = await seed_book(services)
        seed = Seeder(services)
        await seed.load_stages()
        for n in range(20):  # 16 of 21 won through quote: 500M × 16/21 = 380,952,380.95 đồng
            outcome = "won" if n < 15 else "lost"
            await seed.deal(f"old {n}", book.tuan, outcome, 1 * M, "VND", created=at(1, 9, month=10), status=outcome,
                            moves=(("quote", at(2, 9, month=10)), (outcome, at(3, 9, month=10))))
        await seed.deal("Cents", book.lan, "negotiation", Decimal("10.01"), "USD", created=at(20, 9))
    async with open_services() as services:
        figures = (await flow(services).figures(book.quang)).as_json()

    assert figures["forecast"]["amount"] == {"VND": 380_952_381, "USD": 8_008.01}
    assert isinstance(figures["forecast"]["amount"]["VND"], int)


async def test_the_faq_bot_day_counts_resolutions_handoffs_by_reason_and_ratings(open_services: OpenServices) -> None:
    figures = await _summary_json(open_services)

    # Today: 6 questions; 2 handed off; of the 4 answered, one got a 👎 within the hour and one a person.
    assert figures["faq"] == {"questions": 6, "answered": 4, "handoffs": 2, "csat": 4.0, "csat_count": 2,
                              "handoffs_by_reason": {"low_confidence": 1, "asked_for_human": 1}, "resolved": 2,
                              "resolution_rate": 0.3333}


async def test_a_salesperson_sees_only_their_own_figures_and_no_faq(open_services: OpenServices) -> None:
    figures = await _summary_json(open_services, who="lan")

    assert figures["scope"] == "own"
    assert figures["interactions"]["by_rep"] == {"Lan": 3}
    assert figures["interactions"]["total"] == 3
    assert figures["leads_by_source"] == {"faq_bot": 1, "import": 1, "manual": 0}
    assert figures["deals"]["created"] == 1
    assert figures["deals"]["moved"] == 0
    assert [p["stage"] for p in figures["pipeline"] if p["count"]] == ["qualified", "quote"]
    assert figures["forecast"]["amount"] == {"VND": 300_000_000}
    assert figures["tasks"]["overdue"] == 3
    assert figures["faq"] is None


async def test_a_past_day_lists_the_pipeline_as_it_stood_at_that_days_end(open_services: OpenServices) -> None:
    figures = await _summary_json(open_services, day=date(2026, 11, 22))

    counts = {p["stage"]: p["count"] for p in figures["pipeline"] if p["count"]}
    # End of 22/11: d2 still at quote, d3 not yet won, d1 not created, d4 lost that afternoon.
    assert counts == {"qualified": 1, "quote": 2}
    assert figures["deals"]["lost"] == {"count": 1, "amount": {"VND": 100_000_000}}
    assert figures["interactions"]["by_rep"] == {"Lan": 1, "Tuấn": 2}


async def test_a_month_counts_every_deal_created_and_closed_in_it(open_services: OpenServices) -> None:
    figures = await _summary_json(open_services, kind="month")

    assert (figures["first"], figures["last"]) == ("2026-11-01", "2026-11-30")
    assert figures["deals"]["created"] == 5
    assert figures["deals"]["created_amount"] == {"VND": 1_280_000_000, "USD": 10_000}
    assert figures["deals"]["win_rate"] == 0.5
    assert figures["faq"]["questions"] == 8


async def test_a_week_runs_monday_to_sunday_and_compares_with_the_week_before(open_services: OpenServices) -> None:
    figures = await _summary_json(open_services, kind="week", day=date(2026, 11, 25),
                                  now=datetime(2026, 11, 30, 10, 0, tzinfo=HCM))

    assert (figures["first"], figures["last"]) == ("2026-11-23", "2026-11-29")
    assert figures["interactions"]["total"] == 5
    assert figures["interactions"]["previous_total"] == 3
    assert (figures["interactions"]["previous_first"], figures["interactions"]["previous_last"]) == (
        "2026-11-16", "2026-11-22")


async def test_a_week_so_far_is_compared_with_the_same_days_of_the_week_before(open_services: OpenServices) -> None:
    figures = await _summary_json(open_services, kind="week", day=date(2026, 11, 25))  # on Monday 23/11

    assert figures["interactions"]["total"] == 5
    assert figures["interactions"]["previous_total"] == 0  # the book's three are on Sunday 22/11
    assert (figures["interactions"]["previous_first"], figures["interactions"]["previous_last"]) == (
        "2026-11-16", "2026-11-16")


async def test_an_interaction_belongs_to_its_local_date_in_a_time_zone_far_from_utc(
        open_services: OpenServices) -> None:
    async with open_services() as services:
        lan = await services.users.add(name="Lan", role="sales")
        quang = await services.users.add(name="Quang", role="manager")
        seed = Seeder(services)
        seed.interaction(lan, "call", datetime(2026, 11, 23, 10, 0, tzinfo=UTC))  # 24/11 00:00 in Kiritimati (+14)
        seed.interaction(lan, "call", datetime(2026, 11, 23, 9, 59, tzinfo=UTC))  # 23/11 23:59 there
    async with open_services(now=datetime(2026, 11, 24, 12, 0, tzinfo=ZoneInfo("Pacific/Kiritimati"))) as services:
        reports = flow(services, timezone="Pacific/Kiritimati")
        today = await reports.figures(quang, "day")
        yesterday = await reports.figures(quang, "day", date(2026, 11, 23))

    assert (today.first, today.interactions_total) == (date(2026, 11, 24), 1)
    assert yesterday.interactions_total == 1


async def test_an_empty_day_for_a_team_of_one_has_zeros_and_a_quiet_highlight(open_services: OpenServices) -> None:
    async with open_services() as services:
        quang = await services.users.add(name="Quang", role="manager")
    async with open_services() as services:
        summary = await flow(services).figures(quang)

    figures = summary.as_json()
    assert figures["interactions"] == {"total": 0, "by_kind": {}, "by_rep": {}, "previous_total": 0,
                                       "previous_first": "2026-11-22", "previous_last": "2026-11-22",
                                       "by_rep_kind": {}, "change_by_rep": {}}
    assert figures["deals"]["win_rate"] is None
    assert figures["forecast"]["amount"] == {}
    assert [f.key for f in summary.highlights.facts] == ["quiet"]


async def test_the_rules_highlight_wins_overdue_tasks_and_stalled_deals(open_services: OpenServices) -> None:
    async with open_services() as services:
        book = await seed_book(services)
    async with open_services() as services:
        summary = await flow(services).figures(book.quang)

    facts = {f.key: f.values for f in summary.highlights.facts}
    assert facts["won"] == {"count": 1, "amount": {"VND": 480 * M}}
    assert facts["overdue"] == {"name": "Lan", "count": 3}
    assert summary.highlights.source == "rules"


async def test_the_book_is_read_at_the_test_clock() -> None:
    assert at(23, 10) == TEST_NOW
