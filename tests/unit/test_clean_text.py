"""The one rule for text we are given (`crm_core.textnorm.clean_text`, `clean_name`) and the ticket notice cap."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime, timedelta

import pytest

from crm_core.flows.support import held_back, notice_due
from crm_core.schemas import TicketMessageOut
from crm_core.textnorm import clean_name, clean_text, fold


@pytest.mark.parametrize(("dirty", "clean"), [
    ("Mi\u200bnh", "Minh"),  # zero-width space
    ("Mi\u200c\u200dnh\u2060", "Minh"),  # zero-width (non-)joiner, word joiner
    ("\ufeffHòa Phát", "Hòa Phát"),  # byte-order mark
    ("\u202etáhP aòH\u202c", "táhP aòH"),  # right-to-left override and its pop
    ("\u2067Hòa\u2069 Phát\u200f", "Hòa Phát"),  # isolates, right-to-left mark
    ("Hòa\x00 Phát\x07", "Hòa Phát"),  # NUL, bell
    ("Hòa Phát\ud800", "Hòa Phát"),  # a lone surrogate
    ("Thé\u00adp", "Thép"),  # soft hyphen
])
def test_clean_text_drops_what_cannot_be_stored_or_seen(dirty: str, clean: str) -> None:
    assert clean_text(dirty) == clean


def test_clean_text_composes_vietnamese() -> None:
    name = "Nguyễn Hòa Phát"
    assert clean_text(unicodedata.normalize("NFD", name)) == unicodedata.normalize("NFC", name)


def test_clean_text_keeps_lines_tabs_and_emoji() -> None:
    text = "Gọi anh Minh\n\tgửi báo giá 👍🏽 ❤️"
    assert clean_text(text) == text


def test_clean_name_is_one_trimmed_line() -> None:
    assert clean_name("  Công ty\n Hòa\u200b  Phát\t ") == "Công ty Hòa Phát"


def test_a_cleaned_name_folds_like_the_clean_one() -> None:
    assert fold(clean_name("Mi\u200bnh")) == fold("Minh") == "minh"


# --- one "ticket_message" notice per ticket per minute -----------------------------------------------------

_T0 = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)


def _line(author: str, seconds: int, text: str = "…") -> TicketMessageOut:
    return TicketMessageOut(author=author, name=None, text=text, at=_T0 + timedelta(seconds=seconds))


def test_the_first_message_after_the_hand_off_is_announced() -> None:
    assert held_back([_line("customer", 0), _line("bot", 0)], now=_T0) == []


def test_a_message_within_a_minute_of_the_last_announced_waits() -> None:
    assert held_back([_line("customer", 0)], now=_T0 + timedelta(seconds=59)) is None


def test_after_a_minute_the_waiting_messages_ride_along() -> None:
    earlier = [_line("customer", 0), _line("customer", 10, "a"), _line("customer", 50, "b")]
    assert [m.text for m in held_back(earlier, now=_T0 + timedelta(seconds=60)) or []] == ["a", "b"]


def test_a_steady_stream_is_announced_once_a_minute() -> None:
    earlier = [_line("customer", s) for s in range(0, 150, 30)]  # 0 (announced), 30, 60 (announced), 90, 120 (ann.)
    assert held_back(earlier, now=_T0 + timedelta(seconds=150)) is None
    assert held_back(earlier, now=_T0 + timedelta(seconds=180)) == []


def test_a_staff_answer_lets_the_customer_be_heard_at_once() -> None:
    earlier = [_line("customer", 0), _line("customer", 5, "a"), _line("staff", 10)]
    assert [m.text for m in held_back(earlier, now=_T0 + timedelta(seconds=20)) or []] == ["a"]


def test_messages_the_scheduler_announced_are_not_carried_again_and_start_the_next_minute() -> None:
    earlier = [_line("customer", 0), _line("customer", 10, "a"), _line("customer", 20, "b")]
    assert notice_due(earlier) == _T0 + timedelta(seconds=60)
    announced = _T0 + timedelta(seconds=61)  # the scheduler told staff of "a" and "b" then
    assert held_back(earlier, now=_T0 + timedelta(seconds=90), announced_at=announced) is None
    assert held_back(earlier, now=_T0 + timedelta(seconds=121), announced_at=announced) == []
