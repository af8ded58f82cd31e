"""A log's card shows every change before it happens: which deal (new, updated old → new, or a note), which
company and person, which task; Save applies exactly that (issue 10, items 1, 2 and 6)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from crm_core.models import Company, Contact, Deal, Interaction, Task
from tests.bot.conftest import ChatDriver

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
DEMO_LOG = ("Met Mr. John at Hoa Phat Noi That today, wants 30 AP-C300 chairs at 4.5tr each, "
            "send samples tomorrow")


async def _count(open_services, model) -> int:  # type: ignore[no-untyped-def]
    async with open_services() as services:
        return int(await services.session.scalar(select(func.count()).select_from(model)) or 0)


async def _deal(open_services, owner: str, company: str, title: str, *, quantity: int = 100,  # type: ignore[no-untyped-def]
                amount: int = 300_000_000, stage: str = "quote") -> tuple[int, int]:
    """Create `company` (when new) with an open deal of `owner`; return (company id, deal id)."""
    async with open_services() as services:
        user = await services.users.by_name(owner)
        assert user is not None
        row = await services.directory.create_company(company, owner_id=user.id)
        deal = await services.deals.create(title=title, owner_id=user.id, company_id=row.id, contact_id=None,
                                           stage_key=stage, amount=Decimal(amount), currency="VND", quantity=quantity)
        await services.session.flush()
        return row.id, deal.id


async def _deal_row(open_services, deal_id: int) -> tuple[object, ...]:  # type: ignore[no-untyped-def]
    async with open_services() as services:
        deal = await services.session.get(Deal, deal_id)
        assert deal is not None
        return deal.title, deal.amount, deal.quantity, deal.stage_id, deal.status, deal.owner_id, deal.updated_at


# --- 1. the deal a log changes -----------------------------------------------------------------------------


async def test_the_demo_log_never_changes_a_colleagues_deal(lan: ChatDriver, open_services) -> None:  # type: ignore[no-untyped-def]
    _company, tuans = await _deal(open_services, "Tuấn", "Hòa Phát Nội thất", "Hòa Phát Nội thất — 185 bộ bàn AP-D120",
                                  quantity=185, amount=323_000_000)
    before = await _deal_row(open_services, tuans)

    await lan.say(DEMO_LOG)
    assert "Cơ hội: mới — «Hòa Phát Nội thất — 30 AP-C300 chairs» (Lan phụ trách)" in lan.text
    assert f"#{tuans} do Tuấn phụ trách nên ghi chép này không thay đổi cơ hội đó" in lan.text
    assert "Số lượng: 30 AP-C300 chairs" in lan.text
    await lan.press("Lưu")

    assert await _deal_row(open_services, tuans) == before
    async with open_services() as services:
        titles = sorted((await services.session.scalars(select(Deal.title))).all())
    assert titles == ["Hòa Phát Nội thất — 185 bộ bàn AP-D120", "Hòa Phát Nội thất — 30 AP-C300 chairs"]


async def test_the_card_shows_old_and_new_values_of_the_deal_it_updates(lan: ChatDriver, open_services) -> None:  # type: ignore[no-untyped-def]
    _company, deal_id = await _deal(open_services, "Lan", "Hòa Phát", "Hòa Phát — 100 bộ bàn AP-D120")

    await lan.say("Gọi anh Minh bên Hòa Phát, ngân sách 80 triệu, mai gọi lại")

    assert f"Cơ hội: cập nhật #{deal_id} «Hòa Phát — 100 bộ bàn AP-D120» (Lan phụ trách)" in lan.text
    assert "Giá trị: 300.000.000 ₫ → 80.000.000 ₫" in lan.text
    await lan.press("Lưu")
    assert (await _deal_row(open_services, deal_id))[1] == Decimal(80_000_000)


async def test_another_product_offers_a_new_deal_first_and_the_choice_updates_the_card(  # type: ignore[no-untyped-def]
        lan: ChatDriver, open_services) -> None:
    _company, deal_id = await _deal(open_services, "Lan", "Minh Long", "Minh Long — 100 bộ bàn AP-D120")

    await lan.say("Gặp anh Tùng bên Minh Long, cần 50 ghế AP-C300 giá 1,5tr mỗi ghế")
    labels = [b.label for b in lan.buttons]
    assert labels.index("✓ ➕ Cơ hội mới") < labels.index(f"🔄 Cập nhật #{deal_id}")
    assert "Cơ hội: mới — «Minh Long — 50 ghế AP-C300»" in lan.text

    await lan.press(f"Cập nhật #{deal_id}")
    assert lan.last[0].edit
    assert f"Cơ hội: cập nhật #{deal_id}" in lan.text
    assert "Số lượng: 100 → 50" in lan.text
    await lan.press("Lưu")
    assert await _count(open_services, Deal) == 1
    assert (await _deal_row(open_services, deal_id))[2] == 50


async def test_save_refuses_a_plan_whose_deal_changed_and_shows_the_card_again(  # type: ignore[no-untyped-def]
        lan: ChatDriver, open_services) -> None:
    _company, deal_id = await _deal(open_services, "Lan", "Hòa Phát", "Hòa Phát — 100 bộ bàn AP-D120")
    await lan.say("Gọi anh Minh bên Hòa Phát, ngân sách 80 triệu, mai gọi lại")
    async with open_services() as services:  # the manager moves the deal meanwhile
        quang = await services.users.by_name("Quang")
        assert quang is not None
        await services.deals.move(deal_id, "negotiation", quang)

    await lan.press("Lưu")

    assert "Cơ hội đã thay đổi từ lúc xem trước" in lan.text
    assert "Giai đoạn: Đàm phán" not in lan.text or "→" in lan.text
    assert await _count(open_services, Interaction) == 0
    await lan.press("Lưu")  # the card shown again is the new plan: Save applies it
    assert await _count(open_services, Interaction) == 1
    assert (await _deal_row(open_services, deal_id))[1] == Decimal(80_000_000)


async def test_a_log_that_loses_a_deal_asks_to_confirm_and_why(lan: ChatDriver, open_services) -> None:  # type: ignore[no-untyped-def]
    _company, deal_id = await _deal(open_services, "Lan", "Hòa Phát", "Hòa Phát — 100 bộ bàn AP-D120")
    await lan.say("Gọi anh Minh bên Hòa Phát, báo ko mua nữa, mất deal")
    assert "Giai đoạn: Báo giá → Thua" in lan.text

    await lan.press("Lưu")
    assert "Xác nhận đóng cơ hội → Thua" in lan.text
    assert (await _deal_row(open_services, deal_id))[4] == "open"
    await lan.press("Không còn nhu cầu")

    assert "Đã lưu" in lan.text
    async with open_services() as services:
        deal = await services.session.get(Deal, deal_id)
        assert deal is not None
        assert (deal.status, deal.lost_reason) == ("lost", "no_need")


# --- 2. matching you can see -------------------------------------------------------------------------------


async def test_a_shared_generic_word_does_not_preselect_another_company(lan: ChatDriver, open_services) -> None:  # type: ignore[no-untyped-def]
    await _deal(open_services, "Tuấn", "Lotus Bay Software", "Lotus Bay Software — 20 licenses")

    await lan.say("Gọi anh Long bên FPT Software, cần 20 bộ bàn, thứ 6 gửi báo giá")

    assert "FPT Software (mới — sẽ tạo)" in lan.text
    assert "Lotus Bay" not in lan.text
    await lan.press("Lưu")
    assert await _count(open_services, Company) == 2


async def test_a_near_exact_company_name_is_known_without_a_question(lan: ChatDriver, open_services) -> None:  # type: ignore[no-untyped-def]
    async with open_services() as services:
        await services.directory.create_company("Hòa Phát Nội thất", owner_id=None)
        await services.directory.create_company("Hòa Phát", owner_id=None)

    await lan.say("Gọi anh Minh bên Công ty Hoa Phat Noi That, gửi catalogue thứ 6")

    assert "Hòa Phát Nội thất (đã có trong CRM)" in lan.text
    assert "Có phải công ty đã có" not in lan.text


async def test_choosing_a_company_option_updates_the_card_at_once(lan: ChatDriver, open_services) -> None:  # type: ignore[no-untyped-def]
    async with open_services() as services:
        await services.directory.create_company("Hòa Phát Steel", owner_id=None)
        await services.directory.create_company("Hòa Phát Pipe", owner_id=None)
    await lan.say("Gọi anh Minh bên Hoa Phat, hẹn gặp thứ 6")
    assert "Có phải công ty đã có" in lan.text
    assert "Hoa Phat (mới — sẽ tạo)" in lan.text

    await lan.press("Hòa Phát Pipe")

    assert lan.last[0].edit
    assert "Công ty: Hòa Phát Pipe (đã có trong CRM)" in lan.text


async def test_a_first_name_offers_the_companys_person_of_that_name(lan: ChatDriver, open_services) -> None:  # type: ignore[no-untyped-def]
    async with open_services() as services:
        kaizen = await services.directory.create_company("Kaizen Precision Vietnam", owner_id=None)
        await services.directory.create_contact("Daniel Yamamoto", company_id=kaizen.id, owner_id=None)

    await lan.say("Met Daniel at Kaizen Precision Vietnam, send the quote on Friday")

    labels = [b.label for b in lan.buttons]
    assert any("Daniel Yamamoto" in label for label in labels)
    assert any("Người mới" in label for label in labels)
    await lan.press("Lưu")
    assert await _count(open_services, Contact) == 1


# --- 6. no duplicate tasks -----------------------------------------------------------------------------------


async def test_a_similar_open_task_the_same_day_is_offered_for_update(lan: ChatDriver, open_services) -> None:  # type: ignore[no-untyped-def]
    company_id, deal_id = await _deal(open_services, "Lan", "Hòa Phát", "Hòa Phát — 200 bộ bàn AP-D120",
                                      quantity=200)
    async with open_services() as services:
        user = await services.users.by_name("Lan")
        assert user is not None
        await services.tasks.create(owner_id=user.id, title="Gửi báo giá 200 bộ bàn AP-D120",
                                    due_at=datetime(2026, 11, 27, 9, tzinfo=HCM), deal_id=deal_id,
                                    company_id=company_id)

    await lan.say("Gọi anh Minh bên Hòa Phát, thứ 6 gửi báo giá")
    assert "Đã có việc «Gửi báo giá 200 bộ bàn AP-D120» cùng ngày" in lan.text
    assert [b.label for b in lan.buttons if "việc" in b.label] == ["✓ 🔄 Cập nhật việc cũ", "➕ Thêm việc mới"]
    await lan.press("Lưu")

    assert await _count(open_services, Task) == 1


async def test_a_forged_lost_reason_on_a_log_is_a_stale_button(lan: ChatDriver, open_services) -> None:  # type: ignore[no-untyped-def]
    _company, deal_id = await _deal(open_services, "Lan", "Hòa Phát", "Hòa Phát — 100 bộ bàn AP-D120")
    await lan.say("Gọi anh Minh bên Hòa Phát, báo ko mua nữa, mất deal")
    await lan.press("Lưu")
    draft = next(b.data for b in lan.buttons if b.label == "Không còn nhu cầu").split(":")[3]

    await lan.tap(f"log:v1:close:{draft}:FORGED<b>x</b>")

    assert (await _deal_row(open_services, deal_id))[4] == "open"
    assert await _count(open_services, Interaction) == 0


# --- 9. closing from a log: its open tasks, the reason, the owner told (review, new user item 9) -------------


async def _open_task(open_services, owner: str, title: str, *, deal_id: int | None = None,  # type: ignore[no-untyped-def]
                     company_id: int | None = None) -> int:
    async with open_services() as services:
        user = await services.users.by_name(owner)
        assert user is not None
        task = await services.tasks.create(owner_id=user.id, title=title, due_at=None, deal_id=deal_id,
                                           company_id=company_id)
        await services.session.flush()
        return task.id


async def test_a_log_that_loses_a_deal_says_why_and_offers_to_close_its_open_tasks(  # type: ignore[no-untyped-def]
        lan: ChatDriver, open_services) -> None:
    _company, deal_id = await _deal(open_services, "Lan", "Hòa Phát", "Hòa Phát — 100 bộ bàn AP-D120")
    task_id = await _open_task(open_services, "Lan", "Gửi mẫu ghế", deal_id=deal_id)
    await lan.say("Gọi anh Minh bên Hòa Phát, báo ko mua nữa, mất deal")
    await lan.press("Lưu")

    await lan.press("Không còn nhu cầu")

    assert "→ Thua (lý do: Không còn nhu cầu)" in lan.text
    assert "còn 1 việc đang mở: «Gửi mẫu ghế»" in lan.text
    await lan.press("Đóng các việc đang mở")
    async with open_services() as services:
        task = await services.session.get(Task, task_id)
        assert task is not None
        assert task.done_at is not None


async def test_a_colleagues_note_on_a_deal_is_told_to_its_owner(engine, open_services) -> None:  # type: ignore[no-untyped-def]
    _company, deal_id = await _deal(open_services, "Lan", "Hòa Phát", "Hòa Phát — 100 bộ bàn AP-D120")
    tuan = ChatDriver(engine, "1002")
    await tuan.say("Gặp anh Minh bên Hòa Phát, mai gọi lại")
    assert f"#{deal_id}" in tuan.text

    replies = await tuan.press("Lưu")

    told = {r.chat_id: r.text for r in replies if r.chat_id is not None}
    assert "Tuấn vừa ghi chép về cơ hội" in told["1001"]
    assert "Gặp anh Minh bên Hòa Phát" in told["1001"]


async def test_customer_view_names_whose_task_a_colleagues_task_is(engine, open_services) -> None:  # type: ignore[no-untyped-def]
    company_id, _deal_id = await _deal(open_services, "Lan", "Hòa Phát", "Hòa Phát — 100 bộ bàn AP-D120")
    await _open_task(open_services, "Lan", "Gọi lại anh Minh", company_id=company_id)
    await _open_task(open_services, "Tuấn", "Gửi catalogue", company_id=company_id)
    tuan = ChatDriver(engine, "1002")

    await tuan.say("/customer Hòa Phát")

    # whose task it is, not what: /task does not let Tuấn read Lan's (crm_core.policy.task_view)
    assert "  • việc của Lan" in tuan.text.splitlines()
    assert "Gọi lại anh Minh" not in tuan.text
    assert "Gửi catalogue ·" not in tuan.text


# --- 1. "cần thêm 10 bộ" is 10 more; the title follows the quantity (review, new user item 1) ------------------


async def test_ten_more_never_preselects_overwriting_the_quantity_and_the_title_follows(  # type: ignore[no-untyped-def]
        lan: ChatDriver, open_services) -> None:
    _company, deal_id = await _deal(open_services, "Lan", "Bảo An", "Bảo An — 125 bộ bàn AP-D160", quantity=125,
                                    amount=331_000_000)

    await lan.say("gọi chị Quyên bên Bảo An, chị ấy cần thêm 10 bộ, gửi báo giá t6")

    labels = [b.label for b in lan.buttons]
    assert "✓ ➕ Cơ hội mới" in labels
    assert f"#{deal_id} «Bảo An — 125 bộ bàn AP-D160»" in lan.text
    await lan.press(f"Cập nhật #{deal_id}")
    assert "Số lượng: 125 → 135" in lan.text
    assert "Tiêu đề: Bảo An — 125 bộ bàn AP-D160 → Bảo An — 135 bộ bàn AP-D160" in lan.text
    await lan.press("Lưu")
    title, _amount, quantity, *_rest = await _deal_row(open_services, deal_id)
    assert (title, quantity) == ("Bảo An — 135 bộ bàn AP-D160", 135)

    await lan.say(f"/deal {deal_id}")
    assert "Số lượng: 135 bộ bàn AP-D160" in lan.text


# --- 2. every open deal of the company is compared; the question quotes the deal's own title ----------------


async def test_the_best_matching_open_deal_is_proposed_and_quoted_by_its_own_title(  # type: ignore[no-untyped-def]
        lan: ChatDriver, open_services) -> None:
    company_id, chairs = await _deal(open_services, "Lan", "Giao nhận Hải Âu",
                                     "Giao nhận Hải Âu — 95 chiếc ghế công thái học AP-C210", quantity=95,
                                     amount=233_000_000)
    async with open_services() as services:  # a newer deal of the same company, for desks
        lan_user = await services.users.by_name("Lan")
        assert lan_user is not None
        desks = await services.deals.create(title="Giao nhận Hải Âu — 150 bộ bàn AP-D140", owner_id=lan_user.id,
                                            company_id=company_id, contact_id=None, stage_key="quote",
                                            amount=Decimal(400_000_000), currency="VND", quantity=150)
        await services.session.flush()
        desks_id = desks.id

    await lan.say("Gọi chị My bên Giao nhận Hải Âu, cần 95 ghế AP-C200, tổng 171tr")

    assert f"#{chairs} «Giao nhận Hải Âu — 95 chiếc ghế công thái học AP-C210»" in lan.text
    assert f"#{desks_id}" not in lan.text
    assert "«Giao nhận Hải Âu — 95 ghế AP-C200»:" not in lan.text  # the question never quotes the new deal's title
