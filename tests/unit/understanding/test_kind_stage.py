"""Interaction kind, stage hints and the next step."""

from __future__ import annotations

from datetime import datetime

import pytest

from crm_core.understanding import parse_log


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("gọi a Minh", "call"),
        ("goi a minh ko nghe may", "call"),
        ("Called John", "call"),
        ("gặp chị Lan", "meeting"),
        ("họp với anh Vũ", "meeting"),
        ("Met Sarah", "meeting"),
        ("email cho anh Khoa", "email"),
        ("Emailed the proposal", "email"),
        ("nhắn zalo chị Hoa", "message"),
        ("nhắn tin cho chị Yến", "message"),
        ("texted Mike", "message"),
        ("WhatsApp from Raj", "message"),
        ("khách thích màu xanh", "note"),
    ],
)
def test_kind(now: datetime, text: str, kind: str) -> None:
    assert parse_log(text, now=now).kind == kind


def test_hop_dong_is_a_contract_not_a_meeting(now: datetime) -> None:
    assert parse_log("gửi hợp đồng cho khách", now=now).kind == "note"


def test_note_heading_makes_a_note(now: datetime) -> None:
    assert parse_log("Note: Jack prefers calls after 3pm", now=now).kind == "note"


@pytest.mark.parametrize(
    ("text", "stage"),
    [
        ("đã gửi báo giá", "quote"),
        ("quote sent", "quote"),
        ("đang đàm phán giá", "negotiation"),
        ("asked for a discount", "negotiation"),
        ("chốt đơn 96tr", "won"),
        ("đã ký HĐ", "won"),
        ("closed won", "won"),
        ("mất deal, khách chọn bên khác", "lost"),
        ("lost the deal to a competitor", "lost"),
    ],
)
def test_stage_hints(now: datetime, text: str, stage: str) -> None:
    assert parse_log(text, now=now).stage == stage


def test_a_signing_still_to_come_is_negotiation_not_won(now: datetime) -> None:
    assert parse_log("thứ 2 tuần sau ký hợp đồng", now=now).stage == "negotiation"


def test_next_step_is_the_action_without_its_date(now: datetime) -> None:
    assert parse_log("gặp a Minh, mai gửi báo giá", now=now).next_step == "gửi báo giá"


def test_next_step_drops_a_trailing_before(now: datetime) -> None:
    parsed = parse_log("Gọi anh Minh bên Hòa Phát, gửi báo giá trước thứ Sáu", now=now)
    assert parsed.next_step == "gửi báo giá"
