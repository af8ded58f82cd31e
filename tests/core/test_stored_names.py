"""Names are stored by one rule, whichever path stores them (chat, import, command line): `clean_name`."""

from __future__ import annotations

from sqlalchemy import select

from crm_core.models import Deal
from tests.conftest import OpenServices


async def test_a_company_and_its_contact_are_stored_without_invisible_characters(open_services: OpenServices) -> None:
    async with open_services() as services:
        company = await services.directory.create_company("\u202eHòa\u200b Phát\x00 ", owner_id=None)
        contact = await services.directory.create_contact(" Mi\u200bnh\ufeff", company_id=company.id, owner_id=None)
        found = await services.directory.search("Minh")

    assert (company.name, company.name_folded) == ("Hòa Phát", "hoa phat")
    assert (contact.name, contact.name_folded) == ("Minh", "minh")
    assert [m.name for m in found] == ["Minh"]


async def test_a_customer_display_name_and_a_staff_name_follow_the_same_rule(open_services: OpenServices) -> None:
    async with open_services() as services:
        customer = await services.support.identify("telegram", "555", "Chị\u2066 Hoa\u2069\ud800")
        user = await services.users.add(name="La\u200dn\n", role="sales")

    assert customer.name == "Chị Hoa"
    assert user.name == "Lan"


async def test_a_deal_title_longer_than_its_column_is_cut_to_it(open_services: OpenServices) -> None:
    # A new deal is titled after its company (up to 200 characters) and a quantity: it could be longer.
    async with open_services() as services:
        company = await services.directory.create_company("Thép" * 50, owner_id=None)
        await services.deals.create(title=f"{company.name} — 12", owner_id=None, company_id=company.id,
                                    contact_id=None, stage_key="contacted", amount=None, currency=None, quantity=12)

    async with open_services() as services:
        deal = await services.session.scalar(select(Deal))
    assert deal is not None
    assert len(deal.title) == 200
