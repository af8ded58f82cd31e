"""The Telegram adapters drive the engine through their framework's real polling loop against the fake Bot API.

Every test that takes `running` runs on aiogram and on python-telegram-bot (tests/adapters/conftest.py);
the conversion tests feed the same Bot API update to each framework's `update_to_inbound`.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Sequence
from pathlib import Path
from typing import Any

import pytest
import telegram
from aiogram.types import Update

from bot.adapters.aiogram_adapter import update_to_inbound as aiogram_to_inbound
from bot.adapters.ptb_adapter import update_to_inbound as ptb_to_inbound
from bot.core.channel import ChannelIO
from bot.core.messages import Button, Inbound, Keyboard, OutFile, Reply
from bot.core.ports import CommandMenu
from bot.webhook.bot_api import WebhookIsSet
from tests.support.bot_harness import Framework, RunBot
from tests.support.fake_bot_api import DEFAULT_TOKEN, FakeBotApi

CHAT = 777
OTHER_CHAT = 888

Respond = Callable[[Inbound], list[Reply] | Awaitable[list[Reply]]]


class ScriptedEngine:
    """A ConversationEngine whose replies come from a script; records every inbound and every sent ref."""

    def __init__(self, respond: Respond | None = None, menus: list[CommandMenu] | None = None) -> None:
        self.respond = respond or (lambda inbound: [Reply(text=f"echo: {inbound.text}")])
        self.menus = menus or []
        self.inbounds: list[Inbound] = []
        self.pushes: list[Reply] = []
        self.sent_refs: list[tuple[str, str, str, str | None]] = []
        self.delivered_replies: list[Reply] = []
        self.failures: list[tuple[Reply, str, float | None]] = []

    async def handle(self, inbound: Inbound, *, io: ChannelIO | None = None) -> list[Reply]:
        self.inbounds.append(inbound)
        replies = self.respond(inbound)
        return await replies if inspect.isawaitable(replies) else replies

    async def claim_pushes(self, channels: Collection[str]) -> list[Reply]:
        due, self.pushes = [p for p in self.pushes if p.channel in channels], []
        return due

    async def delivered(self, reply: Reply, *, channel: str, chat_id: str, message_ids: Sequence[str]) -> None:
        self.delivered_replies.append(reply)
        if reply.ref is not None:
            self.sent_refs += [(channel, chat_id, message_id, reply.ref) for message_id in message_ids]

    async def undelivered(self, reply: Reply, *, reason: str, error: str,
                          retry_after_s: float | None = None) -> list[Reply]:
        self.failures.append((reply, reason, retry_after_s))
        return []

    async def claim_outbox(self, channels: Collection[str]) -> list[Reply]:
        return []

    async def renew_claim(self, push: Reply) -> bool:
        return True

    async def command_menus(self, channel: str) -> list[CommandMenu]:
        return self.menus


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi() as server:
        yield server


def menu_keyboard() -> Keyboard:
    return Keyboard.column([Button("Chốt deal", "deal:v1:won:1"), Button("Hoãn", "deal:v1:later:1")], per_row=2)


# --- over the wire ----------------------------------------------------------------------------


async def test_a_text_message_gets_the_scripted_reply(running: RunBot, api: FakeBotApi) -> None:
    engine = ScriptedEngine()

    async with running(api, engine):
        replies = await api.say(CHAT, "xin chào")

    assert [m.text for m in replies] == ["echo: xin chào"]
    assert api.problems == []


async def test_the_inbound_carries_the_telegram_identity_of_the_message(running: RunBot, api: FakeBotApi) -> None:
    engine = ScriptedEngine()
    api.add_user(CHAT, first_name="Lan", last_name="Nguyễn", username="lan_sales", language_code="vi")

    async with running(api, engine):
        await api.say(CHAT, "hôm nay có gì")

    [inbound] = engine.inbounds
    assert inbound.channel == "telegram"
    assert (inbound.chat_id, inbound.user_id) == ("777", "777")
    assert inbound.update_id == str(api.all_updates[0]["update_id"])
    assert inbound.message_id == "1"
    assert (inbound.language_code, inbound.display_name, inbound.username) == ("vi", "Lan Nguyễn", "lan_sales")
    assert inbound.is_group is False


async def test_a_callback_tap_is_answered_with_the_toast_before_the_message_is_edited(
        running: RunBot, api: FakeBotApi) -> None:
    def respond(inbound: Inbound) -> list[Reply]:
        if inbound.is_callback:
            return [Reply(text="Deal #1: đã chốt ✓", edit=True, toast="Đã chốt")]
        return [Reply(text="Deal #1 — chọn:", keyboard=menu_keyboard())]

    engine = ScriptedEngine(respond)
    async with running(api, engine):
        [menu] = await api.say(CHAT, "deal 1")
        [edited] = await api.press(CHAT, "Chốt deal")

    assert edited.message_id == menu.message_id
    assert edited.text == "Deal #1: đã chốt ✓"
    assert edited.buttons == []
    assert len(api.sent(CHAT)) == 1
    methods = [r.method for r in api.requests if r.method in ("answerCallbackQuery", "editMessageText")]
    assert methods == ["answerCallbackQuery", "editMessageText"]
    assert api.calls("answerCallbackQuery")[0].params["text"] == "Đã chốt"
    callback = engine.inbounds[-1]
    assert callback.callback_data == "deal:v1:won:1"
    assert callback.callback_message_id == str(menu.message_id)
    assert api.problems == []


async def test_a_callback_without_a_toast_is_still_answered(running: RunBot, api: FakeBotApi) -> None:
    def respond(inbound: Inbound) -> list[Reply]:
        if inbound.is_callback:
            return [Reply(text="Để sau nhé")]
        return [Reply(text="Chọn:", keyboard=menu_keyboard())]

    engine = ScriptedEngine(respond)
    async with running(api, engine):
        await api.say(CHAT, "deal 1")
        update_id = api.tap(CHAT, "Hoãn")
        await api.wait_for(2, chat_id=CHAT)
        await api.wait_for(lambda: api.callback_answer(update_id))

    answer = api.callback_answer(update_id)
    assert answer is not None
    assert "text" not in answer
    assert api.texts(CHAT) == ["Chọn:", "Để sau nhé"]


async def test_a_toast_only_answer_shows_the_toast_and_sends_no_message(running: RunBot, api: FakeBotApi) -> None:
    def respond(inbound: Inbound) -> list[Reply]:
        if inbound.is_callback:
            return [Reply(text="Đã lưu rồi", toast="Đã lưu rồi", toast_only=True)]
        return [Reply(text="Chọn:", keyboard=menu_keyboard())]

    async with running(api, ScriptedEngine(respond)):
        await api.say(CHAT, "deal 1")
        update_id = api.tap(CHAT, "Hoãn")
        await api.wait_for(lambda: api.callback_answer(update_id))

    answer = api.callback_answer(update_id)
    assert answer is not None
    assert answer["text"] == "Đã lưu rồi"
    assert api.texts(CHAT) == ["Chọn:"]


async def test_a_toast_only_answer_too_late_for_its_toast_is_sent_as_a_message(
        running: RunBot, api: FakeBotApi) -> None:
    release = asyncio.Event()

    async def respond(inbound: Inbound) -> list[Reply]:
        if inbound.is_callback:
            await release.wait()
            return [Reply(text="Đã lưu rồi", toast="Đã lưu rồi", toast_only=True)]
        return [Reply(text="Chọn:", keyboard=menu_keyboard())]

    async with running(api, ScriptedEngine(respond), callback_answer_deadline_s=0.01):
        await api.say(CHAT, "deal 1")
        update_id = api.tap(CHAT, "Hoãn")
        await api.wait_for(lambda: api.callback_answer(update_id))
        release.set()
        await api.wait_for(2, chat_id=CHAT)

    assert api.texts(CHAT) == ["Chọn:", "Đã lưu rồi"]


async def test_a_slow_engine_does_not_keep_the_callback_waiting(running: RunBot, api: FakeBotApi) -> None:
    release = asyncio.Event()

    async def respond(inbound: Inbound) -> list[Reply]:
        if inbound.is_callback:
            await release.wait()
            return [Reply(text="Xong", edit=True, toast="too late for a toast")]
        return [Reply(text="Chọn:", keyboard=menu_keyboard())]

    async with running(api, ScriptedEngine(respond), callback_answer_deadline_s=0.01):
        await api.say(CHAT, "deal 1")
        update_id = api.tap(CHAT, "Hoãn")
        await api.wait_for(lambda: api.callback_answer(update_id))
        answered_while_engine_was_busy = not release.is_set()
        release.set()
        await api.wait_for(lambda: api.texts(CHAT) == ["Xong"])

    answer = api.callback_answer(update_id)
    assert answered_while_engine_was_busy
    assert answer is not None
    assert "text" not in answer
    assert len(api.calls("answerCallbackQuery")) == 1


async def test_a_callback_is_answered_even_when_the_engine_fails(running: RunBot, api: FakeBotApi) -> None:
    def respond(inbound: Inbound) -> list[Reply]:
        if inbound.is_callback:
            raise RuntimeError("engine bug")
        return [Reply(text="Chọn:", keyboard=menu_keyboard())]

    async with running(api, ScriptedEngine(respond)):
        await api.say(CHAT, "deal 1")
        update_id = api.tap(CHAT, "Hoãn")
        await api.wait_for(lambda: api.callback_answer(update_id))

    assert api.texts(CHAT) == ["Chọn:"]


async def test_an_edit_that_changes_nothing_is_ignored(running: RunBot, api: FakeBotApi) -> None:
    def respond(inbound: Inbound) -> list[Reply]:
        return [Reply(text="Chọn:", keyboard=menu_keyboard(), edit=inbound.is_callback)]

    engine = ScriptedEngine(respond)
    async with running(api, engine):
        await api.say(CHAT, "deal 1")
        api.tap(CHAT, "Hoãn")
        await api.wait_for(lambda: api.calls("editMessageText"))
        await api.wait_for(lambda: len(engine.inbounds) == 2 and not api.calls("editMessageText")[0].ok)

    assert api.calls("editMessageText")[0].status == 400
    assert api.texts(CHAT) == ["Chọn:"]
    assert api.problems == []


async def test_a_429_on_send_message_is_retried_after_retry_after(running: RunBot, api: FakeBotApi) -> None:
    waits: list[float] = []

    async def record_sleep(seconds: float) -> None:
        waits.append(seconds)
        await asyncio.sleep(0)

    api.fail_next("sendMessage", 429, retry_after=3)
    async with running(api, ScriptedEngine(), sleep=record_sleep):
        replies = await api.say(CHAT, "báo cáo")

    assert [m.text for m in replies] == ["echo: báo cáo"]
    assert waits == [3]
    assert [r.status for r in api.calls("sendMessage")] == [429, 200]


async def test_due_pushes_arrive_in_their_chats(running: RunBot, api: FakeBotApi) -> None:
    engine = ScriptedEngine()
    engine.pushes = [
        Reply(text="Nhắc: gọi anh Tú lúc 15:00", chat_id=str(OTHER_CHAT), channel="telegram"),
        Reply(text="Báo cáo ngày đã sẵn sàng", chat_id=str(CHAT), channel="telegram"),
    ]

    async with running(api, engine, push_interval_s=0.05):
        await api.wait_for(2)

    assert api.texts(OTHER_CHAT) == ["Nhắc: gọi anh Tú lúc 15:00"]
    assert api.texts(CHAT) == ["Báo cáo ngày đã sẵn sàng"]


async def test_a_sent_reply_that_stands_for_something_is_recorded_with_its_message_id(
        running: RunBot, api: FakeBotApi) -> None:
    notice = Reply(text="🎫 Phiếu #7", chat_id=str(OTHER_CHAT), channel="telegram", ref="ticket:7")
    engine = ScriptedEngine(lambda inbound: [Reply(text="Đã chuyển cho nhân viên"), notice])
    engine.pushes = [Reply(text="⏰ Phiếu #8", chat_id=str(OTHER_CHAT), channel="telegram", ref="ticket:8")]

    async with running(api, engine, push_interval_s=0.05):
        await api.wait_for(1, chat_id=OTHER_CHAT)  # the scheduled push
        await api.say(CHAT, "gặp nhân viên")
        await api.wait_for(2, chat_id=OTHER_CHAT)

    ids = {m.body: str(m.message_id) for m in api.sent(OTHER_CHAT)}
    assert sorted(engine.sent_refs) == sorted([("telegram", str(OTHER_CHAT), ids["⏰ Phiếu #8"], "ticket:8"),
                                               ("telegram", str(OTHER_CHAT), ids["🎫 Phiếu #7"], "ticket:7")])


async def test_a_blocked_chat_is_skipped_and_other_pushes_still_go_out(running: RunBot, api: FakeBotApi) -> None:
    engine = ScriptedEngine()
    engine.pushes = [
        Reply(text="Nhắc việc", chat_id=str(OTHER_CHAT), channel="telegram"),
        Reply(text="Nhắc việc", chat_id=str(CHAT), channel="telegram"),
    ]
    api.block(OTHER_CHAT)

    async with running(api, engine, push_interval_s=0.05):
        await api.wait_for(1, chat_id=CHAT)

    assert [r.status for r in api.calls("sendMessage")] == [403, 200]
    assert api.texts(CHAT) == ["Nhắc việc"]


async def test_command_menus_are_set_per_scope_and_language(running: RunBot, api: FakeBotApi) -> None:
    menus = [
        CommandMenu("default", None, None, [("start", "Bắt đầu"), ("help", "Trợ giúp")]),
        CommandMenu("default", None, "en", [("start", "Start"), ("help", "Help")]),
        CommandMenu("chat", str(CHAT), "vi", [("/deals", "Deal của tôi")]),
    ]

    async with running(api, ScriptedEngine(menus=menus)):
        pass

    assert api.commands_for("default") == [("start", "Bắt đầu"), ("help", "Trợ giúp")]
    assert api.commands_for("default", language="en") == [("start", "Start"), ("help", "Help")]
    assert api.commands_for("chat", chat_id=CHAT, language="vi") == [("deals", "Deal của tôi")]
    assert len(api.calls("setMyCommands")) == 3
    assert api.problems == []


async def test_a_reply_carrying_a_menu_sets_that_chat_s_commands_and_an_empty_one_restores_the_default(
        running: RunBot, api: FakeBotApi) -> None:
    def respond(inbound: Inbound) -> list[Reply]:
        if inbound.text == "lên quản lý":
            return [Reply(text="Đã cấp quyền", menu=(("/deals", "Deal của tôi"),))]
        return [Reply(text="", menu=())]  # a menu-only reply: no message

    async with running(api, ScriptedEngine(respond)):
        await api.say(CHAT, "lên quản lý")
        promoted = api.commands_for("chat", chat_id=CHAT)
        api.send_text(CHAT, "thôi việc")
        await api.wait_for(lambda: api.calls("deleteMyCommands"))

    assert promoted == [("deals", "Deal của tôi")]
    assert api.commands_for("chat", chat_id=CHAT) is None  # no menu of its own: the default shows
    assert api.texts(CHAT) == ["Đã cấp quyền"]
    assert api.problems == []


async def test_updates_sent_while_the_bot_was_down_are_handled(running: RunBot, api: FakeBotApi) -> None:
    api.send_text(CHAT, "gửi lúc bot tắt")
    engine = ScriptedEngine()

    async with running(api, engine):
        await api.wait_for(1, chat_id=CHAT)

    assert [i.text for i in engine.inbounds] == ["gửi lúc bot tắt"]
    assert api.calls("getWebhookInfo")
    assert not api.calls("deleteWebhook")  # polling never deletes a webhook: it refuses to start


async def test_polling_refuses_a_webhook_set_while_it_was_starting_and_never_deletes_it(framework: Framework,
                                                                                          api: FakeBotApi) -> None:
    api.webhook_url = "https://crm.example.com/tg/hook"  # a deploy set it after `chatcrm bot` first looked
    engine = ScriptedEngine()
    if framework == "ptb":
        from bot.adapters.ptb_adapter import PollingBot, build_application

        polling = PollingBot(engine, build_application(DEFAULT_TOKEN, api.base_url)).run()
    else:
        from bot.adapters.aiogram_adapter import run_polling

        polling = run_polling(engine, DEFAULT_TOKEN, api.base_url, handle_signals=False)

    with pytest.raises(WebhookIsSet):
        await asyncio.wait_for(polling, timeout=60)

    assert api.webhook_url == "https://crm.example.com/tg/hook"
    assert not api.calls("deleteWebhook")
    assert not api.calls("getUpdates")


async def test_two_fast_taps_in_one_chat_are_handled_in_order(running: RunBot, api: FakeBotApi) -> None:
    events: list[str] = []

    async def respond(inbound: Inbound) -> list[Reply]:
        if not inbound.is_callback:
            return [Reply(text="Chọn:", keyboard=menu_keyboard())]
        events.append(f"start {inbound.callback_data}")
        await asyncio.sleep(0.05)  # leaves room for the second tap to overtake if nothing orders them
        events.append(f"end {inbound.callback_data}")
        return [Reply(text=f"ok {inbound.callback_data}")]

    async with running(api, ScriptedEngine(respond)):
        await api.say(CHAT, "menu")
        api.tap(CHAT, "Chốt deal")
        api.tap(CHAT, "Hoãn")
        await api.wait_for(3, chat_id=CHAT)

    assert events == ["start deal:v1:won:1", "end deal:v1:won:1", "start deal:v1:later:1", "end deal:v1:later:1"]
    assert api.texts(CHAT) == ["Chọn:", "ok deal:v1:won:1", "ok deal:v1:later:1"]


async def test_an_edited_message_reaches_the_engine_as_an_edit(running: RunBot, api: FakeBotApi) -> None:
    engine = ScriptedEngine()

    async with running(api, engine):
        await api.say(CHAT, "gặp anh Tú 3h")
        await api.wait_for(1, chat_id=CHAT)
        api.edit(CHAT, 1, "gặp anh Tú 4h")
        await api.wait_for(2, chat_id=CHAT)

    assert [(i.text, i.is_edit) for i in engine.inbounds] == [("gặp anh Tú 3h", False), ("gặp anh Tú 4h", True)]
    assert engine.inbounds[1].message_id == engine.inbounds[0].message_id


async def test_a_redelivered_update_reaches_the_engine_with_the_same_update_id(
        running: RunBot, api: FakeBotApi) -> None:
    engine = ScriptedEngine()

    async with running(api, engine):
        update_id = api.send_text(CHAT, "tạo lead Minh")
        await api.wait_for(1, chat_id=CHAT)
        api.redeliver(update_id)
        await api.wait_for(2, chat_id=CHAT)

    assert [i.update_id for i in engine.inbounds] == [str(update_id), str(update_id)]
    assert engine.inbounds[0].dedupe_key == engine.inbounds[1].dedupe_key


async def test_a_share_contact_button_becomes_a_reply_keyboard_and_the_phone_comes_back(
        running: RunBot, api: FakeBotApi) -> None:
    api.add_user(CHAT, phone_number="+84901112233")

    def respond(inbound: Inbound) -> list[Reply]:
        if inbound.shared_phone:
            return [Reply(text=f"Cảm ơn, số {inbound.shared_phone}", remove_keyboard=True)]
        return [Reply(text="Cho em xin số ạ", keyboard=Keyboard.column([Button("Gửi số", kind="request_contact")]))]

    engine = ScriptedEngine(respond)
    async with running(api, engine):
        await api.say(CHAT, "đăng ký")
        keyboard = api.reply_keyboard(CHAT)
        await api.press(CHAT, "Gửi số")

    assert keyboard is not None
    assert keyboard["keyboard"] == [[{"text": "Gửi số", "request_contact": True}]]
    assert (keyboard["one_time_keyboard"], keyboard["resize_keyboard"]) == (True, True)
    assert engine.inbounds[-1].shared_phone == "+84901112233"
    assert api.texts(CHAT)[-1] == "Cảm ơn, số +84901112233"
    assert api.reply_keyboard(CHAT) is None
    assert api.problems == []


async def test_removing_the_reply_keyboard_and_showing_buttons_uses_two_calls(running: RunBot, api: FakeBotApi) -> None:
    def respond(inbound: Inbound) -> list[Reply]:
        return [Reply(text="Chọn tiếp:", keyboard=menu_keyboard(), remove_keyboard=True)]

    async with running(api, ScriptedEngine(respond)):
        await api.say(CHAT, "xong")
        await api.wait_for(lambda: api.calls("editMessageReplyMarkup"))

    assert api.last(CHAT).buttons == ["Chốt deal", "Hoãn"]
    assert api.reply_keyboard(CHAT) is None
    assert api.problems == []


async def test_a_file_reply_with_a_long_text_sends_the_text_after_the_photo(
        running: RunBot, api: FakeBotApi, tmp_path: Path) -> None:
    chart = tmp_path / "chart.png"
    chart.write_bytes(b"\x89PNG chart")
    long_text = "Doanh số tuần: " + "tăng trưởng tốt. " * 80

    def respond(inbound: Inbound) -> list[Reply]:
        return [Reply(text=long_text, file=OutFile(str(chart)), keyboard=menu_keyboard())]

    async with running(api, ScriptedEngine(respond)):
        await api.say(CHAT, "báo cáo", expect=2)

    photo, text = api.sent(CHAT)
    assert len(long_text) > 1024
    assert (photo.kind, photo.caption) == ("photo", None)
    assert (text.text, text.buttons) == (long_text, ["Chốt deal", "Hoãn"])
    assert api.problems == []


async def test_a_file_reply_with_a_short_text_uses_it_as_the_caption(
        running: RunBot, api: FakeBotApi, tmp_path: Path) -> None:
    export = tmp_path / "deals.xlsx"
    export.write_bytes(b"PK fake xlsx")

    def respond(inbound: Inbound) -> list[Reply]:
        return [Reply(text="Danh sách deal", file=OutFile(str(export), kind="document"))]

    async with running(api, ScriptedEngine(respond)):
        [document] = await api.say(CHAT, "xuất file")

    assert (document.kind, document.caption) == ("document", "Danh sách deal")
    assert api.calls("sendDocument")[0].params["document"].filename == "deals.xlsx"
    assert api.problems == []


async def test_stopping_leaves_no_adapter_or_polling_tasks_behind(running: RunBot, api: FakeBotApi) -> None:
    async with running(api, ScriptedEngine(), push_interval_s=0.05) as tg:
        await api.say(CHAT, "hi")

    assert len(tg.locks) == 0
    current = asyncio.current_task()
    assert [t for t in asyncio.all_tasks() if t is not current and _started_by_bot_code(t)] == []


def _started_by_bot_code(task: asyncio.Task[object]) -> bool:
    """Tell whether a task runs aiogram, PTB or adapter code (the fake server's own tasks do not count)."""
    code = getattr(task.get_coro(), "cr_code", None)
    filename = code.co_filename if code is not None else ""
    return any(part in filename for part in ("/aiogram/", "/telegram/", "/bot/adapters/"))


# --- conversion (pure) ------------------------------------------------------------------------


def to_inbound(framework: Framework, update: dict[str, Any], *, bot_username: str | None = None) -> Inbound | None:
    """Convert a Bot API update with the chosen framework's types and adapter."""
    if framework == "ptb":
        return ptb_to_inbound(telegram.Update.de_json(update, None), bot_username=bot_username)
    return aiogram_to_inbound(Update.model_validate(update), bot_username=bot_username)


def last_update(api: FakeBotApi) -> dict[str, Any]:
    return api.all_updates[-1]


async def test_converts_a_photo_with_caption(framework: Framework, api: FakeBotApi) -> None:
    api.send_photo(CHAT, "ảnh hợp đồng")

    inbound = to_inbound(framework, last_update(api))

    assert inbound is not None
    assert inbound.text == "ảnh hợp đồng"
    assert inbound.attachment is not None
    assert inbound.attachment.kind == "photo"
    assert inbound.attachment.file_id == api.all_updates[-1]["message"]["photo"][-1]["file_id"]


@pytest.mark.parametrize(
    ("send", "kind", "file_name", "mime_type"),
    [
        (lambda api: api.send_voice(CHAT), "voice", None, "audio/ogg"),
        (lambda api: api.send_sticker(CHAT), "sticker", None, None),
        (lambda api: api.send_document(CHAT, "bao-gia.pdf"), "document", "bao-gia.pdf", "application/pdf"),
    ],
)
async def test_converts_files_to_attachments(
    framework: Framework, api: FakeBotApi, send: Callable[[FakeBotApi], int], kind: str, file_name: str | None,
    mime_type: str | None,
) -> None:
    send(api)

    inbound = to_inbound(framework, last_update(api))

    assert inbound is not None
    assert inbound.attachment is not None
    assert (inbound.attachment.kind, inbound.attachment.file_name, inbound.attachment.mime_type) == (
        kind,
        file_name,
        mime_type,
    )
    assert inbound.attachment.size is not None


async def test_converts_the_user_s_own_contact_to_shared_phone(framework: Framework, api: FakeBotApi) -> None:
    api.send_contact(CHAT, "+84905556677")

    inbound = to_inbound(framework, last_update(api))

    assert inbound is not None
    assert inbound.shared_phone == "+84905556677"
    assert inbound.attachment is None


async def test_someone_else_s_contact_is_not_a_shared_phone(framework: Framework, api: FakeBotApi) -> None:
    api.send_contact(CHAT, "+84905556677", own=False, first_name="Khách")

    inbound = to_inbound(framework, last_update(api))

    assert inbound is not None
    assert inbound.shared_phone is None
    assert inbound.attachment is not None
    assert inbound.attachment.kind == "other"


async def test_converts_a_reply_to_an_earlier_message(framework: Framework, api: FakeBotApi) -> None:
    api.send_text(CHAT, "anh Tú, 0905 111 222")
    api.send_text(CHAT, "thêm ghi chú: khách VIP", reply_to=1)

    inbound = to_inbound(framework, last_update(api))

    assert inbound is not None
    assert (inbound.reply_to_message_id, inbound.reply_to_text) == ("1", "anh Tú, 0905 111 222")


async def test_converts_a_group_message(framework: Framework, api: FakeBotApi) -> None:
    api.send_text(-1001234567890123, "chào cả nhóm", user=42)

    inbound = to_inbound(framework, last_update(api))

    assert inbound is not None
    assert inbound.is_group is True
    assert (inbound.chat_id, inbound.user_id) == ("-1001234567890123", "42")


async def test_strips_our_bot_name_from_a_group_command(framework: Framework, api: FakeBotApi) -> None:
    api.send_text(-100, "/deals@chatcrm_test_bot tuần này", user=42)

    inbound = to_inbound(framework, last_update(api), bot_username="chatcrm_test_bot")

    assert inbound is not None
    assert inbound.text == "/deals tuần này"


async def test_ignores_a_command_addressed_to_another_bot(framework: Framework, api: FakeBotApi) -> None:
    api.send_text(-100, "/deals@other_bot", user=42)

    assert to_inbound(framework, last_update(api), bot_username="chatcrm_test_bot") is None


async def test_ignores_a_service_message(framework: Framework) -> None:
    update: dict[str, Any] = (
        {
            "update_id": 9,
            "message": {
                "message_id": 3,
                "date": 0,
                "chat": {"id": -100, "type": "group", "title": "Sales"},
                "from": {"id": 42, "is_bot": False, "first_name": "Lan"},
                "new_chat_members": [{"id": 43, "is_bot": False, "first_name": "Minh"}],
            },
        }
    )

    assert to_inbound(framework, update) is None
