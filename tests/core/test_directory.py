"""Companies and contacts are found by name the way people type them: no accents, any case."""

from __future__ import annotations

from tests.conftest import OpenServices


async def _companies(open_services: OpenServices, *names: str) -> dict[str, int]:
    async with open_services() as services:
        return {name: (await services.directory.create_company(name, owner_id=None)).id for name in names}


async def test_search_without_accents_or_case_finds_the_accented_company(open_services: OpenServices) -> None:
    ids = await _companies(open_services, "Hòa Phát", "Vinamilk")

    async with open_services() as services:
        found = await services.directory.search("hoa phat")

    assert [(m.kind, m.id, m.name, m.exact) for m in found] == [("company", ids["Hòa Phát"], "Hòa Phát", True)]


async def test_a_typed_name_equal_after_folding_is_an_exact_company_match(open_services: OpenServices) -> None:
    ids = await _companies(open_services, "Hòa Phát")

    async with open_services() as services:
        found = await services.directory.match_companies("HOÀ PHAT")

    assert [(m.id, m.exact) for m in found] == [(ids["Hòa Phát"], True)]


async def test_look_alike_companies_are_offered_as_candidates_not_exact(open_services: OpenServices) -> None:
    ids = await _companies(open_services, "Hòa Phát", "Hòa Phát Steel", "Vinamilk")

    async with open_services() as services:
        found = await services.directory.match_companies("Hoa Phast")

    assert {m.id for m in found} == {ids["Hòa Phát"], ids["Hòa Phát Steel"]}
    assert not any(m.exact for m in found)
    assert found[0].id == ids["Hòa Phát"]


async def test_an_unrelated_name_matches_no_company(open_services: OpenServices) -> None:
    await _companies(open_services, "Hòa Phát", "Vinamilk")

    async with open_services() as services:
        assert await services.directory.match_companies("Thế Giới Di Động") == []


async def test_contacts_are_matched_within_the_given_company(open_services: OpenServices) -> None:
    async with open_services() as services:
        hoa_phat = (await services.directory.create_company("Hòa Phát", owner_id=None)).id
        vinamilk = (await services.directory.create_company("Vinamilk", owner_id=None)).id
        minh_hp = (await services.directory.create_contact("Minh", company_id=hoa_phat, owner_id=None)).id
        await services.directory.create_contact("Minh", company_id=vinamilk, owner_id=None)

    async with open_services() as services:
        found = await services.directory.match_contacts("minh", company_id=hoa_phat)

    assert [(m.id, m.company, m.exact) for m in found] == [(minh_hp, "Hòa Phát", True)]


async def test_a_contact_is_matched_by_given_name_alone(open_services: OpenServices) -> None:
    async with open_services() as services:
        company = (await services.directory.create_company("Hòa Phát", owner_id=None)).id
        contact = (await services.directory.create_contact("Nguyễn Văn Minh", company_id=company, owner_id=None)).id

    async with open_services() as services:
        found = await services.directory.match_contacts("Minh", company_id=company)

    assert [(m.id, m.name, m.exact) for m in found] == [(contact, "Nguyễn Văn Minh", True)]


async def test_customer_360_gathers_contacts_of_the_company(open_services: OpenServices) -> None:
    async with open_services() as services:
        company = (await services.directory.create_company("Hòa Phát", owner_id=None)).id
        await services.directory.create_contact("Minh", company_id=company, owner_id=None, phone="+84901234567")

    async with open_services() as services:
        view = await services.directory.customer_360(company)

    assert view.company.name == "Hòa Phát"
    assert [(c.name, c.phone, c.company) for c in view.contacts] == [("Minh", "+84901234567", "Hòa Phát")]
    assert (view.deals, view.interactions, view.open_tasks) == ([], [], [])
