"""The fake Bot API server behaves like Telegram for the calls our bots make, over real HTTP."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError, TelegramRetryAfter
from aiogram.types import (
    FSInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
)
from aiohttp import web

from tests.support.bot_api_spec import validate_object
from tests.support.fake_bot_api import DEFAULT_TOKEN, FakeBotApi

CHAT = 777


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi() as server:
        yield server


@pytest.fixture
async def bot(api: FakeBotApi) -> AsyncIterator[Bot]:
    session = AiohttpSession(api=TelegramAPIServer.from_base(api.base_url))
    client = Bot(DEFAULT_TOKEN, session=session)
    yield client
    await session.close()


def keyboard(*labels: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=label, callback_data=f"cb:{label}") for label in labels]]
    )


async def test_records_a_message_sent_by_a_real_aiogram_bot(api: FakeBotApi, bot: Bot) -> None:
    sent = await bot.send_message(CHAT, "Xin chào anh Nam", reply_markup=keyboard("Có", "Không"))

    assert api.calls("sendMessage")[0].params["chat_id"] == CHAT
    assert [m.text for m in api.sent(CHAT)] == ["Xin chào anh Nam"]
    assert api.last(CHAT).buttons == ["Có", "Không"]
    assert sent.message_id == api.last(CHAT).message_id
    assert api.problems == []


async def test_answers_an_invalid_request_with_400_and_records_the_problem(api: FakeBotApi) -> None:
    markup = json.dumps({"inline_keyboard": [[{"text": "x", "callback_data": "x" * 65}]]})
    async with aiohttp.ClientSession() as http:
        form = {"chat_id": str(CHAT), "text": "hi", "reply_markup": markup}
        async with http.post(f"{api.base_url}/bot{DEFAULT_TOKEN}/sendMessage", data=form) as resp:
            body = await resp.json()

    assert resp.status == 400
    assert body["ok"] is False
    assert body["error_code"] == 400
    assert "callback_data" in body["description"]
    assert len(api.problems) == 1
    assert api.sent(CHAT) == []


async def test_accepts_json_bodies(api: FakeBotApi) -> None:
    async with aiohttp.ClientSession() as http:
        payload = {"chat_id": CHAT, "text": "json"}
        async with http.post(f"{api.base_url}/bot{DEFAULT_TOKEN}/sendMessage", json=payload) as resp:
            body = await resp.json()

    assert body["ok"] is True
    assert body["result"]["text"] == "json"


async def test_get_updates_returns_unconfirmed_updates_until_the_offset_confirms_them(
    api: FakeBotApi, bot: Bot
) -> None:
    first = api.send_text(CHAT, "một")
    second = api.send_text(CHAT, "hai")

    fetched = await bot.get_updates(timeout=0)
    refetched = await bot.get_updates(timeout=0)
    after_second = await bot.get_updates(offset=first + 1, timeout=0)
    after_all = await bot.get_updates(offset=second + 1, timeout=0)

    assert [u.update_id for u in fetched] == [first, second]
    assert [u.update_id for u in refetched] == [first, second]
    assert [u.update_id for u in after_second] == [second]
    assert after_all == []
    assert api.pending_update_ids == []


async def test_a_long_poll_wakes_when_an_update_is_queued(api: FakeBotApi, bot: Bot) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=30))
    await api.wait_for(lambda: api.calls("getUpdates"))

    update_id = api.send_text(CHAT, "đến rồi")
    updates = await asyncio.wait_for(poll, timeout=10)

    assert [u.update_id for u in updates] == [update_id]
    assert updates[0].message is not None
    assert updates[0].message.text == "đến rồi"


async def test_fail_next_429_carries_retry_after_and_then_succeeds(api: FakeBotApi, bot: Bot) -> None:
    api.fail_next("sendMessage", 429, retry_after=7)

    with pytest.raises(TelegramRetryAfter) as caught:
        await bot.send_message(CHAT, "first try")
    await bot.send_message(CHAT, "second try")

    assert caught.value.retry_after == 7
    assert [r.status for r in api.calls("sendMessage")] == [429, 200]
    assert api.texts(CHAT) == ["second try"]


async def test_a_blocked_chat_answers_403(api: FakeBotApi, bot: Bot) -> None:
    api.block(CHAT)

    with pytest.raises(TelegramForbiddenError):
        await bot.send_message(CHAT, "hello?")


async def test_editing_with_identical_text_and_markup_is_not_modified(api: FakeBotApi, bot: Bot) -> None:
    sent = await bot.send_message(CHAT, "Deal #1", reply_markup=keyboard("Mở"))

    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text("Deal #1", chat_id=CHAT, message_id=sent.message_id, reply_markup=keyboard("Mở"))


async def test_an_edit_changes_the_stored_message(api: FakeBotApi, bot: Bot) -> None:
    sent = await bot.send_message(CHAT, "Deal #1", reply_markup=keyboard("Mở"))

    await bot.edit_message_text("Deal #1 — won", chat_id=CHAT, message_id=sent.message_id)

    assert api.last(CHAT).text == "Deal #1 — won"
    assert api.last(CHAT).buttons == []
    assert api.last(CHAT).edits == ["Deal #1"]


async def test_editing_a_deleted_message_is_not_found(api: FakeBotApi, bot: Bot) -> None:
    sent = await bot.send_message(CHAT, "temporary")
    await bot.delete_message(CHAT, sent.message_id)

    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text("changed", chat_id=CHAT, message_id=sent.message_id)
    assert api.sent(CHAT) == []


async def test_tap_enqueues_a_callback_query_for_the_button(api: FakeBotApi, bot: Bot) -> None:
    sent = await bot.send_message(CHAT, "Chốt deal?", reply_markup=keyboard("Có", "Không"))

    update_id = api.tap(CHAT, "Không")
    [update] = await bot.get_updates(timeout=0)

    assert update.update_id == update_id
    assert update.callback_query is not None
    assert update.callback_query.data == "cb:Không"
    assert update.callback_query.message is not None
    assert update.callback_query.message.message_id == sent.message_id


async def test_answering_a_tap_is_recorded_once(api: FakeBotApi, bot: Bot) -> None:
    await bot.send_message(CHAT, "Chốt?", reply_markup=keyboard("Có"))
    update_id = api.tap(CHAT, "cb:Có")
    [update] = await bot.get_updates(timeout=0)
    assert update.callback_query is not None

    await bot.answer_callback_query(update.callback_query.id, text="Đã chốt")
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query(update.callback_query.id)

    assert api.callback_answer(update_id) == {"callback_query_id": update.callback_query.id, "text": "Đã chốt"}


async def test_tap_on_a_request_contact_button_shares_the_user_s_own_phone(api: FakeBotApi, bot: Bot) -> None:
    api.add_user(CHAT, first_name="Lan", phone_number="+84901112233")
    share = KeyboardButton(text="Gửi số điện thoại", request_contact=True)
    markup = ReplyKeyboardMarkup(keyboard=[[share]], one_time_keyboard=True, resize_keyboard=True)
    await bot.send_message(CHAT, "Cho em xin số ạ", reply_markup=markup)

    api.tap(CHAT, "Gửi số điện thoại")
    [update] = await bot.get_updates(timeout=0)

    assert update.message is not None
    assert update.message.contact is not None
    assert update.message.contact.phone_number == "+84901112233"
    assert update.message.contact.user_id == CHAT
    assert api.reply_keyboard(CHAT) is None  # one_time_keyboard hides after the press


async def test_redeliver_sends_the_same_update_again(api: FakeBotApi, bot: Bot) -> None:
    update_id = api.send_text(CHAT, "tạo lead Minh")
    await bot.get_updates(timeout=0)
    await bot.get_updates(offset=update_id + 1, timeout=0)

    api.redeliver(update_id)
    again = await bot.get_updates(offset=update_id + 1, timeout=0)

    assert [u.update_id for u in again] == [update_id]
    assert again[0].message is not None
    assert again[0].message.text == "tạo lead Minh"


async def test_user_edit_arrives_as_edited_message(api: FakeBotApi, bot: Bot) -> None:
    api.send_text(CHAT, "gặp anh Tú 3h")
    message_id = api.message(CHAT, 1).message_id  # type: ignore[union-attr]

    update_id = api.edit(CHAT, message_id, "gặp anh Tú 4h")
    updates = await bot.get_updates(timeout=0)

    edited = next(u for u in updates if u.update_id == update_id)
    assert edited.edited_message is not None
    assert edited.edited_message.text == "gặp anh Tú 4h"
    assert edited.edited_message.message_id == message_id


async def test_album_shares_a_media_group_id(api: FakeBotApi, bot: Bot) -> None:
    api.album(CHAT, 3, caption="hợp đồng")

    updates = await bot.get_updates(timeout=0)

    groups = {u.message.media_group_id for u in updates if u.message}
    assert len(updates) == 3
    assert len(groups) == 1
    assert [u.message.caption for u in updates if u.message] == ["hợp đồng", None, None]


async def test_every_simulated_update_is_a_valid_update_object(api: FakeBotApi, bot: Bot) -> None:
    await bot.send_message(CHAT, "menu", reply_markup=keyboard("A"))
    api.send_text(CHAT, "/start")
    api.send_photo(CHAT, "ảnh")
    api.send_document(CHAT, "bao-gia.xlsx", mime_type="application/vnd.ms-excel")
    api.send_voice(CHAT)
    api.send_sticker(CHAT)
    api.send_contact(CHAT, own=False, phone_number="+84987654321", first_name="Khách")
    api.send_text(-100, "group hello", user=42)
    api.tap(CHAT, "A")

    updates = await bot.get_updates(timeout=0)  # aiogram parses each one into its models

    assert len(updates) == 8
    assert [validate_object("Update", u) for u in api.all_updates] == [[]] * 8


async def test_uploaded_photo_and_user_files_download_through_get_file(
    api: FakeBotApi, bot: Bot, tmp_path: Path
) -> None:
    chart = tmp_path / "chart.png"
    chart.write_bytes(b"\x89PNG chart")
    await bot.send_photo(CHAT, FSInputFile(chart), caption="Doanh số tuần")
    api.send_document(CHAT, "note.txt", mime_type="text/plain", data=b"ghi chu")
    [update] = await bot.get_updates(timeout=0)
    assert update.message is not None
    assert update.message.document is not None

    sent_photo = api.last(CHAT)
    photo_file = await bot.get_file(sent_photo.file_id or "")
    document_file = await bot.get_file(update.message.document.file_id)
    photo_bytes = await bot.download_file(photo_file.file_path or "")
    document_bytes = await bot.download_file(document_file.file_path or "")

    assert sent_photo.caption == "Doanh số tuần"
    assert photo_bytes is not None
    assert photo_bytes.read() == b"\x89PNG chart"
    assert document_bytes is not None
    assert document_bytes.read() == b"ghi chu"
    assert api.problems == []


async def test_ptb_form_encoded_requests_validate(api: FakeBotApi) -> None:
    from telegram import Bot as PtbBot
    from telegram import InlineKeyboardButton as PtbButton
    from telegram import InlineKeyboardMarkup as PtbMarkup

    ptb = PtbBot(DEFAULT_TOKEN, base_url=f"{api.base_url}/bot", base_file_url=f"{api.base_url}/file/bot")
    async with ptb:
        await ptb.send_message(CHAT, "từ PTB", reply_markup=PtbMarkup([[PtbButton("Có", callback_data="yes")]]))

    assert api.last(CHAT).callback_data == ["yes"]
    assert api.problems == []


async def test_webhook_delivery_is_retried_until_acknowledged(api: FakeBotApi, bot: Bot) -> None:
    statuses = iter([500, 200])
    received: list[tuple[int, str | None]] = []

    async def hook(request: web.Request) -> web.Response:
        received.append(((await request.json())["update_id"], request.headers.get("X-Telegram-Bot-Api-Secret-Token")))
        return web.Response(status=next(statuses))

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        await bot.set_webhook(f"http://127.0.0.1:{port}/hook", secret_token="s3cret")
        update_id = api.send_text(CHAT, "qua webhook")
        await api.wait_for(lambda: len(received) == 2)
        await bot.delete_webhook()
    finally:
        await runner.cleanup()

    assert received == [(update_id, "s3cret"), (update_id, "s3cret")]
    assert api.webhook_deliveries == [(update_id, 500), (update_id, 200)]
