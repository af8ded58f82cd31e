"""Looking people, companies and deals up: whole words and word beginnings first, typos after, phones in any format."""

from __future__ import annotations

from decimal import Decimal

import pytest

from crm_core.services.search import national_digits, parse_query
from tests.conftest import OpenServices
from tests.core.conftest import Team

COMPANIES = ("Hòa Phát", "Hòa Phát Nội thất", "Minh Long", "Kaizen Precision Vietnam", "Bao bì Phương Nam",
             "Nhựa Tân Phú Thịnh", "Trường Tiểu học Ánh Dương", "Anh ngữ Galaxy Kids", "Trường THCS Minh Khai")
PEOPLE = (("Nguyễn Văn Minh", "Hòa Phát"), ("Hoàng Thanh Trinh", "Bao bì Phương Nam"),
          ("Phạm Gia Bình", "Minh Long"), ("Đỗ Xuân Thịnh", "Hòa Phát Nội thất"), ("Lê Hoàng Nam", "Hòa Phát Nội thất"),
          ("Trần Quang Minh", "Kaizen Precision Vietnam"))


async def _directory(open_services: OpenServices, phones: dict[str, str] | None = None) -> dict[str, int]:
    """Create the companies and people above; return their ids by name."""
    ids: dict[str, int] = {}
    async with open_services() as services:
        for name in COMPANIES:
            ids[name] = (await services.directory.create_company(name, owner_id=None)).id
        for person, company in PEOPLE:
            contact = await services.directory.create_contact(person, company_id=ids[company], owner_id=None,
                                                              phone=(phones or {}).get(person))
            ids[person] = contact.id
    return ids


async def _search(open_services: OpenServices, query: str) -> list[str]:
    async with open_services() as services:
        return [m.name for m in await services.directory.search(query)]


async def test_a_word_matches_whole_words_not_the_inside_of_longer_ones(open_services: OpenServices) -> None:
    await _directory(open_services)

    found = await _search(open_services, "minh")

    assert set(found) == {"Nguyễn Văn Minh", "Trần Quang Minh", "Minh Long", "Trường THCS Minh Khai"}


async def test_nam_finds_phuong_nam_not_vietnam(open_services: OpenServices) -> None:
    await _directory(open_services)

    found = await _search(open_services, "Nam")

    assert "Kaizen Precision Vietnam" not in found
    assert {"Bao bì Phương Nam", "Lê Hoàng Nam"} <= set(found)


async def test_a_name_typed_whole_lists_that_name_not_every_name_it_begins(open_services: OpenServices) -> None:
    await _directory(open_services)
    async with open_services() as services:
        await services.directory.create_contact("Chị Hoa", company_id=None, owner_id=None)
        await services.directory.create_contact("Bùi Thị Kim Hoa", company_id=None, owner_id=None)

    found = await _search(open_services, "Chị Hoa")

    assert found == ["Chị Hoa", "Bùi Thị Kim Hoa"]  # not Hoàng Thanh Trinh, Lê Hoàng Nam


async def test_a_name_typed_in_part_still_finds_the_names_it_begins(open_services: OpenServices) -> None:
    await _directory(open_services)

    found = await _search(open_services, "hoan")

    assert {"Hoàng Thanh Trinh", "Lê Hoàng Nam"} <= set(found)


async def test_the_whole_name_comes_before_names_that_contain_it(open_services: OpenServices) -> None:
    await _directory(open_services)

    found = await _search(open_services, "hoa phat")

    assert found[:2] == ["Hòa Phát", "Hòa Phát Nội thất"]


async def test_word_beginnings_match_without_accents(open_services: OpenServices) -> None:
    await _directory(open_services)

    assert await _search(open_services, "nguy van mi") == ["Nguyễn Văn Minh"]
    assert await _search(open_services, "uyen") == []
    assert await _search(open_services, "inh") == []


async def test_an_honorific_is_not_required_and_looks_for_people_only(open_services: OpenServices) -> None:
    await _directory(open_services)

    found = await _search(open_services, "anh Minh")

    assert set(found) == {"Nguyễn Văn Minh", "Trần Quang Minh"}
    for honorific in ("chị", "a", "c", "Mr.", "ms"):
        assert set(await _search(open_services, f"{honorific} Minh")) == {"Nguyễn Văn Minh", "Trần Quang Minh"}


async def test_a_typo_is_forgiven_only_when_no_word_matches(open_services: OpenServices) -> None:
    await _directory(open_services)

    assert (await _search(open_services, "hoa phast"))[0] == "Hòa Phát"
    assert await _search(open_services, "Linh") == []  # one letter from Minh: another name, not a typo


@pytest.mark.parametrize("typed", ["0912 345 678", "+84912345678", "84-912-345-678", "0912.345.678", "345678",
                                   "(+84) 912 345 678"])
async def test_a_phone_is_found_in_any_format(open_services: OpenServices, typed: str) -> None:
    ids = await _directory(open_services, phones={"Nguyễn Văn Minh": "0912 345 678", "Lê Hoàng Nam": "+84987654321"})

    async with open_services() as services:
        found = await services.directory.search(typed)

    assert [(m.kind, m.id, m.exact) for m in found] == [("contact", ids["Nguyễn Văn Minh"], True)]


async def test_a_company_phone_stored_with_the_country_code_is_found_by_its_national_form(
        open_services: OpenServices) -> None:
    async with open_services() as services:
        company = await services.directory.create_company("Giao nhận Hải Âu", owner_id=None)
        company.phone = "+842363123456"

    async with open_services() as services:
        found = await services.directory.search("0236 3123 456")

    assert [(m.kind, m.id) for m in found] == [("company", company.id)]


def test_a_query_of_digits_is_a_phone_and_needs_six_digits() -> None:
    assert parse_query("12345").phone is None
    assert parse_query("0912 345 678").phone == "912345678"
    assert national_digits("+84 912 345 678") == national_digits("0912345678") == "912345678"
    assert parse_query("anh Minh").words == ("minh",)
    assert parse_query("Anh").words == ("anh",)  # a name on its own, not an honorific


async def _deal(open_services: OpenServices, owner_id: int, company: str, title: str) -> int:
    async with open_services() as services:
        company_id = (await services.directory.create_company(company, owner_id=owner_id)).id
        deal = await services.deals.create(title=f"{company} — {title}", owner_id=owner_id, company_id=company_id,
                                           contact_id=None, stage_key="new", amount=Decimal(1_000_000),
                                           currency="VND", quantity=10)
        return deal.id


async def test_a_deal_is_found_by_one_word_of_its_company(open_services: OpenServices, team: Team) -> None:
    first = await _deal(open_services, team.lan.id, "Kaizen Precision Vietnam", "95 AP-D160 desks")
    second = await _deal(open_services, team.lan.id, "Kaizen Precision Vietnam", "30 AP-C300 chairs")
    await _deal(open_services, team.lan.id, "Bao bì Phương Nam", "20 tủ hồ sơ")

    async with open_services() as services:
        kaizen = {d.id for d in await services.deals.find("Kaizen", team.lan)}
        nam = [d.id for d in await services.deals.find("nam", team.lan)]

    assert kaizen == {first, second}
    assert first not in nam
    assert second not in nam
    assert len(nam) == 1


async def test_the_company_typed_whole_ranks_its_deals_first(open_services: OpenServices, team: Team) -> None:
    longer = await _deal(open_services, team.boss.id, "Hòa Phát Nội thất", "185 bộ bàn")
    exact = await _deal(open_services, team.boss.id, "Hòa Phát", "200 bộ bàn ghế")

    async with open_services() as services:
        found = [d.id for d in await services.deals.find("hoa phat", team.boss)]

    assert found == [exact, longer]
