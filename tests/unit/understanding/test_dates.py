"""Dates: relative Vietnamese and English expressions resolve against the message's local date."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

from crm_core.understanding import parse_due_text, parse_log


def test_vietnamese_weekday_resolves_to_next_friday(now: datetime) -> None:
    assert parse_log("gọi lại a Minh thứ 6", now=now).due == date(2026, 11, 27)


def test_thu_6_tuan_sau_is_friday_of_next_week(now: datetime) -> None:
    assert parse_log("thứ 6 tuần sau gửi báo giá", now=now).due == date(2026, 12, 4)


def test_t6_abbreviation_is_friday(now: datetime) -> None:
    assert parse_log("T6 chot don", now=now).due == date(2026, 11, 27)


def test_mai_without_diacritics_is_tomorrow(now: datetime) -> None:
    assert parse_log("mai goi lai", now=now).due == date(2026, 11, 24)


def test_mai_after_an_honorific_is_a_name_not_a_date(now: datetime) -> None:
    parsed = parse_log("gọi chị Mai bên Hoàng Gia", now=now)
    assert parsed.contact == "Mai"
    assert parsed.due is None


def test_mot_with_diacritics_is_the_day_after_tomorrow(now: datetime) -> None:
    assert parse_log("mốt gửi hợp đồng", now=now).due == date(2026, 11, 25)


def test_cuoi_thang_is_the_last_day_of_the_month(now: datetime) -> None:
    assert parse_log("cuối tháng nghiệm thu", now=now).due == date(2026, 11, 30)


def test_n_ngay_nua_counts_days_from_today(now: datetime) -> None:
    assert parse_log("3 ngày nữa trả lời", now=now).due == date(2026, 11, 26)


def test_tuan_sau_is_monday_of_next_week(now: datetime) -> None:
    assert parse_log("tuần sau demo", now=now).due == date(2026, 11, 30)


def test_vietnamese_day_month_is_read_day_first(now: datetime) -> None:
    assert parse_log("hẹn 5/12 ký", now=now).due == date(2026, 12, 5)


def test_day_month_that_has_passed_rolls_to_next_year(now: datetime) -> None:
    assert parse_log("10/1 đặt đợt 2", now=now).due == date(2027, 1, 10)


def test_hom_qua_sets_occurred_on_not_due(now: datetime) -> None:
    parsed = parse_log("hôm qua gặp anh An", now=now)
    assert parsed.occurred_on == date(2026, 11, 22)
    assert parsed.due is None


def test_sang_nay_is_when_it_happened(now: datetime) -> None:
    assert parse_log("sáng nay gặp c Hà", now=now).occurred_on == date(2026, 11, 23)


def test_english_tomorrow(now: datetime) -> None:
    assert parse_log("send quote tomorrow", now=now).due == date(2026, 11, 24)


def test_next_tuesday_is_tuesday_of_next_week_with_the_coming_one_as_alternative(now: datetime) -> None:
    parsed = parse_log("follow up next Tuesday", now=now)
    assert parsed.due == date(2026, 12, 1)
    assert date(2026, 11, 24) in parsed.due_options


def test_month_name_and_day(now: datetime) -> None:
    assert parse_log("follow up Dec 3", now=now).due == date(2026, 12, 3)


def test_on_the_10th_is_the_next_tenth(now: datetime) -> None:
    assert parse_log("kickoff on the 10th", now=now).due == date(2026, 12, 10)


def test_in_two_weeks(now: datetime) -> None:
    assert parse_log("call back in two weeks", now=now).due == date(2026, 12, 7)


def test_end_of_month_in_english(now: datetime) -> None:
    assert parse_log("check back end of month", now=now).due == date(2026, 11, 30)


def test_ambiguous_english_slash_date_gives_both_readings(now: datetime) -> None:
    parsed = parse_log("next call 12/5", now=now, language="en")
    assert parsed.due == date(2026, 12, 5)
    assert parsed.due_options == [date(2026, 12, 5), date(2027, 5, 12)]


def test_31_february_is_unreadable_not_an_error(now: datetime) -> None:
    parsed = parse_log("31/2 gửi báo giá", now=now)
    assert parsed.due is None
    assert "due" in parsed.unreadable


def test_dates_lists_every_date_in_order(now: datetime) -> None:
    parsed = parse_log("hôm qua gặp a Minh, thứ 6 gửi báo giá", now=now)
    assert parsed.dates == [date(2026, 11, 22), date(2026, 11, 27)]


def test_the_offset_of_now_decides_what_today_is() -> None:
    late_utc = datetime(2026, 11, 23, 20, 0, tzinfo=UTC)  # already the 24th in Vietnam
    in_vietnam = late_utc.astimezone(timezone(timedelta(hours=7)))
    assert parse_log("mai gọi lại", now=in_vietnam).due == date(2026, 11, 25)


def test_dollar_price_is_not_read_as_a_year(now: datetime) -> None:
    assert parse_log("50 licenses at $40 each", now=now).dates == []


def test_parse_due_text_reads_an_edited_field(now: datetime) -> None:
    assert parse_due_text("thứ 6 tuần sau", now=now, language="vi") == date(2026, 12, 4)


def test_parse_due_text_returns_none_for_nonsense(now: datetime) -> None:
    assert parse_due_text("???", now=now, language="vi") is None
