"""What the new-user review of issue 10 saw the parser get wrong: a company typed without "bên" split into a
known contact, an internal meeting moving a deal, "3tr2 x 20", times before the step, deposits and fees taken
for the deal's value, a budget year taken for the due date, and "150k" alone read as dollars."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal

import pytest

from crm_core.understanding import KnownContact, KnownNames, parse_log

KNOWN = KnownNames(
    companies=("FPT Software", "Mặt Trời Đỏ", "Giao nhận Hải Âu"),
    contacts=(KnownContact("Long", "FPT Software"), KnownContact("Tuấn"), KnownContact("Hoa", "Mặt Trời Đỏ")),
)


def test_a_company_typed_without_ben_is_not_split_into_a_known_contact(now: datetime) -> None:
    out = parse_log("3tr2 x 20 tủ, Minh Long, lúc 4h gọi lại", now=now, known=KNOWN)
    assert out.company == "Minh Long"
    assert out.contact is None
    assert not out.company_is_known


def test_unit_price_before_times_quantity(now: datetime) -> None:
    out = parse_log("3tr2 x 20 tủ, Minh Long, lúc 4h gọi lại", now=now, known=KNOWN)
    assert (out.amount, out.unit_price, out.quantity) == (Decimal(64_000_000), Decimal(3_200_000), 20)
    assert parse_log("Minh Long 3tr2 x 20", now=now).amount == Decimal(64_000_000)


@pytest.mark.parametrize(
    ("text", "at", "step"),
    [
        ("3tr2 x 20 tủ, Minh Long, lúc 4h gọi lại", time(16, 0), "gọi lại"),
        ("họp team sáng nay với Tuấn về deal Minh Long, chiều 3h gửi bg", time(15, 0), "gửi bg"),
    ],
)
def test_a_time_right_before_the_step_is_kept(text: str, at: time, step: str, now: datetime) -> None:
    out = parse_log(text, now=now, known=KNOWN)
    assert (out.due, out.due_time) == (now.date(), at)
    assert out.next_step is not None
    assert out.next_step.endswith(step)


def test_an_internal_meeting_names_no_contact_and_moves_no_stage(now: datetime) -> None:
    out = parse_log("họp team sáng nay với Tuấn về deal Minh Long, chiều 3h gửi bg", now=now, known=KNOWN)
    assert out.contact is None
    assert out.company == "Minh Long"
    assert out.stage is None


@pytest.mark.parametrize(
    "text",
    [
        "c Hoa bên Mặt Trời Đỏ đã chuyển cọc 20tr, phí ship 150k",
        "c Hoa bên Mặt Trời Đỏ đã đặt cọc 20tr",
    ],
)
def test_a_deposit_is_not_the_deal_value_but_is_won(text: str, now: datetime) -> None:
    out = parse_log(text, now=now, known=KNOWN)
    assert out.amount is None
    assert out.stage == "won"


def test_a_deposit_paid_ahead_and_a_fee_are_not_the_deal_value(now: datetime) -> None:
    assert parse_log("c Hoa bên Mặt Trời Đỏ cọc trước 20tr", now=now, known=KNOWN).amount is None
    assert parse_log("gọi c Hoa, phí ship 150k", now=now, known=KNOWN).amount is None
    out = parse_log("gọi c Hoa, 50 ghế giá 120tr, phí ship 150k", now=now, known=KNOWN)
    assert out.amount == Decimal(120_000_000)


def test_the_date_next_to_the_action_is_the_due_date(now: datetime) -> None:
    out = parse_log(
        "goi c My Hai Au, ngan sach nam sau tam 400tr cho ca ban va ghe, cuoi thang gui lai bg", now=now, known=KNOWN
    )
    assert out.due == date(2026, 11, 30)
    assert out.next_step == "gui lai bg"
    assert out.amount == Decimal(400_000_000)


def test_an_amount_alone_is_in_vnd(now: datetime) -> None:
    out = parse_log("150k", now=now)
    assert (out.amount, out.currency, out.language) == (Decimal(150_000), "VND", "vi")
