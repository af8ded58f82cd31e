"""Every command and every button goes through the policy.

The router's table is walked: each route declares an `Audience`, and only an explicit allow-list is
open to customers. Then the real engine is driven with forged input: a customer is turned away from
every staff command and button, and a salesperson from managers' buttons and colleagues' records.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from bot.core.callbacks import pack
from bot.core.messages import Reply
from bot.handlers import ROUTER
from bot.texts import Texts
from crm_core.clock import FrozenClock
from crm_core.models import Deal, Task
from crm_core.policy import Audience, admits_customers, allows
from crm_core.schemas import UserOut
from tests.bot.conftest import ChatDriver
from tests.conftest import OpenServices

# What a customer (anyone not registered as staff) may reach. A new entry here is a decision, not a fix.
CUSTOMER_COMMANDS = {"start", "help", "lang", "cancel", "privacy", "id"}  # /id: the asker's own id, nothing else
CUSTOMER_BUTTONS = {"lang", "faq", "csat", "privreq"}
CUSTOMER_TEXT = {Audience.CUSTOMERS}

# A salesperson as the router sees one (the engine's fixture registers Lan, a salesperson).
SALESPERSON = UserOut(id=0, name="Lan", role="sales", telegram_id=1001, language="vi", active=True)
VI = Texts("vi")  # the drivers' chats speak Vietnamese

STAFF_COMMANDS = sorted(name for name, route in ROUTER.commands.items() if not admits_customers(route.audience))
STAFF_BUTTONS = sorted(ns for ns, route in ROUTER.callbacks.items() if not admits_customers(route.audience))
NOT_FOR_SALESPEOPLE_COMMANDS = sorted(name for name, route in ROUTER.commands.items()
                                      if not allows(route.audience, SALESPERSON))
NOT_FOR_SALESPEOPLE_BUTTONS = sorted(ns for ns, route in ROUTER.callbacks.items()
                                     if not allows(route.audience, SALESPERSON))


def _texts(replies: list[Reply]) -> list[str]:
    return [reply.text for reply in replies]


# --- the table -------------------------------------------------------------------------------------------


def test_the_walk_is_not_vacuous() -> None:
    assert STAFF_COMMANDS
    assert STAFF_BUTTONS
    assert NOT_FOR_SALESPEOPLE_BUTTONS
    assert ROUTER.text_by_audience


@pytest.mark.parametrize("name", sorted(ROUTER.commands))
def test_every_command_declares_an_audience(name: str) -> None:
    assert isinstance(ROUTER.commands[name].audience, Audience)


@pytest.mark.parametrize("namespace", sorted(ROUTER.callbacks))
def test_every_button_namespace_declares_an_audience(namespace: str) -> None:
    assert isinstance(ROUTER.callbacks[namespace].audience, Audience)


@pytest.mark.parametrize("state", sorted(ROUTER.states))
def test_every_dialog_state_declares_a_staff_audience(state: str) -> None:
    assert ROUTER.states[state].audience in (Audience.STAFF, Audience.MANAGERS, Audience.ADMINS)


def test_every_free_text_handler_is_keyed_by_an_audience() -> None:
    assert all(isinstance(audience, Audience) for audience in ROUTER.text_by_audience)


def test_only_the_allow_listed_commands_are_open_to_customers() -> None:
    open_to_customers = {name for name, route in ROUTER.commands.items() if admits_customers(route.audience)}
    assert open_to_customers == CUSTOMER_COMMANDS


def test_only_the_allow_listed_buttons_are_open_to_customers() -> None:
    open_to_customers = {ns for ns, route in ROUTER.callbacks.items() if admits_customers(route.audience)}
    assert open_to_customers == CUSTOMER_BUTTONS


def test_only_the_customers_free_text_handler_is_open_to_customers() -> None:
    open_to_customers = {audience for audience in ROUTER.text_by_audience if admits_customers(audience)}
    assert open_to_customers == CUSTOMER_TEXT


def test_staff_commands_are_not_in_the_customers_menu() -> None:
    assert set(ROUTER.menu(None)) <= CUSTOMER_COMMANDS


# --- a customer at the engine ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", STAFF_COMMANDS)
async def test_a_customer_is_told_a_staff_command_is_for_staff(stranger: ChatDriver, name: str) -> None:
    replies = await stranger.say(f"/{name} Hòa Phát")
    assert _texts(replies) == [VI("common.staff_only")]


@pytest.mark.parametrize("namespace", STAFF_BUTTONS)
async def test_a_customer_cannot_press_a_forged_staff_button(stranger: ChatDriver, namespace: str) -> None:
    replies = await stranger.tap(pack(namespace, "x", 1))
    assert _texts(replies) == [VI("common.not_allowed")]


# --- a salesperson at the engine -------------------------------------------------------------------------


@pytest.mark.parametrize("name", NOT_FOR_SALESPEOPLE_COMMANDS)
async def test_a_salesperson_is_not_allowed_a_command_of_another_audience(lan: ChatDriver, name: str) -> None:
    replies = await lan.say(f"/{name}")
    assert _texts(replies) == [VI("common.not_allowed")]


@pytest.mark.parametrize("namespace", NOT_FOR_SALESPEOPLE_BUTTONS)
async def test_a_salesperson_cannot_press_a_forged_button_of_another_audience(lan: ChatDriver,
                                                                              namespace: str) -> None:
    replies = await lan.tap(pack(namespace, "x", 1))
    assert _texts(replies) == [VI("common.not_allowed")]


async def _user(open_services: OpenServices, name: str) -> UserOut:
    async with open_services() as services:
        user = await services.users.by_name(name)
    assert user is not None
    return user


async def _deal_of(open_services: OpenServices, owner: str) -> int:
    owner_id = (await _user(open_services, owner)).id
    async with open_services() as services:
        company = await services.directory.create_company(f"Khách của {owner}", owner_id=owner_id)
        deal = await services.deals.create(title=f"{company.name} — 20 bộ bàn họp", owner_id=owner_id,
                                           company_id=company.id, contact_id=None, stage_key="quote",
                                           amount=Decimal(200_000_000), currency="VND", quantity=20)
        return deal.id


async def _task_of(open_services: OpenServices, owner: str, clock: FrozenClock) -> int:
    owner_id = (await _user(open_services, owner)).id
    async with open_services() as services:
        task = await services.tasks.create(owner_id=owner_id, title="Gọi lại chị Hà",
                                           due_at=clock.now() + timedelta(hours=1))
        await services.session.flush()
        return task.id


@pytest.mark.parametrize("action", ["assign", "to"])
async def test_a_salesperson_cannot_reassign_own_deal_by_forged_button(lan: ChatDriver, open_services: OpenServices,
                                                                      action: str) -> None:
    deal_id = await _deal_of(open_services, "Lan")
    tuan = await _user(open_services, "Tuấn")

    replies = await lan.tap(pack("deal", action, deal_id, tuan.id))

    assert _texts(replies) == [VI("common.not_allowed")]
    async with open_services() as services:
        deal = await services.session.get(Deal, deal_id)
    assert deal is not None
    assert deal.owner_id != tuan.id


async def test_a_salesperson_is_not_offered_the_reassign_button(lan: ChatDriver, open_services: OpenServices) -> None:
    deal_id = await _deal_of(open_services, "Lan")
    await lan.tap(pack("deal", "open", deal_id))
    assert VI("btn.reassign") not in [b.label for b in lan.buttons]


async def test_a_manager_is_offered_the_reassign_button(quang: ChatDriver, open_services: OpenServices) -> None:
    deal_id = await _deal_of(open_services, "Lan")
    await quang.tap(pack("deal", "open", deal_id))
    assert VI("btn.reassign") in [b.label for b in quang.buttons]


@pytest.mark.parametrize("button", [("stages",), ("move", "won")], ids=["stages", "move"])
async def test_a_salesperson_cannot_change_a_colleagues_deal_by_forged_button(
        lan: ChatDriver, open_services: OpenServices, button: tuple[str, ...]) -> None:
    deal_id = await _deal_of(open_services, "Tuấn")
    action, *rest = button

    replies = await lan.tap(pack("deal", action, deal_id, *rest))

    assert _texts(replies) == [VI("common.forbidden")]
    async with open_services() as services:
        deal = await services.session.get(Deal, deal_id)
    assert deal is not None
    assert deal.status == "open"


async def test_a_salesperson_opening_a_colleagues_deal_by_forged_button_sees_its_number_and_owner_only(
        lan: ChatDriver, open_services: OpenServices) -> None:
    deal_id = await _deal_of(open_services, "Tuấn")

    replies = await lan.tap(pack("deal", "open", deal_id))

    assert _texts(replies) == [VI("deal.summary_card", id=deal_id, company="Khách của Tuấn", owner="Tuấn")]


async def test_a_salesperson_cannot_list_a_colleagues_deals_by_forged_page_button(
        lan: ChatDriver, open_services: OpenServices) -> None:
    own = await _deal_of(open_services, "Lan")
    colleagues = await _deal_of(open_services, "Tuấn")
    tuan = await _user(open_services, "Tuấn")

    await lan.tap(pack("deals", "page", 1, tuan.id))

    listed = {b.data for b in lan.buttons}
    assert pack("deal", "open", own) in listed
    assert pack("deal", "open", colleagues) not in listed


@pytest.mark.parametrize("button", [("open",), ("open", 1, 1), ("done",), ("snz",), ("until", "1d")],
                         ids=["open", "open-from-list", "done", "snooze", "until"])
async def test_a_salesperson_cannot_reach_a_colleagues_task_by_forged_button(
        lan: ChatDriver, open_services: OpenServices, clock: FrozenClock, button: tuple[str, ...]) -> None:
    task_id = await _task_of(open_services, "Tuấn", clock)
    action, *rest = button

    replies = await lan.tap(pack("task", action, task_id, *rest))

    assert _texts(replies) == [VI("common.forbidden")]
    async with open_services() as services:
        task = await services.session.get(Task, task_id)
    assert task is not None
    assert (task.done_at, task.due_at) == (None, clock.now() + timedelta(hours=1))


async def test_a_manager_reaches_a_salespersons_deal_and_task(quang: ChatDriver, open_services: OpenServices,
                                                              clock: FrozenClock) -> None:
    deal_id = await _deal_of(open_services, "Tuấn")
    task_id = await _task_of(open_services, "Tuấn", clock)

    await quang.tap(pack("deal", "open", deal_id))
    assert "Khách của Tuấn" in quang.text
    await quang.tap(pack("task", "done", task_id))
    assert quang.text == VI("task.done", title="Gọi lại chị Hà")
