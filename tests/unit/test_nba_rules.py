"""Next-best-action rules, each alone on hand-built facts, and the ranking on conflicting candidates (pure)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from crm_core.nba.facts import CompanyFact, DealFact, Facts, LeadFact, OutcomeFact, StageFact, TaskFact
from crm_core.nba.rank import rank, subject_state
from crm_core.nba.rules import RULES, candidates
from crm_core.nba.settings import NbaSettings

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
S = NbaSettings()


def stage(key: str = "quote", *, limit: int | None = 7, first: bool = False, odds: float = 0.6) -> StageFact:
    return StageFact(id={"new": 1, "qualified": 3, "quote": 4, "negotiation": 5, "won": 6}.get(key, 9), key=key,
                     name_vi=key, name_en=key, pipeline="general", position=1, probability=int(odds * 100),
                     stalled_after_days=limit, is_first=first, odds=odds, odds_basis="configured")


def deal(i: int = 1, *, st: StageFact | None = None, amount: int = 500_000_000, changed_days: int = 1,
         touched_days: int | None = 1, status: str = "open", close_in: int | None = None, burst: int = 0,
         company_id: int = 10, created_days: int = 30, touches: int = 1) -> DealFact:
    return DealFact(id=i, title=f"Deal {i}", status=status, stage=st or stage(), company_id=company_id,
                    company=f"Co {company_id}", contact_id=100 + i, contact=f"Person {i}", amount=Decimal(amount),
                    currency="VND", expected_close=(NOW.date() + timedelta(days=close_in)) if close_in is not None
                    else None, created_at=NOW - timedelta(days=created_days),
                    stage_changed_at=NOW - timedelta(days=changed_days),
                    closed_at=NOW - timedelta(days=changed_days) if status == "won" else None,
                    last_touch_at=NOW - timedelta(days=touched_days) if touched_days is not None else None,
                    touches=touches if touched_days is not None else 0, burst_touches=burst)


def facts(**parts: object) -> Facts:
    made = Facts(user_id=1, now=NOW, tz_date=NOW.date())
    for key, value in parts.items():
        setattr(made, key, value)
    return made


def fired(rule: str, f: Facts) -> list[str]:
    return [c.subject for c in RULES[rule](f, S)]


def test_a_task_past_its_day_is_overdue_and_one_due_today_is_today() -> None:
    late = TaskFact(1, "Gọi lại", NOW - timedelta(days=2), None, None, None, None, None, NOW - timedelta(days=5))
    today = TaskFact(2, "Gọi lại", NOW + timedelta(hours=3), None, None, None, None, None, NOW)
    f = facts(tasks=[late, today])
    assert fired("task_overdue", f) == ["task:1"]
    assert fired("task_due_today", f) == ["task:2"]


def test_a_contract_task_comes_before_a_courtesy_call_due_the_same_day() -> None:
    due = NOW - timedelta(days=1)
    contract = TaskFact(1, "Gửi hợp đồng", due, None, None, None, None, None, NOW)
    courtesy = TaskFact(2, "Gọi hỏi thăm", due, None, None, None, None, None, NOW)
    assert [i.task_id for i in rank(candidates(facts(tasks=[courtesy, contract]), S), facts(), S)] == [1, 2]


def test_a_deal_past_its_stage_limit_is_stalled_unless_touched_in_the_last_days() -> None:
    assert fired("deal_stalled", facts(deals=[deal(st=stage("qualified", limit=10), changed_days=15,
                                                   touched_days=5)])) == ["deal:1"]
    assert fired("deal_stalled", facts(deals=[deal(st=stage("qualified", limit=10), changed_days=15,
                                                   touched_days=1)])) == []


def test_a_quote_without_follow_up_after_its_waiting_days_is_suggested_with_its_facts() -> None:
    waiting = facts(deals=[deal(changed_days=12, touched_days=12, amount=2_000_000_000)])
    found = list(RULES["quote_no_followup"](waiting, S))
    assert [c.subject for c in found] == ["deal:1"]
    assert found[0].facts["days"] == 12
    assert found[0].facts["limit"] == 7
    assert found[0].facts["amount"] == "2000000000"
    assert fired("quote_no_followup", facts(deals=[deal(changed_days=12, touched_days=2)])) == []


def test_expected_close_passed_or_within_three_days() -> None:
    assert fired("close_date", facts(deals=[deal(close_in=-2)])) == ["deal:1"]
    assert fired("close_date", facts(deals=[deal(close_in=3)])) == ["deal:1"]
    assert fired("close_date", facts(deals=[deal(close_in=10)])) == []


def test_buying_question_and_open_ticket_and_low_rating() -> None:
    asked = CompanyFact(10, "Co", buying_question="giá bao nhiêu?", buying_question_at=NOW - timedelta(hours=3))
    assert fired("buying_signal", facts(companies={10: asked})) == ["company:10"]
    ticket = CompanyFact(10, "Co", open_ticket_at=NOW - timedelta(days=2))
    assert fired("care_first", facts(companies={10: ticket}, deals=[deal()])) == ["deal:1"]
    rated = CompanyFact(10, "Co", low_csat=1, low_csat_at=NOW - timedelta(days=3))
    assert fired("care_first", facts(companies={10: rated})) == ["company:10"]


def test_leads_new_and_untouched() -> None:
    lead = LeadFact(5, 7, "Hoa", None, None, None, NOW - timedelta(hours=30), None)
    assert fired("new_lead", facts(leads=[lead])) == ["lead:5"]
    touched = LeadFact(5, 7, "Hoa", None, None, None, NOW - timedelta(hours=30), NOW - timedelta(hours=1))
    assert fired("new_lead", facts(leads=[touched])) == []
    assert fired("lead_untouched", facts(deals=[deal(st=stage("new", first=True), touched_days=None,
                                                     created_days=3)])) == ["deal:1"]


def test_won_deals_onboarding_within_a_week_and_renewal_when_the_cycle_comes_round() -> None:
    assert fired("onboarding", facts(deals=[deal(st=stage("won"), status="won", changed_days=3,
                                                 touched_days=3)])) == ["deal:1"]
    assert fired("renewal", facts(deals=[deal(st=stage("won"), status="won", changed_days=358,
                                              touched_days=358)])) == ["company:10"]
    assert fired("renewal", facts(deals=[deal(st=stage("won"), status="won", changed_days=200,
                                              touched_days=200)])) == []


def test_silence_after_a_burst_and_a_valuable_customer_gone_quiet() -> None:
    assert fired("gone_silent", facts(deals=[deal(st=stage("qualified"), burst=4, touched_days=10)])) == ["deal:1"]
    assert fired("gone_silent", facts(deals=[deal(st=stage("qualified"), burst=1, touched_days=10)])) == []
    quiet = CompanyFact(10, "Co", tier="A", last_contact_at=NOW - timedelta(days=40))
    assert fired("key_customer_quiet", facts(companies={10: quiet})) == ["company:10"]
    assert fired("key_customer_quiet", facts(companies={10: CompanyFact(10, "Co", tier="C")})) == []


def test_one_action_per_deal_its_best() -> None:
    d = deal(changed_days=12, touched_days=12, close_in=-1)
    items = rank(candidates(facts(deals=[d]), S), facts(deals=[d]), S)
    assert [i.subject for i in items] == ["deal:1"]


def test_a_bigger_deal_outranks_a_smaller_one_on_the_same_rule_and_equal_facts_score_equal() -> None:
    big, small = deal(1, changed_days=10, touched_days=10, amount=2_000_000_000), deal(2, changed_days=10,
                                                                                       touched_days=10,
                                                                                       amount=100_000_000)
    f = facts(deals=[small, big])
    assert [i.deal_id for i in rank(candidates(f, S), f, S)] == [1, 2]
    older, newer = deal(3, changed_days=10, touched_days=10, created_days=90), deal(4, changed_days=10,
                                                                                 touched_days=10)
    g = facts(deals=[newer, older])
    ranked = rank(candidates(g, S), g, S)
    assert ranked[0].score == ranked[1].score


def test_done_holds_until_the_subject_changes_and_snooze_until_it_runs_out() -> None:
    d = deal(changed_days=12, touched_days=12)
    f = facts(deals=[d])
    (c,) = RULES["quote_no_followup"](f, S)
    state, _ = subject_state(c, f)
    f.outcomes = {"deal:1": OutcomeFact("deal:1", c.rule, "done", state, NOW - timedelta(hours=1), None)}
    assert rank([c], f, S) == []
    f.outcomes = {"deal:1": OutcomeFact("deal:1", c.rule, "done", "another state", NOW - timedelta(hours=1), None)}
    assert len(rank([c], f, S)) == 1
    f.outcomes = {"deal:1": OutcomeFact("deal:1", c.rule, "snoozed", state, NOW - timedelta(days=1),
                                        NOW - timedelta(minutes=1))}
    assert len(rank([c], f, S)) == 1
