"""/find, /customer and /deal in chat: one ranking, phones in any format, every result a button."""

from __future__ import annotations

from decimal import Decimal

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
