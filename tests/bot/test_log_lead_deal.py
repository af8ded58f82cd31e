"""A log about a customer who came through the bot changes her lead deal, and the card says so first.

New-user review: Lan logged "Gọi chị Bích Ngọc 0903.456.789, …, muốn 35 bộ AP-SET02 tầm 140tr, gửi báo giá t6"
about a customer whose lead deal ("Khách từ bot (liên hệ #N)", no company) the bot had made. The card showed
the amount, quantity and stage but no deal, and Save changed no deal: what the card showed went nowhere.
Now the person's open deal that no company holds is the deal such a log updates (shown old -> new), a person
with none gets a new deal titled by her name, and the amount's "tầm" is no part of the product.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from bot.texts import Texts
from crm_core.models import Deal, Interaction, Stage
from crm_core.understanding.products import product_phrase
from tests.bot.conftest import ChatDriver

VI = Texts("vi")
CUSTOMER = "Nguyễn Thị Bích Ngọc"
LOG = "Gọi chị Bích Ngọc 0903.456.789, cty mới ở Thủ Đức, muốn 35 bộ AP-SET02 tầm 140tr, gửi báo giá t6"


async def _lead(open_services, owner: str) -> tuple[int, int, str]:  # type: ignore[no-untyped-def]
    """The bot's lead: a person with a phone and no company, and her deal in the first stage; (contact, deal, title)."""
    async with open_services() as services:
        user = await services.users.by_name(owner)
        assert user is not None
        contact = await services.directory.create_contact(CUSTOMER, company_id=None, owner_id=user.id,
                                                          phone="0903456789")
        title = VI("support.lead_deal", contact=contact.id)
        deal = await services.deals.create(title=title, owner_id=user.id, company_id=None, contact_id=contact.id,
                                           stage_key="new", amount=None, currency="VND", quantity=None)
        await services.session.flush()
        return contact.id, deal.id, title


async def _deals(open_services) -> list[tuple[object, ...]]:  # type: ignore[no-untyped-def]
    async with open_services() as services:
        rows = await services.session.execute(select(Deal, Stage.key).join(Stage, Deal.stage_id == Stage.id)
                                              .order_by(Deal.id))
        return [(d.id, d.title, d.amount, d.quantity, key, d.contact_id, d.owner_id) for d, key in rows]


async def _interaction_deal(open_services) -> int | None:  # type: ignore[no-untyped-def]
    async with open_services() as services:
        assert await services.session.scalar(select(func.count()).select_from(Interaction)) == 1
        deal_id: int | None = await services.session.scalar(select(Interaction.deal_id))
        return deal_id


async def test_a_log_about_a_bot_customer_updates_her_lead_deal_as_the_card_shows(  # type: ignore[no-untyped-def]
        lan: ChatDriver, open_services) -> None:
    contact_id, deal_id, title = await _lead(open_services, "Lan")

    await lan.say(LOG)

    assert VI("log.deal_update", id=deal_id, title=title, owner="Lan") in lan.text
    assert VI("log.deal_change", field=VI("field.amount"), old="—", new="140.000.000 ₫") in lan.text
    assert VI("log.deal_change", field=VI("field.quantity"), old="—", new="35") in lan.text
    assert VI("log.deal_change", field=VI("field.stage"), old=VI("stage.new"), new=VI("stage.quote")) in lan.text
    assert f"{VI('field.quantity')}: 35 bộ AP-SET02\n" in lan.text
    await lan.press(VI("btn.save"))

    deals = await _deals(open_services)
    assert [d[:6] for d in deals] == [(deal_id, title, Decimal(140_000_000), 35, "quote", contact_id)]
    assert await _interaction_deal(open_services) == deal_id
    assert VI("log.saved_deal_updated", title=title) in lan.text


async def test_a_colleagues_bot_lead_is_only_noted_unless_a_new_deal_is_chosen(  # type: ignore[no-untyped-def]
        lan: ChatDriver, open_services) -> None:
    contact_id, deal_id, _title = await _lead(open_services, "Tuấn")
    before = await _deals(open_services)

    await lan.say(LOG)
    assert VI("log.deal_note", id=deal_id, owner="Tuấn") in lan.text
    await lan.press(VI("btn.deal_new"))
    new_title = f"{CUSTOMER} — 35 bộ AP-SET02"
    assert VI("log.deal_new", title=new_title, owner="Lan") in lan.text
    await lan.press(VI("btn.save"))

    deals = await _deals(open_services)
    assert deals[0] == before[0]  # Tuấn's lead as it was
    assert deals[1][1:6] == (new_title, Decimal(140_000_000), 35, "quote", contact_id)


async def test_a_person_without_company_or_deal_gets_a_new_deal_the_card_names(  # type: ignore[no-untyped-def]
        lan: ChatDriver, open_services) -> None:
    async with open_services() as services:
        lan_user = await services.users.by_name("Lan")
        assert lan_user is not None
        contact = await services.directory.create_contact(CUSTOMER, company_id=None, owner_id=lan_user.id,
                                                          phone="0903456789")
        contact_id = contact.id

    await lan.say(LOG)
    new_title = f"{CUSTOMER} — 35 bộ AP-SET02"
    assert VI("log.deal_new", title=new_title, owner="Lan") in lan.text
    await lan.press(VI("btn.save"))

    deals = await _deals(open_services)
    assert [d[1:6] for d in deals] == [(new_title, Decimal(140_000_000), 35, "quote", contact_id)]
    assert await _interaction_deal(open_services) == deals[0][0]


def test_an_amounts_about_word_is_no_part_of_the_product() -> None:
    assert product_phrase("muốn 35 bộ AP-SET02 tầm 140tr, gửi báo giá t6", 35) == "bộ AP-SET02"
    assert product_phrase("cần 20 ghế AP-C300 cỡ 90tr", 20) == "ghế AP-C300"
    assert product_phrase("30 AP-C300 chairs around $4000 total", 30) == "AP-C300 chairs"
    # elsewhere the same words count or describe the product
    assert product_phrase("cần 50 tấm kính 2tr", 50) == "tấm kính"
    assert product_phrase("cần 10 ghế cỡ lớn giá 2tr", 10) == "ghế cỡ lớn"
