"""The role policy: each question answered for a salesperson, a manager, an admin and a customer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from crm_core import policy
from crm_core.policy import Audience, DealView, DealVisibility


@dataclass(frozen=True)
class Staff:
    """A staff member as the policy sees one."""

    id: int
    role: str
    active: bool = True


ME = 1
COLLEAGUE = 2
SALES = Staff(ME, "sales")
MANAGER = Staff(ME, "manager")
ADMIN = Staff(ME, "admin")
EVERY_STAFF_ROLE = pytest.mark.parametrize("user", [SALES, MANAGER, ADMIN], ids=["sales", "manager", "admin"])


# --- audiences of routes -----------------------------------------------------------------------------------

AUDIENCE_MEMBERS = {
    #                                  sales  manager admin  customer
    Audience.EVERYONE:                (True,  True,   True,  True),
    Audience.STAFF:                   (True,  True,   True,  False),
    Audience.MANAGERS:                (False, True,   True,  False),
    Audience.ADMINS:                  (False, False,  True,  False),
    Audience.CUSTOMERS:               (False, False,  False, True),
    Audience.CUSTOMERS_OR_ADMINS:     (False, False,  True,  True),
}


@pytest.mark.parametrize("audience", list(Audience))
def test_every_audience_has_a_row_in_the_table(audience: Audience) -> None:
    assert audience in AUDIENCE_MEMBERS


@pytest.mark.parametrize(("audience", "members"), AUDIENCE_MEMBERS.items(), ids=[a.value for a in AUDIENCE_MEMBERS])
def test_an_audience_admits_exactly_its_roles(audience: Audience, members: tuple[bool, ...]) -> None:
    callers = (SALES, MANAGER, ADMIN, None)
    assert tuple(policy.allows(audience, caller) for caller in callers) == members


@pytest.mark.parametrize(("audience", "members"), AUDIENCE_MEMBERS.items(), ids=[a.value for a in AUDIENCE_MEMBERS])
def test_an_audience_admits_customers_when_a_customer_is_allowed(audience: Audience,
                                                                members: tuple[bool, ...]) -> None:
    assert policy.admits_customers(audience) is members[-1]


def test_anyone_unregistered_is_a_customer() -> None:
    assert policy.role_of(None) == policy.CUSTOMER
    assert not policy.is_staff(None)


@EVERY_STAFF_ROLE
def test_every_staff_role_is_staff_and_known(user: Staff) -> None:
    assert policy.role_of(user) == user.role
    assert policy.is_staff(user)
    assert policy.is_known_role(user.role)


@pytest.mark.parametrize("role", ["customer", "boss", "", "Sales"])
def test_other_role_names_are_unknown(role: str) -> None:
    assert not policy.is_known_role(role)


# --- questions services ask --------------------------------------------------------------------------------

def _answers(question: Callable[[Staff], object]) -> tuple[object, ...]:
    """Answer `question` for a salesperson, a manager and an admin, in that order."""
    return tuple(question(user) for user in (SALES, MANAGER, ADMIN))


def test_managers_and_admins_see_the_team() -> None:
    assert _answers(policy.sees_team) == (False, True, True)


DEAL_VIEWS = {
    #                          own deal         colleague's deal   nobody's deal
    (DealVisibility.OWN, SALES): (DealView.FULL, DealView.HIDDEN, DealView.HIDDEN),
    (DealVisibility.TEAM, SALES): (DealView.FULL, DealView.SUMMARY, DealView.SUMMARY),
    (DealVisibility.ALL, SALES): (DealView.FULL, DealView.FULL, DealView.FULL),
    **{(visibility, boss): (DealView.FULL, DealView.FULL, DealView.FULL)
       for visibility in DealVisibility for boss in (MANAGER, ADMIN)},
}


@pytest.mark.parametrize(("visibility", "user"), DEAL_VIEWS, ids=[f"{v.value}-{u.role}" for v, u in DEAL_VIEWS])
def test_a_deal_is_seen_in_full_as_a_summary_or_not_at_all(visibility: DealVisibility, user: Staff) -> None:
    seen = tuple(policy.deal_view(user, owner, visibility=visibility) for owner in (ME, COLLEAGUE, None))
    assert seen == DEAL_VIEWS[(visibility, user)]


def test_the_notes_of_a_deal_follow_the_deal() -> None:
    def sees(record_owner: int, deal_id: int | None, visibility: DealVisibility) -> bool:
        return policy.sees_deal_record(SALES, record_owner_id=record_owner, deal_id=deal_id,
                                       deal_owner_id=COLLEAGUE, visibility=visibility)

    assert [sees(COLLEAGUE, 7, v) for v in DealVisibility] == [False, False, True]  # own, team, all
    assert all(sees(ME, 7, v) for v in DealVisibility)  # what they wrote themselves
    assert all(sees(COLLEAGUE, None, v) for v in DealVisibility)  # about the company, no deal


def test_a_salesperson_changes_only_own_deals_whatever_the_visibility() -> None:
    assert _answers(lambda u: policy.can_change_deal(u, ME)) == (True, True, True)
    assert _answers(lambda u: policy.can_change_deal(u, COLLEAGUE)) == (False, True, True)
    assert _answers(lambda u: policy.can_change_deal(u, None)) == (False, True, True)


def test_only_managers_and_admins_reassign_deals() -> None:
    assert _answers(policy.can_reassign_deal) == (False, True, True)


def test_a_salesperson_reads_only_own_tasks() -> None:
    assert _answers(lambda u: policy.can_read_task(u, ME)) == (True, True, True)
    assert _answers(lambda u: policy.can_read_task(u, COLLEAGUE)) == (False, True, True)
    assert _answers(lambda u: policy.can_read_task(u, None)) == (False, True, True)


@pytest.mark.parametrize("visibility", list(DealVisibility))
def test_a_task_on_a_card_is_read_in_full_only_as_task_allows_else_as_whose_it_is(visibility: DealVisibility) -> None:
    whose = DealView.HIDDEN if visibility is DealVisibility.OWN else DealView.SUMMARY
    assert [policy.task_view(SALES, owner, visibility=visibility) for owner in (ME, COLLEAGUE, None)] == [
        DealView.FULL, whose, whose]
    assert all(policy.task_view(boss, COLLEAGUE, visibility=visibility) is DealView.FULL for boss in (MANAGER, ADMIN))


def test_a_salesperson_lists_only_own_records_whoever_they_ask_for() -> None:
    assert _answers(lambda u: policy.owner_filter(u, COLLEAGUE)) == (ME, COLLEAGUE, COLLEAGUE)
    assert _answers(lambda u: policy.owner_filter(u, None)) == (ME, None, None)


def test_only_managers_and_admins_view_a_colleague() -> None:
    assert _answers(policy.can_view_colleague) == (False, True, True)


def test_a_salesperson_answers_own_and_unassigned_tickets() -> None:
    assert _answers(lambda u: policy.can_answer_ticket(u, ME)) == (True, True, True)
    assert _answers(lambda u: policy.can_answer_ticket(u, None)) == (True, True, True)
    assert _answers(lambda u: policy.can_answer_ticket(u, COLLEAGUE)) == (False, True, True)


def test_only_admins_decide_erasure_requests() -> None:
    assert _answers(policy.can_decide_erasure) == (False, False, True)


def test_only_active_salespeople_take_leads() -> None:
    assert _answers(policy.takes_leads) == (True, False, False)
    assert not policy.takes_leads(Staff(ME, "sales", active=False))


def test_active_managers_and_admins_hear_escalations() -> None:
    assert _answers(policy.hears_escalations) == (False, True, True)
    assert not policy.hears_escalations(Staff(ME, "manager", active=False))


def test_active_admins_hear_erasure_requests() -> None:
    assert _answers(policy.hears_erasure_requests) == (False, False, True)
    assert not policy.hears_erasure_requests(Staff(ME, "admin", active=False))
