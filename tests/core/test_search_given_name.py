"""/find ranks a Vietnamese given name (the last word) before the same word as a middle name (review of issue
10, new user 6): "Xuan" lists Nguyễn Thị Xuân before Đỗ Xuân Thịnh."""

from __future__ import annotations

from tests.conftest import OpenServices


async def test_given_name_matches_come_before_middle_name_matches(open_services: OpenServices) -> None:
    async with open_services() as services:
        company = await services.directory.create_company("Thuận Thành", owner_id=None)
        for name in ("Đỗ Xuân Thịnh", "Trần Xuân Bách", "Nguyễn Thị Xuân", "Bùi Thị Hồng Xuân"):
            await services.directory.create_contact(name, company_id=company.id, owner_id=None)
        await services.session.flush()

        found = [m.name for m in await services.directory.search("Xuan") if m.kind == "contact"]

    assert set(found[:2]) == {"Nguyễn Thị Xuân", "Bùi Thị Hồng Xuân"}
    assert set(found[2:]) == {"Đỗ Xuân Thịnh", "Trần Xuân Bách"}
