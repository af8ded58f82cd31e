"""The Bot API spec validator rejects what Telegram would reject and accepts what aiogram and PTB send."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.methods import SendMessage
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from tests.support.bot_api_spec import UploadedFile, decode_params, validate_object, validate_request
from tests.support.fake_bot_api import DEFAULT_TOKEN

# 22 precomposed Vietnamese letters, 3 UTF-8 bytes each.
VIETNAMESE_22_CHARS = "ỘỒỔỖỐỚỜỞỠỢỤỦỨỪỬỮỰỲỴỶỸẶ"


def inline(*rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {"inline_keyboard": list(rows)}


def button(data: str, text: str = "OK") -> dict[str, Any]:
    return {"text": text, "callback_data": data}


def aiogram_form_fields(method: SendMessage) -> dict[str, Any]:
    """Encode a method exactly as aiogram's multipart session does (nested objects as JSON strings)."""
    session = AiohttpSession()
    bot = Bot(DEFAULT_TOKEN, session=session)
    fields = {}
    for key, value in method.model_dump(warnings=False).items():
        prepared = session.prepare_value(value, bot=bot, files={})
        if prepared:
            fields[key] = prepared
    return fields


def test_accepts_a_realistic_aiogram_send_message_with_an_inline_keyboard() -> None:
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text="Mở deal", callback_data="deal:v1:open:42")],
            [InlineKeyboardButton(text="Hướng dẫn", url="https://example.com/help")],
        ]
    )
    fields = aiogram_form_fields(SendMessage(chat_id=777, text="Deal #42 — Công ty An Phát", reply_markup=keyboard))

    assert isinstance(fields["reply_markup"], str)  # the wire format: a JSON string in a form field
    assert validate_request("sendMessage", fields) == []


def test_accepts_form_encoded_strings_like_ptb_sends() -> None:
    params = {"chat_id": "777", "text": "hi", "disable_notification": "true", "reply_markup": json.dumps(inline())}

    assert validate_request("sendMessage", params) == []


def test_decodes_values_by_the_declared_type() -> None:
    decoded = decode_params("sendMessage", {"chat_id": "777", "text": "123", "protect_content": "false"})

    assert decoded == {"chat_id": 777, "text": "123", "protect_content": False}


def test_rejects_an_unknown_field() -> None:
    problems = validate_request("sendMessage", {"chat_id": 1, "text": "hi", "colour": "red"})

    assert problems == ["sendMessage: unknown field 'colour'"]


def test_accepts_a_field_only_aiogram_s_newer_model_defines() -> None:
    assert validate_request("sendMessage", {"chat_id": 1, "text": "hi", "reply_to_message_id": "5"}) == []


def test_rejects_a_missing_chat_id() -> None:
    problems = validate_request("sendMessage", {"text": "hi"})

    assert problems == ["sendMessage: missing required field 'chat_id'"]


def test_rejects_a_value_of_the_wrong_type() -> None:
    problems = validate_request("sendMessage", {"chat_id": 1, "text": "hi", "disable_notification": "maybe"})

    assert len(problems) == 1
    assert "disable_notification" in problems[0]
    assert "expected Boolean" in problems[0]


def test_rejects_a_65_byte_callback_data() -> None:
    problems = validate_request("sendMessage", {"chat_id": 1, "text": "hi", "reply_markup": inline([button("x" * 65)])})

    assert len(problems) == 1
    assert "callback_data" in problems[0]
    assert "65 bytes" in problems[0]


def test_rejects_a_22_character_vietnamese_callback_data_over_64_bytes() -> None:
    assert len(VIETNAMESE_22_CHARS) == 22
    assert len(VIETNAMESE_22_CHARS.encode("utf-8")) > 64

    problems = validate_request(
        "sendMessage", {"chat_id": 1, "text": "hi", "reply_markup": inline([button(VIETNAMESE_22_CHARS)])}
    )

    assert any("callback_data" in p for p in problems)


def test_accepts_a_64_byte_callback_data() -> None:
    assert (
        validate_request("sendMessage", {"chat_id": 1, "text": "hi", "reply_markup": inline([button("x" * 64)])}) == []
    )


def test_rejects_a_4097_character_text() -> None:
    problems = validate_request("sendMessage", {"chat_id": 1, "text": "a" * 4097})

    assert problems == ["sendMessage.text: 4097 characters; the limit is 4096"]


def test_accepts_a_4096_character_text() -> None:
    assert validate_request("sendMessage", {"chat_id": 1, "text": "ă" * 4096}) == []


def test_rejects_an_empty_text() -> None:
    assert validate_request("sendMessage", {"chat_id": 1, "text": "  "}) == ["sendMessage.text: message text is empty"]


def test_rejects_a_long_edit_text() -> None:
    problems = validate_request("editMessageText", {"chat_id": 1, "message_id": 2, "text": "a" * 4097})

    assert problems == ["editMessageText.text: 4097 characters; the limit is 4096"]


def test_rejects_a_caption_over_1024_characters() -> None:
    problems = validate_request("sendPhoto", {"chat_id": 1, "photo": "file-id", "caption": "c" * 1025})

    assert problems == ["sendPhoto.caption: 1025 characters; the limit is 1024"]


def test_accepts_an_uploaded_file_as_input_file() -> None:
    photo = UploadedFile("photo", "chart.png", "image/png", b"png")

    assert validate_request("sendPhoto", {"chat_id": 1, "photo": photo}) == []


def test_rejects_a_callback_answer_over_200_characters() -> None:
    problems = validate_request("answerCallbackQuery", {"callback_query_id": "1", "text": "t" * 201})

    assert problems == ["answerCallbackQuery.text: 201 characters; the limit is 200"]


def test_rejects_nine_inline_buttons_in_a_row() -> None:
    row = [button(str(i)) for i in range(9)]

    problems = validate_request("sendMessage", {"chat_id": 1, "text": "hi", "reply_markup": inline(row)})

    assert problems == ["sendMessage.reply_markup.inline_keyboard[0]: 9 buttons; at most 8 a row"]


def test_rejects_more_than_100_inline_buttons() -> None:
    rows = [[button(f"{r}-{c}") for c in range(8)] for r in range(13)]

    problems = validate_request("sendMessage", {"chat_id": 1, "text": "hi", "reply_markup": inline(*rows)})

    assert problems == ["sendMessage.reply_markup.inline_keyboard: 104 buttons; at most 100"]


def test_rejects_an_inline_button_without_an_action() -> None:
    problems = validate_request("sendMessage", {"chat_id": 1, "text": "hi", "reply_markup": inline([{"text": "?"}])})

    assert len(problems) == 1
    assert "exactly one action" in problems[0]


def test_validates_nested_types_recursively() -> None:
    markup = {"keyboard": [[{"text": "Gửi số", "request_contact": "yes"}]]}

    problems = validate_request("sendMessage", {"chat_id": 1, "text": "hi", "reply_markup": markup})

    assert problems == ["sendMessage.reply_markup.keyboard[0][0].request_contact: expected Boolean, got str 'yes'"]


def test_picks_the_command_scope_subtype_by_its_type() -> None:
    problems = validate_request(
        "setMyCommands", {"commands": [{"command": "start", "description": "Bắt đầu"}], "scope": {"type": "chat"}}
    )

    assert problems == ["setMyCommands.scope: BotCommandScopeChat is missing required field 'chat_id'"]


def test_rejects_a_bot_command_with_capitals() -> None:
    problems = validate_request("setMyCommands", {"commands": [{"command": "Start", "description": "x"}]})

    assert len(problems) == 1
    assert "command" in problems[0]


def test_method_names_match_case_insensitively() -> None:
    assert validate_request("SENDMESSAGE", {"chat_id": 1, "text": "hi"}) == []


def test_rejects_an_unknown_method() -> None:
    assert validate_request("sendTelepathy", {}) == ["sendTelepathy: unknown method"]


@pytest.mark.parametrize(
    ("type_name", "value"),
    [
        ("Message", {"message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"}, "text": "x"}),
        ("User", {"id": 1, "is_bot": False, "first_name": "Lan"}),
    ],
)
def test_validate_object_accepts_valid_objects(type_name: str, value: dict[str, Any]) -> None:
    assert validate_object(type_name, value) == []


def test_validate_object_reports_a_missing_required_field() -> None:
    assert validate_object("User", {"id": 1, "is_bot": False}) == ["User: User is missing required field 'first_name'"]
