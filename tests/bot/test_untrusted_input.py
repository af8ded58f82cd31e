"""Input nobody should trust cannot crash a handler (issue 9, "Inputs").

Forged buttons and command ids out of the store's range, invisible or invalid characters, values
longer than their columns, a group chat shared by several salespeople, edits of saved logs, a
customer flooding staff with messages, and a crash while nothing could be kept: each gets a short
answer (compared by text key) and leaves the store consistent, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import unicodedata
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from bot.core.callbacks import StaleCallback, unpack
from bot.core.engine import Engine
from bot.core.inputs import parse_id
from bot.core.messages import Inbound, Reply
from bot.texts import Texts
from crm_core.clock import FrozenClock
from crm_core.flows.logs import LogFlow
from crm_core.flows.support import SupportFlow
from crm_core.models import Company, Contact, DialogState, LogDraft, Ticket, User
from crm_core.services.logs import LogService
from tests.bot.conftest import ChatDriver
from tests.conftest import OpenServices

VI = Texts("vi")
GROUP = "-100777"


def _texts(replies: list[Reply]) -> list[str]:
    return [r.text for r in replies if r.chat_id is None]


async def _rows(open_services: OpenServices, model: Any) -> list[Any]:
    async with open_services() as services:
        return list(await services.session.scalars(select(model).order_by(model.id)))


# --- 1. ids from buttons and commands are checked before they reach SQL ------------------------------------


@pytest.mark.parametrize(("text", "expected"), [("1", 1), ("0042", 42), ("2147483647", 2147483647),
                                                ("2147483648", None), ("3000000000", None), ("0", None),
                                                ("-1", None), ("+1", None), (" 1", None), ("²", None), ("٣", None),
                                                ("1" * 23, None), ("", None), ("1e3", None)])
def test_an_id_is_ascii_digits_within_the_store_range(text: str, expected: int | None) -> None:
    assert parse_id(text) == expected


def test_zero_is_an_id_only_where_a_button_means_none_by_it() -> None:
    assert parse_id("0", allow_zero=True) == 0
    assert unpack("log:v1:co:7:0").arg_int(1, allow_zero=True) == 0
    with pytest.raises(StaleCallback):
        unpack("log:v1:co:7:0").arg_int(1)
    with pytest.raises(StaleCallback):
        unpack("log:v1:co:7").arg_int(1, allow_zero=True)


@pytest.mark.parametrize("data", [
    "deal:v1:open:3000000000",
    "deal:v1:open:99999999999999999999999",
    "deal:v1:open:²",
    "deal:v1:open:-1",
    "deal:v1:open:0",
    "task:v1:done:3000000000",
    "task:v1:until:1:forever",
    "cust:v1:open:2147483648",
    "log:v1:save:3000000000",
    "log:v1:co:1:3000000000",
    "deals:v1:page:1:99999999999999999999999",
])
async def test_a_forged_button_id_is_a_stale_button(lan: ChatDriver, data: str) -> None:
    await lan.tap(data)
    assert lan.text == VI("common.stale_button")


async def test_a_forged_customer_button_id_is_a_stale_button(stranger: ChatDriver) -> None:
    await stranger.tap("csat:v1:rate:3000000000:5")
    assert stranger.text == VI("common.stale_button")


async def test_the_largest_id_the_store_holds_is_only_not_found(lan: ChatDriver) -> None:
    await lan.tap("deal:v1:open:2147483647")
    assert lan.text == VI("common.not_found")


@pytest.mark.parametrize("command", ["/deal 3000000000", "/deal #99999999999999999999999", "/deal ²",
                                     "/reply 99999999999999999999999 hi", "/reply 3000000000 hi",
                                     "/close 3000000000"])
async def test_an_id_out_of_range_in_a_command_is_not_found(lan: ChatDriver, command: str) -> None:
    await lan.say(command)
    assert lan.text == VI("common.not_found")


@pytest.mark.parametrize(("command", "usage"), [("/close ²", "staff.close_usage"),
                                                ("/reply ² xin chào", "staff.reply_usage"),
                                                ("/close", "staff.close_usage")])
async def test_a_command_id_that_is_no_number_gets_the_usage(lan: ChatDriver, command: str, usage: str) -> None:
    await lan.say(command)
    assert lan.text == VI(usage)


# --- 2. text is normalised at the door ---------------------------------------------------------------------


async def test_a_zero_width_space_does_not_cut_a_name(lan: ChatDriver, open_services: OpenServices) -> None:
    await lan.say("Gọi anh Mi\u200bnh bên Hòa Phát, gửi báo giá ngày mai")
    await lan.press("Lưu")
    assert [c.name for c in await _rows(open_services, Contact)] == ["Minh"]


async def test_a_bidi_override_cannot_disguise_a_company(lan: ChatDriver, open_services: OpenServices) -> None:
    # U+202E would show "táhP aòH" as "Hòa Phát"; the override is dropped, so what is stored is what shows.
    await lan.say("Gặp anh Minh bên Công ty \u202etáhP aòH\u202c, báo giá 500 triệu")
    await lan.press("Lưu")
    names = [c.name for c in await _rows(open_services, Company)]
    assert names == ["táhP aòH"]
    drafts = await _rows(open_services, LogDraft)
    assert "\u202e" not in drafts[0].raw_text


@pytest.mark.parametrize("dirty", ["Gọi anh Minh\x00 bên Hòa Phát, gửi báo giá ngày mai",
                                   "Gọi anh Minh bên Hòa Phát\ud800, gửi báo giá ngày mai",
                                   "Gọi anh Minh bên Hòa Phát\u2066\u2069, gửi báo giá\ufeff ngày mai"])
async def test_nul_lone_surrogates_and_invisible_marks_are_dropped(lan: ChatDriver, open_services: OpenServices,
                                                                  dirty: str) -> None:
    await lan.say(dirty)
    assert VI("log.preview_title") in lan.text
    await lan.press("Lưu")
    drafts = await _rows(open_services, LogDraft)
    assert [d.raw_text for d in drafts] == ["Gọi anh Minh bên Hòa Phát, gửi báo giá ngày mai"]
    assert [c.name for c in await _rows(open_services, Company)] == ["Hòa Phát"]


async def test_decomposed_vietnamese_is_stored_composed(lan: ChatDriver, open_services: OpenServices) -> None:
    await lan.say(unicodedata.normalize("NFD", "Gọi anh Minh bên Hòa Phát, gửi báo giá ngày mai"))
    drafts = await _rows(open_services, LogDraft)
    assert drafts[0].raw_text == unicodedata.normalize("NFC", "Gọi anh Minh bên Hòa Phát, gửi báo giá ngày mai")


# --- 3. values longer than their columns are refused with a message ----------------------------------------


async def test_a_company_name_longer_than_its_column_is_named_not_saved(lan: ChatDriver,
                                                                        open_services: OpenServices) -> None:
    await lan.say("Gặp anh Minh bên Công ty " + "Thép" * 72 + ", báo giá 500 triệu")
    assert VI("log.too_long_field", field=VI("field.company"), limit=200) in lan.text
    await lan.press("Lưu")
    assert VI("common.unexpected") not in lan.text
    assert await _rows(open_services, Company) == []
    assert [c.name for c in await _rows(open_services, Contact)] == ["Minh"]


async def test_an_email_longer_than_its_column_is_named_not_saved(lan: ChatDriver,
                                                                  open_services: OpenServices) -> None:
    await lan.say("Gọi anh Minh bên Hòa Phát, email " + "a" * 202 + "@example.com, gửi báo giá ngày mai")
    assert VI("log.too_long_field", field=VI("field.email"), limit=200) in lan.text
    await lan.press("Lưu")
    contacts = await _rows(open_services, Contact)
    assert [(c.name, c.email) for c in contacts] == [("Minh", None)]


async def test_an_edited_value_longer_than_its_column_is_asked_again(lan: ChatDriver,
                                                                     open_services: OpenServices) -> None:
    await lan.say("Gọi anh Minh bên Hòa Phát, gửi báo giá ngày mai")
    await lan.press("Sửa")
    await lan.press("Công ty")
    await lan.say("Công ty " + "Thép" * 72)
    # Said what to type, with the card shown again (issue 10).
    assert VI("log.too_long_value", field=VI("field.company").lower(), length=296, limit=200) in lan.text
    assert VI("log.company_new", name="Hòa Phát") in lan.text
    await lan.say("Thép Việt")  # still waiting for the company
    assert VI("log.company_new", name="Thép Việt") in lan.text
    await lan.press("Lưu")
    assert [c.name for c in await _rows(open_services, Company)] == ["Thép Việt"]


# --- 4. dialog state belongs to one person in one chat ----------------------------------------------------


async def _in_group(driver: ChatDriver, *, text: str | None = None, data: str | None = None) -> list[Reply]:
    """Say `text` or press `data` in the shared group chat."""
    inbound = Inbound(channel="telegram", chat_id=GROUP, user_id=driver.user_id, text=text, callback_data=data,
                      callback_id="cb" if data else None, language_code="vi", is_group=True)
    return await driver.engine.handle(inbound)


async def test_an_edit_in_a_group_waits_for_its_author_only(lan: ChatDriver, engine: Engine,
                                                          open_services: OpenServices) -> None:
    await lan.say("Gọi anh Minh bên Hòa Phát, gửi báo giá ngày mai")
    draft_id = (await _rows(open_services, LogDraft))[0].id
    await _in_group(lan, data=f"log:v1:f:{draft_id}:company")
    tuan = ChatDriver(engine, "1002")

    assert await _in_group(tuan, text="Trưa nay ăn gì?") == []  # staff chat among themselves; not Lan's edit
    replies = await _in_group(lan, text="Thép Việt")

    assert any(VI("log.company_new", name="Thép Việt") in text for text in _texts(replies))
    assert (await _rows(open_services, LogDraft))[0].fields["company"] == "Thép Việt"


async def test_a_deactivated_salesperson_waiting_in_an_edit_is_not_in_it_anymore(
        lan: ChatDriver, open_services: OpenServices) -> None:
    await lan.say("Gọi anh Minh bên Hòa Phát, gửi báo giá ngày mai")
    await lan.press("Sửa")
    await lan.press("Công ty")
    async with open_services() as services:
        await services.session.execute(update(User).where(User.name == "Lan").values(active=False))

    await lan.say("Thép Việt")

    assert VI("common.unexpected") not in lan.text
    assert VI("common.unexpected_not_kept") not in lan.text
    assert await _rows(open_services, DialogState) == []
    assert (await _rows(open_services, LogDraft))[0].fields["company"] == "Hòa Phát"


# --- 5. edited messages ------------------------------------------------------------------------------------


async def test_an_edit_of_a_saved_log_says_it_is_saved_and_keeps_the_text(lan: ChatDriver,
                                                                          open_services: OpenServices) -> None:
    await lan.say("Gọi anh Minh bên Hòa Phát, gửi báo giá ngày mai", message_id=700)
    await lan.press("Lưu")
    await lan.say("Gọi anh Minh bên Hòa Phát, gửi báo giá thứ Sáu", message_id=700, is_edit=True)
    assert lan.text == VI("log.edit_after_save", minutes=5)
    drafts = await _rows(open_services, LogDraft)
    assert [(d.status, d.raw_text) for d in drafts] == [
        ("saved", "Gọi anh Minh bên Hòa Phát, gửi báo giá ngày mai"),
        ("edited", "Gọi anh Minh bên Hòa Phát, gửi báo giá thứ Sáu")]


async def test_an_edit_of_a_cancelled_log_says_so(lan: ChatDriver) -> None:
    await lan.say("Gọi anh Minh bên Hòa Phát, gửi báo giá ngày mai", message_id=701)
    await lan.press("Hủy")
    await lan.say("Gọi anh Minh bên Hòa Phát, gửi báo giá thứ Sáu", message_id=701, is_edit=True)
    assert lan.text == VI("log.edit_after_cancel")


async def test_an_edit_of_a_message_that_made_no_log_says_it_was_not_applied(lan: ChatDriver) -> None:
    await lan.say("nhắc tôi gọi lại anh Minh thứ 6", message_id=702)
    await lan.say("nhắc tôi gọi lại anh Minh thứ 5", message_id=702, is_edit=True)
    assert lan.text == VI("log.edit_not_applied")


# --- 6. a customer cannot flood staff with notifications ---------------------------------------------------


def _ticket_notices(replies: list[Reply]) -> list[Reply]:
    return [r for r in replies if r.chat_id is not None and (r.ref or "").startswith("ticket:")]


async def test_a_flood_of_customer_messages_notifies_once_a_minute_per_ticket(
        engine: Engine, clock: FrozenClock, open_services: OpenServices) -> None:
    customers = [ChatDriver(engine, f"55500{n}") for n in range(5)]
    for customer in customers:
        await customer.say("Tôi cần gặp nhân viên tư vấn")  # no knowledge base here: a ticket opens
    notified = []
    for _ in range(20):
        for customer in customers:
            notified += _ticket_notices(await customer.say("Bên anh trả lời giúp em với " + "ạ" * 1900))
    assert len(notified) == 5  # the first message of each ticket, then nothing more that minute
    tickets = await _rows(open_services, Ticket)
    assert len(tickets) == 5

    clock.advance(timedelta(seconds=61))
    later = _ticket_notices(await customers[0].say("Còn ai ở đó không?"))

    assert len(later) == 1
    assert "Còn ai ở đó không?" in later[0].text
    assert "Bên anh trả lời giúp em với" in later[0].text  # the held-back messages come along


async def test_a_held_back_message_is_still_on_the_ticket(engine: Engine, open_services: OpenServices) -> None:
    customer = ChatDriver(engine, "555009")
    await customer.say("Tôi cần gặp nhân viên tư vấn")
    await customer.say("Tin thứ nhất")
    replies = await customer.say("Tin thứ hai")
    assert _ticket_notices(replies) == []
    assert VI("support.relayed", ticket=1) in customer.text
    async with open_services() as services:
        lines = [m.text for m in await services.support.transcript(1)]
    assert lines[-2:] == ["Tin thứ nhất", "Tin thứ hai"]


# --- 7. the generic error says the text was kept only when it was ------------------------------------------


def _explode(*args: object, **kwargs: object) -> None:
    raise RuntimeError("boom")


async def test_a_crash_on_a_staff_log_says_the_text_was_kept(lan: ChatDriver,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(LogFlow, "draft_from_text", _explode)
    await lan.say("Gọi anh Minh bên Hòa Phát")
    assert lan.text == VI("common.unexpected")


async def test_a_crash_on_a_customer_message_does_not_claim_it_was_kept(stranger: ChatDriver,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(SupportFlow, "customer_wrote", _explode)
    await stranger.say("Cho tôi hỏi giá bàn")
    assert stranger.text == VI("common.unexpected_not_kept")


async def test_a_crash_on_a_command_does_not_claim_it_was_kept(lan: ChatDriver,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(SupportFlow, "open_tickets", _explode)
    await lan.say("/tickets")
    assert lan.text == VI("common.unexpected_not_kept")


async def test_a_crash_when_keeping_fails_too_does_not_claim_it_was_kept(lan: ChatDriver,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(LogService, "draft", _explode)
    await lan.say("Gọi anh Minh bên Hòa Phát")
    assert lan.text == VI("common.unexpected_not_kept")
