"""The python-telegram-bot (22.x) adapter: Telegram updates -> `Inbound` -> engine -> `Reply` -> Bot API calls.

The same engine and the same behaviour as `bot.adapters.aiogram_adapter`; PTB's `Application` is fed
by our own polling loop (updates kept before their offset is confirmed, see `runner`).
Public surface: `build_application`, `PollingBot`, `run_polling`, `update_to_inbound`, plus the pieces
they are made of (`PtbAdapter`, `ReplyRenderer`, `RetryAfterLimiter`, `set_command_menus`).
"""

from __future__ import annotations

from bot.adapters.ptb_adapter.convert import CHANNEL, callback_to_inbound, message_to_inbound, update_to_inbound
from bot.adapters.ptb_adapter.render import ReplyRenderer, build_markup, inline_markup, reply_keyboard_markup
from bot.adapters.ptb_adapter.runner import (
    PollingBot,
    PtbAdapter,
    delivering,
    handle_left_over,
    run_polling,
    set_command_menus,
)
from bot.adapters.ptb_adapter.session import RetryAfterLimiter, build_application

__all__ = [
    "CHANNEL",
    "PollingBot",
    "PtbAdapter",
    "ReplyRenderer",
    "RetryAfterLimiter",
    "build_application",
    "build_markup",
    "callback_to_inbound",
    "delivering",
    "handle_left_over",
    "inline_markup",
    "message_to_inbound",
    "reply_keyboard_markup",
    "run_polling",
    "set_command_menus",
    "update_to_inbound",
]
