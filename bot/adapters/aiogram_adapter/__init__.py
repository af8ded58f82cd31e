"""The aiogram 3 adapter: Telegram updates -> `Inbound` -> engine -> `Reply` -> Bot API calls.

Public surface: `build_bot`, `build_dispatcher`, `run_polling`, `update_to_inbound`, plus the pieces
they are made of (`TelegramAdapter`, `ReplyRenderer`, `RetryAfterMiddleware`, `set_command_menus`).
"""

from __future__ import annotations

from bot.adapters.aiogram_adapter.convert import CHANNEL, callback_to_inbound, message_to_inbound, update_to_inbound
from bot.adapters.aiogram_adapter.render import ReplyRenderer, build_markup, inline_markup, reply_keyboard_markup
from bot.adapters.aiogram_adapter.runner import (
    TelegramAdapter,
    adapter_of,
    build_dispatcher,
    delivering,
    run_polling,
    set_command_menus,
)
from bot.adapters.aiogram_adapter.session import RetryAfterMiddleware, build_bot
from bot.core.locks import ChatLocks

__all__ = [
    "CHANNEL",
    "ChatLocks",
    "ReplyRenderer",
    "RetryAfterMiddleware",
    "TelegramAdapter",
    "adapter_of",
    "build_bot",
    "build_dispatcher",
    "build_markup",
    "callback_to_inbound",
    "delivering",
    "inline_markup",
    "message_to_inbound",
    "reply_keyboard_markup",
    "run_polling",
    "set_command_menus",
    "update_to_inbound",
]
