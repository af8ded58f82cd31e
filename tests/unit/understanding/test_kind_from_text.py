"""kind_from_text: the kind a user types (the Edit-field flow), read with the parser's one kind vocabulary."""

from __future__ import annotations

from datetime import datetime

import pytest

from crm_core.understanding import kind_from_text, parse_log


@pytest.mark.parametrize(
    ("typed", "kind"),
    [
        ("Cuộc gọi", "call"),
        ("Gặp mặt", "meeting"),
        ("Email", "email"),
        ("Tin nhắn", "message"),
        ("Ghi chú", "note"),
        ("Call", "call"),
        ("Meeting", "meeting"),
        ("Message", "message"),
        ("Note", "note"),
    ],
)
def test_the_kind_labels_the_bot_shows_read_back_as_their_kind(typed: str, kind: str) -> None:
    assert kind_from_text(typed) == kind


@pytest.mark.parametrize(
    ("typed", "kind"),
    [
        ("gọi", "call"),
        ("goi dien", "call"),
        ("điện", "call"),
        ("điện thoại", "call"),
        ("phone", "call"),
        ("họp", "meeting"),
        ("gặp", "meeting"),
        ("zoom", "meeting"),
        ("mail", "email"),
        ("e-mail", "email"),
        ("nhắn", "message"),
        ("tin", "message"),
        ("sms", "message"),
        ("texted", "message"),
    ],
)
def test_a_word_for_the_kind_reads_as_that_kind(typed: str, kind: str) -> None:
    assert kind_from_text(typed) == kind


@pytest.mark.parametrize("typed", ["WhatsApp", "whats app", "Zalo", "Viber", "Telegram", "WeChat", "Messenger"])
def test_an_exchange_on_a_chat_app_is_a_message(typed: str) -> None:
    assert kind_from_text(typed) == "message"


@pytest.mark.parametrize("typed", ["hợp đồng", "gói", "gửi hợp đồng", "xyz", "", "   ", "😀"])
def test_text_that_names_no_kind_is_a_note(typed: str) -> None:
    assert kind_from_text(typed) == "note"


def test_a_note_heading_wins_over_the_kinds_it_mentions() -> None:
    assert kind_from_text("Ghi chú: gọi lại sau") == "note"


def test_spaces_case_and_trailing_punctuation_do_not_matter() -> None:
    assert kind_from_text("  TIN   NHẮN. ") == "message"


@pytest.mark.parametrize(
    "text",
    [
        "gọi a Minh",
        "họp với anh Vũ",
        "email cho anh Khoa",
        "nhắn zalo chị Hoa",
        "WhatsApp from Raj",
        "khách thích màu xanh",
    ],
)
def test_the_edit_field_and_the_parser_agree(text: str) -> None:
    now = datetime.fromisoformat("2026-11-23T09:00:00+07:00")
    assert kind_from_text(text) == parse_log(text, now=now).kind
