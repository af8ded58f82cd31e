"""Companies and contacts are found by name the way people type them: no accents, any case."""

from __future__ import annotations

import pytest

from tests.conftest import TEST_NOW, OpenServices
from tests.core.conftest import Team


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


async def test_customer_360_gathers_contacts_of_the_company(open_services: OpenServices, team: Team) -> None:
    async with open_services() as services:
        company = (await services.directory.create_company("Hòa Phát", owner_id=None)).id
        await services.directory.create_contact("Minh", company_id=company, owner_id=None, phone="+84901234567")

    async with open_services() as services:
        view = await services.directory.customer_360(company, viewer=team.lan)

    assert view.company.name == "Hòa Phát"
    assert [(c.name, c.phone, c.company) for c in view.contacts] == [("Minh", "+84901234567", "Hòa Phát")]
    assert (view.deals, view.interactions, view.open_tasks) == ([], [], [])


# --- one company per folded name, one contact per folded name within a company -------------------------------


async def test_creating_a_company_that_exists_under_another_spelling_returns_it(open_services: OpenServices) -> None:
    async with open_services() as services:
        first, created = await services.directory.company_or_new("Zeta Corp", owner_id=None)
        again, created_again = await services.directory.company_or_new("  ZETA corp ", owner_id=None)
        assert (again.id, created, created_again) == (first.id, True, False)

    async with open_services() as services:
        assert await services.directory.counts() == (1, 0)
        assert (await services.directory.company(first.id)).name == "Zeta Corp"


async def test_creating_a_contact_that_exists_at_the_company_returns_it_with_the_new_phone(
        open_services: OpenServices) -> None:
    async with open_services() as services:
        zeta = (await services.directory.create_company("Zeta Corp", owner_id=None)).id
        khoa, created = await services.directory.contact_or_new("Khoa", company_id=zeta, owner_id=None)
        again, created_again = await services.directory.contact_or_new("khoa", company_id=zeta, owner_id=None,
                                                                        phone="+84901234567")
        assert (again.id, created, created_again) == (khoa.id, True, False)

    async with open_services() as services:
        contact = await services.directory.contact(khoa.id)
        assert (contact.name, contact.phone) == ("Khoa", "+84901234567")
        assert await services.directory.counts() == (1, 1)


async def test_namesakes_at_two_companies_are_two_contacts(open_services: OpenServices) -> None:
    async with open_services() as services:
        zeta = (await services.directory.create_company("Zeta Corp", owner_id=None)).id
        acme = (await services.directory.create_company("Acme", owner_id=None)).id
        first = await services.directory.create_contact("Khoa", company_id=zeta, owner_id=None)
        second = await services.directory.create_contact("Khoa", company_id=acme, owner_id=None)

    assert first.id != second.id


async def test_contacts_without_a_company_are_never_merged_by_name(open_services: OpenServices) -> None:
    async with open_services() as services:
        first = await services.directory.create_contact("Minh", company_id=None, owner_id=None)
        second = await services.directory.create_contact("Minh", company_id=None, owner_id=None)

    assert first.id != second.id


async def test_the_database_refuses_a_second_company_with_the_same_folded_name(open_services: OpenServices) -> None:
    from sqlalchemy.exc import IntegrityError

    from crm_core.models import Company

    async with open_services() as services:
        await services.directory.create_company("Zeta Corp", owner_id=None)

    async with open_services() as services:
        services.session.add(Company(name="ZETA CORP", name_folded="zeta corp", created_at=TEST_NOW))
        with pytest.raises(IntegrityError):
            await services.session.flush()
        await services.session.rollback()


async def test_an_erased_contact_does_not_block_a_namesake(open_services: OpenServices) -> None:
    async with open_services() as services:
        zeta = (await services.directory.create_company("Zeta Corp", owner_id=None)).id
        first = await services.directory.create_contact("Khoa", company_id=zeta, owner_id=None)
        first.erased_at = TEST_NOW
        second = await services.directory.create_contact("Khoa", company_id=zeta, owner_id=None)

    assert first.id != second.id


async def test_undo_cleanup_keeps_a_company_something_points_at(open_services: OpenServices) -> None:
    async with open_services() as services:
        zeta = (await services.directory.create_company("Zeta Corp", owner_id=None)).id
        await services.directory.create_contact("Khoa", company_id=zeta, owner_id=None)

    async with open_services() as services:
        assert not await services.directory.delete_company_unless_used(zeta)

    async with open_services() as services:
        assert await services.directory.counts() == (1, 1)


async def test_undo_cleanup_deletes_a_company_nothing_points_at(open_services: OpenServices) -> None:
    async with open_services() as services:
        zeta = (await services.directory.create_company("Zeta Corp", owner_id=None)).id

    async with open_services() as services:
        assert await services.directory.delete_company_unless_used(zeta)

    async with open_services() as services:
        assert await services.directory.counts() == (0, 0)
