"""The deal card's lifecycle in chat: won and lost after a confirmation, a reason for lost, undo, reassignment."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from bot.core.callbacks import pack
from bot.texts import Texts
from crm_core.clock import FrozenClock
from crm_core.models import AuditEntry, Deal, DealStageChange, Task
from crm_core.schemas import UserOut
from tests.bot.conftest import ChatDriver
from tests.conftest import OpenServices

VI = Texts("vi")


async def _user(open_services: OpenServices, name: str) -> UserOut:
    async with open_services() as services:
        user = await services.users.by_name(name)
    assert user is not None
    return user


async def _deal(open_services: OpenServices, owner: str, *, stage: str = "negotiation") -> int:
    owner_id = (await _user(open_services, owner)).id
    async with open_services() as services:
        company = await services.directory.create_company(f"Hòa Phát của {owner}", owner_id=owner_id)
        deal = await services.deals.create(title=f"{company.name} — 20 bộ bàn họp", owner_id=owner_id,
                                           company_id=company.id, contact_id=None, stage_key=stage,
                                           amount=Decimal(200_000_000), currency="VND", quantity=20)
        return deal.id


async def _row(open_services: OpenServices, deal_id: int) -> Deal:
    async with open_services() as services:
        deal = await services.session.get(Deal, deal_id)
    assert deal is not None
    return deal


async def _moves(open_services: OpenServices, deal_id: int) -> list[DealStageChange]:
    async with open_services() as services:
        query = select(DealStageChange).where(DealStageChange.deal_id == deal_id).order_by(DealStageChange.id)
        return list((await services.session.scalars(query)).all())


async def _task(open_services: OpenServices, owner: str, deal_id: int, title: str) -> int:
    owner_id = (await _user(open_services, owner)).id
    async with open_services() as services:
        task = await services.tasks.create(owner_id=owner_id, title=title, due_at=None, deal_id=deal_id)
        await services.session.flush()
        return task.id


async def _task_owner(open_services: OpenServices, task_id: int) -> int | None:
    async with open_services() as services:
        task = await services.session.get(Task, task_id)
    assert task is not None
    return task.owner_id


def _labels(driver: ChatDriver) -> list[str]:
    return [b.label for b in driver.buttons]


# --- won ---------------------------------------------------------------------------------------------------


async def test_won_asks_to_confirm_with_the_deals_title_and_amount(lan: ChatDriver,
                                                                  open_services: OpenServices) -> None:
    deal_id = await _deal(open_services, "Lan")
    await lan.tap(pack("deal", "open", deal_id))

    await lan.press(VI("btn.won"))

    assert lan.text == VI("deal.confirm_won", id=deal_id, title="Hòa Phát của Lan — 20 bộ bàn họp",
                          amount="200.000.000 ₫")
    assert _labels(lan) == [VI("btn.confirm"), VI("btn.cancel")]
    assert (await _row(open_services, deal_id)).status == "open"


async def test_confirming_won_closes_the_deal_and_offers_undo(lan: ChatDriver, open_services: OpenServices) -> None:
    deal_id = await _deal(open_services, "Lan")
    await lan.tap(pack("deal", "move", deal_id, "won"))

    await lan.press(VI("btn.confirm"))

    assert "Chúc mừng" in lan.text
    assert VI("btn.undo") in _labels(lan)
    deal = await _row(open_services, deal_id)
    assert (deal.status, deal.closed_at is not None) == ("won", True)


async def test_cancel_leaves_the_deal_open(lan: ChatDriver, open_services: OpenServices) -> None:
    deal_id = await _deal(open_services, "Lan")
    await lan.tap(pack("deal", "move", deal_id, "won"))

    await lan.press(VI("btn.cancel"))

    assert VI("deal.close_cancelled", id=deal_id) in lan.text
    assert (await _row(open_services, deal_id)).status == "open"
    assert len(await _moves(open_services, deal_id)) == 1


async def test_won_from_the_stage_list_asks_too(lan: ChatDriver, open_services: OpenServices) -> None:
    deal_id = await _deal(open_services, "Lan")
    await lan.tap(pack("deal", "stages", deal_id))

    await lan.press("Thắng")

    assert lan.text.startswith("🏆 Đánh dấu thắng")
    assert (await _row(open_services, deal_id)).status == "open"


# --- lost and its reason -----------------------------------------------------------------------------------


async def test_lost_asks_for_a_reason_from_the_list(lan: ChatDriver, open_services: OpenServices) -> None:
    deal_id = await _deal(open_services, "Lan")

    await lan.tap(pack("deal", "move", deal_id, "lost"))

    assert lan.text.startswith("❌ Đánh dấu thua")
    labels = _labels(lan)
    for key in ("price", "competitor", "no_need", "unreachable"):
        assert VI(f"lost_reason.{key}") in labels
    assert VI("btn.reason_other") in labels
    assert VI("btn.cancel") in labels


async def test_a_reason_button_loses_the_deal_and_records_why(lan: ChatDriver, open_services: OpenServices) -> None:
    deal_id = await _deal(open_services, "Lan")
    await lan.tap(pack("deal", "move", deal_id, "lost"))

    await lan.press(VI("lost_reason.price"))

    assert VI("deal.lost_reason_line", reason="Giá cao") in lan.text
    deal = await _row(open_services, deal_id)
    assert (deal.status, deal.lost_reason) == ("lost", "price")
    assert (await _moves(open_services, deal_id))[-1].reason == "price"


async def test_a_typed_reason_is_kept_in_the_salespersons_words(lan: ChatDriver, open_services: OpenServices) -> None:
    deal_id = await _deal(open_services, "Lan")
    await lan.tap(pack("deal", "move", deal_id, "lost"))
    await lan.press(VI("btn.reason_other"))

    await lan.say("Khách dời dự án sang năm sau")

    assert "lý do: Khách dời dự án sang năm sau" in lan.text
    deal = await _row(open_services, deal_id)
    assert (deal.status, deal.lost_reason) == ("lost", "Khách dời dự án sang năm sau")


async def test_a_long_log_at_the_reason_prompt_is_not_taken_as_the_reason(lan: ChatDriver,
                                                                          open_services: OpenServices) -> None:
    deal_id = await _deal(open_services, "Lan")
    await lan.tap(pack("deal", "move", deal_id, "lost"))
    await lan.press(VI("btn.reason_other"))
    log = ("Gọi anh Minh bên Vinamilk, muốn 50 ghế AP-C300 giá 4,5 triệu một chiếc, gửi báo giá thứ Sáu; "
           "anh ấy hỏi thêm về bảo hành và giao hàng ở Bình Dương, hẹn gặp lại tuần sau để chốt số lượng cuối cùng "
           "và xem mẫu tại showroom.")

    await lan.say(log)

    assert VI("deal.reason_not_taken", id=deal_id) in lan.text
    assert VI("btn.save") in _labels(lan)  # the log's preview
    assert (await _row(open_services, deal_id)).status == "open"


async def test_a_forged_reason_is_a_stale_button(lan: ChatDriver, open_services: OpenServices) -> None:
    deal_id = await _deal(open_services, "Lan")

    await lan.tap(pack("deal", "ok", deal_id, "lost", 1, "cheaper_elsewhere"))

    assert lan.text == VI("common.stale_button")
    assert (await _row(open_services, deal_id)).status == "open"


# --- stale and double taps ---------------------------------------------------------------------------------


async def test_a_second_tap_on_confirm_changes_nothing_and_says_so(lan: ChatDriver,
                                                                   open_services: OpenServices) -> None:
    deal_id = await _deal(open_services, "Lan")
    await lan.tap(pack("deal", "move", deal_id, "won"))
    confirm = next(b.data for b in lan.buttons if b.label == VI("btn.confirm"))
    await lan.tap(confirm)

    replies = await lan.tap(confirm)

    assert VI("deal.already_closed", id=deal_id, status=VI("deal.status_won")) in lan.text
    assert replies[0].toast
    assert len(await _moves(open_services, deal_id)) == 2  # opened, won: once


async def test_a_confirmation_for_a_deal_moved_since_changes_nothing(lan: ChatDriver,
                                                                     open_services: OpenServices) -> None:
    deal_id = await _deal(open_services, "Lan")
    await lan.tap(pack("deal", "move", deal_id, "won"))
    confirm = next(b.data for b in lan.buttons if b.label == VI("btn.confirm"))
    await lan.tap(pack("deal", "move", deal_id, "quote"))  # from another card

    await lan.tap(confirm)

    assert VI("deal.changed_since", id=deal_id) in lan.text
    deal = await _row(open_services, deal_id)
    assert deal.status == "open"


# --- undo --------------------------------------------------------------------------------------------------


async def test_undo_puts_the_previous_stage_back(lan: ChatDriver, open_services: OpenServices) -> None:
    deal_id = await _deal(open_services, "Lan", stage="negotiation")
    before = await _row(open_services, deal_id)
    await lan.tap(pack("deal", "move", deal_id, "lost"))
    await lan.press(VI("lost_reason.competitor"))

    await lan.press(VI("btn.undo"))

    assert VI("deal.reopened", id=deal_id, stage="Đàm phán") in lan.text
    deal = await _row(open_services, deal_id)
    assert (deal.status, deal.stage_id, deal.lost_reason, deal.closed_at) == ("open", before.stage_id, None, None)
    assert deal.stage_changed_at == before.stage_changed_at
    assert len(await _moves(open_services, deal_id)) == 1


async def test_a_second_undo_changes_nothing(lan: ChatDriver, open_services: OpenServices) -> None:
    deal_id = await _deal(open_services, "Lan")
    await lan.tap(pack("deal", "move", deal_id, "won"))
    await lan.press(VI("btn.confirm"))
    undo = next(b.data for b in lan.buttons if b.label == VI("btn.undo"))
    await lan.tap(undo)

    await lan.tap(undo)

    assert VI("deal.undo_done") in lan.text
    assert (await _row(open_services, deal_id)).status == "open"


async def test_undo_after_the_window_is_refused(lan: ChatDriver, open_services: OpenServices,
                                                clock: FrozenClock) -> None:
    deal_id = await _deal(open_services, "Lan")
    await lan.tap(pack("deal", "move", deal_id, "won"))
    await lan.press(VI("btn.confirm"))
    clock.advance(timedelta(minutes=6))  # Settings().undo_minutes is 5

    await lan.press(VI("btn.undo"))

    assert VI("deal.undo_too_late", id=deal_id, minutes=5) in lan.text
    assert (await _row(open_services, deal_id)).status == "won"


async def test_undo_after_the_deal_changed_is_refused(lan: ChatDriver, quang: ChatDriver,
                                                      open_services: OpenServices, clock: FrozenClock) -> None:
    deal_id = await _deal(open_services, "Lan")
    await lan.tap(pack("deal", "move", deal_id, "won"))
    await lan.press(VI("btn.confirm"))
    undo = next(b.data for b in lan.buttons if b.label == VI("btn.undo"))
    clock.advance(timedelta(minutes=1))
    await quang.tap(pack("deal", "to", deal_id, (await _user(open_services, "Tuấn")).id))

    await quang.tap(undo)  # the manager may change the deal, but it changed since the close

    assert VI("deal.undo_changed", id=deal_id) in quang.text
    assert (await _row(open_services, deal_id)).status == "won"


# --- who may -----------------------------------------------------------------------------------------------


async def test_a_forged_confirm_on_a_colleagues_deal_is_refused(lan: ChatDriver,
                                                                open_services: OpenServices) -> None:
    deal_id = await _deal(open_services, "Tuấn")
    version = (await _moves(open_services, deal_id))[-1].id

    for data in (pack("deal", "ok", deal_id, "won", version), pack("deal", "ok", deal_id, "lost", version, "price"),
                 pack("deal", "move", deal_id, "lost"), pack("deal", "why", deal_id, version)):
        assert [r.text for r in await lan.tap(data)] == [VI("common.forbidden")]

    assert (await _row(open_services, deal_id)).status == "open"


async def test_a_forged_undo_on_a_colleagues_deal_is_refused(lan: ChatDriver, open_services: OpenServices) -> None:
    deal_id = await _deal(open_services, "Tuấn")
    async with open_services() as services:
        await services.deals.move(deal_id, "won", await services.users.by_name("Tuấn"))  # type: ignore[arg-type]
    move_id = (await _moves(open_services, deal_id))[-1].id

    replies = await lan.tap(pack("deal", "undo", deal_id, move_id))

    assert [r.text for r in replies] == [VI("common.forbidden")]
    assert (await _row(open_services, deal_id)).status == "won"


async def test_a_manager_may_close_a_salespersons_deal(quang: ChatDriver, open_services: OpenServices) -> None:
    deal_id = await _deal(open_services, "Lan")
    await quang.tap(pack("deal", "move", deal_id, "won"))

    await quang.press(VI("btn.confirm"))

    assert (await _row(open_services, deal_id)).status == "won"


# --- reassignment ------------------------------------------------------------------------------------------


async def test_reassigning_tells_the_old_owner_and_moves_their_open_tasks(quang: ChatDriver,
                                                                         open_services: OpenServices) -> None:
    deal_id = await _deal(open_services, "Lan")
    task_id = await _task(open_services, "Lan", deal_id, "Gửi báo giá")
    tuan = await _user(open_services, "Tuấn")
    await quang.tap(pack("deal", "open", deal_id))
    await quang.press(VI("btn.reassign"))

    replies = await quang.press("Tuấn")

    told = {r.chat_id: r.text for r in replies if r.chat_id is not None}
    assert told["1001"] == VI("deal.taken_notice", manager="Quang", id=deal_id,
                              title="Hòa Phát của Lan — 20 bộ bàn họp", name="Tuấn")
    assert "Quang" in told["1002"]
    assert VI("deal.tasks_moved", count=1) in quang.text
    assert await _task_owner(open_services, task_id) == tuan.id
    async with open_services() as services:
        audit = (await services.session.scalars(select(AuditEntry).where(
            AuditEntry.action == "deal.reassign_tasks"))).one()
    assert audit.details["moved"] == [task_id]


async def test_reassigning_asks_before_moving_someone_elses_tasks(quang: ChatDriver,
                                                                 open_services: OpenServices) -> None:
    async with open_services() as services:
        await services.users.add(name="Hà", role="sales", telegram_id=1003)
    deal_id = await _deal(open_services, "Lan")
    lans = await _task(open_services, "Lan", deal_id, "Gửi báo giá")
    has = await _task(open_services, "Hà", deal_id, "Giao mẫu ghế")
    tuan = await _user(open_services, "Tuấn")

    await quang.tap(pack("deal", "to", deal_id, tuan.id))

    assert quang.text == VI("deal.reassign_ask", title="Hòa Phát của Lan — 20 bộ bàn họp",
                            holders=VI("deal.holder", name="Hà", count=1), name="Tuấn")
    assert (await _row(open_services, deal_id)).owner_id != tuan.id  # nothing yet
    replies = await quang.press(VI("btn.move_others_tasks", names="Hà"))

    assert (await _task_owner(open_services, lans), await _task_owner(open_services, has)) == (tuan.id, tuan.id)
    assert any(r.chat_id == "1003" and "Tuấn" in r.text for r in replies)
    assert (await _row(open_services, deal_id)).owner_id == tuan.id


async def test_reassigning_can_keep_someone_elses_tasks(quang: ChatDriver, open_services: OpenServices) -> None:
    async with open_services() as services:
        await services.users.add(name="Hà", role="sales", telegram_id=1003)
    deal_id = await _deal(open_services, "Lan")
    lans = await _task(open_services, "Lan", deal_id, "Gửi báo giá")
    has = await _task(open_services, "Hà", deal_id, "Giao mẫu ghế")
    ha, tuan = await _user(open_services, "Hà"), await _user(open_services, "Tuấn")
    await quang.tap(pack("deal", "to", deal_id, tuan.id))

    replies = await quang.press(VI("btn.keep_tasks"))

    assert (await _task_owner(open_services, lans), await _task_owner(open_services, has)) == (tuan.id, ha.id)
    assert not any(r.chat_id == "1003" for r in replies)
    assert VI("deal.tasks_kept", count=1) in quang.text


async def test_reassigning_to_the_current_owner_changes_nothing(quang: ChatDriver,
                                                               open_services: OpenServices) -> None:
    deal_id = await _deal(open_services, "Lan")
    lan = await _user(open_services, "Lan")

    replies = await quang.tap(pack("deal", "to", deal_id, lan.id))

    assert VI("deal.already_owner", id=deal_id, name="Lan") in quang.text
    assert not [r for r in replies if r.chat_id is not None]


# --- closed deals and forged buttons (issue 10 review B4, B5, wording) --------------------------------------


async def test_the_already_closed_note_says_the_status_once(lan: ChatDriver, open_services: OpenServices) -> None:
    deal_id = await _deal(open_services, "Lan")
    await lan.tap(pack("deal", "move", deal_id, "won"))
    confirm = next(b.data for b in lan.buttons if b.label == VI("btn.confirm"))
    await lan.tap(confirm)

    await lan.tap(confirm)

    assert f"#{deal_id} đã thắng rồi" in lan.text
    assert "đã đã" not in lan.text


async def test_a_stale_stage_button_never_reopens_a_closed_deal(lan: ChatDriver, open_services: OpenServices) -> None:
    deal_id = await _deal(open_services, "Lan")
    await lan.tap(pack("deal", "move", deal_id, "won"))
    await lan.press(VI("btn.confirm"))
    moves = len(await _moves(open_services, deal_id))

    await lan.tap(pack("deal", "move", deal_id, "quote"))

    assert VI("deal.already_closed", id=deal_id, status=VI("deal.status_won")) in lan.text
    deal = await _row(open_services, deal_id)
    assert (deal.status, len(await _moves(open_services, deal_id))) == ("won", moves)


async def test_the_stage_list_of_a_lost_deal_is_not_offered(lan: ChatDriver, open_services: OpenServices) -> None:
    deal_id = await _deal(open_services, "Lan")
    await lan.tap(pack("deal", "move", deal_id, "lost"))
    await lan.press(VI("lost_reason.price"))

    await lan.tap(pack("deal", "stages", deal_id))

    assert VI("deal.already_closed", id=deal_id, status=VI("deal.status_lost")) in lan.text
    assert "Báo giá" not in _labels(lan)
    assert (await _row(open_services, deal_id)).status == "lost"


async def test_a_deal_is_never_given_to_a_manager(quang: ChatDriver, open_services: OpenServices) -> None:
    deal_id = await _deal(open_services, "Lan")
    manager = await _user(open_services, "Quang")

    await quang.tap(pack("deal", "to", deal_id, manager.id))

    assert (await _row(open_services, deal_id)).owner_id == (await _user(open_services, "Lan")).id
