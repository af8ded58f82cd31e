"""Turn aiogram updates into channel-neutral `Inbound` values: the conversion shared by both frameworks."""

from bot.adapters.telegram_convert import (
    CHANNEL,
    callback_to_inbound,
    message_to_inbound,
    update_chat_id,
    update_to_inbound,
)

__all__ = ["CHANNEL", "callback_to_inbound", "message_to_inbound", "update_chat_id", "update_to_inbound"]
