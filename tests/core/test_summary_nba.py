"""The next-best-action acceptance in the manager's summary (issue 14): done / snoozed / ignored per rule over the
30 days to the summary's moment, in `summary --json` and as a small block of the message (SQLite and
PostgreSQL)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bot.handlers.reports import render_summary
from bot.texts import Texts
from crm_core.models import NbaOutcome
from crm_core.schemas import UserOut
from tests.conftest import TEST_NOW, OpenServices
from tests.core.test_reports import flow

INTERFACE_KEYS = {"date", "interactions", "leads_new", "deals", "pipeline", "forecast", "tasks", "faq"}


def _answers(user: UserOut, rule: str, *, shown: int, done: int = 0, snoozed: int = 0,
             days_ago: float = 2) -> list[NbaOutcome]:
    at = TEST_NOW - timedelta(days=days_ago)
    rows = [("shown", n) for n in range(shown)] + [("done", n) for n in range(done)]
    rows += [("snoozed", n) for n in range(snoozed)]
    return [NbaOutcome(user_id=user.id, subject=f"deal:{n + 1}", rule=rule, outcome=outcome, state="s", at=at,
                       until=at + timedelta(days=1) if outcome == "snoozed" else None) for outcome, n in rows]


async def _team(open_services: OpenServices) -> dict[str, UserOut]:
    async with open_services() as services:
        people = {"lan": await services.users.add(name="Lan", role="sales"),
                  "quang": await services.users.add(name="Quang", role="manager"),
                  "an": await services.users.add(name="An", role="admin")}
        lan = people["lan"]
        services.session.add_all([
            *_answers(lan, "quote_no_followup", shown=4, done=2, snoozed=1),
            *_answers(lan, "task_overdue", shown=6, snoozed=5),
            *_answers(lan, "deal_stalled", shown=3, days_ago=31),  # before the 30 days
            *_answers(lan, "deal_stalled", shown=2, days_ago=-1),  # after the summary's moment
        ])
    return people


async def _summary(open_services: OpenServices, viewer: UserOut, now: datetime = TEST_NOW) -> Any:
    async with open_services(now=now) as services:
        return await flow(services).figures(viewer)


async def test_the_managers_summary_json_counts_each_rules_answers_over_30_days(open_services: OpenServices) -> None:
    people = await _team(open_services)

    figures = (await _summary(open_services, people["quang"])).as_json()

    assert set(figures) >= INTERFACE_KEYS
    rules = {r["rule"]: r for r in figures["nba"]["rules"]}
    assert figures["nba"]["days"] == 30
    assert {k: rules["quote_no_followup"][k] for k in ("shown", "done", "snoozed", "ignored")} == {
        "shown": 4, "done": 2, "snoozed": 1, "ignored": 1}
    assert {k: rules["task_overdue"][k] for k in ("shown", "done", "snoozed", "ignored")} == {
        "shown": 6, "done": 0, "snoozed": 5, "ignored": 1}
    assert rules["deal_stalled"]["shown"] == 0
    assert figures["nba"]["mostly_snoozed"] == ["task_overdue"]


async def test_a_salespersons_own_summary_has_no_acceptance_figures(open_services: OpenServices) -> None:
    people = await _team(open_services)

    figures = (await _summary(open_services, people["lan"])).as_json()

    assert figures["nba"] is None


async def test_the_message_has_a_small_block_and_only_admins_hear_of_the_mostly_snoozed_rule(
        open_services: OpenServices) -> None:
    people = await _team(open_services)
    t = Texts("vi")
    block = t("summary.nba", days=30, shown=10, done=2, snoozed=6, ignored=2)
    overdue = t("summary.nba_line", rule=t("nba.rule.task_overdue"), done=0, snoozed=5, ignored=1)
    flag = t("nba.stats_flag", rules=t("nba.rule.task_overdue"))

    for who, hears_flag in (("quang", False), ("an", True)):
        text = render_summary(await _summary(open_services, people[who]), t, "vi", people[who])
        assert block in text
        assert overdue in text
        assert (flag in text) is hears_flag


async def test_no_block_when_no_suggestion_was_shown(open_services: OpenServices) -> None:
    async with open_services() as services:
        quang = await services.users.add(name="Quang", role="manager")
    t = Texts("en")

    text = render_summary(await _summary(open_services, quang), t, "en", quang)

    assert t("summary.nba", days=30, shown=0, done=0, snoozed=0, ignored=0) not in text
