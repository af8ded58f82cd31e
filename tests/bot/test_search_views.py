"""/find, /customer and /deal in chat: one ranking, phones in any format, every result a button; /customer #5 the
person numbered so, "5" too when no name or phone has it."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.texts import Texts
from tests.bot.conftest import ChatDriver
from tests.conftest import OpenServices

VI = Texts("vi")


async def _people(open_services: OpenServices) -> dict[str, int]:
    ids = {}
    async with open_services() as services:
        for company in ("Hòa Phát", "Thép Việt Nhật", "Trường Tiểu học Ánh Dương", "Anh ngữ Galaxy Kids",
                        "Kaizen Precision Vietnam"):
            ids[company] = (await services.directory.create_company(company, owner_id=None)).id
        for person, company, phone in (("Nguyễn Văn Minh", "Hòa Phát", "0912 345 678"),
                                       ("Trần Quang Minh", "Thép Việt Nhật", None),
                                       ("Hoàng Thanh Trinh", "Thép Việt Nhật", None)):
            contact = await services.directory.create_contact(person, company_id=ids[company], owner_id=None,
                                                              phone=phone)
            ids[person] = contact.id
    return ids


async def test_people_found_are_buttons_that_open_their_card_and_then_their_company(
        lan: ChatDriver, open_services: OpenServices) -> None:
    await _people(open_services)

    await lan.say("/find minh")

    assert [b.label for b in lan.buttons] == ["👤 Nguyễn Văn Minh — Hòa Phát", "👤 Trần Quang Minh — Thép Việt Nhật"]
    await lan.press("Nguyễn Văn Minh")
    assert VI("customer.person_header", name="Nguyễn Văn Minh", phone="0912 345 678", email="—") in lan.text
    assert VI("customer.person_company", company="Hòa Phát", title="") in lan.text
    await lan.press("Hòa Phát")
    assert VI("customer.header", name="Hòa Phát") in lan.text


async def test_customer_with_an_honorific_offers_the_people_named_so_and_no_school(
        lan: ChatDriver, open_services: OpenServices) -> None:
    await _people(open_services)

    await lan.say("/customer anh Minh")

    assert lan.text == VI("customer.pick", query="anh Minh")
    assert [b.label for b in lan.buttons] == ["👤 Nguyễn Văn Minh — Hòa Phát", "👤 Trần Quang Minh — Thép Việt Nhật"]


async def test_customer_by_phone_in_international_form_opens_the_company(
        lan: ChatDriver, open_services: OpenServices) -> None:
    await _people(open_services)

    await lan.say("/customer +84 912 345 678")

    assert VI("customer.header", name="Hòa Phát") in lan.text


async def test_find_by_the_last_digits_of_a_phone(lan: ChatDriver, open_services: OpenServices) -> None:
    await _people(open_services)

    await lan.say("/find 345678")

    assert [b.label for b in lan.buttons] == ["👤 Nguyễn Văn Minh — Hòa Phát"]


async def test_deal_by_one_word_of_the_company_name_offers_its_deals(
        lan: ChatDriver, open_services: OpenServices) -> None:
    ids = await _people(open_services)
    async with open_services() as services:
        owner = await services.users.by_name("Lan")
        assert owner is not None
        for title in ("95 AP-D160 desks", "30 AP-C300 chairs"):
            await services.deals.create(title=f"Kaizen Precision Vietnam — {title}", owner_id=owner.id,
                                        company_id=ids["Kaizen Precision Vietnam"], contact_id=None, stage_key="new",
                                        amount=Decimal(10_000), currency="USD", quantity=30)

    await lan.say("/deal Kaizen")

    assert lan.text == VI("deal.pick", query="Kaizen")
    assert len([b for b in lan.buttons if b.data.startswith("deal:v1:open:")]) == 2


# --- a person by her number ("liên hệ #5" in lists and notices) --------------------------------------------


async def test_customer_by_a_persons_number_opens_her_card_not_her_companys(
        lan: ChatDriver, open_services: OpenServices) -> None:
    ids = await _people(open_services)

    await lan.say(f"/customer #{ids['Trần Quang Minh']}")

    assert lan.text.splitlines()[0] == VI("customer.person_header", name="Trần Quang Minh", phone="—", email="—")
    assert VI("customer.person_company", company="Thép Việt Nhật", title="") in lan.text


async def test_customer_by_a_bare_number_no_name_has_opens_that_person(
        lan: ChatDriver, open_services: OpenServices) -> None:
    ids = await _people(open_services)

    await lan.say(f"/customer {ids['Hoàng Thanh Trinh']}")

    assert lan.text.splitlines()[0] == VI("customer.person_header", name="Hoàng Thanh Trinh", phone="—", email="—")


async def test_a_bare_number_in_a_name_is_that_name_and_with_a_hash_the_person(
        lan: ChatDriver, open_services: OpenServices) -> None:
    ids = await _people(open_services)
    number = ids["Hoàng Thanh Trinh"]
    async with open_services() as services:
        await services.directory.create_company(f"Phòng khám {number}", owner_id=None)

    await lan.say(f"/customer {number}")
    by_name = lan.text
    await lan.say(f"/customer #{number}")

    assert by_name.splitlines()[0] == VI("customer.header", name=f"Phòng khám {number}")
    assert lan.text.splitlines()[0] == VI("customer.person_header", name="Hoàng Thanh Trinh", phone="—", email="—")


@pytest.mark.parametrize("typed", ["#9999", "#0", "#2147483648", "#99999999999999999999", "# 9999", "9999",
                                   "2147483648"])
async def test_a_number_nobody_has_is_not_found_not_an_error(
        lan: ChatDriver, open_services: OpenServices, typed: str) -> None:
    await _people(open_services)

    await lan.say(f"/customer {typed}")

    number = typed.lstrip("# ")
    assert lan.text == (VI("customer.not_found_number", number=number) if typed.startswith("#")
                        else VI("customer.not_found", query=typed))
