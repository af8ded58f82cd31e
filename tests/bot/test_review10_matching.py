"""Matching you can see (review of issue 10, new user 6): the only company holding the name typed is shown as
known without a question; choosing an offered company or person ticks it and the question goes; one person
offered is asked about as that person, not as "several people named X"."""

from __future__ import annotations

from bot.texts import Texts
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
