"""A customer's conversation around a person (issue 11): tickets never lock them out, off-topic questions are declined,
honesty when nobody can answer, typed ratings after a close, replies routed by message id only, one voice, staff
notices laid out on lines, hand-offs to staff who speak the customer's language."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.engine import Engine
from bot.handlers import ROUTER
from bot.handlers.customer import declined_text
from bot.handlers.views import reminder_reply
from bot.texts import Texts
from crm_core.clock import FrozenClock
from crm_core.config import Settings
from crm_core.models import CustomerQuestion, Interaction, Ticket, TicketMessage
from crm_core.ports import Ports
from crm_core.services import Services
from crm_core.uow import UnitOfWork
from tests.bot.conftest import ChatDriver

VI = Texts("vi")
EN = Texts("en")
COLOUR_QUESTION = "bàn AP-D140 có màu đen không"
OFF_TOPIC = "thời tiết Sài Gòn mai thế nào?"


@pytest_asyncio.fixture
async def customer(support_engine: Engine) -> ChatDriver:
    """A customer in a private Telegram chat."""
    return ChatDriver(support_engine, "555001")


@pytest_asyncio.fixture
async def lan(support_engine: Engine) -> ChatDriver:
    """Lan, salesperson (Vietnamese)."""
    return ChatDriver(support_engine, "1001")


@pytest_asyncio.fixture
async def tuan(support_engine: Engine) -> ChatDriver:
    """Tuấn, salesperson (Vietnamese)."""
    return ChatDriver(support_engine, "1002")


@pytest_asyncio.fixture
async def thao(support_engine: Engine) -> ChatDriver:
    """Thảo, admin."""
    return ChatDriver(support_engine, "3001")


@pytest_asyncio.fixture
async def empty_home(sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock, shipped_knowledge: Any,
                     ) -> AsyncIterator[Engine]:
    """A home with the shipped knowledge and no staff at all."""
    yield Engine(sessionmaker=sessionmaker, clock=clock, settings=Settings(), router=ROUTER,
                 render_reminder=reminder_reply, ports=Ports(knowledge=shipped_knowledge))


async def _rows(sessionmaker: async_sessionmaker[AsyncSession], model: Any) -> list[Any]:
    async with sessionmaker() as session:
        return list(await session.scalars(select(model).order_by(model.id)))


async def _close_ticket_one(customer: ChatDriver, lan: ChatDriver, *, name: str | None = None) -> None:
    await customer.say("gặp nhân viên", display_name=name)
    await lan.say("/reply 1 Dạ em đây ạ")
    await lan.say("/close 1")


# --- tickets never lock a customer out ---------------------------------------------------------------------------


async def test_while_a_ticket_is_open_a_question_the_knowledge_answers_is_answered_and_copied_to_the_ticket(
        customer: ChatDriver, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    await customer.say("gặp nhân viên")

    replies = await customer.say(COLOUR_QUESTION)

    assert "Trắng" in replies[0].text
    assert VI("support.answered_on_ticket", ticket=1) in replies[0].text
    assert VI("support.relayed", ticket=1) not in customer.text
    lines = [(m.author, m.text) for m in await _rows(sessionmaker, TicketMessage)]
    assert ("customer", COLOUR_QUESTION) in lines
    assert lines[-1][0] == "bot"
    assert "Trắng" in lines[-1][1]
    assert len(await _rows(sessionmaker, Ticket)) == 1


async def test_while_a_ticket_is_open_words_for_the_person_still_go_to_them(
        customer: ChatDriver, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    await customer.say("gặp nhân viên")

    for text in ("khi nào bên em gọi lại vậy?", "dạ vâng, chị chờ nhé"):
        await customer.say(text)
        assert VI("support.relayed", ticket=1) in customer.text

    assert [q.question for q in await _rows(sessionmaker, CustomerQuestion)] == ["gặp nhân viên"]


@pytest.mark.parametrize("text", [
    "sao lâu vậy", "lâu quá", "alo shop", "có ai không", "nhanh giúp em", "còn đó không", "any update?", "hello?",
    "ok anh", "vâng em gửi ảnh đây", "đơn số AV123 nhé",
])
async def test_while_a_ticket_is_open_chasing_and_replies_to_staff_go_to_the_person_not_the_knowledge(
        customer: ChatDriver, sessionmaker: async_sessionmaker[AsyncSession], text: str) -> None:
    await customer.say("gặp nhân viên")

    await customer.say(text)

    # Acknowledged in the message's own language when its words decide one ("any update?"), else the last one's.
    said = EN if text == "any update?" else VI
    assert customer.text == said("support.relayed", ticket=1)
    assert [q.question for q in await _rows(sessionmaker, CustomerQuestion)] == ["gặp nhân viên"]
    assert [(m.author, m.text) for m in await _rows(sessionmaker, TicketMessage)][-1] == ("customer", text)


async def test_while_a_ticket_is_open_a_colour_asked_like_a_presence_check_is_still_looked_up(
        customer: ChatDriver) -> None:
    await customer.say("gặp nhân viên")

    await customer.say("bàn AP-D140 còn đỏ không")  # 'còn đỏ không' folds like 'còn đó không' (are you there?)

    assert VI("support.relayed", ticket=1) not in customer.text
    assert VI("support.answered_on_ticket", ticket=1) in customer.text


async def test_an_off_topic_question_is_declined_without_a_ticket_and_a_person_is_one_tap_away(
        customer: ChatDriver, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    await customer.say(OFF_TOPIC)

    assert customer.text == declined_text("out_of_scope", VI)
    assert await _rows(sessionmaker, Ticket) == []
    await customer.say(COLOUR_QUESTION)
    assert "Trắng" in customer.text

    await customer.say(OFF_TOPIC)
    await customer.press(VI("support.btn_human"))
    assert [t.reason for t in await _rows(sessionmaker, Ticket)] == ["asked_for_human"]


async def test_with_no_staff_a_hand_off_promises_nothing_and_admins_see_it_in_tickets(
        empty_home: Engine, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock) -> None:
    customer = ChatDriver(empty_home, "555009")

    await customer.say("cho tôi gặp nhân viên")

    assert customer.text == VI("support.handoff_nobody", ticket=1)
    assert "30 phút" not in customer.text
    async with UnitOfWork(sessionmaker) as uow:
        await Services.build(uow.session, now=clock.now()).users.add(name="Thảo", role="admin", telegram_id=3001)
    admin = ChatDriver(empty_home, "3001")
    await admin.say("/tickets")
    assert admin.text.split("\n")[1].startswith("#1 ")
    assert admin.text.split("\n")[1].endswith(VI("staff.unassigned_mark"))


async def test_with_no_staff_a_shared_phone_is_kept_without_a_promise_of_a_call(empty_home: Engine) -> None:
    customer = ChatDriver(empty_home, "555010")
    await customer.say("bàn AP-D120 giá bao nhiêu")

    await customer.say(None, shared_phone="0912345678")

    assert customer.text == VI("support.lead_thanks_nobody")


# --- satisfaction after a close --------------------------------------------------------------------------------


@pytest.mark.parametrize(("typed", "score"), [("4", 4), ("5 sao", 5), ("tốt lắm", 5), ("4 điểm", 4),
                                              ("⭐⭐⭐⭐", 4), ("cho 3 điểm nha shop", 3),
                                              ("5 sao nha shop, cam on e", 5), ("⭐⭐⭐⭐⭐ cảm ơn", 5)])
async def test_a_rating_typed_right_after_close_is_the_rating(
        customer: ChatDriver, lan: ChatDriver, sessionmaker: async_sessionmaker[AsyncSession], typed: str,
        score: int) -> None:
    await _close_ticket_one(customer, lan)

    await customer.say(typed)

    assert customer.text == VI("support.rated", score=score)
    assert [(t.status, t.csat) for t in await _rows(sessionmaker, Ticket)] == [("closed", score)]


@pytest.mark.parametrize(("typed", "score"), [("4 sao thôi vì giao hơi chậm", 4), ("hàng đẹp, giao nhanh, 5 sao", 5),
                                              ("⭐⭐ ghế bị lỗi tay vịn", 2)])
async def test_a_reason_typed_beside_the_rating_is_kept_on_the_ticket_and_told_to_its_handler(
        customer: ChatDriver, lan: ChatDriver, sessionmaker: async_sessionmaker[AsyncSession], typed: str,
        score: int) -> None:
    await _close_ticket_one(customer, lan, name="Ngọc")

    await customer.say(typed, display_name="Ngọc")

    assert customer.text == VI("support.rated_low" if score <= 2 else "support.rated", score=score)
    assert [(t.status, t.csat) for t in await _rows(sessionmaker, Ticket)] == [("closed", score)]
    assert [(m.author, m.text) for m in await _rows(sessionmaker, TicketMessage)][-1] == ("customer", typed)
    assert [r.text for r in customer.pushed_to("1001")] == [
        VI("staff.ticket_rated", ticket=1, customer="Ngọc", score=score, text=typed)]


async def test_a_low_rating_is_passed_on_and_the_customer_told_so(customer: ChatDriver, lan: ChatDriver) -> None:
    await _close_ticket_one(customer, lan, name="Ngọc")

    await customer.say("1 sao", display_name="Ngọc")

    assert customer.text == VI("support.rated_low", score=1)
    assert [r.text for r in customer.pushed_to("1001")] == [VI("staff.ticket_rated_low", ticket=1, customer="Ngọc",
                                                               score=1)]


async def test_a_star_pressed_after_a_typed_rating_changes_it_and_the_handler_hears_of_the_change(
        customer: ChatDriver, lan: ChatDriver, sessionmaker: async_sessionmaker[AsyncSession],
        clock: FrozenClock) -> None:
    await _close_ticket_one(customer, lan, name="Ngọc")
    rating = lan.pushed_to("555001")[0]
    await customer.say("⭐⭐⭐ ship hơi lâu", display_name="Ngọc")
    assert rating.keyboard is not None
    customer.buttons = rating.keyboard.buttons()
    clock.advance(timedelta(minutes=5))  # she thinks again

    await customer.press("⭐⭐⭐⭐⭐")

    assert [t.csat for t in await _rows(sessionmaker, Ticket)] == [5]
    assert [r.text for r in customer.pushed_to("1001")] == [VI("staff.ticket_rerated", ticket=1, customer="Ngọc",
                                                               before=3, score=5)]


async def test_stars_tapped_in_a_row_tell_the_handler_only_of_falls_to_a_low_score(
        customer: ChatDriver, lan: ChatDriver, clock: FrozenClock) -> None:
    await _close_ticket_one(customer, lan, name="Ngọc")
    rating = lan.pushed_to("555001")[0]
    assert rating.keyboard is not None
    told: list[str] = []

    for stars in ("⭐", "⭐", "⭐⭐", "⭐", "⭐⭐⭐⭐⭐", "⭐"):
        customer.buttons = rating.keyboard.buttons()
        await customer.press(stars)
        told += [r.text for r in customer.pushed_to("1001")]

    # Taps within the minute tell nothing new, but a fall to a low score is always told.
    assert told == [VI("staff.ticket_rated_low", ticket=1, customer="Ngọc", score=1),
                    VI("staff.ticket_rerated", ticket=1, customer="Ngọc", before=5, score=1)]


async def test_a_day_after_the_close_old_stars_change_nothing(
        customer: ChatDriver, lan: ChatDriver, clock: FrozenClock,
        sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    await _close_ticket_one(customer, lan)
    rating = lan.pushed_to("555001")[0]
    assert rating.keyboard is not None
    customer.buttons = rating.keyboard.buttons()
    await customer.press("⭐⭐⭐⭐")
    clock.advance(timedelta(days=2))

    customer.buttons = rating.keyboard.buttons()
    await customer.press("⭐")

    assert [t.csat for t in await _rows(sessionmaker, Ticket)] == [4]
    assert [r for r in customer.last if r.chat_id is not None] == []


async def test_a_rating_typed_with_its_unit_counts_even_after_other_words_since_the_close(
        customer: ChatDriver, lan: ChatDriver, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    await _close_ticket_one(customer, lan, name="Ngọc")
    await customer.say("ủa xong rồi hả", display_name="Ngọc")

    await customer.say("3 sao thôi", display_name="Ngọc")

    assert customer.text == VI("support.rated", score=3)
    assert [(t.status, t.csat) for t in await _rows(sessionmaker, Ticket)] == [("closed", 3)]


async def test_a_typed_rating_after_the_stars_changes_it_and_the_handler_reads_why(
        customer: ChatDriver, lan: ChatDriver, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    await _close_ticket_one(customer, lan, name="Ngọc")
    rating = lan.pushed_to("555001")[0]
    assert rating.keyboard is not None
    customer.buttons = rating.keyboard.buttons()
    await customer.press("⭐⭐⭐⭐")

    await customer.say("thôi 2 sao vì phải chờ lâu", display_name="Ngọc")

    assert [(t.status, t.csat) for t in await _rows(sessionmaker, Ticket)] == [("closed", 2)]
    assert [r.text for r in customer.pushed_to("1001")] == [VI(
        "staff.ticket_rerated_remark", ticket=1, customer="Ngọc", before=4, score=2, text="thôi 2 sao vì phải chờ lâu")]


@pytest.mark.parametrize("typed", ["em đã chuyển khoản ngày 4/5", "bên em có ghế loại 5 sao", "1/5 mình qua lấy",
                                   "em cho 5 sao trên google rồi"])
async def test_a_date_a_grade_or_another_sites_stars_later_on_change_no_rating(
        customer: ChatDriver, lan: ChatDriver, sessionmaker: async_sessionmaker[AsyncSession], typed: str) -> None:
    await _close_ticket_one(customer, lan)
    await customer.say("5 sao")
    await customer.say(COLOUR_QUESTION)

    await customer.say(typed)

    assert [t.csat for t in await _rows(sessionmaker, Ticket)][:1] == [5]
    rated = VI("staff.ticket_rerated", ticket=1, customer="|", before=5, score=5).split("|")[0]
    assert [r.text for r in customer.last if r.text.startswith(rated)] == []


async def test_the_same_rating_and_reason_typed_again_is_kept_and_told_once(
        customer: ChatDriver, lan: ChatDriver, clock: FrozenClock,
        sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    await _close_ticket_one(customer, lan)
    told: list[str] = []

    for _ in range(3):
        await customer.say("1 sao vì giao chậm")
        told += [r.text for r in customer.pushed_to("1001")]
        clock.advance(timedelta(minutes=10))

    assert len(told) == 1
    assert [m.text for m in await _rows(sessionmaker, TicketMessage)].count("1 sao vì giao chậm") == 1


async def test_a_bare_rating_tells_nobody(customer: ChatDriver, lan: ChatDriver) -> None:
    await _close_ticket_one(customer, lan)

    await customer.say("năm sao")

    assert customer.text == VI("support.rated", score=5)
    assert [r for r in customer.last if r.chat_id is not None] == []


@pytest.mark.parametrize("typed", ["5 sao. Cho e hỏi bàn AP-D140 còn hàng ko", "4 sao, còn màu đen không",
                                   "5 sao, bàn AP-D140 còn hàng không ạ", "4 sao, ghế bị gãy chân rồi, đổi cho em"])
async def test_a_question_or_a_request_beside_a_score_is_no_rating(
        customer: ChatDriver, lan: ChatDriver, sessionmaker: async_sessionmaker[AsyncSession], typed: str) -> None:
    await _close_ticket_one(customer, lan)

    await customer.say(typed)

    assert customer.text not in [VI("support.rated", score=score) for score in range(1, 6)]
    assert [t.csat for t in await _rows(sessionmaker, Ticket)][:1] == [None]


async def test_a_call_back_asked_beside_a_score_goes_to_a_person(
        customer: ChatDriver, lan: ChatDriver, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    await _close_ticket_one(customer, lan)

    await customer.say("5 sao, gọi lại cho em 0912345678")

    assert [(t.status, t.csat) for t in await _rows(sessionmaker, Ticket)] == [("closed", None), ("open", None)]


@pytest.mark.parametrize("typed", ["5 bộ giá bao nhiêu", "mua 4 cái", "giao 5 ngày à?"])
async def test_a_number_in_a_question_right_after_close_is_not_a_rating(
        customer: ChatDriver, lan: ChatDriver, sessionmaker: async_sessionmaker[AsyncSession], typed: str) -> None:
    await _close_ticket_one(customer, lan)

    await customer.say(typed)

    assert customer.text not in [VI("support.rated", score=score) for score in range(1, 6)]
    assert [t.csat for t in await _rows(sessionmaker, Ticket)][:1] == [None]


async def test_an_english_customers_typed_rating_is_thanked_in_english(
        support_engine: Engine, lan: ChatDriver, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    customer = ChatDriver(support_engine, "555002", language_code="en")
    await customer.say("I want to talk to a person")
    await lan.say("/close 1")

    await customer.say("4")

    assert customer.text == EN("support.rated", score=4)
    assert [t.csat for t in await _rows(sessionmaker, Ticket)] == [4]


async def test_thanks_after_a_close_is_acknowledged_with_the_stars_not_relayed(
        customer: ChatDriver, lan: ChatDriver, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    await _close_ticket_one(customer, lan)

    replies = await customer.say("thanks shop")

    assert customer.text == VI("support.thanks_after_close", ticket=1)
    assert replies[0].keyboard is not None
    assert [b.label for b in replies[0].keyboard.buttons()][-1] == "⭐⭐⭐⭐⭐"
    assert [r for r in replies if r.chat_id is not None] == []
    assert len(await _rows(sessionmaker, Ticket)) == 1
    await customer.say("5")
    assert [t.csat for t in await _rows(sessionmaker, Ticket)] == [5]


async def test_a_number_is_not_a_rating_once_the_ticket_is_rated(
        customer: ChatDriver, lan: ChatDriver, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    await _close_ticket_one(customer, lan)
    rating = lan.pushed_to("555001")[0]
    assert rating.keyboard is not None
    customer.buttons = rating.keyboard.buttons()
    await customer.press("⭐⭐⭐")

    await customer.say("4")

    assert [t.csat for t in await _rows(sessionmaker, Ticket)][:1] == [3]
    assert customer.text != VI("support.rated", score=4)


# --- replies routed by message id only -----------------------------------------------------------------------------


async def test_a_customer_named_like_a_ticket_cannot_redirect_a_reply_to_the_lead_notice(
        customer: ChatDriver, support_engine: Engine) -> None:
    await customer.say("gặp nhân viên")  # ticket #1, Lan's
    imposter = ChatDriver(support_engine, "555066")
    await imposter.say("bàn AP-D120 giá bao nhiêu", display_name="Phiếu #1 Anh Ba")
    replies = await imposter.say(None, shared_phone="0912345678", display_name="Phiếu #1 Anh Ba")
    lead_notice = next(r for r in replies if r.chat_id in ("1001", "1002"))
    salesperson = ChatDriver(support_engine, lead_notice.chat_id or "")

    await salesperson.say("Dạ em gọi lại anh ngay", reply_to=lead_notice)

    assert salesperson.pushed_to("555001") == []
    assert salesperson.text == VI("staff.reply_not_a_ticket")


async def test_a_reply_to_the_erasure_notice_reaches_no_customer(customer: ChatDriver, thao: ChatDriver) -> None:
    await customer.say("gặp nhân viên")
    await customer.say("/privacy")
    replies = await customer.press(VI("privacy.btn_erase"))
    notice = next(r for r in replies if r.chat_id == "3001")

    await thao.say("ok để chị xem", reply_to=notice)

    assert thao.pushed_to("555001") == []
    assert thao.text == VI("staff.reply_not_a_ticket")


# --- staff notices on lines ----------------------------------------------------------------------------------------


async def test_a_ticket_notice_puts_customer_phone_conversation_and_commands_on_their_own_lines(
        customer: ChatDriver) -> None:
    await customer.say(COLOUR_QUESTION, display_name="Chị Hoa")
    await customer.say(None, shared_phone="0912345678")
    await customer.say("gặp nhân viên")
    notice = customer.pushed_to("1001") or customer.pushed_to("1002")

    lines = notice[0].text.split("\n")
    assert any(line.endswith("Chị Hoa") for line in lines)
    assert any(line.endswith("0912345678") for line in lines)
    assert any("/close 1" in line and "/reply" not in line for line in lines)
    assert any(line.startswith("👤 " + COLOUR_QUESTION) for line in lines)


async def test_a_lead_notice_is_laid_out_on_lines_in_the_readers_words(customer: ChatDriver) -> None:
    await customer.say("bàn AP-D120 giá bao nhiêu", display_name="Chị Hoa")

    replies = await customer.say(None, shared_phone="0912345678")

    notice = next(r for r in replies if r.chat_id is not None)
    lines = notice.text.split("\n")
    assert any(line.endswith("Chị Hoa") for line in lines)
    assert any(line.endswith("0912345678") and "Chị Hoa" not in line for line in lines)
    assert "round_robin" not in notice.text
    assert VI("staff.rule_round_robin") in notice.text


# --- wording -------------------------------------------------------------------------------------------------------


async def test_a_customers_start_has_no_staff_note_and_id_tells_the_id(customer: ChatDriver) -> None:
    await customer.say("/start")
    assert "555001" not in customer.text
    assert customer.text == VI("support.welcome")

    await customer.say("/id")
    assert "555001" in customer.text


async def test_outside_hours_the_customer_reads_the_hours_in_vietnamese(customer: ChatDriver,
                                                                        clock: FrozenClock) -> None:
    from datetime import timedelta

    clock.advance(timedelta(hours=11))  # Monday 21:00

    await customer.say("tôi muốn nói chuyện với người thật")

    assert "Thứ 2–Thứ 7, 8:00–17:30" in customer.text
    assert "Mon" not in customer.text


async def test_a_complaint_is_not_called_a_question(customer: ChatDriver) -> None:
    await customer.say("hàng giao bị trầy xước, tôi rất bực mình, làm ăn kiểu gì vậy")

    assert "câu hỏi" not in customer.text
    assert " bạn" not in customer.text


async def test_the_bot_text_kept_on_the_contact_is_what_the_customer_read(
        customer: ChatDriver, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    await customer.say(OFF_TOPIC)
    declined = customer.text
    await customer.say("cho tôi gặp nhân viên")
    told = customer.text

    notes = [n.summary for n in await _rows(sessionmaker, Interaction) if n.source == "bot"]
    assert notes == [f"{OFF_TOPIC}\n→ {declined}", f"cho tôi gặp nhân viên\n→ {told}"]
    questions = await _rows(sessionmaker, CustomerQuestion)
    assert [q.answer for q in questions] == [declined, told]
    lines = [(m.author, m.text) for m in await _rows(sessionmaker, TicketMessage)]
    assert lines[-1] == ("bot", told)


async def test_a_hand_off_goes_to_a_salesperson_who_speaks_the_customers_language_in_their_language(
        support_engine: Engine, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock,
        tmp_path: Path) -> None:
    async with UnitOfWork(sessionmaker) as uow:
        await Services.build(uow.session, now=clock.now()).users.add(name="Daniel", role="sales", telegram_id=1009,
                                                                       language="en")
    english = ChatDriver(support_engine, "555003", language_code="en")
    vietnamese = ChatDriver(support_engine, "555004")

    await english.say("I want to talk to a person")
    to_daniel = english.pushed_to("1009")
    await vietnamese.say("hàng giao bị trầy xước, tôi rất bực mình, làm ăn kiểu gì vậy")

    assert len(to_daniel) == 1
    assert to_daniel[0].text.startswith("🎫 Ticket #1")
    assert vietnamese.pushed_to("1009") == []
    assert vietnamese.pushed_to("1001") or vietnamese.pushed_to("1002")


async def test_customer_shows_the_customers_own_messages_as_theirs(customer: ChatDriver, lan: ChatDriver) -> None:
    await customer.say("bàn AP-D120 giá bao nhiêu", display_name="Phạm Thị Hoa")
    await customer.say(None, shared_phone="0912345678")  # the contact is now Lan's or Tuấn's
    await customer.say("gặp nhân viên")
    await customer.say("tôi cần 20 bộ bàn cho văn phòng mới")

    await lan.say("/customer Phạm Thị Hoa")

    mine = next(line for line in lan.text.split("\n") if "20 bộ bàn" in line)
    assert f"({VI('customer.by_customer', name='Phạm Thị Hoa')})" in mine
    assert "(Lan)" not in mine
    assert "(Tuấn)" not in mine


# --- an answer about her personal data points to /privacy ------------------------------------------------------


async def test_an_answer_about_her_personal_data_offers_privacy_in_the_chat(customer: ChatDriver) -> None:
    await customer.say("tôi muốn xóa hết dữ liệu cá nhân của tôi thì làm sao")

    assert VI("support.privacy_hint") in customer.text


async def test_an_answer_about_anything_else_does_not(customer: ChatDriver) -> None:
    await customer.say(COLOUR_QUESTION)

    assert VI("support.privacy_hint") not in customer.text
