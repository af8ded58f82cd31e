"""What issue 10 saw the parser get wrong: times of day, spoken money, unit price × quantity, "mốt",
"Khách <company>", colleagues at a team meeting, the language of a sentence, and premature "won"."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal

import pytest

from crm_core.understanding import KnownContact, KnownNames, parse_log, parse_time_text, without_when

MONDAY = date(2026, 11, 23)
TOMORROW = date(2026, 11, 24)


# --- times of day ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "due", "at"),
    [
        ("nhắc tôi 3h chiều mai gọi anh Minh", TOMORROW, time(15, 0)),
        ("remind me to call Mr. John tomorrow 10am", TOMORROW, time(10, 0)),
        ("15h mai gặp chị Lan Anh bên Vinamilk", TOMORROW, time(15, 0)),
        ("9h sáng thứ 6 gửi hợp đồng cho anh Nam bên Đại Phát", date(2026, 11, 27), time(9, 0)),
        ("hẹn a Đức bên Bình Minh lúc 4h mai", TOMORROW, time(16, 0)),
        ("trưa mai ăn trưa với chị Thu bên Hải Long", TOMORROW, time(12, 0)),
        ("call Sarah from Nordic Home Friday 3pm", date(2026, 11, 27), time(15, 0)),
        ("14:30 thứ 5 demo cho anh Long bên FPT Software", date(2026, 11, 26), time(14, 30)),
        ("mai 8h30 gặp anh Hải bên Thành Đạt", TOMORROW, time(8, 30)),
        ("chieu mai goi lai a Son ben Hung Thinh", TOMORROW, time(14, 0)),
    ],
)
def test_a_time_of_day_sets_the_due_time(text: str, due: date, at: time, now: datetime) -> None:
    parsed = parse_log(text, now=now)
    assert parsed.due == due
    assert parsed.due_time == at
    assert parsed.to_contract()["due_time"] == at.strftime("%H:%M")


def test_without_a_time_there_is_no_due_time(now: datetime) -> None:
    parsed = parse_log("Gọi anh Minh bên Hòa Phát, gửi báo giá trước thứ Sáu", now=now)
    assert parsed.due == date(2026, 11, 27)
    assert parsed.due_time is None
    assert parsed.to_contract()["due_time"] is None


def test_the_parse_contract_keeps_its_keys_and_adds_due_time(now: datetime) -> None:
    contract = parse_log("nhắc tôi 3h chiều mai gọi anh Minh", now=now).to_contract()
    for key in ("kind", "contact", "company", "amount", "currency", "quantity", "next_step", "due", "due_options",
                "occurred_on", "dates", "stage", "phone", "email", "language"):
        assert key in contract
    assert contract["due_time"] == "15:00"


def test_a_time_alone_in_a_reminder_is_today_or_tomorrow_once_past(now: datetime) -> None:
    later = parse_log("nhắc tôi 4h chiều gọi lại a Minh", now=now)
    assert (later.due, later.due_time) == (MONDAY, time(16, 0))
    earlier = parse_log("nhắc tôi 8h gọi lại a Minh", now=now)
    assert (earlier.due, earlier.due_time) == (TOMORROW, time(8, 0))


def test_a_past_morning_gives_no_due_time(now: datetime) -> None:
    parsed = parse_log("sáng nay gặp chị Hà bên Minh Phát", now=now)
    assert parsed.due is None
    assert parsed.due_time is None


@pytest.mark.parametrize(
    ("text", "step"),
    [
        ("nhắc tôi 3h chiều mai gọi anh Minh", "gọi anh Minh"),
        ("Gọi anh Minh bên Hòa Phát, muốn 200 bộ giá 500 triệu, gửi báo giá trước thứ Sáu", "gửi báo giá"),
        ("gửi báo giá trước thứ 4 cho chị Quyên bên Mỹ Lệ", "gửi báo giá cho chị Quyên bên Mỹ Lệ"),
    ],
)
def test_the_next_step_drops_date_and_time_words(text: str, step: str, now: datetime) -> None:
    assert parse_log(text, now=now).next_step == step


@pytest.mark.parametrize(
    ("text", "title"),
    [
        ("3h chiều mai gọi anh Minh", "gọi anh Minh"),
        ("gọi lại chị Hà thứ 6 tuần sau", "gọi lại chị Hà"),
        ("to call Mr. John tomorrow 10am", "call Mr. John"),
    ],
)
def test_a_reminder_title_drops_date_and_time_words(text: str, title: str, now: datetime) -> None:
    assert without_when(text, now=now) == title


def test_a_time_typed_alone_is_read() -> None:
    assert parse_time_text("mai 3h chiều") == time(15, 0)
    assert parse_time_text("thứ 6") is None


# --- money -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("báo giá khoảng 2 trăm triệu", 200_000_000),
        ("chốt đơn 1 tỷ 2", 1_200_000_000),
        ("ngân sách khoảng 3 trăm rưỡi triệu", 350_000_000),
        ("ngân sách ba trăm rưỡi triệu", 350_000_000),
        ("báo giá hai trăm năm mươi triệu", 250_000_000),
        ("ok 500 củ", 500_000_000),
        ("ngân sách tầm 2 tỷ 3 trăm triệu", 2_300_000_000),
        ("tầm 1 tỷ rưỡi", 1_500_000_000),
    ],
)
def test_spoken_vietnamese_amounts(text: str, amount: int, now: datetime) -> None:
    parsed = parse_log(text, now=now)
    assert (parsed.amount, parsed.currency) == (Decimal(amount), "VND")


@pytest.mark.parametrize(
    ("text", "amount", "quantity", "unit_price"),
    [
        ("gặp a Phúc cty Nam Việt, 20 tủ hồ sơ AP-T200, giá 3,2tr", 64_000_000, 20, 3_200_000),
        ("chị Vy bên Sao Kim đặt ghế, 500k/ghế x 100", 50_000_000, 100, 500_000),
        ("a Quân bên Đại Dương hỏi bàn, giá 4.5tr/bộ, 30 bộ", 135_000_000, 30, 4_500_000),
        ("khach Hai Dang can 30 bo ban, gia 5tr", 150_000_000, 30, 5_000_000),
    ],
)
def test_unit_price_times_quantity_in_any_order(
    text: str, amount: int, quantity: int, unit_price: int, now: datetime
) -> None:
    parsed = parse_log(text, now=now)
    assert (parsed.amount, parsed.quantity, parsed.unit_price) == (Decimal(amount), quantity, Decimal(unit_price))


@pytest.mark.parametrize(
    ("text", "amount", "quantity"),
    [
        ("Gọi anh Minh bên Hòa Phát, muốn 200 bộ giá 500 triệu", 500_000_000, 200),
        ("c Mai bên Tiểu học Ánh Dương nói ngân sách 80 triệu cho 40 bộ bàn", 80_000_000, 40),
        ("Khách Trung Nguyên muốn 24 tủ, báo giá 76 triệu", 76_000_000, 24),
    ],
)
def test_a_total_is_not_taken_for_a_unit_price(text: str, amount: int, quantity: int, now: datetime) -> None:
    parsed = parse_log(text, now=now)
    assert (parsed.amount, parsed.quantity, parsed.unit_price) == (Decimal(amount), quantity, None)


# --- dates without accents -------------------------------------------------------------------------------


def test_mot_without_accents_is_the_day_after_tomorrow(now: datetime) -> None:
    parsed = parse_log("gọi a Tùng cty Đông Á, mot goi lai", now=now)
    assert parsed.due == date(2026, 11, 25)
    assert parsed.next_step == "goi lai"


def test_mot_as_one_is_not_a_date(now: datetime) -> None:
    assert parse_log("gui mot bao gia cho a Vinh", now=now).due is None
    assert parse_log("mot bo ban AP-D120", now=now).due is None


@pytest.mark.parametrize(
    ("text", "due"),
    [
        ("thu 6 tuan sau gui bao gia cho c Hoa", date(2026, 12, 4)),
        ("tuan sau demo cho a Tuan", date(2026, 11, 30)),
        ("sang mai hen gap chi Ngoc", TOMORROW),
        ("cuoi tuan gui hop dong cho a Phong", date(2026, 11, 28)),
        ("mai goi lai a Son", TOMORROW),
    ],
)
def test_unaccented_date_words(text: str, due: date, now: datetime) -> None:
    assert parse_log(text, now=now).due == due


# --- names -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "company"),
    [
        ("Khách Trung Nguyên muốn 24 tủ, báo giá 76 triệu", "Trung Nguyên"),
        ("Khách Phú Thái cần 20 bộ, giá 4.5tr/bộ", "Phú Thái"),
        ("khach Hai Dang can 30 bo ban", "Hai Dang"),
    ],
)
def test_a_company_after_khach_stays_whole(text: str, company: str, now: datetime) -> None:
    parsed = parse_log(text, now=now)
    assert (parsed.contact, parsed.company) == (None, company)


@pytest.mark.parametrize(
    "text",
    ["họp team với Tuấn 9h sáng thứ 2", "nhắc tôi họp Team 3pm thứ 6", "team meeting with Quang tomorrow 9am"],
)
def test_colleagues_at_a_team_meeting_are_not_contacts(text: str, now: datetime) -> None:
    known = KnownNames(contacts=(KnownContact("Tuấn Nguyễn", "Hòa Phát"),))
    assert parse_log(text, now=now, known=known).contact is None


def test_a_customer_named_after_a_team_meeting_is_still_one(now: datetime) -> None:
    parsed = parse_log("họp team xong, chiều gọi anh Minh bên Hòa Phát", now=now)
    assert (parsed.contact, parsed.company) == ("Minh", "Hòa Phát")


# --- language --------------------------------------------------------------------------------------------


def test_an_english_sentence_quoting_vietnamese_money_is_english(now: datetime) -> None:
    parsed = parse_log("Called Mr. Tanaka at Kaizen Precision, they want 30 desks at 12 triệu/bộ", now=now)
    assert parsed.language == "en"
    assert (parsed.amount, parsed.currency, parsed.quantity) == (Decimal(360_000_000), "VND", 30)


def test_a_vietnamese_sentence_with_accents_stays_vietnamese(now: datetime) -> None:
    assert parse_log("gặp anh Toàn bên Việt Úc, demo xong, hẹn tuần sau", now=now).language == "vi"


# --- stage -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "stage"),
    [
        ("gặp anh Bảo bên Minh Long, chốt giá 300tr, thứ 2 tuần sau ký hợp đồng", "negotiation"),
        ("đàm phán với chị Nga bên Phú Thái, giá chốt 450 triệu", "negotiation"),
        ("chị Oanh bên Tiến Phát chốt giá 95tr, tuần sau ký hợp đồng", "negotiation"),
        ("gặp chị Linh bên Masan, HĐ 1,8 tỷ, thứ 2 ký", "negotiation"),
        ("a Hùng bên Thép Việt chốt đơn 1 tỷ 2", "won"),
        ("đã ký hợp đồng với anh Quân bên Sông Hồng 320 triệu", "won"),
        ("a Nghĩa bên Kim Cương đã chuyển khoản cọc 30tr", "won"),
        ("Signed the contract with Mr. Walker at Oakridge, 12,000 USD", "won"),
        ("goi a minh ben hoa phat, ok chot 500tr", "won"),
        ("a Khoa bên Hòa Phát Nội thất báo ko mua nữa, mất deal", "lost"),
        ("goi c lan ben thanh cong, mai gui bg", "quote"),
    ],
)
def test_won_only_on_explicit_words(text: str, stage: str, now: datetime) -> None:
    assert parse_log(text, now=now).stage == stage
