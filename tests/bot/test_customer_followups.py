"""A customer's conversation after issue 11's new-user review: small talk is acknowledged, not screened or searched;
the shop's own contacts are answered, the customer's own payments and goods handed over; an open ticket does not
swallow questions; short messages keep the customer's language; staff read notices on lines; a named colleague gets
the ticket; disputes are met with an apology; a price with no product asks which one."""

from __future__ import annotations

from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.engine import Engine
from bot.texts import Texts
from crm_core.models import CustomerQuestion, Ticket, TicketMessage
from tests.bot.conftest import ChatDriver

VI = Texts("vi")
EN = Texts("en")


@pytest_asyncio.fixture
async def customer(support_engine: Engine) -> ChatDriver:
    """A customer in a private Telegram chat."""
    return ChatDriver(support_engine, "555001")


@pytest_asyncio.fixture
async def lan(support_engine: Engine) -> ChatDriver:
    """Lan, salesperson (Vietnamese)."""
    return ChatDriver(support_engine, "1001")


async def _rows(sessionmaker: async_sessionmaker[AsyncSession], model: Any) -> list[Any]:
    async with sessionmaker() as session:
        return list(await session.scalars(select(model).order_by(model.id)))


# --- 1. small talk --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("message", "kind"), [("em cảm ơn", "thanks"), ("dạ em cảm ơn ạ", "thanks"),
                                               ("cảm ơn em nhiều", "thanks"), ("ok e", "ack"), ("oki c", "ack"),
                                               ("hihi", "ack"), ("chào shop", "greeting")])
async def test_thanks_and_acknowledgements_get_a_short_reply_in_kind_and_open_no_ticket(
        customer: ChatDriver, sessionmaker: async_sessionmaker[AsyncSession], message: str, kind: str) -> None:
    await customer.say(message)

    assert customer.text == VI(f"support.small_talk.{kind}")
    assert await _rows(sessionmaker, Ticket) == []
    assert await _rows(sessionmaker, CustomerQuestion) == []


async def test_praise_after_a_rating_is_thanked_not_answered_from_the_knowledge(
        customer: ChatDriver, lan: ChatDriver, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    await customer.say("gặp nhân viên")
    await lan.say("/close 1")
    await customer.say("5")

    await customer.say("tốt lắm")

    assert customer.text == VI("support.small_talk.thanks")
    assert [q.question for q in await _rows(sessionmaker, CustomerQuestion)] == ["gặp nhân viên"]


# --- 2. what needs a person and what the knowledge answers ----------------------------------------------------------


@pytest.mark.parametrize("question", ["giá đã gồm vat chưa", "gia da gom vat chua", "cho em xin so hotline"])
async def test_the_vat_question_and_the_hotline_are_answered(
        customer: ChatDriver, sessionmaker: async_sessionmaker[AsyncSession], question: str) -> None:
    await customer.say(question)

    assert await _rows(sessionmaker, Ticket) == []
    assert [(q.handoff, q.reason) for q in await _rows(sessionmaker, CustomerQuestion)] == [(False, None)]


@pytest.mark.parametrize("question", ["đã nhận được tiền cọc chưa", "hàng về chưa shop"])
async def test_the_customers_own_deposit_or_goods_go_to_a_person(
        customer: ChatDriver, sessionmaker: async_sessionmaker[AsyncSession], question: str) -> None:
    await customer.say(question)

    assert [t.reason for t in await _rows(sessionmaker, Ticket)] == ["own_order"]


# --- 3. an open ticket does not lock the customer out --------------------------------------------------------------


@pytest.mark.parametrize("question", ["ghe c300 gia bn", "giờ mở cửa", "ship ra ha noi bao lau"])
async def test_with_a_ticket_open_a_question_without_a_question_mark_is_still_answered_and_copied(
        customer: ChatDriver, sessionmaker: async_sessionmaker[AsyncSession], question: str) -> None:
    await customer.say("gặp nhân viên")

    await customer.say(question)

    assert VI("support.answered_on_ticket", ticket=1) in customer.text
    lines = [(m.author, m.text) for m in await _rows(sessionmaker, TicketMessage)]
    assert ("customer", question) in lines
    assert lines[-1][0] == "bot"


@pytest.mark.parametrize("remark", ["dạ vâng, chị chờ nhé", "chị chuyển khoản rồi đó", "em cảm ơn"])
async def test_with_a_ticket_open_remarks_for_the_person_still_go_to_them(
        customer: ChatDriver, remark: str) -> None:
    await customer.say("gặp nhân viên")

    await customer.say(remark)

    assert customer.text == VI("support.relayed", ticket=1)


# --- 4. the language of short messages -----------------------------------------------------------------------------


@pytest.mark.parametrize("message", ["5", "2"])
async def test_a_bare_number_mid_vietnamese_chat_is_answered_in_vietnamese(
        support_engine: Engine, message: str) -> None:
    customer = ChatDriver(support_engine, "555011", language_code="en")  # an English phone, a Vietnamese chat
    await customer.say("bàn AP-D120 giá bao nhiêu")

    await customer.say(message)

    assert not any(customer.text.startswith(EN(f"support.handoff_line.{r}")[:20])
                   for r in ("out_of_scope", "low_confidence"))
    assert "Sorry" not in customer.text


async def test_ok_mid_vietnamese_chat_is_acknowledged_in_vietnamese(support_engine: Engine) -> None:
    customer = ChatDriver(support_engine, "555012", language_code="en")
    await customer.say("bàn AP-D120 giá bao nhiêu")

    await customer.say("ok")

    assert customer.text == VI("support.small_talk.ack")


@pytest.mark.parametrize(("message", "kind"), [("hi", "greeting"), ("ok thanks", "thanks")])
async def test_an_english_customers_hi_and_ok_thanks_are_answered_in_english(
        support_engine: Engine, message: str, kind: str) -> None:
    customer = ChatDriver(support_engine, "555013", language_code="vi")
    await customer.say("how long is the warranty on office chairs?")

    await customer.say(message)

    assert customer.text == EN(f"support.small_talk.{kind}")


@pytest.mark.parametrize(("chat_id", "phone", "written", "greeting"), [
    ("555015", "vi", "how long is the warranty on office chairs?", EN("support.welcome")),
    ("555017", "en", "bàn AP-D120 giá bao nhiêu", VI("support.welcome")),
])
async def test_a_customer_is_greeted_in_the_language_they_last_wrote_in_not_their_phones(
        support_engine: Engine, chat_id: str, phone: str, written: str, greeting: str) -> None:
    customer = ChatDriver(support_engine, chat_id, language_code=phone)
    await customer.say(written)

    await customer.say("/start")

    assert customer.text == greeting


async def test_a_customer_who_has_written_nothing_is_greeted_in_their_apps_language(support_engine: Engine) -> None:
    customer = ChatDriver(support_engine, "555016", language_code="en")

    await customer.say("/start")

    assert customer.text == EN("support.welcome")


async def test_the_person_button_under_an_english_answer_acknowledges_the_ticket_in_english(
        support_engine: Engine) -> None:
    customer = ChatDriver(support_engine, "555018", language_code="vi")
    await customer.say("how long is the warranty on office chairs?")

    await customer.press(EN("support.btn_human"))

    assert customer.text == EN("support.handoff_open", ticket=1,
                               minutes=support_engine.settings.escalate_after_minutes)


@pytest.mark.parametrize(("chat_id", "opening"), [
    ("555019", "I want to talk to a person"),
    ("555020", "cho em gặp nhân viên"),  # switches to English once the ticket is open
])
async def test_an_english_message_on_an_open_ticket_is_acknowledged_in_english(
        support_engine: Engine, chat_id: str, opening: str) -> None:
    customer = ChatDriver(support_engine, chat_id, language_code="vi")
    await customer.say(opening)

    await customer.say("it is about my order from last week")

    assert customer.text == EN("support.relayed", ticket=1)


@pytest.mark.parametrize(("chat_id", "phone", "earlier", "message", "texts"), [
    ("555021", "vi", None, "zalo/momo 0912345678", VI),
    ("555022", "en", "bàn AP-D120 giá bao nhiêu", "momo 0912345678 nhe", VI),
    ("555023", "vi", "how long is the warranty on office chairs?", "zalo/momo 0912345678", EN),
])
async def test_app_and_wallet_names_with_a_number_are_answered_in_the_customers_language(
        support_engine: Engine, chat_id: str, phone: str, earlier: str | None, message: str, texts: Texts) -> None:
    customer = ChatDriver(support_engine, chat_id, language_code=phone)
    if earlier is not None:
        await customer.say(earlier)

    await customer.say(message)

    assert customer.text.splitlines()[0] == texts("support.answer_opening")


# --- 5. staff notices on lines --------------------------------------------------------------------------------------


async def test_a_ticket_notice_keeps_the_answers_lines_each_message_on_its_own(customer: ChatDriver) -> None:
    await customer.say("bàn AP-D120 giá bao nhiêu")
    answer = customer.last[0].text
    await customer.say("gặp nhân viên")

    notice = customer.pushed_to("1001")[0].text.split("\n")

    assert "🤖 " + VI("support.answer_opening") in notice
    assert any(line.strip() == "- Giá niêm yết: 1.850.000 ₫/cái." for line in notice)
    assert any(line.strip() == "- Kích thước: dài 120 × sâu 60 × cao 75 cm." for line in notice)
    assert any(line.startswith("👤 gặp nhân viên") for line in notice)
    assert "Kích thước" in answer


async def test_staff_never_read_the_customers_note_that_an_answer_was_copied_to_the_ticket(
        customer: ChatDriver, lan: ChatDriver, clock: Any) -> None:
    from datetime import timedelta

    from tests.support.scheduling import RecordedPushes

    await customer.say("gặp nhân viên")
    await customer.say("giờ mở cửa")
    assert VI("support.answered_on_ticket", ticket=1) in customer.text
    pushes = RecordedPushes(customer.engine)

    clock.advance(timedelta(hours=2))  # nobody answered: the managers hear of it with the conversation
    escalated = [r for r in await pushes.tick() if "/close 1" in r.text]

    assert escalated
    assert all(VI("support.answered_on_ticket", ticket=1) not in r.text for r in escalated)
    assert all(any(line.startswith("🤖 ") for line in r.text.split("\n")) for r in escalated)


# --- 6. a colleague asked for by name ------------------------------------------------------------------------------


async def test_a_ticket_asking_for_a_colleague_by_name_goes_to_that_colleague(
        support_engine: Engine, customer: ChatDriver, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    await ChatDriver(support_engine, "555020").say("gặp nhân viên")  # Lan's turn; Tuấn's would be next

    await customer.say("cho mình gặp chị Lan bên kinh doanh")

    assert [(t.reason, t.assignee_id) for t in await _rows(sessionmaker, Ticket)][-1] == ("named_person", 1)
    assert customer.pushed_to("1001")
    assert customer.pushed_to("1002") == []


async def test_a_colleague_named_without_accents_is_found(
        customer: ChatDriver, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    await customer.say("cho gap anh tuan")  # the first ticket would be Lan's in turn

    assert customer.pushed_to("1002")
    assert customer.pushed_to("1001") == []


# --- 7. disputes are met with an apology ----------------------------------------------------------------------------


async def test_a_complaint_about_staff_naming_the_manager_by_role_goes_to_him_as_a_complaint(
        support_engine: Engine, customer: ChatDriver, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    await ChatDriver(support_engine, "555020").say("gặp nhân viên")  # Lan's turn; Tuấn's would be next

    await customer.say("cho a gặp quản lý Quang, nv bên e tư vấn sai")

    assert [(t.reason, t.assignee_id) for t in await _rows(sessionmaker, Ticket)][-1] == ("complaint", 3)
    assert VI("support.handoff_complaint") in customer.text
    assert customer.pushed_to("2001")
    assert customer.pushed_to("1002") == []


@pytest.mark.parametrize("text", ["em muốn gặp sếp Quang", "can I talk to your manager Quang"])
async def test_a_colleague_named_after_their_role_is_found(
        customer: ChatDriver, sessionmaker: async_sessionmaker[AsyncSession], text: str) -> None:
    await customer.say(text)  # the first ticket would be Lan's in turn

    assert [t.assignee_id for t in await _rows(sessionmaker, Ticket)] == [3]
    assert customer.pushed_to("2001")


async def test_an_angry_refund_demand_is_handed_off_with_an_apology(
        customer: ChatDriver, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    await customer.say("hàng giao bị trầy xước, hoàn tiền cho tôi, làm ăn kiểu gì vậy")

    assert [t.reason for t in await _rows(sessionmaker, Ticket)] == ["dispute"]
    assert customer.text.startswith(VI("support.handoff_complaint"))
    assert "xin lỗi" in VI("support.handoff_complaint")


# --- 9. a price with no product --------------------------------------------------------------------------------------


@pytest.mark.parametrize("question", ["giá?", "bao nhiêu tiền vậy shop", "gia bn"])
async def test_a_price_with_no_product_asks_which_product(
        customer: ChatDriver, sessionmaker: async_sessionmaker[AsyncSession], question: str) -> None:
    await customer.say(question)

    assert customer.text == VI("support.which_product")
    assert await _rows(sessionmaker, CustomerQuestion) == []
    assert await _rows(sessionmaker, Ticket) == []


async def test_an_english_price_with_no_product_asks_in_english(support_engine: Engine) -> None:
    customer = ChatDriver(support_engine, "555014", language_code="en")

    await customer.say("how much?")

    assert customer.text == EN("support.which_product")


# --- kb ask answers small talk as the bot does ----------------------------------------------------------------------


@pytest.mark.parametrize(("message", "kind"), [("ok e", "ack"), ("em cảm ơn", "thanks"), ("hihi", "ack")])
def test_kb_ask_acknowledges_small_talk_without_searching(message: str, kind: str) -> None:
    from bot.knowledge_cli import kb_ask_one

    class NoKnowledge:
        def ask(self, question: str) -> Any:
            raise AssertionError("small talk is never searched")

    said = kb_ask_one(NoKnowledge(), message, language="vi")

    assert (said["answer"], said["handoff"], said["sources"], said["small_talk"]) == (
        VI(f"support.small_talk.{kind}"), False, [], kind)
