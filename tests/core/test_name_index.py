"""The directory's names are kept in memory between messages and follow every change."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, insert, update

from crm_core.models import Company, Contact
from crm_core.textnorm import fold
from tests.conftest import OpenServices


async def _company(open_services: OpenServices, name: str) -> int:
    async with open_services() as services:
        return (await services.directory.create_company(name, owner_id=None)).id


async def test_the_same_names_are_not_loaded_again_while_nothing_changes(open_services: OpenServices) -> None:
    await _company(open_services, "Hòa Phát")
    async with open_services() as services:
        first = await services.directory.known_names()
    async with open_services() as services:
        second = await services.directory.known_names()

    assert second is first
    assert list(first.companies) == ["Hòa Phát"]


async def test_a_committed_new_company_is_known_at_the_next_message(open_services: OpenServices) -> None:
    await _company(open_services, "Hòa Phát")
    async with open_services() as services:
        await services.directory.known_names()

    await _company(open_services, "Vinamilk")
    async with open_services() as services:
        known = await services.directory.known_names()

    assert sorted(known.companies) == ["Hòa Phát", "Vinamilk"]


async def _create_and_fail(open_services: OpenServices, name: str) -> None:
    async with open_services() as services:
        await services.directory.create_company(name, owner_id=None)
        assert name in (await services.directory.known_names()).companies  # its own transaction sees it
        raise RuntimeError("roll back")


async def test_a_company_created_then_rolled_back_is_never_known(open_services: OpenServices) -> None:
    await _company(open_services, "Hòa Phát")
    with pytest.raises(RuntimeError):
        await _create_and_fail(open_services, "Ghost Ltd")

    async with open_services() as services:
        known = await services.directory.known_names()

    assert list(known.companies) == ["Hòa Phát"]


async def test_a_rename_by_another_writer_is_seen(open_services: OpenServices) -> None:
    company_id = await _company(open_services, "Hòa Phát")
    async with open_services() as services:
        await services.directory.known_names()
        # another process (or a bulk import) writes with plain SQL: no ORM event reaches this process
        await services.session.execute(update(Company).where(Company.id == company_id)
                                       .values(name="Hòa Phát Group", name_folded=fold("Hòa Phát Group")))

    async with open_services() as services:
        found = await services.directory.match_companies("hoa phat group")

    assert [(m.name, m.exact) for m in found] == [("Hòa Phát Group", True)]


async def test_an_erased_contact_is_no_longer_offered_by_name(open_services: OpenServices) -> None:
    async with open_services() as services:
        contact = await services.directory.create_contact("Nguyễn Văn Minh", company_id=None, owner_id=None)
        contact_id = contact.id
    async with open_services() as services:
        assert [m.id for m in await services.directory.match_contacts("Minh")] == [contact_id]

    async with open_services() as services:  # erasure keeps the row and replaces its name
        await services.session.execute(update(Contact).where(Contact.id == contact_id).values(
            name="Khách đã xóa", name_folded=fold("Khách đã xóa"), erased_at=services.now))

    async with open_services() as services:
        assert await services.directory.match_contacts("Minh") == []


async def test_contacts_added_in_bulk_are_known(open_services: OpenServices) -> None:
    async with open_services() as services:
        await services.directory.known_names()
        await services.session.execute(insert(Contact), [
            {"name": "Trần Thị Lan", "name_folded": fold("Trần Thị Lan"), "created_at": services.now}])

    async with open_services() as services:
        known = await services.directory.known_names()

    assert [c.name for c in known.contacts] == ["Trần Thị Lan"]


async def test_names_added_since_grow_the_index_and_keep_its_lookups(open_services: OpenServices) -> None:
    await _company(open_services, "Hòa Phát")
    async with open_services() as services:
        before = await services.directory.known_names()
        assert before.company_matcher.find("gap anh minh ben hoa phat")  # computed, so it must grow

    async with open_services() as services:  # another writer adds a row: no ORM event in this process
        await services.session.execute(insert(Company), [
            {"name": "Vinamilk", "name_folded": fold("Vinamilk"), "created_at": services.now}])
    async with open_services() as services:
        grown = await services.directory.known_names()

    assert grown is not before
    assert [name for name, _start, _end in grown.company_matcher.find("goi vinamilk va hoa phat")] == [
        "Vinamilk", "Hòa Phát"]
    assert [name for name, _start, _end in before.company_matcher.find("goi vinamilk")] == []  # left as it was


async def test_a_deleted_name_whose_id_is_reused_is_not_served(open_services: OpenServices) -> None:
    first = await _company(open_services, "Công ty ABC")
    async with open_services() as services:
        assert [m.name for m in await services.directory.match_companies("abc")] == ["Công ty ABC"]
        await services.session.execute(delete(Company).where(Company.id == first))  # another process deletes
    async with open_services() as services:
        # …and, on SQLite, the next company may take the same id; the name has the same length
        await services.session.execute(insert(Company), [
            {"id": first, "name": "Công ty XYZ", "name_folded": fold("Công ty XYZ"), "created_at": services.now}])

    async with open_services() as services:
        found = await services.directory.match_companies("abc")

    assert found == []
