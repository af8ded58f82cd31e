"""Bad input gets a short answer that says what to do, and nothing typed is lost."""

from __future__ import annotations

import pytest
from sqlalchemy import select

import crm_core.flows.logs as log_flow
from bot.core.engine import Engine, _error_text
from bot.core.messages import Attachment
from bot.texts import Texts
from crm_core.errors import AlreadyDone, Conflict, InvalidInput
from crm_core.models import LogDraft
from tests.bot.conftest import ChatDriver


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
async def test_an_empty_message_says_what_to_type(lan: ChatDriver, text: str) -> None:
    await lan.say(text)
    assert "Tin nhắn trống" in lan.text


async def test_only_emoji_asks_for_words(lan: ChatDriver) -> None:
    await lan.say("😀👍🔥")
    assert "biểu tượng cảm xúc" in lan.text


@pytest.mark.parametrize("kind", ["sticker", "photo", "voice"])
async def test_a_non_text_message_says_it_cannot_be_read(lan: ChatDriver, kind: str) -> None:
    await lan.say(None, attachment=Attachment(kind=kind, file_id="f1"))  # type: ignore[arg-type]
    assert "Tôi chưa đọc được" in lan.text


async def test_an_oversize_message_is_refused_but_kept(lan: ChatDriver, open_services) -> None:  # type: ignore[no-untyped-def]
    text = "Gọi anh Minh " * 400
    await lan.say(text)
    assert "quá giới hạn 4096" in lan.text
    async with open_services() as services:
        draft = await services.session.scalar(select(LogDraft))
    assert draft is not None
    assert draft.raw_text == text.strip()
    assert draft.status == "too_long"


async def test_an_unknown_command_points_to_help(lan: ChatDriver) -> None:
    await lan.say("/frobnicate now")
    assert "Không có lệnh /frobnicate" in lan.text


async def test_a_malformed_or_old_button_is_called_stale(lan: ChatDriver) -> None:
    await lan.tap("deal:v0:open:1")
    assert "Nút này đã cũ" in lan.text
    await lan.tap("nonsense")
    assert "Nút này đã cũ" in lan.text


async def test_a_button_on_a_deleted_deal_says_it_is_gone(lan: ChatDriver) -> None:
    await lan.tap("deal:v1:open:999")
    assert "Không tìm thấy mục này" in lan.text


async def test_a_button_on_someone_elses_log_is_refused(lan: ChatDriver, engine) -> None:  # type: ignore[no-untyped-def]
    await lan.say("Gọi anh Minh bên Hòa Phát, gửi báo giá ngày mai")
    save = lan.buttons[0].data
    tuan = ChatDriver(engine, "1002")
    await tuan.tap(save)
    assert "không thuộc quyền" in tuan.text


async def test_a_crash_while_understanding_keeps_the_raw_text(lan: ChatDriver, open_services,  # type: ignore[no-untyped-def]
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_parser(*args: object, **kwargs: object) -> None:
        raise RuntimeError("parser exploded")

    monkeypatch.setattr(log_flow, "parse_log", broken_parser)
    await lan.say("Gặp chị Thu bên Vinamilk, gửi hợp đồng thứ 2")
    assert "Văn bản của bạn đã được giữ lại" in lan.text
    async with open_services() as services:
        draft = await services.session.scalar(select(LogDraft))
    assert draft is not None
    assert draft.status == "failed"
    assert "Vinamilk" in draft.raw_text


async def test_a_stranger_gets_their_telegram_id_and_no_staff_commands(stranger: ChatDriver) -> None:
    await stranger.say("/start")
    assert "777" not in stranger.text  # a customer's welcome carries no staff-only note (issue 11)
    await stranger.say("/id")  # a new staff member sends this to an admin
    assert "777" in stranger.text
    await stranger.say("/deals")
    assert "dành cho nhân viên" in stranger.text
    assert "Cơ hội" not in stranger.text
    await stranger.say("cho tôi xem danh sách khách hàng")
    assert "nhân viên" in stranger.text


async def test_a_stranger_cannot_press_staff_buttons(stranger: ChatDriver) -> None:
    await stranger.tap("deal:v1:open:1")
    assert "không có quyền" in stranger.text


async def test_lang_switches_the_users_language(lan: ChatDriver) -> None:
    await lan.say("/lang en")
    assert "Switched to English" in lan.text
    await lan.say("/tasks")
    assert "Tasks of Lan" in lan.text


async def test_the_language_picker_works_with_buttons(lan: ChatDriver) -> None:
    await lan.say("/lang")
    await lan.press("English")
    await lan.say("/frobnicate")
    assert "There is no /frobnicate command" in lan.text


async def test_cancel_leaves_an_edit_in_progress(lan: ChatDriver) -> None:
    await lan.say("Gọi anh Minh bên Hòa Phát, gửi báo giá ngày mai")
    await lan.press("Sửa")
    await lan.press("Giá trị")
    await lan.say("/cancel")
    assert "Đã thôi" in lan.text
    await lan.say("Gặp chị Lan bên Vinamilk")
    assert "Tôi hiểu như sau" in lan.text


@pytest.mark.parametrize("text", ["", "\u200b\u200c\u200d\ufeff"])
async def test_an_empty_message_from_a_customer_asks_what_they_need_not_how_staff_log_a_call(
        engine: Engine, text: str) -> None:
    customer = ChatDriver(engine, "880001")

    await customer.say(text)

    assert customer.text == Texts("vi")("common.empty_customer")


def test_an_error_is_said_from_its_code_and_details_never_from_its_english_message() -> None:
    t = Texts("vi")

    assert _error_text(Conflict("the ticket is still open"), t) == t("common.conflict")
    assert _error_text(Conflict("the ticket is still open", reason="ticket_open", ticket=2), t) == \
        "Phiếu #2 vẫn đang mở; chỉ chấm điểm được sau khi phiếu đóng."
    assert _error_text(Conflict("x", reason="ticket_open"), t) == t("common.conflict")  # a detail missing
    assert _error_text(InvalidInput("a rating is 1 to 5"), t) == t("common.invalid")
    assert _error_text(AlreadyDone("task already done"), Texts("en")) == "This has already been done."


async def test_approving_an_erasure_twice_says_in_vietnamese_that_it_was_decided(
        support_engine: Engine) -> None:
    customer, thao = ChatDriver(support_engine, "555009"), ChatDriver(support_engine, "3001")
    await customer.say("/privacy")
    await customer.press("Yêu cầu xóa")
    thao.buttons = customer.pushed_to("3001")[0].keyboard.buttons()  # type: ignore[union-attr]
    await thao.press("Duyệt")
    confirm = next(b.data for b in thao.buttons if "Xóa vĩnh viễn" in b.label)
    await thao.tap(confirm)

    await thao.tap(confirm)

    assert thao.text.startswith("Yêu cầu #1 đã được xử lý trước đó.")
    assert "already" not in thao.text
