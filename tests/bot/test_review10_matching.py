"""Matching you can see (review of issue 10, new user 6): the only company holding the name typed is shown as
known without a question; choosing an offered company or person ticks it and the question goes; one person
offered is asked about as that person, not as "several people named X"; a person named at a company is
someone at that company, never a namesake elsewhere."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from bot.texts import Texts
from crm_core.models import Company, Contact, Interaction, LogDraft
from crm_core.schemas import DraftFields
from crm_core.textnorm import fold
from tests.bot.conftest import ChatDriver
from tests.conftest import OpenServices

VI = Texts("vi")


async def _directory(open_services: OpenServices, companies: list[str], people: list[tuple[str, str]]) -> None:
    async with open_services() as services:
        lan = await services.users.by_name("Lan")
        assert lan is not None
        ids = {}
        for name in companies:
            ids[name] = (await services.directory.create_company(name, owner_id=lan.id)).id
        for person, company in people:
            await services.directory.create_contact(person, company_id=ids[company], owner_id=lan.id)
        await services.session.flush()


def _ask_company_line() -> str:
    return VI("log.ask_company")


async def test_a_short_name_of_the_only_candidate_is_known_without_a_question(lan: ChatDriver,
                                                                             open_services: OpenServices) -> None:
    await _directory(open_services, ["Kaizen Precision Vietnam", "Hòa Phát Nội thất"], [])
    await lan.say("Gọi anh Tâm bên Kaizen, cần 30 ghế, mai gửi báo giá")
    assert _ask_company_line() not in lan.text
    assert "Kaizen Precision Vietnam" in lan.text


async def test_choosing_a_company_ticks_it_and_removes_the_question(lan: ChatDriver,
                                                                   open_services: OpenServices) -> None:
    await _directory(open_services, ["Hòa Phát Nội thất", "Hòa Phát Steel"], [])
    await lan.say("Gọi anh Tâm bên Hòa Phát, cần 30 ghế, mai gửi báo giá")
    assert _ask_company_line() in lan.text

    await lan.press("🏢 Hòa Phát Steel")

    assert _ask_company_line() not in lan.text
    labels = [b.label for b in lan.buttons]
    assert "✓ 🏢 Hòa Phát Steel" in labels
    assert "🏢 Hòa Phát Nội thất" in labels


async def test_one_person_offered_is_asked_about_by_name_and_ticked_once_chosen(
        lan: ChatDriver, open_services: OpenServices) -> None:
    await _directory(open_services, ["Kaizen Precision Vietnam"], [("Daniel Yamamoto", "Kaizen Precision Vietnam")])
    await lan.say("Met Daniel at Kaizen Precision Vietnam today, wants 30 chairs, send quote tomorrow")
    assert VI("log.ask_contact_one", name="Daniel Yamamoto", company="Kaizen Precision Vietnam") in lan.text
    assert VI("log.ask_contact", name="Daniel") not in lan.text

    await lan.press("👤 Daniel Yamamoto")

    assert VI("log.ask_contact_one", name="Daniel Yamamoto", company="Kaizen Precision Vietnam") not in lan.text
    assert any(b.label.startswith("✓ 👤 Daniel Yamamoto") for b in lan.buttons)


async def test_the_writers_own_customer_is_offered_first_among_namesakes(lan: ChatDriver,
                                                                         open_services: OpenServices) -> None:
    async with open_services() as services:
        lan_user = await services.users.by_name("Lan")
        tuan = await services.users.by_name("Tuấn")
        assert lan_user is not None
        assert tuan is not None
        for i, person in enumerate(("Bùi Thị Hồng Xuân", "Phạm Thị Xuân", "Trần Xuân Mai", "Lê Thị Xuân",
                                    "Võ Thị Xuân")):
            firm = await services.directory.create_company(f"Công ty {i} Hoàng Gia", owner_id=tuan.id)
            await services.directory.create_contact(person, company_id=firm.id, owner_id=tuan.id)
        own = await services.directory.create_company("Nội thất Ban Mai", owner_id=lan_user.id)
        await services.directory.create_contact("Nguyễn Thị Xuân", company_id=own.id, owner_id=lan_user.id)
        await services.session.flush()

    await lan.say("gọi c Xuan, cần thêm 20 ghế, mai gửi mẫu")

    people = [b.label for b in lan.buttons if "👤" in b.label]
    assert people[0].startswith("👤 Nguyễn Thị Xuân")
    assert not any("Trần Xuân Mai" in label for label in people)  # a middle name is not the name typed


# --- the person named at a company is someone at that company (reviewer: "anh Tùng bên Vinamilk") ---------------


async def _preview(open_services: OpenServices) -> DraftFields:
    """The structured preview of Lan's latest log."""
    async with open_services() as services:
        draft = await services.session.scalar(select(LogDraft).order_by(LogDraft.id.desc()).limit(1))
        assert draft is not None
        return DraftFields.model_validate(draft.fields)


async def _ids(open_services: OpenServices, model: type[Company] | type[Contact], name: str) -> list[int]:
    async with open_services() as services:
        return list(await services.session.scalars(select(model.id).where(model.name == name).order_by(model.id)))


@pytest.mark.parametrize("text", ["Gọi anh Tùng bên Vinamilk, muốn báo giá 20 ghế",
                                  "goi a Tung ben Vinamilk, muon bao gia 20 ghe",
                                  "Called Tung from Vinamilk, wants a quote for 20 chairs"])
async def test_a_namesake_at_another_company_is_not_the_person_named_at_a_new_company(
        lan: ChatDriver, open_services: OpenServices, text: str) -> None:
    await _directory(open_services, ["Kho vận Sóng Thần"], [("Lê Văn Tùng", "Kho vận Sóng Thần")])

    await lan.say(text)

    fields = await _preview(open_services)
    assert fields.company == "Vinamilk"
    assert fields.company_choice is None  # a new company
    assert fold(fields.contact or "") == "tung"
    assert fields.contact_choice is None  # a new person there, not Lê Văn Tùng of Kho vận Sóng Thần
    assert fields.contact_options == []


async def test_the_same_log_again_finds_the_person_the_first_one_created(lan: ChatDriver,
                                                                         open_services: OpenServices) -> None:
    await _directory(open_services, ["Kho vận Sóng Thần"], [("Lê Văn Tùng", "Kho vận Sóng Thần")])
    text = "Gọi anh Tùng bên Vinamilk, muốn báo giá 20 ghế"
    await lan.say(text)
    await lan.press(VI("btn.save"))
    [vinamilk] = await _ids(open_services, Company, "Vinamilk")
    [tung] = await _ids(open_services, Contact, "Tùng")
    async with open_services() as services:
        saved = await services.session.scalar(select(Interaction).order_by(Interaction.id.desc()).limit(1))
        created = await services.session.get(Contact, tung)
    assert saved is not None
    assert created is not None
    assert (saved.contact_id, saved.company_id, created.company_id) == (tung, vinamilk, vinamilk)

    await lan.say(text)

    fields = await _preview(open_services)
    assert fields.company_choice is not None
    assert fields.company_choice.id == vinamilk
    assert fields.contact_choice is not None
    assert (fields.contact_choice.id, fields.contact_choice.company_id) == (tung, vinamilk)


async def test_a_person_named_at_a_known_company_is_matched_within_it(lan: ChatDriver,
                                                                      open_services: OpenServices) -> None:
    await _directory(open_services, ["Kho vận Sóng Thần", "Vinamilk"],
                     [("Lê Văn Tùng", "Kho vận Sóng Thần"), ("Nguyễn Thanh Tùng", "Vinamilk")])
    [theirs] = await _ids(open_services, Contact, "Nguyễn Thanh Tùng")

    await lan.say("Gọi anh Tùng bên Vinamilk, muốn báo giá 20 ghế")

    fields = await _preview(open_services)
    assert fields.contact_choice is not None
    assert fields.contact_choice.id == theirs
    assert fields.contact_options == []


async def test_a_bare_given_name_still_finds_the_only_person_so_named_and_their_company(
        lan: ChatDriver, open_services: OpenServices) -> None:
    await _directory(open_services, ["Kho vận Sóng Thần"], [("Lê Văn Tùng", "Kho vận Sóng Thần")])
    [tung] = await _ids(open_services, Contact, "Lê Văn Tùng")
    [song_than] = await _ids(open_services, Company, "Kho vận Sóng Thần")

    await lan.say("Gọi anh Tùng, muốn báo giá 20 ghế")

    fields = await _preview(open_services)
    assert fields.contact_choice is not None
    assert fields.contact_choice.id == tung
    assert fields.company_choice is not None
    assert fields.company_choice.id == song_than


@pytest.mark.parametrize("other", ["Nguyễn Thanh Tùng", "Tùng"])  # "Tùng": made by a log that named only that
async def test_a_bare_given_name_of_namesakes_at_two_companies_offers_both(lan: ChatDriver,
                                                                           open_services: OpenServices,
                                                                           other: str) -> None:
    await _directory(open_services, ["Kho vận Sóng Thần", "Vinamilk"],
                     [("Lê Văn Tùng", "Kho vận Sóng Thần"), (other, "Vinamilk")])

    await lan.say("Gọi anh Tùng, muốn báo giá 20 ghế")

    fields = await _preview(open_services)
    assert sorted(o.name for o in fields.contact_options) == sorted(["Lê Văn Tùng", other])


async def test_a_person_at_one_of_the_companies_asked_about_is_matched_once_that_company_is_chosen(
        lan: ChatDriver, open_services: OpenServices) -> None:
    await _directory(open_services, ["Hòa Phát Nội thất", "Hòa Phát Steel"], [("Trần Quang Minh", "Hòa Phát Steel")])
    [minh] = await _ids(open_services, Contact, "Trần Quang Minh")
    await lan.say("Gọi anh Minh bên Hòa Phát, cần 30 ghế, mai gửi báo giá")
    fields = await _preview(open_services)
    assert fields.company_options
    assert fields.company_choice is None  # saved now, it would be a new company "Hòa Phát" ...
    assert fields.contact_choice is None  # ... where Minh would be new too

    await lan.press("🏢 Hòa Phát Steel")

    fields = await _preview(open_services)
    assert fields.contact_choice is not None
    assert fields.contact_choice.id == minh

    await lan.press(VI("btn.new_company", name="Hòa Phát"))

    assert (await _preview(open_services)).contact_choice is None


# --- a phone or e-mail the log gives is the person who has it (issue 11 attacker review: a second record of her) ----


async def _person(open_services: OpenServices, name: str, *, company: str | None = None, phone: str | None = None,
                  email: str | None = None) -> int:
    async with open_services() as services:
        lan = await services.users.by_name("Lan")
        assert lan is not None
        company_id = (await services.directory.create_company(company, owner_id=lan.id)).id if company else None
        contact = await services.directory.create_contact(name, company_id=company_id, owner_id=lan.id, phone=phone,
                                                          email=email)
        await services.session.flush()
        return contact.id


async def _latest_interaction(open_services: OpenServices) -> Interaction:
    async with open_services() as services:
        saved = await services.session.scalar(select(Interaction).order_by(Interaction.id.desc()).limit(1))
        assert saved is not None
        return saved


@pytest.mark.parametrize("written", ["0912.345.678", "0912 345 678", "+84 912 345 678", "84912345678"])
async def test_a_phone_a_known_person_has_is_that_person_shown_by_the_name_stored(
        lan: ChatDriver, open_services: OpenServices, written: str) -> None:
    ngoc = await _person(open_services, "Bích Ngọc", phone="+84912345678")  # she gave the bot her number

    await lan.say(f"Gọi chị Nguyễn Thị Bích Ngọc {written}, muốn 40 ghế, gửi báo giá thứ 6")

    fields = await _preview(open_services)
    assert fields.contact_choice is not None
    assert fields.contact_choice.id == ngoc
    assert fields.contact_options == []
    assert VI("log.contact_existing", name="Bích Ngọc") in lan.text
    assert VI("log.contact_new", name="Nguyễn Thị Bích Ngọc") not in lan.text
    await lan.press(VI("btn.save"))
    assert (await _latest_interaction(open_services)).contact_id == ngoc
    async with open_services() as services:
        assert list(await services.session.scalars(select(Contact.id))) == [ngoc]  # no second record of her


async def test_a_phone_alone_finds_the_one_person_who_has_it(lan: ChatDriver, open_services: OpenServices) -> None:
    ngoc = await _person(open_services, "Bích Ngọc", phone="0912345678")

    await lan.say("Gọi 0912.345.678, muốn 40 ghế AP-C300, gửi báo giá thứ 6")

    fields = await _preview(open_services)
    assert fields.contact_choice is not None
    assert fields.contact_choice.id == ngoc
    assert VI("log.contact_existing", name="Bích Ngọc") in lan.text


async def test_an_email_a_known_person_has_is_that_person_with_their_company(lan: ChatDriver,
                                                                            open_services: OpenServices) -> None:
    minh = await _person(open_services, "Trần Quang Minh", company="Hòa Phát Steel", email="minh.tran@hoaphat.vn")

    await lan.say("Gửi email anh Quang Minh MINH.TRAN@hoaphat.vn báo giá 30 ghế, mai gọi lại")

    fields = await _preview(open_services)
    assert fields.contact_choice is not None
    assert fields.contact_choice.id == minh
    assert fields.company_choice is not None
    assert fields.company_choice.name == "Hòa Phát Steel"


async def test_a_phone_of_someone_under_another_name_is_asked_about_with_them_chosen(
        lan: ChatDriver, open_services: OpenServices) -> None:
    hung = await _person(open_services, "Trần Văn Hùng", phone="0987000111")

    await lan.say("Gọi chị Mai 0987.000.111, muốn 10 bàn, gửi báo giá thứ 6")

    fields = await _preview(open_services)
    assert fields.contact_choice is not None
    assert fields.contact_choice.id == hung
    assert [o.id for o in fields.contact_options] == [hung]
    assert VI("log.ask_contact_one", name="Trần Văn Hùng", company="—") in lan.text  # the card says whom it means
    assert VI("log.ask_contact", name="Mai") not in lan.text  # they are not namesakes

    await lan.press(VI("btn.new_contact", name="Mai"))

    assert (await _preview(open_services)).contact_choice is None


async def test_people_sharing_a_phone_are_offered_the_one_named_first_and_asked_about_as_holders_of_it(
        lan: ChatDriver, open_services: OpenServices) -> None:
    await _person(open_services, "Chị Hoa", phone="0912345678")
    ngoc = await _person(open_services, "Bích Ngọc", phone="+84912345678")
    other = await _person(open_services, "Nguyễn Thị Bích Ngọc", company="Nhà Xinh", phone="0912 345 678")

    await lan.say("Gọi chị Bích Ngọc 0912345678, muốn 40 ghế, gửi báo giá thứ 6")

    fields = await _preview(open_services)
    assert [o.id for o in fields.contact_options][:2] == [ngoc, other]  # whose names agree first, in order made
    assert fields.contact_choice is not None
    assert fields.contact_choice.id == ngoc
    assert VI("log.ask_contact_reached") in lan.text


async def test_a_companys_switchboard_does_not_make_its_people_one_person(lan: ChatDriver,
                                                                         open_services: OpenServices) -> None:
    await _directory(open_services, ["Cà phê Sài Gòn Xưa"],
                     [("Lê Văn Minh", "Cà phê Sài Gòn Xưa"), ("Phạm Thị Hà", "Cà phê Sài Gòn Xưa")])
    async with open_services() as services:  # the café's one number, given for each of its people too
        await services.session.execute(update(Company).values(phone="028 3822 1234"))
        await services.session.execute(update(Contact).values(phone="02838221234"))

    await lan.say("Gọi anh Quốc Bảo bên Cà phê Sài Gòn Xưa, sđt 028 3822 1234, muốn 20 ghế")

    fields = await _preview(open_services)
    assert fields.company_choice is not None
    assert (fields.contact_choice, fields.contact_options) == (None, [])  # someone new there
